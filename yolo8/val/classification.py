"""Classification validation: folder dataset -> predict-identical inputs -> model -> top-1 / top-5 accuracy.

Plots (``plots=True``): ``val_batch{0,1,2}_labels.jpg`` / ``_pred.jpg`` (each tile titled with its
true / top-1 class) and the confusion matrix as ``confusion_matrix.png`` and
``confusion_matrix_normalized.png`` (columns = true class sum to 1). The heatmap is drawn for up to
:data:`PLOT_MAX_CLASSES` classes; beyond that (ImageNet's 1000) cells would be a pixel or two wide
and the tick labels overlap, so the counts are written to ``confusion_matrix.csv`` instead.
"""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from yolo8.config import Config
from yolo8.metrics.classification import (
    ClassificationMetrics,
    ClassificationResult,
    ClassificationSummary,
    format_classification_table,
    ranked_classes,
)
from yolo8.runtime.backend import inference_copy
from yolo8.runtime.callbacks import Callbacks

LOGGER = logging.getLogger("yolo8")
PLOTTED_BATCHES = 3
PLOT_MAX_CLASSES = 100
LISTED_SKIPPED = 5  # unreadable images named in the warning; the rest are counted


def split_model_output(output) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A classifier's eval output -> (probabilities (B, nc), logits (B, nc) or None).

    ``(probs, logits)`` is the :class:`yolo8.nn.model.YOLOModel` eval convention; a bare tensor is taken as logits.
    """
    if isinstance(output, (tuple, list)):
        return output[0], output[1] if len(output) > 1 and isinstance(output[1], torch.Tensor) else None
    return output.softmax(1), output


class ClassificationValidator:
    """Runs a classifier over a loader of :class:`yolo8.data.classification.ClassificationBatch` and scores it.

    Args:
        dataloader: yields ClassificationBatch (uint8 RGB images, int64 labels).
        names: class id -> name.
        config: reads half and plots.
        device: where the model runs.
        save_dir: where plots go (None: nothing saved).
        callbacks: ``on_val_start`` / ``on_val_end`` receive this validator.
    """

    def __init__(self, dataloader, names: dict, config: Config, device: torch.device,
                 save_dir: Path | None = None, callbacks: Callbacks | None = None):
        self.dataloader = dataloader
        self.names = dict(names)
        self.config = config
        self.device = device
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.callbacks = callbacks or Callbacks()
        self.skipped: list[str] = []
        self.result: ClassificationResult | None = None  # set before ``on_val_end`` runs

    @torch.no_grad()
    def __call__(self, model: nn.Module, verbose: bool = False) -> ClassificationResult:
        was_training = model.training
        model.eval()
        half = bool(self.config.half) and self.device.type == "cuda"
        metrics = ClassificationMetrics(len(self.names), self.names)
        seconds, images_seen = np.zeros(3), 0
        self.skipped = []
        self.callbacks.run("on_val_start", self)
        for batch_index, batch in enumerate(self.dataloader):
            self.skipped += batch.skipped
            if len(batch) == 0:
                continue
            started = time.perf_counter()
            images = batch.images.to(self.device, non_blocking=True)
            images = (images.half() if half else images.float()) / 255
            labels = batch.labels.to(self.device)
            prepared = time.perf_counter()
            probabilities, logits = split_model_output(model(images))
            inferred = time.perf_counter()
            metrics.update(probabilities, labels, logits)
            finished = time.perf_counter()
            seconds += (prepared - started, inferred - prepared, finished - inferred)  # postprocess: metrics + loss
            images_seen += len(batch)
            if self.save_dir is not None and self.config.plots and batch_index < PLOTTED_BATCHES:
                self._plot_batch(batch, probabilities, batch_index)
        if self.skipped:
            listed = "; ".join(self.skipped[:LISTED_SKIPPED])
            more = f" and {len(self.skipped) - LISTED_SKIPPED} more" if len(self.skipped) > LISTED_SKIPPED else ""
            LOGGER.warning("%d unreadable image(s) skipped: %s%s", len(self.skipped), listed, more)
        summary = metrics.compute()
        speed = dict(zip(("preprocess", "inference", "postprocess"),
                         (seconds * 1000 / max(images_seen, 1)).tolist()))
        result = self.result = ClassificationResult(summary, speed, self.save_dir)
        LOGGER.info(format_classification_table(summary, verbose and len(self.names) <= PLOT_MAX_CLASSES))
        if self.save_dir is not None and self.config.plots:
            save_confusion_matrix(summary, self.save_dir)
        self.callbacks.run("on_val_end", self)
        model.train(was_training)
        return result

    def _plot_batch(self, batch, probabilities: torch.Tensor, batch_index: int) -> None:
        """Tiles titled with the true class (``_labels``) and the top-1 class and its probability (``_pred``).

        File names are left off the tiles: they would be drawn over the class label in the top-left corner.
        """
        from yolo8.metrics.plots import plot_image_batch

        count, height, width = len(batch), *batch.images.shape[2:]
        # one image-sized box per tile carries the class label
        frames = np.tile(np.array([[0, 0, width - 1, height - 1]], np.float32), (count, 1))  # (B, 4)
        tiles = np.arange(count)
        plot_image_batch(batch.images, frames, batch.labels.numpy(), tiles,
                         self.save_dir / f"val_batch{batch_index}_labels.jpg", names=self.names)
        predicted = ranked_classes(probabilities, k=1)  # (B, 1), ties broken as the metrics break them
        confidence = probabilities.float().gather(1, predicted)[:, 0]  # (B, 1) -> (B,)
        predicted = predicted[:, 0]
        plot_image_batch(batch.images, frames, predicted.cpu().numpy(), tiles,
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


def validate_classification_model(model: nn.Module, config: Config,
                                  callbacks: Callbacks | None = None) -> ClassificationResult:
    """`yolo8 val` for a classifier: score ``model`` on the ``split`` folder of ``data``; files into runs/classify/valN.

    Raises:
        ClassificationDataError: the dataset is missing or malformed, or its class count differs from the model's.
    """
    from yolo8.data.classification import (
        ClassificationDataError,
        build_classification_loader,
        load_classification_split,
    )
    from yolo8.predict.predictor import input_size
    from yolo8.runtime.device import select_device, use_all_cores
    from yolo8.runtime.run_dir import default_project, increment_run_dir

    split = load_classification_split(config.data, config.split)
    if split.num_classes != model.num_classes:
        raise ClassificationDataError(
            f"classification dataset '{split.root}' has {split.num_classes} classes (the class folders of "
            f"'{split.class_directory}') but the model predicts {model.num_classes}; validate on the dataset "
            "the model was trained for.")
    use_all_cores()
    device = select_device(config.device)
    stride = int(torch.as_tensor(model.stride).max())
    size = input_size(config.imgsz, stride)
    # as predict: one size is short side + centre crop, a (height, width) pair a plain resize
    network_size = size[0] if isinstance(config.imgsz, int) else size
    loader = build_classification_loader(split, network_size, config.batch, config.workers)
    save_dir = increment_run_dir(config.project or default_project("classify"), config.name or "val",
                                 config.exist_ok, mkdir=True)
    inference_model = inference_copy(model.float(), device, half=bool(config.half) and device.type == "cuda")
    LOGGER.info("val: %s, %d images in %d classes", split.directory, len(split.image_files), split.num_classes)
    result = ClassificationValidator(loader, split.names, config, device, save_dir,
                                     callbacks=callbacks)(inference_model, verbose=bool(config.verbose))
    LOGGER.info("Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image",
                *result.speed.values())
    LOGGER.info("Results saved to %s", save_dir)
    return result
