"""Read YOLOv8 checkpoints written by Ultralytics (``*.pt``) without running any code from them.

Such a file is a ``torch.save`` zip whose pickle holds a dict like ``{"model": DetectionModel (fp16),
"ema": None | model, "train_args": {...}, "date": ..., "version": ...}``; the model object pickles
its whole ``nn.Module`` tree. We unpickle it with :mod:`yolo8.checkpoints.safe_pickle`, which turns every
module class into an inert placeholder, then walk the placeholders' recorded ``__dict__``
(``_parameters``, ``_buffers``, ``_modules``) the way ``nn.Module.state_dict()`` would.

A plain ``state_dict`` file, or ``{"model": state_dict}`` / ``{"state_dict": state_dict}``, is read too.
"""

from __future__ import annotations

import os
import pickletools
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from yolo8.checkpoints.safe_pickle import PlaceholderObject, RestrictedPickleModule, UnsafeCheckpointError

__all__ = [
    "CheckpointFormatError",
    "ForeignCheckpoint",
    "UnsafeCheckpointError",
    "is_ultralytics_checkpoint",
    "read_ultralytics_checkpoint",
]

HEAD_TASKS = {"Detect": "detect", "Segment": "segment", "Classify": "classify", "Pose": "pose", "OBB": "obb"}
MODEL_TASKS = {"DetectionModel": "detect", "SegmentationModel": "segment", "ClassificationModel": "classify",
               "PoseModel": "pose", "OBBModel": "obb"}
BATCHNORM_CLASSES = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm")


class CheckpointFormatError(ValueError):
    """The file is unreadable or its content is not a model checkpoint we understand."""


@dataclass
class ForeignCheckpoint:
    """What yolo8 takes from a foreign checkpoint.

    state_dict: module path → tensor, in ``nn.Module.state_dict()`` order; floating tensors are
        float32, integer buffers (``num_batches_tracked``) keep int64.
    model_yaml: the architecture dict the model was built from (``{}`` for a plain state_dict).
    names: class index → class name. stride: the model's output strides (``[8, 16, 32]`` for
        detection, ``[1.0]`` for classification, ``[]`` if unknown).
    task: 'detect' | 'segment' | 'classify' (or 'pose' / 'obb', which yolo8 does not build yet).
    train_args: the training arguments stored with the model, as plain data.
    source_format: 'ultralytics' (pickled module tree) or 'state_dict' (plain tensors).
    weights_from: which top-level entry the weights came from ('ema', 'model', or '' for a bare dict).
    batchnorm_eps: BatchNorm module path (``'model.0.bn'``) → eps, for every BatchNorm layer.
    metadata: other plain top-level entries (``date``, ``version``, ...).
    """

    state_dict: dict[str, torch.Tensor]
    model_yaml: dict
    names: dict[int, str]
    stride: list[float]
    task: str
    train_args: dict
    source_format: str
    weights_from: str = ""
    batchnorm_eps: dict[str, float] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)


def is_ultralytics_checkpoint(path: str | os.PathLike) -> bool:
    """True if ``path`` is a torch zip checkpoint whose pickle references ``ultralytics.*`` classes.

    Reads only the zip directory and ``data.pkl`` (scanned opcode by opcode, never executed).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            pickle_names = [n for n in archive.namelist() if n.endswith("data.pkl")]
            if not pickle_names:
                return False
            stream = archive.read(min(pickle_names, key=len))
        for opcode, argument, _ in pickletools.genops(stream):
            if isinstance(argument, str) and argument.startswith("ultralytics."):
                return True  # GLOBAL 'ultralytics.x Name' or the module string of a STACK_GLOBAL
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False
    return False


def read_ultralytics_checkpoint(path: str | os.PathLike) -> ForeignCheckpoint:
    """Read a checkpoint saved by Ultralytics (or a plain state_dict) safely; see the module docstring.

    Raises FileNotFoundError, UnsafeCheckpointError (a disallowed global, nothing was run) or
    CheckpointFormatError (unreadable or unexpected content); every message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist or is not a file")
    content = _safe_torch_load(path)

    if isinstance(content, PlaceholderObject):  # torch.save(model) of a bare module
        return _from_module_tree(path, content, {}, weights_from="")
    if not isinstance(content, dict):
        raise CheckpointFormatError(
            f"{path} holds a {type(content).__name__}, not a checkpoint dict or state_dict")
    for key in ("ema", "model"):
        if isinstance(content.get(key), PlaceholderObject):
            return _from_module_tree(path, content[key], content, weights_from=key)
    for key in ("model", "state_dict", "ema"):
        if _is_tensor_dict(content.get(key)):
            return _from_state_dict(path, content[key], weights_from=key)
    if _is_tensor_dict(content):
        return _from_state_dict(path, content, weights_from="")
    raise CheckpointFormatError(
        f"{path} has no model: expected a 'model' or 'ema' entry holding a module or a state_dict, "
        f"found keys {sorted(map(str, content))}")


def _safe_torch_load(path: Path) -> Any:
    try:
        with warnings.catch_warnings():
            # legacy (pre-zip) files make torch compare each module class's source; placeholders have none
            warnings.filterwarnings("ignore", message="Couldn't retrieve source code for container")
            return torch.load(path, map_location="cpu", weights_only=False,
                              pickle_module=RestrictedPickleModule(str(path)))
    except UnsafeCheckpointError:
        raise
    except Exception as error:  # zip, pickle and storage errors all mean the same to the caller
        raise CheckpointFormatError(
            f"{path} is not a readable torch checkpoint ({type(error).__name__}: {error}); "
            "the file may be truncated or corrupted, re-download or re-save it") from error


def _is_tensor_dict(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())


def _from_module_tree(path: Path, model: PlaceholderObject, top: dict, weights_from: str) -> ForeignCheckpoint:
    state_dict: dict[str, torch.Tensor] = {}
    batchnorm_eps: dict[str, float] = {}
    _collect_module(path, model, "", state_dict, batchnorm_eps)
    attributes = model.attributes
    model_yaml = attributes.get("yaml")
    train_args = top.get("train_args") if top.get("train_args") is not None else attributes.get("args")
    return ForeignCheckpoint(
        state_dict=state_dict,
        model_yaml=to_plain(model_yaml) if isinstance(model_yaml, dict) else {},
        names=_names(attributes.get("names")),
        stride=_stride(attributes.get("stride")),
        task=_module_task(path, model, model_yaml),
        train_args=_as_dict(to_plain(train_args)),
        source_format="ultralytics",
        weights_from=weights_from,
        batchnorm_eps=batchnorm_eps,
        metadata={k: v for k, v in top.items() if isinstance(k, str) and isinstance(v, (str, int, float, bool))},
    )


def _collect_module(path: Path, module: PlaceholderObject, prefix: str,
                    state_dict: dict[str, torch.Tensor], batchnorm_eps: dict[str, float]) -> None:
    """Append ``module``'s parameters, persistent buffers, then its children's, like ``state_dict()``."""
    attributes = module.attributes
    where = prefix.rstrip(".") or "<top>"
    if not isinstance(attributes.get("_modules"), dict):
        raise CheckpointFormatError(
            f"{path}: object at '{where}' ({module.qualified_name}) is not a pickled nn.Module (no _modules)")
    non_persistent = attributes.get("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        for name, tensor in (attributes.get(group) or {}).items():
            if tensor is None or (group == "_buffers" and name in non_persistent):
                continue
            if not isinstance(tensor, torch.Tensor):
                raise CheckpointFormatError(f"{path}: '{prefix}{name}' is a {type(tensor).__name__}, not a tensor")
            tensor = tensor.detach()
            state_dict[prefix + name] = tensor.float() if tensor.is_floating_point() else tensor.clone()
    if module.qualified_name.rsplit(".", 1)[-1] in BATCHNORM_CLASSES and "eps" in attributes:
        batchnorm_eps[where] = float(attributes["eps"])
    for name, child in attributes["_modules"].items():
        if child is None:
            continue
        if not isinstance(child, PlaceholderObject):
            raise CheckpointFormatError(f"{path}: child module '{prefix}{name}' is a {type(child).__name__}")
        _collect_module(path, child, f"{prefix}{name}.", state_dict, batchnorm_eps)


def _module_task(path: Path, model: PlaceholderObject, model_yaml: Any) -> str:
    """Task from the head class (last layer), else the model class, the yaml head, the ``task`` attribute."""
    layers = model.attributes.get("_modules", {}).get("model")
    if isinstance(layers, PlaceholderObject):
        children = [c for c in layers.attributes.get("_modules", {}).values() if isinstance(c, PlaceholderObject)]
        if children and children[-1].qualified_name.rsplit(".", 1)[-1] in HEAD_TASKS:
            return HEAD_TASKS[children[-1].qualified_name.rsplit(".", 1)[-1]]
    model_class = model.qualified_name.rsplit(".", 1)[-1]
    if model_class in MODEL_TASKS:
        return MODEL_TASKS[model_class]
    if isinstance(model_yaml, dict) and model_yaml.get("head"):
        last_entry = model_yaml["head"][-1]
        if isinstance(last_entry, (list, tuple)) and len(last_entry) > 2 and last_entry[2] in HEAD_TASKS:
            return HEAD_TASKS[last_entry[2]]
    task = model.attributes.get("task")
    if isinstance(task, str) and task:
        return task
    raise CheckpointFormatError(f"{path}: cannot tell the task of model class {model.qualified_name}")


def _from_state_dict(path: Path, tensors: dict, weights_from: str) -> ForeignCheckpoint:
    state_dict = {k: (v.detach().float() if v.is_floating_point() else v.detach().clone()) for k, v in tensors.items()}
    return ForeignCheckpoint(
        state_dict=state_dict, model_yaml={}, names={}, stride=[], task=_state_dict_task(state_dict),
        train_args={}, source_format="state_dict", weights_from=weights_from)


def _state_dict_task(state_dict: dict[str, torch.Tensor]) -> str:
    """Best guess from YOLOv8 key names: a Proto module means segment, a Linear head means classify."""
    if any(".proto." in key for key in state_dict):
        return "segment"
    if any(key.endswith("linear.weight") for key in state_dict):
        return "classify"
    return "detect"


def _names(names: Any) -> dict[int, str]:
    if isinstance(names, (list, tuple)):
        return {i: str(name) for i, name in enumerate(names)}
    if isinstance(names, dict):
        return {int(i): str(name) for i, name in names.items()}
    return {}


def _stride(stride: Any) -> list[float]:
    if isinstance(stride, torch.Tensor):
        return [float(s) for s in stride.flatten().tolist()]
    if isinstance(stride, (list, tuple)):
        return [float(s) for s in stride]
    if isinstance(stride, (int, float)):
        return [float(stride)]
    return []


def _as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def to_plain(value: Any) -> Any:
    """Recursively turn unpickled data into plain Python: placeholders become their attribute dicts,
    tensors and numpy values become lists or numbers."""
    if isinstance(value, PlaceholderObject):
        attributes = value.attributes or dict(value.dict_items)
        return {str(k): to_plain(v) for k, v in attributes.items()}
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_plain(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return sorted((to_plain(v) for v in value), key=repr)
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":  # numpy scalar or array
        return value.tolist()
    return value
