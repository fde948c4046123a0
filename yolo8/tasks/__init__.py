"""The task table: everything that differs between detect, segment and classify, in one place.

``TASKS[name]`` is a :class:`TaskSpec`; the train, val and predict loops read it instead of switching on the
task's name. A new task is a new entry (and a module beside :mod:`yolo8.tasks.detect`), not edits across the
modes. Besides this package only :mod:`yolo8.nn.model` names tasks, in the head -> task map a model reads
its own task from.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from torch import nn

from yolo8.nn.heads import Classify, Detect, Segment
from yolo8.tasks import classify, detect, segment
from yolo8.tasks.common import EvaluationData, PostprocessSettings

__all__ = ["TASKS", "TaskSpec", "EvaluationData", "PostprocessSettings", "task_spec", "task_of"]

BOX_METRICS = ("metrics/precision(B)", "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)")
MASK_METRICS = ("metrics/precision(M)", "metrics/recall(M)", "metrics/mAP50(M)", "metrics/mAP50-95(M)")


@dataclass(frozen=True)
class TaskSpec:
    """One task.

    Attributes:
        name: 'detect', 'segment' or 'classify' (the CLI's first word, the ``task`` of a model).
        head: the head class whose models do this task.
        dataset: what its data looks like: 'boxes' (YOLO txt rows), 'polygons' (YOLO polygon rows) or
            'folders' (one folder per class).
        loss_names: the training loss items, in the loss's order (results.csv ``train/…`` and ``val/…`` columns).
        metric_keys: the validation metrics in results.csv, in order (the keys of the result's ``results_dict``
            without ``fitness``, which every result defines as the number best.pt is chosen by).
        prepare_image: ``(image (H, W, 3) uint8 BGR, size, stride) -> (network image, LetterboxInfo | None)``.
        postprocess: ``(decoded, input (H, W), letterboxes, original shapes, PostprocessSettings)`` -> an iterator
            of per-image ``Results`` fields in original pixels (decoded as :mod:`yolo8.runtime.backend` documents).
        evaluator: ``(names, save_dir, save_json, category_ids, single_cls)`` -> an object with
            ``update(batch, index, fields, input_shape)``, ``plot_batch(batch, batch_index, fields list)`` and
            ``finish(speed, loss, verbose, plots) -> result``.
        evaluation_data: ``(config, model) -> EvaluationData`` for a stand-alone val run.
        build_loss: ``(model, config) -> loss`` with ``loss(raw outputs, targets) -> (total, items)``; None when
            yolo8 cannot train this task yet.
    """

    name: str
    head: type[nn.Module]
    dataset: str
    loss_names: tuple[str, ...]
    metric_keys: tuple[str, ...]
    prepare_image: Callable
    postprocess: Callable
    evaluator: Callable
    evaluation_data: Callable
    build_loss: Callable | None = None

    @property
    def run_dir(self) -> Path:
        """Parent folder of this task's runs when the ``project`` setting is empty: ``runs/<task>``."""
        return Path("runs") / self.name


def build_detection_loss(model: nn.Module, config):
    """YOLOv8's detection loss for ``model``'s head, with the gains of the settings."""
    from yolo8.losses.detection import DetectionLoss

    head = model.head
    return DetectionLoss(head.num_classes, strides=model.stride.tolist(), reg_max=head.reg_max,
                         box_gain=config.box, cls_gain=config.cls, dfl_gain=config.dfl)


TASKS: dict[str, TaskSpec] = {
    "detect": TaskSpec(
        "detect", Detect, "boxes", ("box_loss", "cls_loss", "dfl_loss"), BOX_METRICS,
        detect.prepare_image, detect.postprocess, detect.DetectionEvaluator, detect.evaluation_data,
        build_detection_loss,
    ),
    "segment": TaskSpec(
        "segment", Segment, "polygons", ("box_loss", "seg_loss", "cls_loss", "dfl_loss"), BOX_METRICS + MASK_METRICS,
        segment.prepare_image, segment.postprocess, segment.SegmentationEvaluator, segment.evaluation_data,
    ),
    "classify": TaskSpec(
        "classify", Classify, "folders", ("loss",), ("metrics/accuracy_top1", "metrics/accuracy_top5"),
        classify.prepare_image, classify.postprocess, classify.ClassificationEvaluator, classify.evaluation_data,
    ),
}


def task_spec(name: str) -> TaskSpec:
    """The task called ``name``; an unknown name is an error that lists the tasks and suggests the nearest."""
    spec = TASKS.get(name)
    if spec is None:
        close = difflib.get_close_matches(str(name), list(TASKS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"task '{name}' is not available in yolo8.{hint} Tasks: {', '.join(TASKS)}.")
    return spec


def task_of(model) -> TaskSpec:
    """The task a model (or a backend) does, from its ``task`` attribute."""
    return task_spec(getattr(model, "task", "detect"))
