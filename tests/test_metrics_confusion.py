"""Confusion matrix orientation (rows predicted, columns true, last = background) and greedy matching."""

import numpy as np
import torch

from yolo8.metrics.confusion import ConfusionMatrix
from yolo8.metrics.matching import coco_match, group_pairs, match_by_iou, pair_overlaps


def test_confusion_matrix_counts_each_outcome():
    matrix = ConfusionMatrix(num_classes=3, conf=0.25, iou=0.45)
    matrix.update(
        pred_boxes=torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60], [0, 0, 10, 10], [80, 80, 90, 90]]),
        pred_scores=torch.tensor([0.9, 0.8, 0.7, 0.6, 0.1]),  # the last is below conf
        pred_classes=torch.tensor([0, 2, 1, 1, 0]),
        gt_boxes=torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30], [100, 100, 120, 120], [80, 80, 90, 90]]),
        gt_classes=torch.tensor([0, 1, 2, 0]),
    )
    expected = np.zeros((4, 4), np.int64)
    expected[0, 0] = 1  # class 0 correctly found
    expected[2, 1] = 1  # a true class 1 predicted as class 2
    expected[1, 3] = 2  # two class-1 detections on background (one is a duplicate on an already matched gt)
    expected[3, 2] = 1  # true class 2 missed
    expected[3, 0] = 1  # true class 0 missed (its detection scored below conf)
    np.testing.assert_array_equal(matrix.matrix, expected)
    true_positive, false_positive = matrix.true_and_false_positives()
    np.testing.assert_array_equal(true_positive, [1, 0, 0])
    np.testing.assert_array_equal(false_positive, [0, 2, 1])
    np.testing.assert_allclose(matrix.normalized()[:, 0], [0.5, 0, 0, 0.5])


def test_confusion_matrix_image_without_gt_or_detections():
    matrix = ConfusionMatrix(num_classes=2)
    matrix.update(np.array([[0, 0, 5, 5]]), np.array([0.5]), np.array([1]), np.zeros((0, 4)), np.zeros(0))
    matrix.update(np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.array([[0, 0, 5, 5]]), np.array([0]))
    np.testing.assert_array_equal(matrix.matrix, [[0, 0, 0], [0, 0, 1], [1, 0, 0]])


def test_match_by_iou_is_greedy_one_to_one():
    # Best pair (g0, d0); g0-d1 is then blocked, so g1 takes d1 although d1's best gt was g0.
    iou = np.array([[0.9, 0.85], [0.8, 0.7]])
    gt_index, det_index = match_by_iou(iou, 0.45)
    assert sorted(zip(gt_index.tolist(), det_index.tolist())) == [(0, 0), (1, 1)]
    assert len(match_by_iou(iou, 0.95)[0]) == 0


def test_crowd_overlap_is_intersection_over_detection_area():
    det = np.array([[0.0, 0, 10, 10]])
    gt = np.array([[5.0, 0, 100, 100]])
    np.testing.assert_allclose(pair_overlaps(det, gt, np.array([True])), [0.5])
    np.testing.assert_allclose(pair_overlaps(det, gt, np.array([False])), [50 / (100 + 9500 - 50)])


def test_coco_match_tie_goes_to_later_gt_and_non_ignored_first():
    # One group, three gts: 0 ignored (outside area), 1 and 2 identical boxes; detection equals them.
    gt_boxes = np.array([[0.0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]])
    det_boxes = np.array([[0.0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]])
    det_keys, gt_keys = np.zeros(4, np.int64), np.zeros(3, np.int64)
    pair_det, pair_gt, pair_slot = group_pairs(det_keys, gt_keys)
    overlaps = pair_overlaps(det_boxes[pair_det], gt_boxes[pair_gt], np.zeros(len(pair_det), bool))
    gt_ignore = np.array([[True, False, False]])
    matched, matched_ignored = coco_match(det_keys, np.arange(4), gt_keys, gt_ignore, np.zeros(3, bool),
                                          pair_det, pair_gt, pair_slot, overlaps, np.array([0.5]))
    # Detections 0 and 1 use up the two non-ignored gts, detection 2 falls back to the ignored gt 0,
    # detection 3 finds nothing left.
    np.testing.assert_array_equal(matched[0, 0], [True, True, True, False])
    np.testing.assert_array_equal(matched_ignored[0, 0], [False, False, True, False])
