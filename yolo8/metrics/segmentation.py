"""Mask metrics with COCO segm semantics: polygons rasterised at image resolution, mask IoU, mask AP.

The evaluation is the COCO one (:func:`yolo8.metrics.evaluation.evaluate_coco`: IoU 0.50:0.05:0.95,
101 recall points, maxDets 100, small / medium / large area ranges) with two substitutions, exactly
as COCOeval does for ``iouType="segm"``:

* overlaps are mask IoUs (intersection / union of pixel sets, 0 when the union is empty);
* areas are mask areas: a detection's area is its mask's pixel count (COCO's ``loadRes`` computes
  it so), a ground truth's area is its rasterised mask's pixel count. COCO reads the annotation's
  ``area`` field instead, which for polygon annotations is the polygon's area; the pixel count of the
  rasterised polygon is that area up to boundary pixels.

Ground-truth polygons are rasterised with COCO's rule: a pixel belongs to a polygon when its centre
(``c + 0.5, r + 0.5`` in continuous pixel coordinates) lies inside it (even-odd rule, edges half-open).
``cv2.fillPoly`` is not used because it fills every pixel the outline touches (a 4-pixel-wide
rectangle becomes 5 pixels wide), which inflates small ground truths and biases mask IoU down.
Crowd ground truths are not supported: YOLO labels have none.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from yolo8.metrics.detection import DetectionMetrics, ImageEntry, _as_numpy, _join_entries
from yolo8.metrics.evaluation import CocoTables, evaluate_coco


def polygon_to_mask(points, height: int, width: int) -> np.ndarray:
    """One polygon -> (height, width) bool mask of the pixels whose centre lies inside it.

    Args:
        points: (K, 2) x, y in continuous pixel coordinates (pixel (r, c) spans [c, c+1) × [r, r+1)).
        height, width: the mask size.
    Returns:
        (height, width) bool; a pixel is inside when its centre is (even-odd rule, left/top edges
        inclusive, right/bottom exclusive, so polygons sharing an edge never share a pixel).
    """
    mask = np.zeros((height, width), dtype=bool)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < 3 or height == 0 or width == 0:
        return mask
    first_row = max(0, math.ceil(points[:, 1].min() - 0.5))
    last_row = min(height - 1, math.ceil(points[:, 1].max() - 0.5) - 1)
    if last_row < first_row:
        return mask
    centres_y = np.arange(first_row, last_row + 1, dtype=np.float64) + 0.5  # (R,)
    start, end = points, np.roll(points, -1, axis=0)  # edges start -> end, (K, 2) each
    y0, y1 = start[None, :, 1], end[None, :, 1]  # (1, K)
    crosses = ((y0 <= centres_y[:, None]) & (centres_y[:, None] < y1)) | (
        (y1 <= centres_y[:, None]) & (centres_y[:, None] < y0))  # (R, K): half-open in y, no double vertex
    with np.errstate(divide="ignore", invalid="ignore"):
        x = start[None, :, 0] + (centres_y[:, None] - y0) * (end[None, :, 0] - start[None, :, 0]) / (y1 - y0)
    x = np.sort(np.where(crosses, x, np.inf), axis=1)  # (R, K): crossings ascending, inf after the last
    spans = x.shape[1] // 2
    left, right = x[:, 0 : 2 * spans : 2], x[:, 1 : 2 * spans : 2]  # (R, S) enter / leave pairs
    valid = np.isfinite(right)
    # columns whose centre c + 0.5 lies in [left, right): ceil(left - 0.5) <= c < ceil(right - 0.5)
    first_column = np.clip(np.ceil(left[valid] - 0.5), 0, width).astype(np.int64)
    stop_column = np.clip(np.ceil(right[valid] - 0.5), 0, width).astype(np.int64)
    rows = np.nonzero(valid)[0]
    edges = np.zeros((len(centres_y), width + 1), dtype=np.int64)  # span starts +1, span ends -1
    np.add.at(edges, (rows, first_column), 1)
    np.add.at(edges, (rows, stop_column), -1)
    mask[first_row : last_row + 1] = np.cumsum(edges[:, :width], axis=1) > 0
    return mask


def polygons_to_masks(polygons: list, height: int, width: int) -> np.ndarray:
    """n polygons, each (K, 2) x, y continuous pixels -> (n, height, width) bool (see :func:`polygon_to_mask`)."""
    masks = np.zeros((len(polygons), height, width), dtype=bool)
    for index, points in enumerate(polygons):
        masks[index] = polygon_to_mask(points, height, width)
    return masks


def mask_iou(pred_masks: torch.Tensor, gt_masks: torch.Tensor, chunk: int = 32) -> torch.Tensor:
    """IoU of every predicted mask with every ground-truth mask.

    Args:
        pred_masks: (N, H, W) bool. gt_masks: (M, H, W) bool, same device.
        chunk: ground-truth masks turned into float at once (bounds memory at ``chunk`` float images).
    Returns:
        (N, M) float64 intersection / union; 0 where the union is empty. Pixel counts are exact
        (float32 sums of 0/1 are exact below 2^24 pixels per image).
    """
    return mask_iou_and_areas(pred_masks, gt_masks, chunk=chunk)[0]


def mask_iou_and_areas(pred_masks: torch.Tensor, gt_masks: torch.Tensor, gt_areas: torch.Tensor | None = None,
                       chunk: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`mask_iou` and the predicted masks' areas from one float copy of them.

    Args:
        pred_masks (N, H, W) bool, gt_masks (M, H, W) bool; gt_areas: (M,) their pixel counts when
        already known (None: counted here). chunk: as for :func:`mask_iou`.
    Returns:
        (iou (N, M) float64, pred_areas (N,) float64 pixel counts), on the masks' device.
    """
    pred = pred_masks.flatten(1).float()  # (N, H, W) -> (N, H*W)
    truth = gt_masks.flatten(1)  # (M, H, W) -> (M, H*W)
    pred_areas = pred.sum(1).double()
    if gt_areas is None:
        gt_areas = truth.sum(1, dtype=torch.float64)
    intersection = torch.zeros((len(pred), len(truth)), dtype=torch.float64, device=pred.device)
    for start in range(0, len(truth), chunk):
        intersection[:, start : start + chunk] = (pred @ truth[start : start + chunk].float().T).double()
    union = pred_areas[:, None] + gt_areas.to(pred.device, torch.float64)[None, :] - intersection
    iou = torch.where(union > 0, intersection / union.clamp(min=1), torch.zeros_like(union))
    return iou, pred_areas


class MaskMetrics(DetectionMetrics):
    """Accumulates per-image mask IoUs and areas; ``compute`` gives a :class:`DetectionSummary` of mask AP.

    Everything but the overlaps and the areas (ranking, matching, summaries, the YOLO-style P / R /
    F1 curves) is shared with :class:`DetectionMetrics`, so ``compute()`` returns the same summary
    with mask values in it. Args as for :class:`DetectionMetrics`.
    """

    def update(self, iou, pred_areas, pred_scores, pred_classes, gt_areas, gt_classes, image_id=None):
        """Store one image.

        Args:
            iou (Tensor | ndarray[N, M]): mask IoU of each detection with each ground truth (:func:`mask_iou`).
            pred_areas ([N] mask pixel counts), pred_scores ([N]), pred_classes ([N] class ids).
            gt_areas ([M] mask pixel counts), gt_classes ([M]).
            image_id: optional sortable id, as in :meth:`DetectionMetrics.update`.
        """
        areas = _as_numpy(pred_areas, np.float64, "pred_areas")
        scores = _as_numpy(pred_scores, np.float64, "pred_scores")
        classes = _as_numpy(pred_classes, np.int64, "pred_classes")
        true_areas = _as_numpy(gt_areas, np.float64, "gt_areas")
        true_classes = _as_numpy(gt_classes, np.int64, "gt_classes")
        overlaps = iou.detach().cpu().numpy() if isinstance(iou, torch.Tensor) else np.asarray(iou)
        overlaps = np.asarray(overlaps, np.float64).reshape(len(areas), len(true_areas))
        if not len(areas) == len(scores) == len(classes):
            raise ValueError(f"MaskMetrics.update: pred_areas, pred_scores, pred_classes have lengths "
                             f"{len(areas)}, {len(scores)}, {len(classes)}; they must be equal.")
        if len(true_areas) != len(true_classes):
            raise ValueError(f"MaskMetrics.update: gt_areas has {len(true_areas)} entries but gt_classes "
                             f"{len(true_classes)}; they must be equal.")
        for name, values in (("pred_classes", classes), ("gt_classes", true_classes)):
            if values.size and (values.min() < 0 or values.max() >= self.num_classes):
                raise ValueError(f"MaskMetrics.update: {name} holds {values.min()}..{values.max()}, outside "
                                 f"[0, {self.num_classes}); check num_classes or the label files.")
        crowd = np.zeros(len(true_areas), bool)
        self._images.append(ImageEntry(image_id, scores, classes, true_classes, crowd, det_areas=areas,
                                       gt_areas=true_areas, overlaps=overlaps))

    def coco_tables(self) -> CocoTables:
        """Run the COCO segm evaluation over every stored image."""
        ranks = self._image_ranks()
        entries = self._images
        det_counts = np.array([len(entry.det_scores) for entry in entries], np.int64)
        gt_counts = np.array([len(entry.gt_classes) for entry in entries], np.int64)
        det_entry = np.repeat(np.arange(len(entries)), det_counts)
        det_local = np.arange(int(det_counts.sum())) - np.repeat(np.cumsum(det_counts) - det_counts, det_counts)
        gt_local = np.arange(int(gt_counts.sum())) - np.repeat(np.cumsum(gt_counts) - gt_counts, gt_counts)
        sizes = det_counts * gt_counts
        offsets = np.cumsum(sizes) - sizes
        flat_iou = np.concatenate([entry.overlaps.ravel() for entry in entries]) if entries else np.zeros(0)

        def pair_overlap(det_index, gt_index):
            entry = det_entry[det_index]  # a pair's detection and ground truth share the image
            return flat_iou[offsets[entry] + det_local[det_index] * gt_counts[entry] + gt_local[gt_index]]

        return evaluate_coco(
            np.repeat(ranks, det_counts), None, _join_entries(entries, "det_scores", np.float64),
            _join_entries(entries, "det_classes", np.int64), np.repeat(ranks, gt_counts), None,
            _join_entries(entries, "gt_classes", np.int64), _join_entries(entries, "gt_crowd", bool),
            self.num_classes, self.max_dets, det_areas=_join_entries(entries, "det_areas", np.float64),
            gt_areas=_join_entries(entries, "gt_areas", np.float64), pair_overlap=pair_overlap,
        )
