"""Detection metrics for the validator: per-image accumulation, then one COCO + YOLO-style summary.

``DetectionMetrics.update`` stores compact numpy copies per image; ``compute`` runs the COCO bbox
evaluation (:mod:`yolo8.metrics.evaluation`, equal to pycocotools' COCOeval with default parameters
when ground-truth ``area`` is the box area; only a set without labels differs: its headline mAPs are
YOLOv8's 0, not COCO's -1) and derives the YOLO-style precision / recall at the
confidence that maximises the mean F1 over classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from yolo8.metrics.ap import box_smooth, confidence_curves, f1_score, interpolated_precision
from yolo8.metrics.evaluation import CocoTables, evaluate_coco, mean_valid
from yolo8.metrics.summary import DetectionSummary

CURVE_POINTS = 1000  # samples of the confidence / recall axes of the curves


@dataclass(frozen=True)
class ImageEntry:
    """One image as ``update`` stores it: its detections and ground truths, as numpy arrays.

    Boxes are (N, 4) / (M, 4) xyxy pixels for box metrics. Mask metrics store no boxes: they store the
    masks' pixel counts as areas and the (N, M) mask IoUs as ``overlaps``, computed at update time.
    """

    image_id: object
    det_scores: np.ndarray  # (N,)
    det_classes: np.ndarray  # (N,) int64
    gt_classes: np.ndarray  # (M,) int64
    gt_crowd: np.ndarray  # (M,) bool
    det_boxes: np.ndarray | None = None  # (N, 4)
    gt_boxes: np.ndarray | None = None  # (M, 4)
    det_areas: np.ndarray | None = None  # (N,)
    gt_areas: np.ndarray | None = None  # (M,)
    overlaps: np.ndarray | None = None  # (N, M)


def _as_numpy(value, dtype, name, shape_tail=()):
    """Tensor / array / list -> contiguous ndarray of ``dtype``; checks the trailing shape."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value, dtype=dtype)
    if array.size == 0:
        array = array.reshape((0, *shape_tail))
    if array.ndim != 1 + len(shape_tail) or array.shape[1:] != tuple(shape_tail):
        expected = "(n)" if not shape_tail else f"(n, {shape_tail[0]})"
        raise ValueError(f"DetectionMetrics.update: {name} has shape {array.shape}; expected {expected}.")
    return array


def _join_entries(entries: list[ImageEntry], name: str, dtype, shape_tail=()) -> np.ndarray:
    """The field ``name`` of every entry, concatenated: (sum of lengths, *shape_tail) of ``dtype``."""
    parts = [getattr(entry, name) for entry in entries]
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros((0, *shape_tail), dtype)


class DetectionMetrics:
    """Accumulates per-image detections and ground truths; ``compute`` gives a :class:`DetectionSummary`.

    Args:
        num_classes: number of classes K; class ids must lie in [0, K).
        names: {class id: name}, passed through to the summary.
        max_dets: detections kept per (image, class), COCO's maxDets (100).
        f1_smoothing: width of the moving average applied to the mean-F1 curve, as a fraction of
            its 1000 points, before taking its maximum (0 disables smoothing).
    """

    def __init__(self, num_classes: int, names: dict, max_dets: int = 100, f1_smoothing: float = 0.1):
        self.num_classes = int(num_classes)
        self.names = dict(names)
        self.max_dets = int(max_dets)
        self.f1_smoothing = float(f1_smoothing)
        self.reset()

    def reset(self):
        """Forget every stored image."""
        self._images: list[ImageEntry] = []

    def __len__(self):
        return len(self._images)

    def update(self, pred_boxes, pred_scores, pred_classes, gt_boxes, gt_classes, gt_iscrowd=None, image_id=None):
        """Store one image.

        Args:
            pred_boxes (Tensor | ndarray[N, 4], xyxy pixels), pred_scores ([N]), pred_classes ([N] class ids).
            gt_boxes ([M, 4], xyxy pixels), gt_classes ([M]), gt_iscrowd ([M] bool or None = no crowd).
            image_id: optional sortable id; when every image has one, images are ranked by it (COCO
                sorts image ids), which only decides between equal scores of different images.
        """
        boxes = _as_numpy(pred_boxes, np.float64, "pred_boxes", (4,))
        scores = _as_numpy(pred_scores, np.float64, "pred_scores")
        classes = _as_numpy(pred_classes, np.int64, "pred_classes")
        true_boxes = _as_numpy(gt_boxes, np.float64, "gt_boxes", (4,))
        true_classes = _as_numpy(gt_classes, np.int64, "gt_classes")
        crowd = np.zeros(len(true_boxes), bool) if gt_iscrowd is None else _as_numpy(gt_iscrowd, bool, "gt_iscrowd")
        if not len(boxes) == len(scores) == len(classes):
            raise ValueError(f"DetectionMetrics.update: pred_boxes, pred_scores, pred_classes have lengths "
                             f"{len(boxes)}, {len(scores)}, {len(classes)}; they must be equal.")
        if not len(true_boxes) == len(true_classes) == len(crowd):
            raise ValueError(f"DetectionMetrics.update: gt_boxes, gt_classes, gt_iscrowd have lengths "
                             f"{len(true_boxes)}, {len(true_classes)}, {len(crowd)}; they must be equal.")
        for name, values in (("pred_classes", classes), ("gt_classes", true_classes)):
            if values.size and (values.min() < 0 or values.max() >= self.num_classes):
                raise ValueError(f"DetectionMetrics.update: {name} holds {values.min()}..{values.max()}, outside "
                                 f"[0, {self.num_classes}); check num_classes or the label files.")
        self._images.append(ImageEntry(image_id, scores, classes, true_classes, crowd,
                                       det_boxes=boxes, gt_boxes=true_boxes))

    def _image_ranks(self):
        ids = [entry.image_id for entry in self._images]
        if any(image_id is None for image_id in ids):
            return np.arange(len(ids))
        try:
            visiting_order = sorted(range(len(ids)), key=lambda i: ids[i])
        except TypeError as error:
            raise ValueError(f"DetectionMetrics: image_id values cannot be sorted together ({error}); pass ids of "
                             "one type (all int or all str) or none at all.") from None
        ranks = np.empty(len(ids), dtype=np.int64)
        ranks[visiting_order] = np.arange(len(ids))
        return ranks

    def coco_tables(self) -> CocoTables:
        """Run the COCO evaluation over every stored image."""
        ranks = self._image_ranks()
        entries = self._images
        det_images = np.repeat(ranks, [len(entry.det_scores) for entry in entries]).astype(np.int64)
        gt_images = np.repeat(ranks, [len(entry.gt_classes) for entry in entries]).astype(np.int64)
        return evaluate_coco(
            det_images, _join_entries(entries, "det_boxes", np.float64, (4,)),
            _join_entries(entries, "det_scores", np.float64), _join_entries(entries, "det_classes", np.int64),
            gt_images, _join_entries(entries, "gt_boxes", np.float64, (4,)),
            _join_entries(entries, "gt_classes", np.int64), _join_entries(entries, "gt_crowd", bool),
            self.num_classes, self.max_dets,
        )

    def compute(self) -> DetectionSummary:
        """Evaluate everything stored so far."""
        tables = self.coco_tables()
        nc, precision = self.num_classes, tables.precision
        all_areas = tables.area_names.index("all")
        overall = precision[:, :, :, all_areas]  # (T, R, K)
        has_labels = tables.num_gt[:, all_areas] > 0
        summary_map, map50, map75 = mean_valid(overall), mean_valid(overall[0]), mean_valid(overall[5])
        if not has_labels.any():  # YOLOv8 reports 0 for a set without labels, COCO -1
            summary_map = map50 = map75 = 0.0
        ap_per_class = np.where(has_labels, overall.mean(axis=(0, 1)), np.nan)
        ap50_per_class = np.where(has_labels, overall[0].mean(axis=0), np.nan)
        maps = np.where(has_labels, ap_per_class, summary_map)
        curves = self._yolo_curves(tables, np.flatnonzero(has_labels))
        images_per_class = np.zeros(nc, np.int64)
        for entry in self._images:
            images_per_class[np.unique(entry.gt_classes[~entry.gt_crowd])] += 1
        return DetectionSummary(
            map=summary_map,
            map50=map50,
            map75=map75,
            map_small=mean_valid(precision[:, :, :, tables.area_names.index("small")]),
            map_medium=mean_valid(precision[:, :, :, tables.area_names.index("medium")]),
            map_large=mean_valid(precision[:, :, :, tables.area_names.index("large")]),
            **self._average_recalls(tables),
            fitness=0.1 * max(map50, 0.0) + 0.9 * max(summary_map, 0.0),
            maps=maps,
            ap_per_class=ap_per_class,
            ap50_per_class=ap50_per_class,
            instances_per_class=tables.num_gt[:, all_areas].copy(),
            images_per_class=images_per_class,
            num_images=len(self._images),
            names=self.names,
            coco_precision=precision,
            **curves,
        )

    @staticmethod
    def _average_recalls(tables: CocoTables):
        """COCO's six AR values from ``tables.recall_at_max_dets`` (M, T, K, A), limits (1, 10, max_dets)."""
        recall, area = tables.recall_at_max_dets, tables.area_names.index
        return dict(
            ar1=mean_valid(recall[0, :, :, area("all")]),
            ar10=mean_valid(recall[1, :, :, area("all")]),
            ar100=mean_valid(recall[2, :, :, area("all")]),
            ar_small=mean_valid(recall[2, :, :, area("small")]),
            ar_medium=mean_valid(recall[2, :, :, area("medium")]),
            ar_large=mean_valid(recall[2, :, :, area("large")]),
        )

    def _yolo_curves(self, tables: CocoTables, classes):
        """P / R / F1 against confidence and the PR curve at IoU 0.5 for ``classes``; the best-F1 point."""
        nc = self.num_classes
        confidence_points = np.linspace(0.0, 1.0, CURVE_POINTS)
        recall_points = np.linspace(0.0, 1.0, CURVE_POINTS)
        shape = (len(classes), CURVE_POINTS)
        precision_curve, recall_curve, pr_curve = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        bounds = np.searchsorted(tables.ranked_classes, np.arange(nc + 1))
        true_positive, false_positive = tables.ranked_true_positive[0], tables.ranked_false_positive[0]  # IoU 0.5
        for row, k in enumerate(classes):
            span = slice(bounds[k], bounds[k + 1])
            kept = true_positive[span] | false_positive[span]  # drop ignored detections
            num_gt = int(tables.num_gt[k, tables.area_names.index("all")])
            precision_curve[row], recall_curve[row] = confidence_curves(
                tables.ranked_scores[span][kept], true_positive[span][kept], num_gt, confidence_points
            )
            pr_curve[row] = interpolated_precision(
                true_positive[None, span], false_positive[None, span], num_gt, recall_points
            )[0][0]
        f1_curve = f1_score(precision_curve, recall_curve)
        best = int(np.argmax(box_smooth(f1_curve.mean(axis=0), self.f1_smoothing))) if len(classes) else 0
        per_class = {name: np.full(nc, np.nan) for name in ("precision", "recall", "f1")}
        for name, curve in (("precision", precision_curve), ("recall", recall_curve), ("f1", f1_curve)):
            per_class[name][classes] = curve[:, best]
        means = {name: float(values[classes].mean()) if len(classes) else 0.0 for name, values in per_class.items()}
        return dict(
            precision=means["precision"], recall=means["recall"], f1=means["f1"],
            best_confidence=float(confidence_points[best]),
            precision_per_class=per_class["precision"], recall_per_class=per_class["recall"],
            f1_per_class=per_class["f1"], curve_classes=np.asarray(classes, np.int64),
            confidence_points=confidence_points, precision_curve=precision_curve, recall_curve=recall_curve,
            f1_curve=f1_curve, recall_points=recall_points, pr_curve=pr_curve,
        )
