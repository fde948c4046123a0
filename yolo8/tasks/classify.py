"""Classification: a centre-cropped input, softmax probabilities, and top-1 / top-5 accuracy.

Plots (``plots=True``): ``val_batch{0,1,2}_labels.jpg`` / ``_pred.jpg`` (each tile titled with its true / top-1
class) and the confusion matrix as ``confusion_matrix.png`` and ``confusion_matrix_normalized.png`` (columns =
true class sum to 1). The heatmap is drawn for up to :data:`PLOT_MAX_CLASSES` classes; beyond that (ImageNet's
1000) cells would be a pixel or two wide and the tick labels overlap, so the counts go to
``confusion_matrix.csv`` instead.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from yolo8.data.transforms.classify import classification_input
from yolo8.metrics.classification import (
    ClassificationMetrics,
    ClassificationResult,
    ClassificationSummary,
    format_classification_table,
    ranked_classes,
)
from yolo8.tasks.common import BatchLoss, EvaluationData, PostprocessSettings, network_size

LOGGER = logging.getLogger("yolo8")
PLOT_MAX_CLASSES = 100
SMALLEST_PROBABILITY = 1e-30  # keeps the loss finite where a softmax probability underflowed to 0

# `yolo8 classify train` without data trains on the built-in crops (64 px objects of the built-in scenes):
# their own size, 64 a batch (about 2 s an epoch on a 2-core CPU).
BUILTIN_DEFAULTS = {"epochs": 30, "imgsz": 64, "batch": 64}
# From the shipped classifier: a few epochs of AdamW at a fixed low rate ("auto" would pick its own, higher one).
FINETUNE_DEFAULTS = {"epochs": 5, "optimizer": "AdamW", "lr0": 0.0001, "warmup_epochs": 0}


def prepare_image(image: np.ndarray, size: int | tuple[int, int], stride: int) -> tuple[np.ndarray, None]:
    """(H, W, 3) uint8 BGR -> (classifier input (h, w, 3) uint8 BGR, None): a crop has no inverse to apply."""
    return classification_input(image, size), None


def postprocess(decoded: torch.Tensor, input_shape, letterboxes, original_shapes,
                settings: PostprocessSettings | None = None) -> Iterator[dict]:
    """Probabilities (B, nc) -> per image the ``Results`` fields ``{"probs": (nc,) float32}``."""
    for probabilities in decoded:
        yield {"probs": probabilities.float().clone()}  # a tensor of its own, not a view of the backend's output


def evaluation_data(config, model) -> EvaluationData:
    """The ``split`` folder of ``data`` (ImageNet layout), prepared exactly as predict prepares a frame.

    Raises:
        ClassificationDataError: the dataset is missing or malformed, or its class count differs from the model's.
    """
    from yolo8.data.classification import (
        ClassificationDataError,
        build_classification_loader,
        load_classification_split,
    )

    data = config.data
    if not data:  # as for detection: no data is the built-in dataset, here its object crops
        from yolo8.data.crops import builtin_crop_dataset

        data = builtin_crop_dataset()
    split = load_classification_split(data, config.split)
    if split.num_classes != model.num_classes:
        raise ClassificationDataError(
            f"classification dataset '{split.root}' has {split.num_classes} classes (the class folders of "
            f"'{split.class_directory}') but the model predicts {model.num_classes}; validate on the dataset "
            "the model was trained for.")
    loader = build_classification_loader(split, network_size(config.imgsz, int(model.stride)), config.batch,
                                         config.workers, crop_fraction=config.crop_fraction)
    LOGGER.info("val: %s, %d images in %d classes", split.directory, len(split.image_files), split.num_classes)
    return EvaluationData(loader, split.names, None, split.root)


def resolve_training_data(config):
    """The folder dataset (or the built-in crops when ``data`` is unset) a training run uses: a
    :class:`yolo8.data.classification_data.ClassificationData`."""
    from yolo8.data.classification_data import resolve_classification_data

    return resolve_classification_data(config.data, config.fraction)


def build_loss(model, config) -> BatchLoss:
    """Cross-entropy of the head's logits and the batch's labels; called ``(raw logits, batch)``."""
    from yolo8.losses.classification import ClassificationLoss

    return BatchLoss(ClassificationLoss(), ("labels",))


def training_loader(data, config, image_size: int, batch_size: int, stride: int, workers: int, rank: int = -1):
    """The shuffled loader of the train split with YOLOv8's classification augmentation (random resized crop
    by ``scale``, ``fliplr``, ``hsv_h/s/v``, ``auto_augment``, ``erasing``)."""
    from yolo8.data.classification import build_classification_training_loader
    from yolo8.data.transforms.classify import ClassificationAugment

    transform = ClassificationAugment(image_size, scale=config.scale, fliplr=config.fliplr, hsv_h=config.hsv_h,
                                      hsv_s=config.hsv_s, hsv_v=config.hsv_v, auto_augment=config.auto_augment,
                                      erasing=config.erasing)
    return build_classification_training_loader(data.train, transform, batch_size, workers, seed=config.seed,
                                                rank=rank, cache=config.cache)


def validation_loader(data, config, image_size: int, batch_size: int, stride: int, workers: int):
    """The val split, each image resized on its short side and centre-cropped by ``crop_fraction``."""
    from yolo8.data.classification import build_classification_loader

    return build_classification_loader(data.val, image_size, batch_size, workers, crop_fraction=config.crop_fraction,
                                       cache=config.cache)


def plot_training_batch(batch, save_file: Path, names: dict) -> None:
    """train_batchN.jpg: the augmented images, each tile titled with its class."""
    from yolo8.metrics.plots import plot_image_batch

    count, height, width = len(batch), *batch.images.shape[2:]
    frames = np.tile(np.array([[0, 0, width - 1, height - 1]], np.float32), (count, 1))  # (B, 4): a label per tile
    plot_image_batch(batch.images, frames, batch.labels.numpy(), np.arange(count), save_file, names=names)


class ClassificationEvaluator:
    """Top-1 / top-5 accuracy, the confusion matrix and the cross-entropy of the probabilities, image by image."""

    def __init__(self, names: dict, save_dir: Path | None = None, **_unused):
        self.names = dict(names)
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.metrics = ClassificationMetrics(len(self.names), self.names)

    def update(self, batch, index: int, fields: dict, input_shape=None) -> None:
        probabilities = fields["probs"][None]  # (nc,) -> (1, nc)
        # cross-entropy of the logits = negative log of the softmax probability
        log_probabilities = probabilities.clamp_min(SMALLEST_PROBABILITY).log()
        self.metrics.update(probabilities, batch.labels[index : index + 1], log_probabilities)

    def finish(self, speed: dict, loss, verbose: bool, plots: bool) -> ClassificationResult:
        summary = self.metrics.compute()
        LOGGER.info(format_classification_table(summary, verbose and len(self.names) <= PLOT_MAX_CLASSES))
        if self.save_dir is not None and plots:
            save_confusion_matrix(summary, self.save_dir)
        return ClassificationResult(summary, speed, self.save_dir)

    def plot_batch(self, batch, batch_index: int, predictions: list[dict]) -> None:
        """Tiles titled with the true class (``_labels``) and the top-1 class and its probability (``_pred``).

        File names are left off the tiles: they would be drawn over the class label in the top-left corner.
        """
        from yolo8.metrics.plots import plot_image_batch

        count, height, width = len(batch), *batch.images.shape[2:]
        probabilities = torch.stack([fields["probs"] for fields in predictions])  # B x (nc,) -> (B, nc)
        # one image-sized box per tile carries the class label
        frames = np.tile(np.array([[0, 0, width - 1, height - 1]], np.float32), (count, 1))  # (B, 4)
        tiles = np.arange(count)
        plot_image_batch(batch.images, frames, batch.labels.numpy(), tiles,
                         self.save_dir / f"val_batch{batch_index}_labels.jpg", names=self.names)
        predicted = ranked_classes(probabilities, k=1)  # (B, 1), ties broken as the metrics break them
        confidence = probabilities.float().gather(1, predicted)[:, 0]  # (B, 1) -> (B,)
        plot_image_batch(batch.images, frames, predicted[:, 0].cpu().numpy(), tiles,
                         self.save_dir / f"val_batch{batch_index}_pred.jpg", confidences=confidence.cpu().numpy(),
                         names=self.names, conf_threshold=0.0)


def save_confusion_matrix(summary: ClassificationSummary, save_dir: Path) -> list[Path]:
    """Write the confusion matrix: two heatmaps for <= PLOT_MAX_CLASSES classes, else a CSV; return the files.

    The heatmap is the detection plot fed an (nc+1, nc+1) matrix whose background row and column are zero.
    """
    matrix = summary.confusion_matrix
    num_classes = matrix.shape[0]
    if num_classes > PLOT_MAX_CLASSES:
        path = Path(save_dir) / "confusion_matrix.csv"
        with open(path, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["predicted \\ true"] + [summary.names.get(i, str(i)) for i in range(num_classes)])
            for index, row in enumerate(matrix):
                writer.writerow([summary.names.get(index, str(index))] + row.tolist())
        return [path]
    from yolo8.metrics.plots import plot_confusion_matrix

    padded = np.zeros((num_classes + 1, num_classes + 1), np.int64)  # (nc, nc) -> (nc+1, nc+1), background empty
    padded[:num_classes, :num_classes] = matrix
    return [plot_confusion_matrix(padded, summary.names, Path(save_dir) / name, normalize=normalize)
            for normalize, name in ((False, "confusion_matrix.png"), (True, "confusion_matrix_normalized.png"))]


def sample_source() -> list[str]:
    """The images a classifier predicts on without a source: crops of the sample scenes' objects (the whole
    scenes hold several objects each, which no single class describes)."""
    from yolo8.data.crops import sample_crops

    return [str(path) for path in sample_crops()]
