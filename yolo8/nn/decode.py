"""Raw head outputs -> boxes, scores, mask coefficients, class probabilities. Pure functions.

Anchors are recomputed from the feature shapes on every call, so any input size works and no
state is kept between calls.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from yolo8.ops.anchors import dist_to_bbox, make_anchors
from yolo8.ops.dfl import distribution_to_distance, flatten_levels


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
