"""Test-time augmentation: each view's geometry, the mapping back to input pixels, and augment=True in predict/val."""

import numpy as np
import pytest
import torch

from tests.test_predictor import RedBoxModel, scene
from yolo8 import YOLO
from yolo8.config import Config
from yolo8.nn.model import build_model
from yolo8.predict.predictor import predict
from yolo8.runtime.augmented_inference import VIEWS, boxes_to_input, scaled_view
from yolo8.runtime.backend import TorchBackend


def test_scaled_view_resizes_mirrors_and_pads_to_the_stride():
    images = torch.zeros(1, 3, 64, 96)
    images[..., :, :10] = 1.0  # a white band on the left
    view, gains = scaled_view(images, 0.83, True, 32)
    assert view.shape == (1, 3, 64, 96)  # 53 x 80 (64 x 0.83 = 53.1, 96 x 0.83 = 79.7), padded to 64 x 96
    assert gains == (53 / 64, 80 / 96)
    assert torch.all(view[..., 53:, :] == 114 / 255) and torch.all(view[..., :, 80:] == 114 / 255)
    assert view[0, 0, 20, 75] == 1.0 and view[0, 0, 20, 5] == 0.0  # the band is now on the right of the content
    same, unit = scaled_view(images, 1.0, False, 32)
    assert torch.equal(same, images) and unit == (1.0, 1.0)


def test_boxes_return_to_input_pixels():
    decoded = torch.tensor([[[20.0], [10.0], [8.0], [4.0], [0.7]]])  # (1, 4 + 1, 1): cx, cy, w, h, score
    back = boxes_to_input(decoded, (0.5, 0.25), True, 100)
    # x gain 0.25: cx 80, w 32, then mirrored in a 100-px input: cx 20; y gain 0.5: cy 20, h 8
    assert back[0, :, 0].tolist() == pytest.approx([100 - 80, 20, 32, 8, 0.7])


def test_every_view_finds_the_object_where_it_is_in_the_input():
    backend = TorchBackend(RedBoxModel(), torch.device("cpu"), augment=True)
    image = torch.from_numpy(scene(128, 160, (30, 40, 90, 80))[..., ::-1].copy()).permute(2, 0, 1)[None].float() / 255
    decoded = backend(image)
    assert decoded.shape == (1, 6, 3 * len(VIEWS))
    with pytest.raises(ValueError, match="raw outputs of one view"):
        backend.with_raw(image)  # no validation loss from three views
    for view in range(len(VIEWS)):
        box = decoded[0, :4, 3 * view]  # anchor 0 of each view holds the red box
        assert box.tolist() == pytest.approx([60, 60, 60, 40], abs=1.5)  # blending at its edges costs < 1.5 px


def test_predict_with_augment_gives_one_box_per_object(tmp_path):
    settings = dict(mode="predict", imgsz=160, save=False, verbose=False)
    plain = predict(RedBoxModel(), scene(240, 320, (40, 80, 120, 200)), Config(settings))[0]
    augmented = predict(RedBoxModel(), scene(240, 320, (40, 80, 120, 200)), Config(settings, augment=True))[0]
    assert len(plain) == len(augmented) == 1  # NMS merges the three views' boxes of the object
    assert augmented.boxes.xyxy[0].tolist() == pytest.approx(plain.boxes.xyxy[0].tolist(), abs=3)


def test_val_with_augment_runs_on_a_detector_and_is_refused_for_other_tasks(shapes_dataset, tmp_path):
    torch.manual_seed(0)
    model = YOLO(build_model("yolov8n.yaml", num_classes=2))
    metrics = model.val(data=str(shapes_dataset), imgsz=64, batch=8, augment=True, plots=False,
                        project=str(tmp_path), name="val")
    assert 0 <= metrics.box.map <= 1 and metrics.speed["inference"] > 0
    segmenter = YOLO(build_model("yolov8n-seg.yaml", num_classes=2))
    with pytest.raises(ValueError, match="augment=True .* works with detection models; this is a 'segment' model"):
        segmenter.val(data=str(shapes_dataset), imgsz=64, augment=True, project=str(tmp_path))
    with pytest.raises(ValueError, match="'segment' model"):
        segmenter.predict(np.zeros((64, 64, 3), np.uint8), augment=True)
