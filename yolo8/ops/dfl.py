"""The head's box distribution as pure tensor math: per-level maps flattened to anchors, and the DFL integral.

One place for both, shared by decode (:mod:`yolo8.nn.decode`) and the detection loss (:mod:`yolo8.losses.detection`).
"""

from __future__ import annotations

from typing import Sequence

import torch


def flatten_levels(levels: Sequence[torch.Tensor], reg_max: int, num_classes: int):
    """Per-level head maps -> anchor-major logits.

    Args:
        levels: list of (B, 4 * reg_max + num_classes, H_i, W_i).

    Returns:
        box_logits (B, 4 * reg_max, A), class_logits (B, num_classes, A); A = sum H_i * W_i, levels in
        order, each row-major.
    """
    batch, channels = levels[0].shape[:2]
    joined = torch.cat([level.reshape(batch, channels, -1) for level in levels], 2)  # (B, no, H_i, W_i) -> (B, no, A)
    box_logits, class_logits = joined.split((4 * reg_max, num_classes), 1)
    return box_logits, class_logits


def anchor_major_bins(box_logits: torch.Tensor, reg_max: int) -> torch.Tensor:
    """Box logits (B, 4 * reg_max, A), channel = side * reg_max + bin (sides l, t, r, b) -> bin logits
    (B, A, 4, reg_max), contiguous: the layout of the DFL integral and of the distribution focal loss."""
    batch = box_logits.shape[0]
    return box_logits.permute(0, 2, 1).reshape(batch, -1, 4, reg_max)  # (B, 4*R, A) -> (B, A, 4*R) -> (B, A, 4, R)


def expected_distance(bin_logits: torch.Tensor) -> torch.Tensor:
    """DFL integral: bin logits (..., reg_max) -> (...) expected bin index, softmax over the bins times
    (0, 1, ..., reg_max - 1). Shared by decode (when no head DFL module is given) and the detection loss;
    the head's :class:`yolo8.nn.blocks.DFL` computes the same as a fixed 1x1 conv (its checkpoint layout)."""
    bins = torch.arange(bin_logits.shape[-1], device=bin_logits.device, dtype=bin_logits.dtype)
    return bin_logits.softmax(-1) @ bins  # (..., R) -> (...)


def distribution_to_distance(box_logits: torch.Tensor, reg_max: int) -> torch.Tensor:
    """DFL integral: (B, 4 * reg_max, A) logits -> (B, 4, A) expected distances (l, t, r, b) in bins."""
    distances = expected_distance(anchor_major_bins(box_logits, reg_max))  # (B, A, 4, R) -> (B, A, 4)
    return distances.transpose(1, 2)  # (B, A, 4) -> (B, 4, A)
