"""Costs between tracks and detections, and their thresholded one-to-one assignment.

The assignment itself is SciPy's ``linear_sum_assignment`` (a maintained Hungarian / Jonker-Volgenant solver);
this module only builds the cost matrices and drops pairs whose cost is above the threshold.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (N, 4), b (M, 4) x1, y1, x2, y2 pixels -> (N, M) intersection over union (0 for empty boxes)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    # (N, 1, 2) against (1, M, 2) -> (N, M, 2) corners of the intersections
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def iou_distance(track_boxes: np.ndarray, detection_boxes: np.ndarray) -> np.ndarray:
    """(N, 4), (M, 4) xyxy -> (N, M) cost 1 - IoU."""
    return 1.0 - box_iou(track_boxes, detection_boxes)


def fuse_score(cost: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ByteTrack's score fusion: cost (N, M) = 1 - IoU * detection score (M,); a confident detection wins ties."""
    if cost.size == 0:
        return cost
    return 1.0 - (1.0 - cost) * np.asarray(scores, np.float64)[None, :]


def linear_assignment(cost: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-cost one-to-one matching in which leaving a pair unmatched costs ``threshold`` (the cost-limit
    rule of ByteTrack's solver): a pair is matched only when that beats leaving both sides free, so one good
    match is never broken up to make two poor ones.

    Returns (matches (K, 2) int [row, column], unmatched rows (R,), unmatched columns (C,)).
    """
    rows, columns = cost.shape
    if cost.size == 0:
        return np.empty((0, 2), int), np.arange(rows), np.arange(columns)
    # (rows + columns)^2 problem: [[cost, row i left free], [column j left free, 0]]; freeing a row or a column
    # costs threshold / 2 each, so leaving a pair unmatched costs threshold; pairs above it are never taken
    forbidden = 1e6 + threshold
    extended = np.full((rows + columns, rows + columns), forbidden)
    extended[:rows, :columns] = np.where(cost > threshold, forbidden, cost)
    extended[np.arange(rows), columns + np.arange(rows)] = threshold / 2
    extended[rows + np.arange(columns), np.arange(columns)] = threshold / 2
    extended[rows:, columns:] = 0.0
    row_index, column_index = linear_sum_assignment(extended)
    paired = (row_index < rows) & (column_index < columns)
    row_index, column_index = row_index[paired], column_index[paired]
    keep = cost[row_index, column_index] <= threshold
    matches = np.stack([row_index[keep], column_index[keep]], 1).astype(int)
    unmatched_rows = np.setdiff1d(np.arange(rows), matches[:, 0])
    unmatched_columns = np.setdiff1d(np.arange(columns), matches[:, 1])
    return matches, unmatched_rows, unmatched_columns
