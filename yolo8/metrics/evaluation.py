"""The COCO bbox evaluation (default parameters) over flat arrays of detections and ground truths.

Semantics follow the published COCO detection evaluation: top ``max_dets`` detections per
(image, category) by score, greedy score-ordered matching (:func:`yolo8.metrics.matching.coco_match`),
crowd and out-of-range ground truths ignored, unmatched out-of-range detections ignored, 101-point
interpolated precision per (IoU threshold, category, area range), -1 where a category has no
non-ignored ground truth. Ground-truth and detection areas are box areas, and overlaps box IoUs,
unless the caller passes its own areas and a pair-overlap function (the COCO segm evaluation passes
mask pixel areas and mask IoUs: everything else is the same evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yolo8.metrics.ap import AREA_RANGES, IOU_THRESHOLDS, RECALL_THRESHOLDS, interpolated_precision
from yolo8.metrics.matching import coco_match, group_pairs, pair_overlaps


@dataclass
class CocoTables:
    """Result of :func:`evaluate_coco`.

    precision: ndarray[T, R, K, A], interpolated precision; -1 for (category, area) without ground truth.
    recall_at_max_dets: ndarray[M, T, K, A], recall when only the top ``max_dets_values[m]`` detections
        per (image, category) are kept (from the same matching); -1 likewise.
    recall (property): ndarray[T, K, A], the final recall at ``max_dets``, ``recall_at_max_dets[-1]``.
    max_dets_values: the M detection limits, (1, 10, max_dets) (COCO's maxDets [1, 10, 100]).
    num_gt: ndarray[K, A] int64, non-ignored ground truths per category and area range.
    ranked_scores: ndarray[D] scores of the kept detections, sorted by (class, descending score).
    ranked_classes: ndarray[D] int64 classes in that order.
    ranked_true_positive, ranked_false_positive: ndarray[T, D] bool for the area range "all".
    area_names: the A area-range names, in order.
    """

    precision: np.ndarray
    recall_at_max_dets: np.ndarray
    max_dets_values: tuple
    num_gt: np.ndarray
    ranked_scores: np.ndarray
    ranked_classes: np.ndarray
    ranked_true_positive: np.ndarray
    ranked_false_positive: np.ndarray
    area_names: tuple

    @property
    def recall(self) -> np.ndarray:
        return self.recall_at_max_dets[-1]


def box_areas(boxes):
    """boxes (ndarray[N, 4], xyxy) -> areas (ndarray[N])."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def evaluate_coco(det_images, det_boxes, det_scores, det_classes, gt_images, gt_boxes, gt_classes, gt_crowd,
                  num_classes: int, max_dets: int = 100, det_areas=None, gt_areas=None, pair_overlap=None):
    """COCO evaluation of flat arrays (bbox by default; any IoU type through ``pair_overlap``).

    Args:
        det_images (ndarray[N] int64): image rank of each detection; images are visited in this order
            (it only breaks ties between equal scores of different images, as the sorted image ids do
            in COCO). det_boxes (ndarray[N, 4] xyxy pixels), det_scores (ndarray[N]), det_classes
            (ndarray[N] int64 in [0, num_classes)). Within one image, input order breaks score ties.
        gt_images, gt_boxes, gt_classes (ndarray[M], [M, 4] xyxy pixels, [M]), gt_crowd (ndarray[M] bool).
        num_classes: K. max_dets: detections kept per (image, class).
        det_areas (ndarray[N]), gt_areas (ndarray[M]): the areas the area ranges test (None: box areas).
        pair_overlap: None for box IoU, or a function (det_index ndarray[P], gt_index ndarray[P]) ->
            overlaps ndarray[P] in [0, 1] of those (detection, ground truth) pairs, indices into the
            input arrays; it is only asked about pairs of the same image and class. With it (and both
            areas given) ``det_boxes`` / ``gt_boxes`` are not read and may be None.

    Returns:
        :class:`CocoTables`.
    """
    det_scores = np.asarray(det_scores, np.float64)
    if det_areas is None:
        det_areas = box_areas(np.asarray(det_boxes, np.float64).reshape(-1, 4))
    if gt_areas is None:
        gt_areas = box_areas(np.asarray(gt_boxes, np.float64).reshape(-1, 4))
    det_areas, gt_area = np.asarray(det_areas, np.float64), np.asarray(gt_areas, np.float64)
    det_keys = np.asarray(det_images, np.int64) * num_classes + np.asarray(det_classes, np.int64)
    gt_keys = np.asarray(gt_images, np.int64) * num_classes + np.asarray(gt_classes, np.int64)
    gt_crowd = np.asarray(gt_crowd, bool)

    # Group detections by (image, class) in descending score order, stable, and keep the top max_dets.
    order = np.lexsort((-det_scores, det_keys))
    sorted_keys = det_keys[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_keys, sorted_keys, side="left")
    order, rank = order[rank < max_dets], rank[rank < max_dets]
    # Then rank per class across images: descending score, ties by image order then in-image order.
    # Matching does not depend on this order (it follows ``rank``), so every later array comes out ranked.
    by_class = np.lexsort((-det_scores[order], det_keys[order] % num_classes))
    order, rank = order[by_class], rank[by_class]
    det_keys, det_scores, det_area = det_keys[order], det_scores[order], det_areas[order]
    det_classes = det_keys % num_classes

    area_names = tuple(AREA_RANGES)
    low = np.array([AREA_RANGES[name][0] for name in area_names])[:, None]  # (A, 1)
    high = np.array([AREA_RANGES[name][1] for name in area_names])[:, None]
    gt_ignore = gt_crowd[None, :] | (gt_area[None, :] < low) | (gt_area[None, :] > high)  # (A, M)
    det_outside = (det_area[None, :] < low) | (det_area[None, :] > high)  # (A, N)

    pair_det, pair_gt, pair_slot = group_pairs(det_keys, gt_keys)
    if pair_overlap is None:
        det_boxes, gt_boxes = np.asarray(det_boxes, np.float64), np.asarray(gt_boxes, np.float64)
        overlaps = pair_overlaps(det_boxes[order[pair_det]], gt_boxes[pair_gt], gt_crowd[pair_gt])
    else:
        overlaps = np.asarray(pair_overlap(order[pair_det], pair_gt), np.float64).reshape(len(pair_det))
    thresholds = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)
    matched, matched_ignored = coco_match(
        det_keys, rank, gt_keys, gt_ignore, gt_crowd, pair_det, pair_gt, pair_slot, overlaps, thresholds
    )
    true_positive = matched & ~matched_ignored  # (A, T, N)
    false_positive = ~matched & ~det_outside[:, None, :]

    bounds = np.searchsorted(det_classes, np.arange(num_classes + 1))
    gt_classes = np.asarray(gt_classes, np.int64)
    num_gt = np.stack(
        [np.bincount(gt_classes[~gt_ignore[a]], minlength=num_classes) for a in range(len(area_names))], axis=1
    )  # (K, A)

    precision = -np.ones((len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), num_classes, len(area_names)))
    num_thresholds = len(IOU_THRESHOLDS)
    for k in np.flatnonzero(num_gt.any(axis=1)):
        span, areas = slice(bounds[k], bounds[k + 1]), np.flatnonzero(num_gt[k])
        class_precision, _ = interpolated_precision(
            true_positive[areas, :, span].reshape(len(areas) * num_thresholds, -1),  # (a, T, n) -> (a*T, n)
            false_positive[areas, :, span].reshape(len(areas) * num_thresholds, -1),
            np.repeat(num_gt[k, areas], num_thresholds)[:, None],
        )
        precision[:, :, k, areas] = class_precision.reshape(len(areas), num_thresholds, -1).transpose(1, 2, 0)
    max_dets_values = (1, 10, max_dets)
    recall_at_max_dets = recall_by_max_dets(true_positive, rank, det_classes, num_gt, max_dets_values)
    all_index = area_names.index("all")
    return CocoTables(
        precision=precision,
        recall_at_max_dets=recall_at_max_dets,
        max_dets_values=max_dets_values,
        num_gt=num_gt,
        ranked_scores=det_scores,
        ranked_classes=det_classes,
        ranked_true_positive=true_positive[all_index],
        ranked_false_positive=false_positive[all_index],
        area_names=area_names,
    )


def recall_by_max_dets(true_positive, rank, det_classes, num_gt, max_dets_values):
    """Recall per detection limit from one matching (greedy matching in score order makes the matches
    of a detection independent of the lower-scored ones, so truncating afterwards equals re-matching).

    Args:
        true_positive (ndarray[A, T, N] bool): matched to a non-ignored ground truth.
        rank (ndarray[N] int64): each detection's score rank within its (image, class).
        det_classes (ndarray[N] int64), num_gt (ndarray[K, A]): non-ignored ground truths.
        max_dets_values: the M limits; a detection counts under limit m when rank < m.

    Returns:
        ndarray[M, T, K, A]: true positives with rank < m over num_gt; -1 where num_gt is 0.
    """
    num_areas, num_thresholds, num_dets = true_positive.shape
    num_classes = num_gt.shape[0]
    flat = np.flatnonzero(true_positive)  # into (A, T, N), row-major
    area_threshold, det = np.divmod(flat, num_dets)
    cell = area_threshold * num_classes + det_classes[det]  # index into (A, T, K)
    out = -np.ones((len(max_dets_values), num_thresholds, num_classes, num_areas))
    valid = num_gt > 0  # (K, A)
    for m, limit in enumerate(max_dets_values):
        counts = np.bincount(cell[rank[det] < limit], minlength=num_areas * num_thresholds * num_classes)
        counts = counts.reshape(num_areas, num_thresholds, num_classes).transpose(1, 2, 0)  # (A, T, K) -> (T, K, A)
        out[m] = np.where(valid, counts / np.maximum(num_gt, 1), -1.0)
    return out


def mean_valid(values):
    """Mean of the entries > -1 (COCO's summary rule); -1 when there are none."""
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else -1.0
