"""Per-epoch training records: the progress line users watch and the results.csv they plot."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

LEARNING_RATES = ("lr/pg0", "lr/pg1", "lr/pg2")


def results_columns(loss_names: tuple[str, ...], metric_keys: tuple[str, ...]) -> tuple[str, ...]:
    """The results.csv header YOLOv8 writes: epoch, time, train losses, metrics, val losses, learning rates."""
    return ("epoch", "time", *(f"train/{name}" for name in loss_names), *metric_keys,
            *(f"val/{name}" for name in loss_names), *LEARNING_RATES)


def progress_header(loss_names: tuple[str, ...]) -> str:
    return ("\n" + "%11s" * (4 + len(loss_names))) % ("Epoch", "GPU_mem", *loss_names, "Instances", "Size")


def progress_line(epoch: int, epochs: int, losses: np.ndarray, batch, device: torch.device) -> str:
    """One row under :func:`progress_header`: epoch, GPU memory, mean losses, instances and image size."""
    memory = torch.cuda.memory_reserved(device) / 1e9 if device.type == "cuda" else 0.0
    return ("%11s" * 2 + "%11.4g" * len(losses) + "%11s" * 2) % (
        f"{epoch + 1}/{epochs}", f"{memory:.3g}G", *losses, instances(batch), batch.images.shape[-1])


def instances(batch) -> int:
    """Labelled instances in a batch: its target rows (detection, segmentation), else one label per image
    (classification)."""
    targets = getattr(batch, "targets", None)
    return len(targets) if targets is not None else len(batch)


class ResultsLog:
    """Appends one row per epoch to ``results.csv`` (the header is written with the first row).

    ``time`` is the seconds of training so far, validation included (over all sessions of a resumed run).
    ``loss_names`` and ``metric_keys`` are the task's (:class:`yolo8.tasks.TaskSpec`).
    """

    def __init__(self, path: Path, loss_names: tuple[str, ...], metric_keys: tuple[str, ...]):
        self.path = Path(path)
        self.loss_names, self.metric_keys = tuple(loss_names), tuple(metric_keys)
        self.columns = results_columns(self.loss_names, self.metric_keys)
        self._trimmed = False
        if self.path.exists():  # a resumed run: make its rows line up with today's header once, up front
            self._upgrade_columns()

    def append(self, epoch: int, seconds: float, train_losses: np.ndarray, validation,
               learning_rates: list[float]) -> None:
        nan_losses = [float("nan")] * len(self.loss_names)
        if validation is not None:
            metrics = validation.results_dict
            metric_values = [metrics[key] for key in self.metric_keys]
            val_losses = list(np.atleast_1d(validation.loss)) if validation.loss is not None else nan_losses
        else:
            metric_values, val_losses = [float("nan")] * len(self.metric_keys), nan_losses
        row = [epoch + 1, seconds, *train_losses, *metric_values, *val_losses, *learning_rates[:3]]
        new_file = not self.path.exists() or epoch == 0
        if not new_file and not self._trimmed:
            self._drop_rows_from(epoch + 1)
        self._trimmed = True
        with open(self.path, "w" if new_file else "a", newline="") as file:
            writer = csv.writer(file)
            if new_file:
                writer.writerow(self.columns)
            writer.writerow([row[0]] + [f"{float(value):.6g}" for value in row[1:]])

    def _drop_rows_from(self, first_epoch: int) -> None:
        """Remove rows of epochs ``first_epoch`` and later: a run killed after logging an epoch but before
        saving its checkpoint repeats that epoch on resume, and its row must not appear twice."""
        with open(self.path, newline="") as file:
            rows = list(csv.reader(file))
        kept = rows[:1] + [row for row in rows[1:] if not (row and row[0].strip().isdigit()
                                                           and int(row[0]) >= first_epoch)]
        if len(kept) != len(rows):
            with open(self.path, "w", newline="") as file:
                csv.writer(file).writerows(kept)

    def _upgrade_columns(self) -> None:
        """Rewrite a results.csv from an older yolo8 (e.g. without ``time``) with today's columns, cells it
        lacks left empty, so a resumed run appends rows that line up with the header."""
        with open(self.path, newline="") as file:
            reader = csv.DictReader(file)
            rows = list(reader)
        if tuple(name.strip() for name in reader.fieldnames or ()) == self.columns:
            return
        with open(self.path, "w", newline="") as file:
            writer = csv.DictWriter(file, self.columns, restval="", extrasaction="ignore")
            writer.writeheader()
            writer.writerows({key.strip(): value for key, value in row.items()} for row in rows)
