"""Per-epoch training records: the progress line users watch and the results.csv they plot."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

LOSS_NAMES = ("box_loss", "cls_loss", "dfl_loss")
COLUMNS = (
    "epoch", "time", "train/box_loss", "train/cls_loss", "train/dfl_loss",
    "metrics/precision(B)", "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)",
    "val/box_loss", "val/cls_loss", "val/dfl_loss", "lr/pg0", "lr/pg1", "lr/pg2",
)


def progress_header() -> str:
    return ("\n" + "%11s" * 7) % ("Epoch", "GPU_mem", *LOSS_NAMES, "Instances", "Size")


def progress_line(epoch: int, epochs: int, losses: np.ndarray, batch, device: torch.device) -> str:
    """One row under :func:`progress_header`: epoch, GPU memory, mean losses, instances and image size."""
    memory = torch.cuda.memory_reserved(device) / 1e9 if device.type == "cuda" else 0.0
    return ("%11s" * 2 + "%11.4g" * 3 + "%11s" * 2) % (
        f"{epoch + 1}/{epochs}", f"{memory:.3g}G", *losses, len(batch.targets), batch.images.shape[-1])


class ResultsLog:
    """Appends one row per epoch to ``results.csv`` (the header is written with the first row).

    ``time`` is the seconds of training so far, validation included (over all sessions of a resumed run).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        if self.path.exists():  # a resumed run: make its rows line up with today's header once, up front
            self._upgrade_columns()

    def append(self, epoch: int, seconds: float, train_losses: np.ndarray, validation,
               learning_rates: list[float]) -> None:
        if validation is not None:
            box = validation.box
            metric_values = [box.precision, box.recall, box.map50, box.map]
            val_losses = list(validation.loss) if validation.loss is not None else [float("nan")] * 3
        else:
            metric_values, val_losses = [float("nan")] * 4, [float("nan")] * 3
        row = [epoch + 1, seconds, *train_losses, *metric_values, *val_losses, *learning_rates[:3]]
        new_file = not self.path.exists() or epoch == 0
        with open(self.path, "w" if new_file else "a", newline="") as file:
            writer = csv.writer(file)
            if new_file:
                writer.writerow(COLUMNS)
            writer.writerow([row[0]] + [f"{float(value):.6g}" for value in row[1:]])

    def _upgrade_columns(self) -> None:
        """Rewrite a results.csv from an older yolo8 (e.g. without ``time``) with today's columns, cells it
        lacks left empty, so a resumed run appends rows that line up with the header."""
        with open(self.path, newline="") as file:
            reader = csv.DictReader(file)
            rows = list(reader)
        if tuple(name.strip() for name in reader.fieldnames or ()) == COLUMNS:
            return
        with open(self.path, "w", newline="") as file:
            writer = csv.DictWriter(file, COLUMNS, restval="", extrasaction="ignore")
            writer.writeheader()
            writer.writerows({key.strip(): value for key, value in row.items()} for row in rows)
