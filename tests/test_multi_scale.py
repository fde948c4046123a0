"""Multi-scale training: the random size rule, the batch resize, the setting, and a run that uses it."""

import pytest
import torch

from yolo8 import YOLO
from yolo8.config import Config, ConfigError
from yolo8.engine.multi_scale import random_training_size, resize_batch
from yolo8.nn.model import build_model
from tests.test_train_e2e import TRAIN_SETTINGS


class FixedDraw:
    """Stands in for a generator: uniform(a, b) gives the point ``at`` (0..1) of the way from a to b."""

    def __init__(self, at):
        self.at = at

    def uniform(self, low, high):
        return low + self.at * (high - low)


@pytest.mark.parametrize("at, expected", [(0.0, 160), (1.0, 480), (0.5, 320), (0.53, 320), (0.6, 352)])
def test_random_size_spans_the_fraction_in_stride_steps(at, expected):
    # 320 x [0.5, 1.5] = [160, 480]; 0.53 -> 339.2 rounds down to 320, 0.6 -> 352 is a multiple already
    assert random_training_size(320, 0.5, 32, FixedDraw(at)) == expected


def test_random_size_is_at_least_one_stride():
    assert random_training_size(32, 0.9, 32, FixedDraw(0.0)) == 32  # 3.2 px would round to 0


def test_resize_batch_scales_the_longer_side_and_keeps_stride_multiples():
    images = torch.full((2, 3, 64, 96), 0.25)
    resized = resize_batch(images, 128, 32)
    assert resized.shape == (2, 3, 96, 128)  # 64 x 4/3 = 85.3 -> 96; 96 x 4/3 = 128
    assert torch.allclose(resized, torch.tensor(0.25))  # a flat image stays flat: values are interpolated
    assert resize_batch(images, 96, 32) is images


def test_multi_scale_setting_takes_yolov8_bool_or_fraction():
    assert Config(multi_scale=True).multi_scale == 0.5 and Config(multi_scale="false").multi_scale == 0.0
    assert Config(multi_scale="0.25").multi_scale == 0.25 and Config().multi_scale == 0.0
    with pytest.raises(ConfigError, match="multi_scale.*fraction of imgsz"):
        Config(multi_scale=1.5)


def test_training_runs_at_several_sizes(shapes_dataset, tiny_model_yaml, tmp_path):
    torch.manual_seed(0)
    module = build_model(tiny_model_yaml)
    sizes = set()
    module.register_forward_pre_hook(lambda layer, inputs: sizes.add(inputs[0].shape[-1]) if layer.training else None)
    metrics = YOLO(module).train(data=str(shapes_dataset), epochs=2, multi_scale=0.5, project=str(tmp_path),
                                 name="run", **TRAIN_SETTINGS)
    assert len(sizes) > 1 and sizes <= {32, 64, 96}  # imgsz 64 x [0.5, 1.5], stride 32
    assert metrics.box.map >= 0 and (tmp_path / "run" / "weights" / "best.pt").is_file()
