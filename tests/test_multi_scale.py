"""Multi-scale training: the random size rule, the batch resize, the setting, and a run that uses it."""

import random
from collections import Counter

import pytest
import torch

from tests.test_train_e2e import TRAIN_SETTINGS
from yolo8 import YOLO
from yolo8.config import Config, ConfigError
from yolo8.nn.model import build_model
from yolo8.train.multi_scale import random_training_size, resize_batch


def test_random_size_is_any_stride_multiple_in_range_equally_often():
    rng = random.Random(0)
    sizes = Counter(random_training_size(320, 0.5, 32, rng) for _ in range(11000))
    assert sorted(sizes) == list(range(160, 481, 32))  # 320 x [0.5, 1.5] = [160, 480]: 11 sizes, ends included
    assert min(sizes.values()) > 850 and max(sizes.values()) < 1150  # about 1000 each
    assert {random_training_size(320, 0.05, 32, rng) for _ in range(100)} == {320}  # [304, 336] holds one


def test_random_size_is_at_least_one_stride():
    assert random_training_size(32, 0.9, 32, random.Random(0)) == 32  # [3.2, 60.8]: 32 is the only multiple


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
