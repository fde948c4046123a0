"""Average precision and the precision / recall / F1 curves, from ranked true/false positive flags.

COCO constants follow the published COCO detection evaluation (bbox, default parameters).
All functions take detections already sorted by descending score.
"""

from __future__ import annotations

import numpy as np

#: IoU thresholds 0.50:0.05:0.95 (10 values), built the way the COCO evaluation builds them.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
#: Recall points 0:0.01:1 (101 values) for interpolated precision.
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, int(np.round((1.0 - 0.0) / 0.01)) + 1, endpoint=True)
#: Area ranges (pixels²) by name: a ground truth is outside a range when area < low or area > high.
AREA_RANGES = {"all": (0.0, 1e10), "small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2), "large": (96.0**2, 1e10)}


def interpolated_precision(true_positive, false_positive, num_gt, recall_points=RECALL_THRESHOLDS):
    """Interpolated precision at fixed recall points (COCO's 101-point AP when averaged).

    Args:
        true_positive, false_positive (ndarray[T, D] bool): per IoU threshold, flags of the detections in
            descending score order. Ignored detections have both flags False.
        num_gt: number of non-ignored ground truths (> 0), an int or an ndarray[T, 1] (one per row).
        recall_points (ndarray[R]): recall values at which precision is read.

    Returns:
        (precision ndarray[T, R], recall ndarray[T]): precision is the monotone envelope (the best
        precision at any recall >= r) read at the first detection reaching recall r, 0 when r is never
        reached; recall is the final recall (0 without detections).
    """
    num_thresholds, num_dets = true_positive.shape
    if num_dets == 0:
        return np.zeros((num_thresholds, len(recall_points))), np.zeros(num_thresholds)
    tp_sum = np.cumsum(true_positive, axis=1, dtype=np.float64)
    fp_sum = np.cumsum(false_positive, axis=1, dtype=np.float64)
    recall = tp_sum / num_gt
    precision = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]  # best precision from here on
    out = np.zeros((num_thresholds, len(recall_points)))
    for t in range(num_thresholds):
        index = np.searchsorted(recall[t], recall_points, side="left")
        reached = index < num_dets
        out[t, reached] = envelope[t, index[reached]]
    return out, recall[:, -1]


def confidence_curves(scores, true_positive, num_gt: int, confidence_points):
    """Precision and recall of the detections scoring >= c, for each confidence c.

    Args:
        scores (ndarray[D]): descending scores of one class's non-ignored detections.
        true_positive (ndarray[D] bool): their flags at one IoU threshold.
        num_gt: number of non-ignored ground truths of the class (> 0).
        confidence_points (ndarray[C]): ascending confidences.

    Returns:
        (precision ndarray[C], recall ndarray[C]); precision is 1 where no detection scores >= c.
    """
    kept = len(scores) - np.searchsorted(scores[::-1], confidence_points, side="left")  # count >= c
    tp_sum = np.concatenate([[0.0], np.cumsum(true_positive, dtype=np.float64)])
    true_kept = tp_sum[kept]
    precision = np.where(kept > 0, true_kept / np.maximum(kept, 1), 1.0)
    return precision, true_kept / num_gt


def f1_score(precision, recall, eps: float = 1e-16):
    """Elementwise F1 = 2PR / (P + R), 0 where both are 0."""
    return 2 * precision * recall / (precision + recall + eps)


def box_smooth(values, fraction: float):
    """Centred moving average over an odd window of about ``fraction`` × len(values) samples.

    values (ndarray[C]) -> ndarray[C]; the ends are padded by repeating the edge values.
    """
    half = int(round(len(values) * fraction)) // 2
    if half == 0:
        return values.copy()
    padded = np.concatenate([np.full(half, values[0]), values, np.full(half, values[-1])])
    return np.convolve(padded, np.ones(2 * half + 1) / (2 * half + 1), mode="valid")
