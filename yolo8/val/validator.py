"""Validation: one loop for every task. Batches -> backend -> the task's postprocess -> the task's evaluator.

The loop is the same for detect, segment and classify (and for exported models, whose backends decode
alike); what differs — how outputs become predictions in original pixels and how they are scored — comes
from :data:`yolo8.tasks.TASKS`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch

from yolo8.config import Config
from yolo8.runtime.backend import Backend, TorchBackend
from yolo8.runtime.callbacks import Callbacks
from yolo8.tasks import PostprocessSettings, TaskSpec, task_of
from yolo8.tasks.common import PLOTTED_BATCHES, speed_per_image

LOGGER = logging.getLogger("yolo8")
LISTED_SKIPPED = 5  # unreadable images named in the warning; the rest are counted


class Validator:
    """Runs a backend over a loader and scores it with the task's evaluator.

    Args:
        task: the :class:`~yolo8.tasks.TaskSpec` of the model.
        dataloader: yields batches of the task's kind (letterboxed :class:`yolo8.data.loader.Batch`, or
            :class:`yolo8.data.classification.ClassificationBatch`).
        names: class id -> name.
        config: reads conf, iou, max_det, agnostic_nms, classes, single_cls, plots, save_json.
        device: where the batches go.
        save_dir: where plots and save_json's files go (None: nothing saved).
        loss: optional ``loss(raw outputs, batch) -> (total, items)`` to report a validation loss (needs a
            backend with ``with_raw``: the trainer's).
        callbacks: ``on_val_start`` / ``on_val_end`` receive this validator.
        category_ids: class index -> COCO category id for save_json (None: index + 1).
    """

    def __init__(self, task: TaskSpec, dataloader, names: dict, config: Config, device: torch.device,
                 save_dir: Path | None = None, loss=None, callbacks: Callbacks | None = None,
                 category_ids: list[int] | None = None):
        self.task = task
        self.dataloader = dataloader
        self.names = dict(names)
        self.config = config
        self.device = device
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.loss = loss
        self.callbacks = callbacks or Callbacks()
        self.category_ids = category_ids
        self.skipped: list[str] = []
        self.result = None  # set before ``on_val_end`` runs

    def settings(self) -> PostprocessSettings:
        """Val's postprocess: every class of a box kept (AP needs the whole PR curve), empty masks kept, masks
        built in chunks as they are scored."""
        config = self.config
        return PostprocessSettings(config.conf, config.iou, config.classes, config.agnostic_nms, config.max_det,
                                   multi_label=True, lazy_masks=True)

    @torch.no_grad()
    def __call__(self, backend: Backend, verbose: bool = False, plots: bool | None = None):
        """Score ``backend`` over the loader; returns the task's result (metrics, speed, loss, save_dir).

        ``plots``: draw the val batches and the task's curves / confusion matrix (default: the ``plots``
        setting); a training run's per-epoch evaluations pass False, its final one draws them once.
        """
        evaluator = self.task.evaluator(self.names, save_dir=self.save_dir, save_json=bool(self.config.save_json),
                                        category_ids=self.category_ids, single_cls=bool(self.config.single_cls))
        plots = bool(self.config.plots if plots is None else plots) and self.save_dir is not None
        settings = self.settings()
        seconds, images_seen, loss_sum, self.skipped = np.zeros(3), 0, None, []
        self.callbacks.run("on_val_start", self)
        for batch_index, batch in enumerate(self.dataloader):
            self.skipped += getattr(batch, "skipped", [])  # unreadable images (classification folders)
            if len(batch) == 0:
                continue
            started = time.perf_counter()
            # the loss reads the batch on the device; scoring and plotting read labels on the CPU (numpy)
            on_device = batch.to(self.device, non_blocking=True)
            images = (on_device.images.half() if backend.fp16 else on_device.images.float()) / 255
            prepared = time.perf_counter()
            if self.loss is not None:
                decoded, raw = backend.with_raw(images)
                items = self.loss(raw, on_device)[1].cpu().numpy()
                loss_sum = items if loss_sum is None else loss_sum + items
            else:
                decoded = backend(images)
            inferred = time.perf_counter()
            input_shape = tuple(images.shape[2:])
            plotted = plots and batch_index < PLOTTED_BATCHES
            shown, postprocess = [], TimedIterator(self.task.postprocess(decoded, input_shape, batch.letterbox,
                                                                         batch.original_shapes, settings))
            for index, fields in enumerate(postprocess):
                evaluator.update(batch, index, fields, input_shape)
                if plotted:
                    shown.append(fields)
            if plotted:
                evaluator.plot_batch(batch, batch_index, shown)
            # postprocess: NMS and boxes / masks back to the original images; scoring them is not counted
            seconds += (prepared - started, inferred - prepared, postprocess.seconds)
            images_seen += len(batch)
        self._warn_skipped()
        loss = None if loss_sum is None else loss_sum / max(len(self.dataloader), 1)
        self.result = evaluator.finish(speed_per_image(seconds, images_seen), loss, verbose, plots)
        self.callbacks.run("on_val_end", self)
        return self.result

    def _warn_skipped(self) -> None:
        if self.skipped:
            listed = "; ".join(self.skipped[:LISTED_SKIPPED])
            more = f" and {len(self.skipped) - LISTED_SKIPPED} more" if len(self.skipped) > LISTED_SKIPPED else ""
            LOGGER.warning("%d unreadable image(s) skipped: %s%s", len(self.skipped), listed, more)


class TimedIterator:
    """Iterates ``iterable`` and adds up the seconds spent producing its items (``seconds``), not consuming them."""

    def __init__(self, iterable):
        self.iterator, self.seconds = iter(iterable), 0.0

    def __iter__(self):
        return self

    def __next__(self):
        started = time.perf_counter()
        try:
            return next(self.iterator)
        finally:
            self.seconds += time.perf_counter() - started


def validate_model(model, config: Config, callbacks: Callbacks | None = None, backend: Backend | None = None):
    """`yolo8 val`: score ``model`` on the ``split`` of ``data``; plots and files into runs/<task>/valN.

    ``backend``: what runs ``model`` (default: a :class:`TorchBackend` built for ``config``'s device, half and
    augment); the ``YOLO`` facade passes the one it keeps.
    """
    from yolo8.runtime.device import all_cores, select_device
    from yolo8.runtime.run_dir import increment_run_dir

    task = task_of(model)
    task.check_augment(bool(config.augment))
    with all_cores():
        if backend is None:
            device = select_device(config.device)
            backend = TorchBackend(model, device, half=bool(config.half) and device.type == "cuda",
                                   augment=bool(config.augment))
        data = task.evaluation_data(config, backend)
        save_dir = increment_run_dir(config.project or task.run_dir, config.name or "val", config.exist_ok, mkdir=True)
        validator = Validator(task, data.loader, data.names, config, backend.device, save_dir, callbacks=callbacks,
                              category_ids=data.category_ids)
        result = validator(backend, verbose=bool(config.verbose))
    LOGGER.info("Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image", *result.speed.values())
    LOGGER.info("Results saved to %s", result.save_dir)
    return result
