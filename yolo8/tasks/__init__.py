"""The task table: everything that differs between detect, segment and classify, in one place.

``TASKS[name]`` is a :class:`TaskSpec`; the train, val and predict loops read it instead of switching on the
task's name. A new task is a new entry (and a module beside :mod:`yolo8.tasks.detect`), not edits across the
modes. Besides this package only :mod:`yolo8.nn.model` names tasks, in the head -> task map a model reads
its own task from.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from torch import nn

from yolo8.config import BUILTIN_DATASET_DEFAULTS, BUILTIN_FINETUNE_DEFAULTS
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
        loss_names: the training loss items, in the loss's order (results.csv ``train/…`` and ``val/…`` columns).
        metric_keys: the validation metrics in results.csv, in order: the keys of the result's ``results_dict``
            without ``fitness``. Fitness, the number best.pt is chosen by, is each result's ``fitness``
            (0.1 mAP50 + 0.9 mAP50-95 for boxes, that of boxes + masks for segments, mean of top-1 and top-5).
        prepare_image: ``(image (H, W, 3) uint8 BGR, size, stride) -> (network image, LetterboxInfo | None)``.
        postprocess: ``(decoded, input (H, W), letterboxes, original shapes, PostprocessSettings)`` -> an iterator
            of per-image ``Results`` fields in original pixels (decoded as :mod:`yolo8.runtime.backend` documents).
        evaluator: ``(names, save_dir, save_json, category_ids, single_cls)`` -> an object with
            ``update(batch, index, fields, input_shape)``, ``plot_batch(batch, batch_index, fields list)`` and
            ``finish(speed, loss, verbose, plots) -> result``.
        evaluation_data: ``(config, backend) -> EvaluationData`` for a stand-alone val run.
        build_loss: ``(model, config) -> loss`` with ``loss(raw outputs, batch) -> (total, items)`` (the batch on
            the model's device); None when yolo8 cannot train this task yet.
        training_loader: ``(dataset config, config, image size, batch size, stride, workers, rank)`` -> the
            shuffled, augmented loader of the train split (None when the task does not train).
        validation_loader: ``(dataset config, config, image size, batch size, stride, workers)`` -> the loader a
            training run validates on after each epoch (its batches feed the loss too).
        plot_training_batch: ``(batch, save file, names)``: draws train_batchN.jpg.
        default_model: the model YAML a train command without ``model=`` builds.
        builtin_weights: the file name of this task's weights shipped in ``yolo8/weights/`` (trained on the
            built-in data; see ``tools/make_builtin_weights.py``): the main job fine-tunes them, and val and
            predict without ``model=`` run them. None: nothing is shipped yet for the task.
        resolve_training_data: ``(config) -> dataset`` the training run's data (``data`` unset: the built-in
            dataset); the result has ``names``, ``num_classes`` and ``yaml_file`` (what the run records as data).
        builtin_defaults: settings a training run on the built-in dataset uses where the user set none.
        finetune_defaults: what changes (again where the user set nothing) when that run starts from the shipped
            ``builtin_weights``: the main job fine-tunes a trained model, in fewer, gentler epochs.
        sample_source: ``() -> list of image paths`` predict runs on when given no source: the shipped sample
            scenes, or for a classifier the crops of their objects.
        augment: whether test-time augmentation (``augment=True``) applies to this task's outputs.
    """

    name: str
    head: type[nn.Module]
    loss_names: tuple[str, ...]
    metric_keys: tuple[str, ...]
    prepare_image: Callable
    postprocess: Callable
    evaluator: Callable
    evaluation_data: Callable
    build_loss: Callable | None = None
    training_loader: Callable | None = None
    validation_loader: Callable | None = None
    plot_training_batch: Callable | None = None
    default_model: str = "yolov8n.yaml"
    builtin_weights: str | None = None
    sample_source: Callable = detect.sample_source
    augment: bool = False
    resolve_training_data: Callable = detect.resolve_training_data
    builtin_defaults: dict = field(default_factory=lambda: dict(BUILTIN_DATASET_DEFAULTS))
    finetune_defaults: dict = field(default_factory=lambda: dict(BUILTIN_FINETUNE_DEFAULTS))

    @property
    def run_dir(self) -> Path:
        """Parent folder of this task's runs when the ``project`` setting is empty: ``runs/<task>``."""
        return Path("runs") / self.name

    def check_augment(self, augment: bool) -> None:
        """Refuse ``augment=True`` for a task it does not apply to, naming the task."""
        if augment and not self.augment:
            raise ValueError(f"augment=True (test-time augmentation) works with detection models; this is a "
                             f"'{self.name}' model. Remove augment=True.")


TASKS: dict[str, TaskSpec] = {
    "detect": TaskSpec(
        "detect", Detect, ("box_loss", "cls_loss", "dfl_loss"), BOX_METRICS,
        detect.prepare_image, detect.postprocess, detect.DetectionEvaluator, detect.evaluation_data,
        build_loss=detect.build_loss, training_loader=detect.training_loader,
        validation_loader=detect.validation_loader, plot_training_batch=detect.plot_training_batch, augment=True,
        builtin_weights="yolov8n-builtin.pt",
    ),
    "segment": TaskSpec(
        "segment", Segment, ("box_loss", "seg_loss", "cls_loss", "dfl_loss"), BOX_METRICS + MASK_METRICS,
        segment.prepare_image, segment.postprocess, segment.SegmentationEvaluator, segment.evaluation_data,
        build_loss=segment.build_loss, training_loader=segment.training_loader,
        validation_loader=segment.validation_loader, plot_training_batch=segment.plot_training_batch,
        default_model="yolov8n-seg.yaml", builtin_weights="yolov8n-seg-builtin.pt",
    ),
    "classify": TaskSpec(
        "classify", Classify, ("loss",), ("metrics/accuracy_top1", "metrics/accuracy_top5"),
        classify.prepare_image, classify.postprocess, classify.ClassificationEvaluator, classify.evaluation_data,
        build_loss=classify.build_loss, training_loader=classify.training_loader,
        validation_loader=classify.validation_loader, plot_training_batch=classify.plot_training_batch,
        default_model="yolov8n-cls.yaml", resolve_training_data=classify.resolve_training_data,
        sample_source=classify.sample_source, builtin_weights="yolov8n-cls-builtin.pt",
        builtin_defaults=classify.BUILTIN_DEFAULTS, finetune_defaults=classify.FINETUNE_DEFAULTS,
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
    """The task a model (or a backend) does, from its ``task`` attribute (and, for a model, its head's type)."""
    name = getattr(model, "task", None)
    if name is None:
        raise ValueError(f"{type(model).__name__} has no 'task' attribute: give a yolo8 model (or one that says "
                         f"its task, one of {', '.join(TASKS)}).")
    spec = task_spec(name)
    head = getattr(model, "head", None)
    if isinstance(head, nn.Module) and not isinstance(head, spec.head):
        raise ValueError(f"{type(model).__name__} says task '{name}' but its head is a {type(head).__name__}, "
                         f"not a {spec.head.__name__}.")
    return spec
