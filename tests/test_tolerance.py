"""The recording comparisons of tests/tolerance.py: tolerances in each output's units, exact on tiny tensors, and
failures that name the row, the column and by how much."""

import math

import numpy as np
import pytest
import torch

from tests.tolerance import (
    assert_close_to_scale,
    assert_decoded_close,
    assert_detections_close,
    assert_losses_close,
    decoded_deviations,
    score_tolerance,
)
from yolo8.nn.decode import decode_detection


def one_hot_levels(bin_index: int = 3, num_classes: int = 2) -> torch.Tensor:
    """One 4x4 level (stride 8): every side of every anchor certain of ``bin_index``; class logits 0 and -2."""
    level = torch.full((1, 4 * 16 + num_classes, 4, 4), -1e4)
    for side in range(4):
        level[:, side * 16 + bin_index] = 0.0
    level[:, 64], level[:, 65] = 0.0, -2.0
    return level


def test_decoded_tolerances_are_in_each_blocks_units():
    decoded = decode_detection([one_hot_levels()], [8], reg_max=16, num_classes=2)  # (1, 6, 16)
    assert decoded[0, 2].unique().tolist() == [48.0]  # w = (3 + 3) bins x 8 px
    deviations = decoded_deviations(decoded, decoded, num_classes=2)
    assert deviations["boxes"].block.atol == pytest.approx(1e-4 * decoded[0, :4].abs().max().item())
    scores = torch.tensor([0.5, 1 / (1 + math.e**2)])
    expected_score_atol = 1e-4 * 2.0 * 0.25  # rtol x max|logit| x max s (1 - s)
    assert score_tolerance(scores) == pytest.approx(expected_score_atol, rel=1e-6)
    assert deviations["scores"].block.atol == pytest.approx(expected_score_atol, rel=1e-5)
    assert "coefficients" not in deviations
    assert score_tolerance(torch.tensor([0.5, 1e-12])) == 1e-4  # large logits: capped at 1e-4
    nudged = decoded.clone()
    nudged[:, :4] += 0.9 * deviations["boxes"].block.atol
    nudged[:, 4:] += 0.9 * expected_score_atol
    assert_decoded_close(nudged, decoded, num_classes=2)


def test_one_more_bin_on_a_distance_fails_naming_the_anchor():
    """The right distance of anchor 5 one bin longer: its cx moves by half a stride, its w by a stride."""
    recorded = decode_detection([one_hot_levels()], [8], reg_max=16, num_classes=2)
    level = one_hot_levels()
    row, column = divmod(5, 4)
    level[0, 2 * 16 + 3, row, column], level[0, 2 * 16 + 4, row, column] = -1e4, 0.0
    shifted = decode_detection([level], [8], reg_max=16, num_classes=2)
    assert (shifted - recorded)[0, :, 5].tolist() == [4.0, 0.0, 8.0, 0.0, 0.0, 0.0]
    deviation = decoded_deviations(shifted, recorded, num_classes=2)["boxes"]
    assert deviation.failing == 2 and deviation.ratio == pytest.approx(8.0 / deviation.block.atol)
    message = r"boxes: 2 of 64 values off by more than .*\n.*\[batch 0, w, anchor 5\] actual 56 recorded 48 off by 8"
    with pytest.raises(AssertionError, match=message):
        assert_decoded_close(shifted, recorded, num_classes=2)


def test_swapped_class_rows_and_nan_fail():
    recorded = decode_detection([one_hot_levels()], [8], reg_max=16, num_classes=2)
    swapped = recorded[:, [0, 1, 2, 3, 5, 4]]
    with pytest.raises(AssertionError, match=r"scores: 32 of 32 .*\n.*\[batch 0, class 0, anchor 0\]"):
        assert_decoded_close(swapped, recorded, num_classes=2)
    broken = recorded.clone()
    broken[0, 1, 7] = float("nan")
    with pytest.raises(AssertionError, match=r"boxes: 1 of 64 .*\n.*\[batch 0, cy, anchor 7\] actual nan"):
        assert_decoded_close(broken, recorded, num_classes=2)


def test_mask_coefficients_are_their_own_block():
    recorded = torch.zeros(1, 4 + 2 + 3, 5)
    recorded[0, :4] = 600.0  # boxes: 0.06 px
    recorded[0, 6:] = torch.tensor([2.0, -5.0, 1.0])[:, None]  # coefficients: 5e-4
    moved = recorded.clone()
    moved[0, 7, 3] += 0.01  # harmless for a box, 20x the coefficients' tolerance
    with pytest.raises(AssertionError, match=r"coefficients: 1 of 15 .*\n.*\[batch 0, coefficient 1, anchor 3\]"):
        assert_decoded_close(moved, recorded, num_classes=2)


def test_detections_boxes_scaled_confidence_tight_class_exact():
    recorded = np.array([[10.0, 20.0, 300.0, 320.0, 0.5, 3.0], [0.0, 0.0, 5.0, 5.0, 0.25, 1.0]])
    close = recorded + np.array([0.03, -0.03, 0.03, 0.0, 1e-5, 0.0])  # 1e-4 x 320 px = 0.032
    assert_detections_close(close, recorded)
    for column, change, field in ((2, 0.04, "x2"), (4, 1e-4, "confidence"), (5, 1.0, "class")):
        wrong = recorded.copy()
        wrong[1, column] += change
        with pytest.raises(AssertionError, match=rf"\[detection 1, {field}\]"):
            assert_detections_close(wrong, recorded)


def test_close_to_scale_and_losses_name_what_is_off():
    recorded = torch.tensor([[0.5, -10.0], [3.0, 1.0]])
    assert_close_to_scale(recorded + 9e-4, recorded)  # 1e-4 x 10
    with pytest.raises(AssertionError, match=r"logits values: 1 of 4 .*\n.*\[row 1, column 0\] actual 3.0011"):
        assert_close_to_scale(recorded + torch.tensor([[0.0, 0.0], [1.1e-3, 0.0]]), recorded,
                              axis_names=("row", "column"), name="logits")
    assert_losses_close([5.0, 140.0, 4.0], [5.0004, 140.01, 4.0], rtol=1e-4)
    with pytest.raises(AssertionError, match=r"items\[1\] \(cls\): 140.1 vs recorded 140, relative difference"):
        assert_losses_close([5.0, 140.1, 4.0], [5.0, 140.0, 4.0], rtol=1e-4, names=("box", "cls", "dfl"), name="items")
