"""non_max_suppression on crafted decoded outputs with hand-checked answers."""

import pytest
import torch

from yolo8.ops.nms import non_max_suppression


def make_prediction(rows, num_classes, num_masks=0):
    """rows: list of (cx, cy, w, h, {class: score}, masks) -> (1, 4 + nc + nm, A) decoded tensor."""
    columns = []
    for row in rows:
        cx, cy, w, h, scores = row[:5]
        masks = row[5] if len(row) > 5 else [0.0] * num_masks
        class_scores = [scores.get(c, 0.0) for c in range(num_classes)]
        columns.append([cx, cy, w, h, *class_scores, *masks])
    # (A, 4 + nc + nm) -> (1, 4 + nc + nm, A)
    return torch.tensor(columns, dtype=torch.float32).T[None]


# box 0 and 1 overlap with IoU 324/476 = 0.68; box 2 overlaps box 0 with IoU 390/410 = 0.951; box 3 stands alone
OVERLAPPING = [
    (50.0, 50.0, 20.0, 20.0, {0: 0.9}),
    (52.0, 52.0, 20.0, 20.0, {1: 0.8}),
    (50.5, 50.0, 20.0, 20.0, {0: 0.7}),
    (150.0, 150.0, 10.0, 10.0, {1: 0.6}),
]


def test_overlap_suppression_keeps_the_best_box_sorted_by_score():
    out = non_max_suppression(make_prediction(OVERLAPPING, 2), conf_thres=0.25, iou_thres=0.5)
    assert len(out) == 1
    expected = torch.tensor(
        [
            [40.0, 40.0, 60.0, 60.0, 0.9, 0.0],
            [42.0, 42.0, 62.0, 62.0, 0.8, 1.0],
            [145.0, 145.0, 155.0, 155.0, 0.6, 1.0],
        ]
    )
    torch.testing.assert_close(out[0], expected)


def test_iou_threshold_is_strict_above():
    # IoU(box0, box2) = 390 / 410 = 0.9512: suppressed at 0.95, kept at 0.96
    out = non_max_suppression(make_prediction(OVERLAPPING, 2), conf_thres=0.25, iou_thres=0.96)[0]
    assert out[:, 4].tolist() == pytest.approx([0.9, 0.8, 0.7, 0.6])
    out = non_max_suppression(make_prediction(OVERLAPPING, 2), conf_thres=0.25, iou_thres=0.95)[0]
    assert out[:, 4].tolist() == pytest.approx([0.9, 0.8, 0.6])


def test_agnostic_suppresses_across_classes():
    out = non_max_suppression(make_prediction(OVERLAPPING, 2), conf_thres=0.25, iou_thres=0.5, agnostic=True)[0]
    # box 1 (class 1) has IoU 0.68 with box 0 (class 0) and is suppressed only when agnostic
    assert out[:, 4].tolist() == pytest.approx([0.9, 0.6])
    assert out[:, 5].tolist() == [0.0, 1.0]


def test_classes_filter():
    out = non_max_suppression(make_prediction(OVERLAPPING, 2), conf_thres=0.25, iou_thres=0.5, classes=[1])[0]
    assert out[:, 5].tolist() == [1.0, 1.0]
    assert out[:, 4].tolist() == pytest.approx([0.8, 0.6])


def test_max_det_keeps_highest_scores():
    out = non_max_suppression(make_prediction(OVERLAPPING, 2), conf_thres=0.25, iou_thres=0.5, max_det=2)[0]
    assert out[:, 4].tolist() == pytest.approx([0.9, 0.8])


def test_confidence_threshold_is_strict_and_uses_best_class():
    out = non_max_suppression(make_prediction(OVERLAPPING, 2), conf_thres=0.7, iou_thres=0.96)[0]
    assert out[:, 4].tolist() == pytest.approx([0.9, 0.8])


def test_best_class_versus_multi_label():
    rows = [(10.0, 10.0, 4.0, 4.0, {0: 0.3, 1: 0.6, 2: 0.1})]
    single = non_max_suppression(make_prediction(rows, 3), conf_thres=0.2, iou_thres=0.5)[0]
    torch.testing.assert_close(single, torch.tensor([[8.0, 8.0, 12.0, 12.0, 0.6, 1.0]]))
    multi = non_max_suppression(make_prediction(rows, 3), conf_thres=0.2, iou_thres=0.5, multi_label=True)[0]
    torch.testing.assert_close(
        multi, torch.tensor([[8.0, 8.0, 12.0, 12.0, 0.6, 1.0], [8.0, 8.0, 12.0, 12.0, 0.3, 0.0]])
    )


def test_empty_inputs():
    nothing_above = make_prediction([(10.0, 10.0, 4.0, 4.0, {0: 0.1})], 3)
    out = non_max_suppression(nothing_above, conf_thres=0.25)
    assert len(out) == 1 and out[0].shape == (0, 6)
    no_anchors = torch.zeros(2, 4 + 3 + 2, 0)
    out = non_max_suppression(no_anchors, conf_thres=0.25, num_masks=2)
    assert [o.shape for o in out] == [(0, 8), (0, 8)]


def test_mask_coefficients_follow_their_box():
    rows = [
        (50.0, 50.0, 20.0, 20.0, {0: 0.9}, [1.0, 2.0]),
        (51.0, 50.0, 20.0, 20.0, {0: 0.5}, [3.0, 4.0]),
        (10.0, 10.0, 4.0, 4.0, {1: 0.4}, [5.0, 6.0]),
    ]
    out = non_max_suppression(make_prediction(rows, 2, num_masks=2), 0.25, 0.5, num_masks=2)[0]
    assert out.shape == (2, 8)
    assert out[:, 6:].tolist() == [[1.0, 2.0], [5.0, 6.0]]


def test_batch_is_processed_per_image_and_tuple_input_accepted():
    first = make_prediction(OVERLAPPING, 2)
    second = make_prediction([(5.0, 5.0, 2.0, 2.0, {0: 0.1}), (30.0, 30.0, 2.0, 2.0, {1: 0.5})] * 2, 2)
    batch = torch.cat((first, second), dim=0)
    out = non_max_suppression((batch, "raw outputs ignored"), 0.25, 0.5)
    assert len(out) == 2 and len(out[0]) == 3
    torch.testing.assert_close(out[1], torch.tensor([[29.0, 29.0, 31.0, 31.0, 0.5, 1.0]]))


def test_max_nms_caps_the_candidates_before_suppression():
    rows = [(10.0 * i + 5, 5.0, 4.0, 4.0, {0: 0.3 + 0.01 * i}) for i in range(10)]
    out = non_max_suppression(make_prediction(rows, 1), 0.25, 0.5, max_nms=4)[0]
    assert out[:, 4].tolist() == pytest.approx([0.39, 0.38, 0.37, 0.36])


@pytest.mark.parametrize("kwargs", [{"conf_thres": 1.5}, {"iou_thres": -0.1}])
def test_invalid_thresholds_name_the_value(kwargs):
    with pytest.raises(ValueError, match="between 0.0 and 1.0"):
        non_max_suppression(make_prediction(OVERLAPPING, 2), **kwargs)


def test_too_few_rows_is_explained():
    with pytest.raises(ValueError, match="num_masks"):
        non_max_suppression(torch.zeros(1, 6, 3), num_masks=2)
