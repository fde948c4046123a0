"""The module an exporter traces: a fused, eval-mode copy of the model whose forward returns decoded outputs only.

The caller's model is never touched (no flags flipped, no mode changed): the wrapper owns a deep copy. Its
outputs are the backend forms of :mod:`yolo8.runtime.backend` (detect ``(B, 4 + nc, A)``; segment
``((B, 4 + nc + nm, A), prototypes (B, nm, H/4, W/4))``; classify ``(B, nc)``), or with ``nms`` the rows of
:class:`yolo8.export.graph_nms.GraphNMS`.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def fused_copy(model: nn.Module, half: bool = False) -> nn.Module:
    """A fused (Conv + BN folded), eval-mode, float32 (float16 with ``half``) copy of ``model`` on its device."""
    prepared = copy.deepcopy(model).eval()
    if hasattr(prepared, "fuse") and not getattr(prepared, "is_fused", False):
        prepared.fuse()
    for parameter in prepared.parameters():
        parameter.requires_grad_(False)
    return prepared.half() if half else prepared.float()


class InferenceWrapper(nn.Module):
    """Runs a prepared copy of a yolo8 model and returns what a backend returns.

    Args:
        model: a yolo8 model (eval forward ``(decoded, raw)``); it is copied, fused and put in eval mode here.
        half: float16 weights (CUDA exports).
        nms: optional module mapping the decoded detection tensor to NMS'd rows (detect and segment only).
    """

    def __init__(self, model: nn.Module, half: bool = False, nms: nn.Module | None = None):
        super().__init__()
        self.model = fused_copy(model, half)
        self.task = str(model.task)
        self.nms = nms

    def forward(self, images: torch.Tensor):
        decoded = self.model(images)[0]  # the eval forward is (decoded, raw); raw is not exported
        if self.nms is None:
            return decoded
        if self.task == "segment":
            predictions, prototypes = decoded
            return self.nms(predictions), prototypes
        return self.nms(decoded)
