"""TorchScript export: the traced inference wrapper with its metadata as the extra file ``config.txt``."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from yolo8.runtime.export_metadata import TORCHSCRIPT_EXTRA_FILE, ExportMetadata


def write_torchscript(wrapper: nn.Module, example: torch.Tensor, metadata: ExportMetadata, path: Path) -> Path:
    """Trace ``wrapper`` on ``example`` (B, 3, H, W) and save it to ``path`` (``best.torchscript``).

    Anchors are built from the feature shapes inside the graph, so the trace also runs at other sizes and
    batch sizes (``dynamic`` only changes what the metadata promises).
    """
    with warnings.catch_warnings():  # tracer notes on shape-derived ints (anchors stay size-generic), deprecation
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)
        traced = torch.jit.trace(wrapper, example, strict=False, check_trace=False)
        traced.save(str(path), _extra_files={TORCHSCRIPT_EXTRA_FILE: metadata.to_json()})
    return path
