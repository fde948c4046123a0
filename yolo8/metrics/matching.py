"""Matching detections to ground truth: COCO's greedy score-ordered rule and a plain IoU-ordered rule.

Everything here is numpy, float64, boxes in xyxy pixels. The COCO rule (as published with the COCO
detection evaluation) is, for one (image, category) and one IoU threshold ``t``:

* detections are visited in descending score order (stable: equal scores keep their input order);
* each detection takes the unmatched ground truth with the highest IoU >= ``t``; ground truths that
  are "ignored" (crowd, or outside the area range) are only considered when no non-ignored one
  qualifies; among equal IoUs the later ground truth (in input order) wins;
* a crowd ground truth stays available after a match (it can absorb many detections), and its IoU
  is intersection / detection area.

:func:`coco_match` runs that rule for many (image, category) groups, area ranges and thresholds at
once: it loops over the detection rank inside a group, never over detections one by one.
"""

from __future__ import annotations

import numpy as np


def pair_overlaps(det_boxes, gt_boxes, gt_crowd):
    """Elementwise COCO overlap of paired boxes.

    Args:
        det_boxes (ndarray[P, 4], xyxy, float64), gt_boxes (ndarray[P, 4], xyxy, float64).
        gt_crowd (ndarray[P], bool): for crowd pairs the overlap is intersection / detection area.

    Returns:
        ndarray[P] float64 in [0, 1]; 0 where the boxes do not intersect.
    """
    inter_w = np.minimum(det_boxes[:, 2], gt_boxes[:, 2]) - np.maximum(det_boxes[:, 0], gt_boxes[:, 0])
    inter_h = np.minimum(det_boxes[:, 3], gt_boxes[:, 3]) - np.maximum(det_boxes[:, 1], gt_boxes[:, 1])
    intersects = (inter_w > 0) & (inter_h > 0)
    intersection = np.where(intersects, inter_w * inter_h, 0.0)
    det_area = (det_boxes[:, 2] - det_boxes[:, 0]) * (det_boxes[:, 3] - det_boxes[:, 1])
    gt_area = (gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])
    union = np.where(gt_crowd, det_area, det_area + gt_area - intersection)
    return np.where(intersects, intersection / np.where(intersects, union, 1.0), 0.0)


def group_pairs(det_keys, gt_keys):
    """All (detection, ground truth) pairs that share a group key.

    Args:
        det_keys (ndarray[N] int64), gt_keys (ndarray[M] int64): group key of each box, e.g.
            ``image * num_classes + class``.

    Returns:
        (pair_det ndarray[P], pair_gt ndarray[P], pair_slot ndarray[P]) int64: the pairs grouped by
        detection (ascending), ground truths of a group in input order; ``pair_slot`` is the position
        of the ground truth inside its group (0 … G-1).
    """
    gt_order = np.argsort(gt_keys, kind="stable")
    sorted_keys = gt_keys[gt_order]
    start = np.searchsorted(sorted_keys, det_keys, side="left")
    count = np.searchsorted(sorted_keys, det_keys, side="right") - start
    pair_det = np.repeat(np.arange(len(det_keys)), count)
    first_pair = np.cumsum(count) - count
    pair_slot = np.arange(len(pair_det)) - np.repeat(first_pair, count)
    pair_gt = gt_order[np.repeat(start, count) + pair_slot]
    return pair_det, pair_gt, pair_slot


def _last_argmax(values):
    """values (..., G) -> (index of the last maximum along G (..., ), that maximum (..., ))."""
    flipped = values[..., ::-1]
    index = values.shape[-1] - 1 - np.argmax(flipped, axis=-1)
    return index, np.max(values, axis=-1)


def coco_match(det_keys, det_ranks, gt_keys, gt_ignore, gt_crowd, pair_det, pair_gt, pair_slot, overlaps, thresholds):
    """COCO greedy matching for every group, area range and IoU threshold.

    Args:
        det_keys (ndarray[N] int64): group key per detection; detections of a group must already be
            in visiting order (descending score, stable) and ``det_ranks`` (ndarray[N] int64) gives
            each detection's position in that order.
        gt_keys (ndarray[M] int64): group key per ground truth.
        gt_ignore (ndarray[A, M] bool): ground truth ignored in area range ``a`` (crowd or outside it).
        gt_crowd (ndarray[M] bool): crowd ground truths (never used up).
        pair_det, pair_gt, pair_slot, overlaps (ndarray[P]): the pairs of :func:`group_pairs` and their
            :func:`pair_overlaps`.
        thresholds (ndarray[T] float64): IoU thresholds (already capped at 1 - 1e-10 as COCO does).

    Returns:
        (matched ndarray[A, T, N] bool, matched_ignored ndarray[A, T, N] bool): whether each detection
        took a ground truth, and whether that ground truth was an ignored one.
    """
    num_areas, num_thresholds, num_dets = gt_ignore.shape[0], len(thresholds), len(det_keys)
    matched = np.zeros((num_areas, num_thresholds, num_dets), dtype=bool)
    matched_ignored = np.zeros_like(matched)
    # Only detections that reach the lowest threshold with some ground truth can change any state.
    useful = overlaps >= thresholds.min()
    candidate = np.zeros(num_dets, dtype=bool)
    candidate[pair_det[useful]] = True
    if not candidate.any():
        return matched, matched_ignored

    group_size = np.bincount(pair_det, minlength=num_dets)
    candidates = np.flatnonzero(candidate)
    # Bucket by group size (powers of two) so padding the gt axis stays cheap.
    bucket_of = np.ceil(np.log2(np.maximum(group_size[candidates], 1))).astype(np.int64)
    pair_of_candidate = np.full(num_dets, -1, dtype=np.int64)
    pair_of_candidate[candidates] = np.arange(len(candidates))
    keep_pair = candidate[pair_det]
    for bucket in np.unique(bucket_of):
        dets = candidates[bucket_of == bucket]
        pad = int(group_size[dets].max())
        _match_bucket(
            dets, pad, det_keys, det_ranks, gt_ignore, gt_crowd, pair_det[keep_pair], pair_gt[keep_pair],
            pair_slot[keep_pair], overlaps[keep_pair], thresholds, matched, matched_ignored,
        )
    return matched, matched_ignored


def _match_bucket(dets, pad, det_keys, det_ranks, gt_ignore, gt_crowd, pair_det, pair_gt, pair_slot, overlaps,
                  thresholds, matched, matched_ignored):
    """Greedy matching for the detections ``dets`` whose groups hold at most ``pad`` ground truths.

    Writes into ``matched`` / ``matched_ignored`` (ndarray[A, T, N]) in place.
    """
    num_areas = gt_ignore.shape[0]
    local = np.full(len(det_keys), -1, dtype=np.int64)
    local[dets] = np.arange(len(dets))
    in_bucket = local[pair_det] >= 0
    rows, slots = local[pair_det[in_bucket]], pair_slot[in_bucket]
    det_overlap = np.full((len(dets), pad), -1.0)  # (D, G): padded slots never qualify
    det_overlap[rows, slots] = overlaps[in_bucket]

    group_keys, det_group = np.unique(det_keys[dets], return_inverse=True)
    num_groups = len(group_keys)
    group_ignore = np.ones((num_groups, num_areas, pad), dtype=bool)  # (Gr, A, G)
    group_crowd = np.zeros((num_groups, pad), dtype=bool)  # (Gr, G)
    group_gt = np.full((num_groups, pad), -1, dtype=np.int64)
    group_gt[det_group[rows], slots] = pair_gt[in_bucket]
    valid = group_gt >= 0
    gt_index = np.where(valid, group_gt, 0)
    group_ignore[:] = np.where(valid[:, None, :], gt_ignore[:, gt_index].transpose(1, 0, 2), True)
    group_crowd[:] = valid & gt_crowd[gt_index]
    used = np.zeros((num_groups, num_areas, len(thresholds), pad), dtype=bool)  # (Gr, A, T, G)

    # Rank among this bucket's candidates within each group: candidates are visited in score order.
    order = np.lexsort((det_ranks[dets], det_group))
    first = np.searchsorted(det_group[order], det_group[order], side="left")
    step_of = np.empty(len(dets), dtype=np.int64)
    step_of[order] = np.arange(len(dets)) - first
    by_step = np.argsort(step_of, kind="stable")
    step_bounds = np.searchsorted(step_of[by_step], np.arange(step_of.max() + 2))
    thresholds_4d = thresholds[None, None, :, None]
    for step in range(len(step_bounds) - 1):
        active = by_step[step_bounds[step]:step_bounds[step + 1]]  # one detection per group at most
        groups = det_group[active]
        overlap = det_overlap[active][:, None, None, :]  # (n, 1, 1, G)
        crowd = group_crowd[groups][:, None, None, :]
        ignore = group_ignore[groups][:, :, None, :]  # (n, A, 1, G)
        qualifies = (~used[groups] | crowd) & (overlap >= thresholds_4d)  # (n, A, T, G)
        best_kept, value_kept = _last_argmax(np.where(qualifies & ~ignore, overlap, -1.0))
        best_ignored, value_ignored = _last_argmax(np.where(qualifies & ignore, overlap, -1.0))
        has_kept, has_ignored = value_kept >= 0, value_ignored >= 0  # (n, A, T)
        choice = np.where(has_kept, best_kept, best_ignored)
        took = has_kept | has_ignored
        n_index, a_index, t_index = np.nonzero(took)
        used[groups[n_index], a_index, t_index, choice[n_index, a_index, t_index]] = True
        det_index = dets[active]
        matched[:, :, det_index] = took.transpose(1, 2, 0)  # (n, A, T) -> (A, T, n)
        matched_ignored[:, :, det_index] = (~has_kept & has_ignored).transpose(1, 2, 0)


def match_by_iou(iou, threshold: float):
    """One-to-one matching by descending IoU (greedy), used by the confusion matrix.

    Args:
        iou (ndarray[M, N]): IoU of ground truth ``m`` with detection ``n``.
        threshold: pairs need IoU >= threshold.

    Returns:
        (gt_index ndarray[K], det_index ndarray[K]) int64: each ground truth and each detection used
        at most once; pairs are taken in descending IoU and skipped when either side is already used
        (ties: row-major order of the matrix).
    """
    gt_index, det_index = np.nonzero(iou >= threshold)
    order = np.argsort(-iou[gt_index, det_index], kind="stable")
    used_gt, used_det, keep = set(), set(), []
    for pair, (gt, det) in enumerate(zip(gt_index[order].tolist(), det_index[order].tolist())):
        if gt not in used_gt and det not in used_det:
            used_gt.add(gt)
            used_det.add(det)
            keep.append(pair)
    keep = order[np.asarray(keep, dtype=np.int64)]
    return gt_index[keep].astype(np.int64), det_index[keep].astype(np.int64)
