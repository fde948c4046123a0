"""The Backend: built once per model and kept by YOLO between calls, rebuilt when the weights change; it never
touches the caller's model."""

import numpy as np
import pytest
import torch

from yolo8 import YOLO
from yolo8.nn.model import build_model
from yolo8.runtime.backend import TorchBackend


def frame():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)


@pytest.fixture
def detector(tiny_model_yaml):
    torch.manual_seed(0)
    return YOLO(build_model(tiny_model_yaml))


def test_the_backend_is_kept_between_calls(detector):
    first = detector(frame(), imgsz=64, conf=0.0, verbose=False)[0]
    backend = detector._backend
    second = detector(frame(), imgsz=64, conf=0.0, verbose=False)[0]
    assert detector._backend is backend
    assert torch.equal(first.boxes.data, second.boxes.data)


def test_changed_weights_rebuild_it(detector):
    before = detector(frame(), imgsz=64, conf=0.0, verbose=False)[0]
    backend = detector._backend
    state = {name: tensor * 1.5 if tensor.is_floating_point() else tensor
             for name, tensor in detector.model.state_dict().items()}
    detector.model.load_state_dict(state)  # in place: the same tensors, new values
    after = detector(frame(), imgsz=64, conf=0.0, verbose=False)[0]
    assert detector._backend is not backend
    assert not torch.equal(before.boxes.data, after.boxes.data)
    fresh = YOLO(detector.model)(frame(), imgsz=64, conf=0.0, verbose=False)[0]
    assert torch.equal(after.boxes.data, fresh.boxes.data)  # the same as a new object would give


def test_another_device_or_augment_asks_for_another_backend(detector):
    detector(frame(), imgsz=64, verbose=False)
    plain = detector._backend
    detector(frame(), imgsz=64, verbose=False, augment=True)
    assert detector._backend is not plain and detector._backend.augment


def test_the_callers_model_is_left_as_it_was(detector):
    model = detector.model.train()
    model.half()  # e.g. a model a user cast themselves
    weights = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    detector(frame(), imgsz=64, verbose=False)
    assert model.training and not model.is_fused
    assert all(tensor.dtype == torch.float16 for tensor in model.parameters())
    assert all(torch.equal(weights[name], tensor) for name, tensor in model.state_dict().items())


def test_results_are_ordinary_tensors(detector):
    """Outputs of the inference-mode forward can be used outside it (in-place edits, autograd inputs)."""
    result = detector(frame(), imgsz=64, conf=0.0, verbose=False)[0]
    boxes = result.boxes.data
    boxes += 1  # would raise for an inference tensor
    assert boxes.requires_grad is False


def test_backend_decoded_form_per_task(tiny_model_yaml):
    images = torch.rand(2, 3, 64, 96)
    detect = TorchBackend(build_model(tiny_model_yaml), torch.device("cpu"))
    assert detect.task == "detect" and detect.stride == 32 and detect.num_classes == 2
    assert detect(images).shape == (2, 4 + 2, 8 * 12 + 4 * 6 + 2 * 3)  # anchors at strides 8, 16, 32
    segment = TorchBackend(build_model("yolov8n-seg.yaml", num_classes=3), torch.device("cpu"))
    predictions, prototypes = segment(images)
    assert predictions.shape == (2, 4 + 3 + 32, 126) and prototypes.shape == (2, 32, 16, 24)
    classify = TorchBackend(build_model("yolov8n-cls.yaml", num_classes=5), torch.device("cpu"))
    probabilities = classify(images)
    assert probabilities.shape == (2, 5) and torch.allclose(probabilities.sum(1), torch.ones(2))


def test_fuse_drops_the_backend_and_keeps_the_outputs(detector):
    detector.model.eval()  # BatchNorm running statistics: fused and unfused give the same outputs
    before = detector(frame(), imgsz=64, conf=0.0, verbose=False)[0]
    detector.fuse()
    assert detector._backend is None and detector.model.is_fused
    after = detector(frame(), imgsz=64, conf=0.0, verbose=False)[0]
    assert after.boxes.data.shape == before.boxes.data.shape
    assert torch.allclose(after.boxes.xyxy, before.boxes.xyxy, atol=1e-3)
