"""Raw head outputs -> boxes, scores, mask coefficients, class probabilities. Pure functions.

Anchors are recomputed from the feature shapes on every call, so any input size works and no
state is kept between calls.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from yolo8.ops.anchors import dist_to_bbox, make_anchors


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


def decode_detection(levels: Sequence[torch.Tensor], strides: Sequence[float] | torch.Tensor, reg_max: int,
                     num_classes: int, dfl: nn.Module | None = None) -> torch.Tensor:
    """Raw detect levels -> (B, 4 + num_classes, A).

    Rows 0-3 are boxes xywh (cx, cy, w, h) in input pixels, rows 4.. sigmoid class scores. Anchors
    are the cell centres x stride, stride 8 row-major first, then the coarser levels.

    Args:
        levels: list of (B, 4 * reg_max + num_classes, H_i, W_i) from :class:`yolo8.nn.heads.Detect`.
        strides: one stride per level, in input pixels.
        dfl: the head's :class:`yolo8.nn.blocks.DFL` module; ``None`` computes the same integral directly.
    """
    box_logits, class_logits = flatten_levels(levels, reg_max, num_classes)
    if dfl is not None:
        distances = dfl(box_logits)
    elif reg_max > 1:
        distances = distribution_to_distance(box_logits, reg_max)
    else:
        distances = box_logits
    shapes = [tuple(level.shape[2:4]) for level in levels]
    points, stride_per_anchor = make_anchors(shapes, strides, 0.5, device=box_logits.device, dtype=box_logits.dtype)
    # points (A, 2) -> (1, 2, A); strides (A, 1) -> (1, A)
    boxes = dist_to_bbox(distances, points.transpose(0, 1).unsqueeze(0), xywh=True, dim=1) * stride_per_anchor.transpose(0, 1)
    return torch.cat((boxes, class_logits.sigmoid()), 1)


def decode_segmentation(raw, strides, reg_max: int, num_classes: int, dfl: nn.Module | None = None):
    """Raw segment output (levels, coefficients (B, nm, A), prototypes (B, nm, H/4, W/4)) ->
    (predictions (B, 4 + num_classes + nm, A), prototypes). Coefficients are appended unchanged."""
    levels, coefficients, prototypes = raw
    detections = decode_detection(levels, strides, reg_max, num_classes, dfl)
    return torch.cat((detections, coefficients), 1), prototypes


def decode_classification(logits: torch.Tensor) -> torch.Tensor:
    """Logits (B, num_classes) -> softmax probabilities (B, num_classes)."""
    return logits.softmax(1)
