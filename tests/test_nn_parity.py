"""Numerical parity with the reference YOLOv8n: same weights and input give the same outputs.

Fixtures (see /work/shared/fixtures/README.md for how they were recorded): the reference model's
state_dict in float16, and its eval outputs on torch.manual_seed(0); torch.rand(1, 3, 320, 320).
"""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from yolo8.nn.decode import flatten_levels
from yolo8.nn.model import build_model

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module", autouse=True)
def recording_thread_count():
    """The reference was recorded with 2 torch threads; with 1 thread the fp32 summation order of some
    convolutions differs and 2 of 176,400 outputs move by ~5e-4 (README: max 0.002 on boxes up to 657 px)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def reference_model():
    weights = np.load(FIXTURES / "det_yolov8n_rand_state_dict_fp16.npz")
    state_dict = {key: torch.from_numpy(weights[key]).float() if weights[key].dtype == np.float16
                  else torch.from_numpy(weights[key]) for key in weights.files}
    model = build_model("yolov8n.yaml")
    model.load_state_dict(state_dict)  # strict: every key and shape must match
    return model.eval()


@pytest.fixture(scope="module")
def reference():
    return np.load(FIXTURES / "det_reference_outputs.npz")


@pytest.fixture(scope="module")
def image(reference):
    torch.manual_seed(0)
    image = torch.rand(1, 3, 320, 320)
    assert hashlib.sha256(image.numpy().tobytes()).hexdigest() == str(reference["input_sha256"])
    return image


def test_decoded_output_matches_reference(reference_model, reference, image):
    with torch.no_grad():
        decoded, raw = reference_model(image)
    assert decoded.shape == (1, 84, 2100)
    assert np.allclose(decoded.numpy(), reference["output"], rtol=1e-4, atol=1e-4)


def test_raw_head_matches_reference(reference_model, reference, image):
    with torch.no_grad():
        _, raw = reference_model(image)
    box_logits, class_logits = flatten_levels(raw, reg_max=16, num_classes=80)
    assert np.allclose(box_logits.numpy(), reference["boxes"], rtol=1e-4, atol=1e-4)
    assert np.allclose(class_logits.numpy(), reference["scores_logits"], rtol=1e-4, atol=1e-4)


def test_fused_reference_model_stays_close(reference_model, reference, image):
    fused = build_model("yolov8n.yaml")
    fused.load_state_dict(reference_model.state_dict())
    fused.eval().fuse()
    with torch.no_grad():
        decoded, _ = fused(image)
    # fp32 folding error, relative to box coordinates of up to ~660 px
    assert np.allclose(decoded.numpy(), reference["output"], rtol=1e-3, atol=1e-2)
