"""Build a yolo8 model from an Ultralytics checkpoint: architecture from its YAML, weights from its tensors."""

from __future__ import annotations

import os

from torch import nn

from yolo8.checkpoints.ultralytics_checkpoint import (
    CheckpointFormatError,
    ForeignCheckpoint,
    read_ultralytics_checkpoint,
)
from yolo8.nn.heads import Detect
from yolo8.nn.model import TASK_OF_HEAD, YOLOModel, build_model

__all__ = ["load_ultralytics_model", "model_from_foreign_checkpoint"]

SUPPORTED_TASKS = tuple(TASK_OF_HEAD.values())  # the tasks yolo8 has a head for


def load_ultralytics_model(path: str | os.PathLike, model_yaml: dict | str | None = None) -> YOLOModel:
    """Read ``path`` safely (no code from it runs) and return an eval-mode float32 :class:`YOLOModel`.

    ``model_yaml`` (a dict, a YAML path or a shipped name like ``'yolov8n.yaml'``) is needed only when the
    file is a bare state_dict without an architecture. See :func:`model_from_foreign_checkpoint`.
    """
    return model_from_foreign_checkpoint(read_ultralytics_checkpoint(path), model_yaml, source=str(path))


def model_from_foreign_checkpoint(checkpoint: ForeignCheckpoint, model_yaml: dict | str | None = None,
                                  source: str = "<checkpoint>") -> YOLOModel:
    """Build the architecture, apply each BatchNorm's eps, load the weights strictly, set names and stride."""
    if checkpoint.task not in SUPPORTED_TASKS:
        raise CheckpointFormatError(
            f"{source}: task '{checkpoint.task}' is not supported by yolo8 (supported: {', '.join(SUPPORTED_TASKS)})")
    architecture = model_yaml if model_yaml is not None else checkpoint.model_yaml
    if not architecture:
        raise CheckpointFormatError(
            f"{source} holds only weights, no model YAML; pass model_yaml= (e.g. 'yolov8n.yaml') to say the architecture")
    channels = int(architecture.get("channels", 3)) if isinstance(architecture, dict) else 3
    model = build_model(architecture, channels=channels)
    modules = dict(model.named_modules())
    for module_path, eps in checkpoint.batchnorm_eps.items():
        batchnorm = modules.get(module_path)
        if not isinstance(batchnorm, nn.modules.batchnorm._BatchNorm):
            raise CheckpointFormatError(f"{source}: BatchNorm '{module_path}' of the checkpoint has no counterpart "
                                        "in the model built from its YAML")
        batchnorm.eps = eps
    try:
        model.load_state_dict(checkpoint.state_dict, strict=True)
    except RuntimeError as error:
        raise CheckpointFormatError(f"{source}: the weights do not fit the architecture in its YAML: {error}") from error
    if checkpoint.task != model.task:
        raise CheckpointFormatError(f"{source}: checkpoint task '{checkpoint.task}' but its YAML builds a "
                                    f"'{model.task}' model")
    if checkpoint.names:
        model.names = dict(checkpoint.names)
    if isinstance(model.head, Detect) and checkpoint.stride:  # a classifier's recorded stride is not its head's
        measured = model.stride.tolist()
        if [float(s) for s in measured] != checkpoint.stride:
            raise CheckpointFormatError(f"{source}: checkpoint strides {checkpoint.stride} differ from the "
                                        f"built model's {measured}")
    return model.float().eval()
