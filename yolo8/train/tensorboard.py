"""TensorBoard logging, attached as callbacks when the ``tensorboard`` package is installed."""

from __future__ import annotations

import importlib.util
import logging

from yolo8.runtime.callbacks import Callbacks

LOGGER = logging.getLogger("yolo8")


def tensorboard_available() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def attach_tensorboard(callbacks: Callbacks, loss_names: tuple[str, ...]) -> bool:
    """Log losses, metrics and learning rates of every epoch to ``<run dir>`` for TensorBoard.

    Does nothing (returns False) when tensorboard is not installed; yolo8 does not depend on it.
    """
    if not tensorboard_available():
        return False
    writers = {}

    def start(trainer) -> None:
        from torch.utils.tensorboard import SummaryWriter

        writers["run"] = SummaryWriter(str(trainer.save_dir))
        LOGGER.info("TensorBoard: view with 'tensorboard --logdir %s'", trainer.save_dir.parent)

    def epoch_end(trainer) -> None:
        writer = writers.get("run")
        if writer is None:
            return
        for name, value in zip(loss_names, trainer.loss_items):
            writer.add_scalar(f"train/{name}", float(value), trainer.epoch + 1)
        if trainer.metrics is not None:
            for name, value in trainer.metrics.results_dict.items():
                writer.add_scalar(name, float(value), trainer.epoch + 1)
        for index, group in enumerate(trainer.optimizer.param_groups):
            writer.add_scalar(f"lr/pg{index}", group["lr"], trainer.epoch + 1)
        writer.flush()

    def end(trainer) -> None:
        writer = writers.pop("run", None)
        if writer is not None:
            writer.close()

    callbacks.add("on_train_start", start)
    callbacks.add("on_fit_epoch_end", epoch_end)
    callbacks.add("on_train_end", end)
    return True
