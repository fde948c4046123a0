"""Numerical parity with the reference YOLOv8n: same weights and input give the same outputs.

Fixtures (tests/fixtures/README.md): the incumbent's fp16 checkpoint ``ul_yolov8n_rand.pt``, whose weights
reach our model through a plain ``load_state_dict`` (the point of this file: our module layout *is* the
YOLOv8 state_dict layout), and its eval outputs on torch.manual_seed(0); torch.rand(1, 3, 320, 320)
in ``reference_outputs.npz``.

Tolerances (tests/tolerance.py) are in each output's units, so the checks hold on any x86 vector unit: box
rows within 1e-4 x the largest recorded |box| (0.066 px here; measured on AVX2 0.005 px), scores within
2.8e-5 (their logits' 1e-4 carried through the sigmoid; measured 5e-7), raw logits within 1e-4 x their
largest |logit|. The last tests prove the checks still catch real errors: a box one DFL bin off (8 px)
fails by 120x the tolerance, any two class rows swapped by at least 9x.
"""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.tolerance import assert_close_to_scale, assert_decoded_close, decoded_deviations
from yolo8.checkpoints.ultralytics_checkpoint import read_ultralytics_checkpoint
from yolo8.nn.model import build_model
from yolo8.ops.dfl import flatten_levels

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
    assert_decoded_close(decoded, reference["det_output"], num_classes=80)


def test_raw_head_matches_reference(reference_forward, reference):
    _, raw = reference_forward
    box_logits, class_logits = flatten_levels(raw, reg_max=16, num_classes=80)
    names = ("batch", "channel", "anchor")
    assert_close_to_scale(box_logits, reference["det_raw_boxes"], axis_names=names, name="box logits")
    assert_close_to_scale(class_logits, reference["det_raw_scores_logits"], axis_names=names, name="class logits")


def test_fused_reference_model_stays_close(reference_state_dict, reference, image):
    fused = build_model("yolov8n.yaml")
    fused.load_state_dict(reference_state_dict)
    fused.eval().fuse()
    with torch.no_grad():
        decoded, _ = fused(image)
    # folding the BN into the convs rounds the weights too; measured 0.008 px, under the same tolerance
    assert_decoded_close(decoded, reference["det_output"], num_classes=80, name="fused decoded")


# --- the tolerance catches real errors ---------------------------------------------------------------------


def test_one_bin_dfl_shift_fails_the_check(reference_model, reference_forward, reference):
    """Roll the 16 bin logits of the right side of one stride-8 anchor by one bin: its expected distance
    grows by 1 - 16 p_15 bins (p_15: its probability of the last bin, which wraps to bin 0), so its w moves
    by ~8 px and cx by ~4 px; the tolerance is 0.066 px."""
    _, raw = reference_forward
    right = slice(2 * 16, 3 * 16)  # side r's bins in the box channels
    probabilities = raw[0][0, right].softmax(0).flatten(1)  # (16, H, W) -> (16, H*W), stride-8 anchors
    anchor = int(probabilities[15].argmin())  # the anchor whose shift wraps the least mass
    row, column = divmod(anchor, raw[0].shape[3])
    shifted = [level.clone() for level in raw]
    shifted[0][0, right, row, column] = raw[0][0, right, row, column].roll(1)
    with torch.no_grad():
        decoded = reference_model.decode(shifted)
    moved = (decoded - reference_forward[0])[0, :4, anchor]  # (cx, cy, w, h) of the shifted anchor
    expected_bins = 1 - 16 * probabilities[15, anchor].item()
    assert moved.tolist() == pytest.approx([4 * expected_bins, 0, 8 * expected_bins, 0], abs=1e-3)
    deviation = decoded_deviations(decoded, reference["det_output"], num_classes=80)["boxes"]
    assert deviation.failing == 2 and deviation.ratio > 50  # cx and w of that one anchor
    with pytest.raises(AssertionError, match=r"boxes: 2 of 8400 values off.*\n.*\[batch 0, w, anchor "):
        assert_decoded_close(decoded, reference["det_output"], num_classes=80)


def test_swapped_class_rows_fail_the_check(reference_forward, reference):
    """Any two of the 80 class-score rows swapped fail: even the closest pair (max |s_i - s_j| over the anchors
    2.6e-4, for scores of at most 0.018) is 9x the score tolerance (2.8e-5)."""
    decoded = reference_forward[0]
    scores = decoded[0, 4:]  # (80, A)
    gaps = (scores[:, None] - scores[None]).abs().amax(-1)  # (80, 80): max over anchors of |s_i - s_j|
    gaps.fill_diagonal_(float("inf"))
    closest = divmod(int(gaps.argmin()), 80)
    tolerance = decoded_deviations(decoded, reference["det_output"], num_classes=80)["scores"].block.atol
    assert gaps.min() > 5 * tolerance
    swapped = decoded.clone()
    swapped[0, [4 + closest[0], 4 + closest[1]]] = decoded[0, [4 + closest[1], 4 + closest[0]]]
    deviation = decoded_deviations(swapped, reference["det_output"], num_classes=80)["scores"]
    assert deviation.ratio > 5
    with pytest.raises(AssertionError, match=rf"scores: .*\n.*\[batch 0, class ({closest[0]}|{closest[1]}), anchor "):
        assert_decoded_close(swapped, reference["det_output"], num_classes=80)
