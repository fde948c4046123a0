"""Classification metrics: top-1 / top-5 accuracy, per-class accuracy, confusion matrix, val loss.

Definitions (as YOLOv8 reports them):

* top-1: fraction of images whose highest-scoring class is the label;
* top-5: fraction whose label is among the 5 highest scores (among all ``nc`` when ``nc < 5``, so
  top-5 is then 1.0);
* fitness: ``(top1 + top5) / 2``;
* confusion matrix: ``nc x nc`` int64 counts, rows = predicted (top-1) class, columns = true class,
  the orientation of :mod:`yolo8.metrics.confusion` (which adds a background row/column this task has no use for);
* per-class accuracy: the confusion diagonal over each column's total (the recall of each true class);
  NaN for a class with no images.

Ties: classes are ranked with a *stable* descending sort, so among equal scores the lower class id
ranks first (``torch.topk`` leaves the order of ties unspecified, so it is not used).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

TOP_K = 5


def ranked_classes(scores: torch.Tensor, k: int = TOP_K) -> torch.Tensor:
    """scores (B, nc) probabilities or logits -> (B, min(k, nc)) int64 class ids, best first; ties to the lower id."""
    k = min(int(k), scores.shape[1])
    return torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]


@dataclass
class ClassificationSummary:
    """The computed metrics of a classification run.

    Attributes:
        top1, top5: accuracies in [0, 1] (0 when no image was seen).
        per_class_accuracy: float64 (nc,) correct top-1 / images of each true class; NaN for classes without images.
        images_per_class: int64 (nc,) images of each true class.
        confusion_matrix: int64 (nc, nc), rows = predicted class, columns = true class.
        num_images: images scored.
        loss: mean cross-entropy over images, or None when no logits were given.
        names: class id -> name.
    """

    top1: float
    top5: float
    per_class_accuracy: np.ndarray
    images_per_class: np.ndarray
    confusion_matrix: np.ndarray
    num_images: int
    loss: float | None = None
    names: dict = field(default_factory=dict)

    @property
    def fitness(self) -> float:
        return (self.top1 + self.top5) / 2


class ClassificationMetrics:
    """Accumulates classification results over batches; :meth:`compute` gives a :class:`ClassificationSummary`.

    Args:
        num_classes: nc; labels lie in [0, nc).
        names: class id -> name (default: the ids as text).
    """

    def __init__(self, num_classes: int, names: dict | None = None):
        self.num_classes = int(num_classes)
        self.names = dict(names) if names is not None else {i: str(i) for i in range(self.num_classes)}
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        self.top1_correct = 0
        self.top5_correct = 0
        self.num_images = 0
        self.loss_sum = 0.0
        self.loss_images = 0

    def update(self, scores: torch.Tensor, labels: torch.Tensor, logits: torch.Tensor | None = None) -> None:
        """Add a batch: scores (B, nc) probabilities (or logits: only their order is used), labels (B,) int class ids,
        logits (B, nc) optional raw outputs for the cross-entropy loss."""
        if scores.ndim != 2 or scores.shape[1] != self.num_classes:
            raise ValueError(f"scores have shape {tuple(scores.shape)}; expected (B, {self.num_classes}).")
        labels = labels.to(scores.device).long().reshape(-1)
        if len(labels) != len(scores):
            raise ValueError(f"{len(scores)} score rows but {len(labels)} labels.")
        if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= self.num_classes):
            raise ValueError(f"labels must lie in [0, {self.num_classes}); got {labels.min()}..{labels.max()}.")
        ranked = ranked_classes(scores.float())  # (B, k)
        hits = ranked == labels[:, None]  # (B, k) at most one True per row
        self.top1_correct += int(hits[:, 0].sum())
        self.top5_correct += int(hits.any(dim=1).sum())
        self.num_images += len(labels)
        predicted = ranked[:, 0].cpu().numpy()
        np.add.at(self.matrix, (predicted, labels.cpu().numpy()), 1)
        if logits is not None:
            losses = torch.nn.functional.cross_entropy(logits.float(), labels, reduction="sum")
            self.loss_sum += float(losses)
            self.loss_images += len(labels)

    def compute(self) -> ClassificationSummary:
        images = max(self.num_images, 1)
        per_class_images = self.matrix.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_class = np.where(per_class_images > 0, np.diag(self.matrix) / per_class_images, np.nan)
        loss = self.loss_sum / self.loss_images if self.loss_images else None
        return ClassificationSummary(
            self.top1_correct / images, self.top5_correct / images, per_class, per_class_images,
            self.matrix.copy(), self.num_images, loss, dict(self.names),
        )


@dataclass
class ClassificationResult:
    """What classification validation returns: the summary, per-image speed (ms), where files went."""

    summary: ClassificationSummary
    speed: dict
    save_dir: Path | None = None

    @property
    def top1(self) -> float:
        return self.summary.top1

    @property
    def top5(self) -> float:
        return self.summary.top5

    @property
    def fitness(self) -> float:
        return self.summary.fitness

    @property
    def confusion_matrix(self) -> np.ndarray:
        return self.summary.confusion_matrix

    @property
    def names(self) -> dict:
        return self.summary.names

    @property
    def loss(self) -> float | None:
        return self.summary.loss

    @property
    def results_dict(self) -> dict:
        return {"metrics/accuracy_top1": self.top1, "metrics/accuracy_top5": self.top5, "fitness": self.fitness}


def format_classification_table(summary: ClassificationSummary, per_class: bool = False) -> str:
    """The YOLOv8 classification table (``classes top1_acc top5_acc`` / ``all …``); with ``per_class``,
    then one row per class that has images: name, images, top-1 accuracy."""
    lines = [f"{'classes':>22}{'top1_acc':>11}{'top5_acc':>11}",
             f"{'all':>22}{summary.top1:>11.3g}{summary.top5:>11.3g}"]
    if per_class:
        lines.append(f"{'class':>22}{'images':>11}{'top1_acc':>11}")
        for index in np.flatnonzero(summary.images_per_class):
            name = summary.names.get(int(index), str(index))
            lines.append(f"{name:>22}{int(summary.images_per_class[index]):>11}"
                         f"{summary.per_class_accuracy[index]:>11.3g}")
    return "\n".join(lines)
