"""The form of a model that predict and val run: a fused, eval-mode copy laid out for fast convolutions."""

from __future__ import annotations

import copy

import torch
from torch import nn


def inference_copy(model: nn.Module, device: torch.device, half: bool = False) -> nn.Module:
    """A copy of ``model`` for inference; the caller's model is left as it was.

    Conv + BatchNorm are folded, the copy is in eval mode on ``device``, and its 4-D weights use the
    channels-last memory format: oneDNN's convolutions run about a third faster that way on CPU (measured
    on yolov8n at 640 px, 2 threads), and the outputs equal the default layout's to float rounding.
    ``half`` casts to float16 (meant for CUDA).
    """
    prepared = copy.deepcopy(model).eval()
    if hasattr(prepared, "fuse") and not getattr(prepared, "is_fused", False):
        prepared.fuse()
    prepared = prepared.to(device, memory_format=torch.channels_last)
    return prepared.half() if half else prepared
