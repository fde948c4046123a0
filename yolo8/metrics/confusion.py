"""Detection confusion matrix: which class was predicted for each true object, and what was missed.

Orientation (as YOLOv8 plots it): rows = predicted class, columns = true class, both of size
``num_classes + 1``; the last row / column is "background".

* a detection matched to a ground truth adds 1 at [predicted class, true class];
* a ground truth no detection matched adds 1 at [background, true class] (predicted as background);
* a detection matched to no ground truth adds 1 at [predicted class, background] (a false positive).

Only detections with score >= ``conf`` count. Matching is class-agnostic and one-to-one: pairs with
IoU >= ``iou`` are taken greedily in descending IoU (:func:`yolo8.metrics.matching.match_by_iou`).
"""

from __future__ import annotations

import numpy as np
import torch

from yolo8.metrics.matching import match_by_iou, pair_overlaps


def _numpy(value, dtype):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=dtype)


def iou_matrix(boxes1, boxes2):
    """boxes1 (ndarray[M, 4], xyxy), boxes2 (ndarray[N, 4], xyxy) -> IoU (ndarray[M, N], float64)."""
    rows, cols = np.meshgrid(np.arange(len(boxes1)), np.arange(len(boxes2)), indexing="ij")  # (M, N) each
    overlaps = pair_overlaps(boxes2[cols.ravel()], boxes1[rows.ravel()], np.zeros(rows.size, bool))
    return overlaps.reshape(len(boxes1), len(boxes2))


class ConfusionMatrix:
    """Accumulates a (num_classes + 1, num_classes + 1) confusion matrix over images.

    Args:
        num_classes: K; class ids lie in [0, K).
        conf: minimum detection score counted.
        iou: minimum IoU for a detection / ground-truth pair to match.
    """

    def __init__(self, num_classes: int, conf: float = 0.25, iou: float = 0.45):
        self.num_classes = int(num_classes)
        self.conf = float(conf)
        self.iou = float(iou)
        self.matrix = np.zeros((self.num_classes + 1, self.num_classes + 1), dtype=np.int64)

    def update(self, pred_boxes, pred_scores, pred_classes, gt_boxes, gt_classes):
        """Add one image: pred_boxes ([N, 4] xyxy pixels), pred_scores ([N]), pred_classes ([N]),
        gt_boxes ([M, 4] xyxy pixels), gt_classes ([M]); tensors or arrays."""
        background = self.num_classes
        scores = _numpy(pred_scores, np.float64).reshape(-1)
        keep = scores >= self.conf
        boxes = _numpy(pred_boxes, np.float64).reshape(-1, 4)[keep]
        classes = _numpy(pred_classes, np.int64).reshape(-1)[keep]
        true_boxes = _numpy(gt_boxes, np.float64).reshape(-1, 4)
        true_classes = _numpy(gt_classes, np.int64).reshape(-1)
        gt_index, det_index = match_by_iou(iou_matrix(true_boxes, boxes), self.iou)
        np.add.at(self.matrix, (classes[det_index], true_classes[gt_index]), 1)
        missed = np.ones(len(true_classes), bool)
        missed[gt_index] = False
        np.add.at(self.matrix, (background, true_classes[missed]), 1)
        spurious = np.ones(len(classes), bool)
        spurious[det_index] = False
        np.add.at(self.matrix, (classes[spurious], background), 1)

    def normalized(self):
        """The matrix with each column (true class) divided by its sum; empty columns stay 0."""
        totals = self.matrix.sum(axis=0, keepdims=True)
        return self.matrix / np.maximum(totals, 1)

    def true_and_false_positives(self):
        """(true positives ndarray[K], false positives ndarray[K]) per class, background excluded."""
        true_positive = np.diag(self.matrix)[:-1]
        return true_positive, self.matrix[:-1].sum(axis=1) - true_positive
