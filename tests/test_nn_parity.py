"""Numerical parity with the reference YOLOv8n: same weights and input give the same outputs.

Fixtures (tests/fixtures/README.md): the incumbent's fp16 checkpoint ``ul_yolov8n_rand.pt``, whose weights
reach our model through a plain ``load_state_dict`` (the point of this file: our module layout *is* the
YOLOv8 state_dict layout), and its eval outputs on torch.manual_seed(0); torch.rand(1, 3, 320, 320)
in ``reference_outputs.npz``.
"""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from yolo8.checkpoints.ultralytics_checkpoint import read_ultralytics_checkpoint
from yolo8.nn.decode import flatten_levels
from yolo8.nn.model import build_model

FIXTURES = Path(__file__).parent / "fixtures"


pytestmark = pytest.mark.usefixtures("recording_thread_count")


@pytest.fixture(scope="module")
def reference_state_dict():
    """The checkpoint's fp16 weights widened to float32; the exact values are checked against their
    sha256 in tests/test_foreign_checkpoint.py."""
    return read_ultralytics_checkpoint(FIXTURES / "ul_yolov8n_rand.pt").state_dict


@pytest.fixture(scope="module")
def reference_model(reference_state_dict):
    model = build_model("yolov8n.yaml")
    model.load_state_dict(reference_state_dict)  # strict: every key and shape must match
    return model.eval()


@pytest.fixture(scope="module")
def reference():
    with np.load(FIXTURES / "reference_outputs.npz") as arrays:
        return {name: arrays[name] for name in ("det_output", "det_raw_boxes", "det_raw_scores_logits", "det_input_sha256")}


@pytest.fixture(scope="module")
def image(reference):
    torch.manual_seed(0)
    image = torch.rand(1, 3, 320, 320)
    assert hashlib.sha256(image.numpy().tobytes()).hexdigest() == str(reference["det_input_sha256"])
    return image


@pytest.fixture(scope="module")
def reference_forward(reference_model, image):
    """One eval forward shared by the decoded and raw checks: (decoded (1, 84, 2100), raw levels)."""
    with torch.no_grad():
        return reference_model(image)


def test_decoded_output_matches_reference(reference_forward, reference):
    decoded, _ = reference_forward
    assert decoded.shape == (1, 84, 2100)
    assert np.allclose(decoded.numpy(), reference["det_output"], rtol=1e-4, atol=1e-4)


def test_raw_head_matches_reference(reference_forward, reference):
    _, raw = reference_forward
    box_logits, class_logits = flatten_levels(raw, reg_max=16, num_classes=80)
    assert np.allclose(box_logits.numpy(), reference["det_raw_boxes"], rtol=1e-4, atol=1e-4)
    assert np.allclose(class_logits.numpy(), reference["det_raw_scores_logits"], rtol=1e-4, atol=1e-4)


def test_fused_reference_model_stays_close(reference_state_dict, reference, image):
    fused = build_model("yolov8n.yaml")
    fused.load_state_dict(reference_state_dict)
    fused.eval().fuse()
    with torch.no_grad():
        decoded, _ = fused(image)
    # fp32 folding error, relative to box coordinates of up to ~660 px
    assert np.allclose(decoded.numpy(), reference["det_output"], rtol=1e-3, atol=1e-2)
