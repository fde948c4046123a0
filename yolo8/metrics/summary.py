"""What a detection (or mask) evaluation returns: :class:`DetectionSummary`, COCO and YOLO-style values together."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from yolo8.metrics.ap import AREA_RANGES


@dataclass
class DetectionSummary:
    """Everything the validator prints, logs or plots. K = num_classes, C = curve classes.

    COCO values (mAP over IoU 0.50:0.95 unless named otherwise, 101-point, maxDets 100) are -1 when
    undefined (no non-ignored ground truth in that area range), exactly as COCOeval reports them;
    only ``map``, ``map50`` and ``map75`` of a set without any label are 0, as YOLOv8 reports them.
    Average recall (mean over IoU 0.50:0.95 and classes with ground truth, -1 likewise): ``ar1``,
    ``ar10``, ``ar100`` keep the top 1 / 10 / ``max_dets`` detections per (image, class) (COCO's
    AR@1, AR@10, AR@100 at the default max_dets 100), all areas; ``ar_small``, ``ar_medium``,
    ``ar_large`` at ``max_dets``. Together with the six AP values they are COCOeval's 12 stats.
    Per-class arrays are NaN for classes without ground truth, except ``maps`` which, like YOLOv8,
    holds the overall ``map`` for those classes.

    precision / recall / f1 (per class and their means over classes with labels) are read at
    ``best_confidence``, the confidence maximising the mean F1 over classes with labels (mean-F1
    curve smoothed by a centred moving average of ``f1_smoothing`` × 1000 points), IoU 0.5, using
    the COCO matches (top 100 per image and class; detections matched to crowd boxes left out).
    P(c) and R(c) are those of the detections scoring >= c (P = 1 where there are none).
    Curves: ``precision_curve``, ``recall_curve``, ``f1_curve`` (C, 1000) against
    ``confidence_points``; ``pr_curve`` (C, 1000) is the interpolated precision at IoU 0.5 against
    ``recall_points``; row c belongs to class ``curve_classes[c]`` (the classes with labels).
    """

    map: float
    map50: float
    map75: float
    map_small: float
    map_medium: float
    map_large: float
    ar1: float
    ar10: float
    ar100: float
    ar_small: float
    ar_medium: float
    ar_large: float
    fitness: float
    precision: float
    recall: float
    f1: float
    best_confidence: float
    maps: np.ndarray
    ap_per_class: np.ndarray
    ap50_per_class: np.ndarray
    precision_per_class: np.ndarray
    recall_per_class: np.ndarray
    f1_per_class: np.ndarray
    instances_per_class: np.ndarray
    images_per_class: np.ndarray
    num_images: int
    names: dict
    curve_classes: np.ndarray
    confidence_points: np.ndarray
    precision_curve: np.ndarray
    recall_curve: np.ndarray
    f1_curve: np.ndarray
    recall_points: np.ndarray
    pr_curve: np.ndarray
    coco_precision: np.ndarray = field(repr=False)

    # YOLOv8's names for the same values, so users' scripts keep working (``metrics.box.mp`` etc.). Two names
    # differ from YOLOv8: ``f1`` is the mean F1 (YOLOv8: per class, here ``f1_per_class``) and ``fitness`` a
    # value, not a method.
    @property
    def mp(self) -> float:
        """Mean precision over classes with labels (= ``precision``)."""
        return self.precision

    @property
    def mr(self) -> float:
        """Mean recall over classes with labels (= ``recall``)."""
        return self.recall

    @property
    def ap_class_index(self) -> np.ndarray:
        """(C,) the ids of the classes with labels, the order of ``p``, ``r``, ``ap50``, ``ap``, ``all_ap``."""
        return self.curve_classes

    @property
    def p(self) -> np.ndarray:
        """(C,) precision of each class with labels at ``best_confidence``."""
        return self.precision_per_class[self.curve_classes]

    @property
    def r(self) -> np.ndarray:
        """(C,) recall of each class with labels at ``best_confidence``."""
        return self.recall_per_class[self.curve_classes]

    @property
    def ap50(self) -> np.ndarray:
        """(C,) AP at IoU 0.5 of each class with labels."""
        return self.ap50_per_class[self.curve_classes]

    @property
    def ap(self) -> np.ndarray:
        """(C,) AP at IoU 0.50:0.95 of each class with labels."""
        return self.ap_per_class[self.curve_classes]

    @property
    def all_ap(self) -> np.ndarray:
        """(C, 10) AP of each class with labels at each IoU threshold 0.50, 0.55, ..., 0.95."""
        all_areas = tuple(AREA_RANGES).index("all")
        return self.coco_precision[:, :, self.curve_classes, all_areas].mean(axis=1).T  # (T, R, C) -> (C, T)

    def as_dict(self):
        """The scalar results, by name: {"precision", "recall", "map50", "map75", "map", "ar100", ...: float}."""
        keys = ("precision", "recall", "f1", "map50", "map75", "map", "map_small", "map_medium", "map_large",
                "ar1", "ar10", "ar100", "ar_small", "ar_medium", "ar_large", "fitness", "best_confidence")
        return {key: float(getattr(self, key)) for key in keys}
