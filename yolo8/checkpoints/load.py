"""One entry point for every model source: a model YAML, a yolo8 checkpoint or an Ultralytics checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

MODEL_YAML_SUFFIXES = (".yaml", ".yml")
SHIPPED_WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


def is_model_yaml(source: str | os.PathLike) -> bool:
    """Whether ``source`` names a model YAML (an architecture, no weights) rather than a checkpoint."""
    return Path(source).suffix.lower() in MODEL_YAML_SUFFIXES


def shipped_weights(name: str | os.PathLike) -> Path | None:
    """The weights file shipped in the package under this bare name (``yolov8n-builtin.pt``), else None."""
    name = str(name)
    if not name or Path(name).name != name:  # a path with folders names a file of the user's, never ours
        return None
    candidate = SHIPPED_WEIGHTS_DIR / name
    return candidate if candidate.is_file() else None


def load_model(source: str | os.PathLike | nn.Module) -> tuple[nn.Module, dict | None]:
    """A model from a YAML name/path, a yolo8 checkpoint or an Ultralytics checkpoint; with its train args.

    No file is unpickled with code execution: yolo8 checkpoints load with ``weights_only=True`` and
    Ultralytics ones through a restricted unpickler that maps their classes to inert placeholders.
    """
    if isinstance(source, nn.Module):
        return source, None
    path = Path(source)
    if is_model_yaml(path):
        from yolo8.nn.model import build_model

        return build_model(path), None
    if not path.is_file():
        path = shipped_weights(source) or path  # a shipped model's name resolves from any directory, like YAMLs
    if not path.is_file():
        shipped = sorted(file.name for file in SHIPPED_WEIGHTS_DIR.glob("*.pt"))
        raise FileNotFoundError(
            f"model '{source}' not found. yolo8 never downloads weights: give the path of a checkpoint "
            f"(.pt) you have, a model YAML such as '{path.stem}.yaml' to start from scratch, or a shipped model: "
            f"{', '.join(shipped) or 'none'}."
        )
    from yolo8.checkpoints.ultralytics_checkpoint import is_ultralytics_checkpoint, read_ultralytics_checkpoint

    if is_ultralytics_checkpoint(path):
        from yolo8.checkpoints.ultralytics_model import model_from_foreign_checkpoint

        foreign = read_ultralytics_checkpoint(path)
        return model_from_foreign_checkpoint(foreign, source=str(path)), foreign.train_args
    from yolo8.checkpoints.native import load_checkpoint, model_from_checkpoint

    checkpoint = load_checkpoint(path)
    return model_from_checkpoint(checkpoint), checkpoint.get("train_args")
