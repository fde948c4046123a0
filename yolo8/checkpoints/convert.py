"""Conversions into yolo8's formats: Ultralytics checkpoints -> native yolo8 checkpoints."""

from __future__ import annotations

import os
from pathlib import Path


def convert_ultralytics_checkpoint(source: str | os.PathLike, destination: str | os.PathLike | None = None) -> Path:
    """Read an Ultralytics .pt safely (no code from it runs) and write it as a native yolo8 checkpoint.

    The result holds plain tensors and types only and loads with ``torch.load(weights_only=True)``.
    ``destination`` defaults to ``<stem>_yolo8.pt`` beside the source. Returns the written path.
    """
    from yolo8.checkpoints.native import model_to_checkpoint, save_checkpoint
    from yolo8.checkpoints.ultralytics_checkpoint import read_ultralytics_checkpoint
    from yolo8.checkpoints.ultralytics_model import model_from_foreign_checkpoint

    source = Path(source)
    foreign = read_ultralytics_checkpoint(source)
    model = model_from_foreign_checkpoint(foreign, source=str(source))
    destination = Path(destination) if destination else source.with_name(f"{source.stem}_yolo8.pt")
    if destination.resolve() == source.resolve():
        raise ValueError(f"{source}: converting onto itself would destroy the original; choose another out=")
    checkpoint = model_to_checkpoint(model, train_args=foreign.train_args,
                                     converted_from={"file": source.name, **foreign.metadata})
    return save_checkpoint(checkpoint, destination)
