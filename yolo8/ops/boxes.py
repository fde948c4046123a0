"""Pure box functions: format conversions, clipping and scaling between image frames.

Every function accepts a ``torch.Tensor`` or a ``numpy.ndarray`` with boxes in the last
dimension and returns the same kind, never modifying its input. Formats:

* ``xyxy``: (x1, y1, x2, y2) corners.
* ``xywh``: (cx, cy, w, h) centre and size.
* ``ltwh``: (x1, y1, w, h) top-left corner and size (COCO's convention).

IoU families live in :mod:`yolo8.ops.iou`.
"""

from __future__ import annotations

import numpy as np
import torch


def _empty_like(boxes):
    return boxes.clone() if isinstance(boxes, torch.Tensor) else np.array(boxes, copy=True)


def xywh_to_xyxy(boxes):
    """boxes (…, 4) xywh -> (…, 4) xyxy, same units."""
    out = _empty_like(boxes)
    half_w, half_h = boxes[..., 2] / 2, boxes[..., 3] / 2
    out[..., 0] = boxes[..., 0] - half_w
    out[..., 1] = boxes[..., 1] - half_h
    out[..., 2] = boxes[..., 0] + half_w
    out[..., 3] = boxes[..., 1] + half_h
    return out


def xyxy_to_xywh(boxes):
    """boxes (…, 4) xyxy -> (…, 4) xywh, same units."""
    out = _empty_like(boxes)
    out[..., 0] = (boxes[..., 0] + boxes[..., 2]) / 2
    out[..., 1] = (boxes[..., 1] + boxes[..., 3]) / 2
    out[..., 2] = boxes[..., 2] - boxes[..., 0]
    out[..., 3] = boxes[..., 3] - boxes[..., 1]
    return out


def xyxy_to_ltwh(boxes):
    """boxes (…, 4) xyxy -> (…, 4) ltwh (COCO bbox), same units."""
    out = _empty_like(boxes)
    out[..., 2] = boxes[..., 2] - boxes[..., 0]
    out[..., 3] = boxes[..., 3] - boxes[..., 1]
    return out


def normalize_boxes(boxes, width: float, height: float):
    """boxes (…, 4) in pixels (any of the formats above) -> same format divided by image size."""
    out = _empty_like(boxes)
    out[..., 0::2] = boxes[..., 0::2] / width
    out[..., 1::2] = boxes[..., 1::2] / height
    return out


def denormalize_boxes(boxes, width: float, height: float):
    """boxes (…, 4) normalised to [0, 1] -> same format in pixels of a (height, width) image."""
    out = _empty_like(boxes)
    out[..., 0::2] = boxes[..., 0::2] * width
    out[..., 1::2] = boxes[..., 1::2] * height
    return out


def clip_boxes(boxes, height: float, width: float):
    """boxes (…, 4) xyxy pixels -> the same boxes clipped to a (height, width) image."""
    out = _empty_like(boxes)
    if isinstance(boxes, torch.Tensor):
        out[..., 0::2] = boxes[..., 0::2].clamp(0, width)
        out[..., 1::2] = boxes[..., 1::2].clamp(0, height)
    else:
        out[..., 0::2] = boxes[..., 0::2].clip(0, width)
        out[..., 1::2] = boxes[..., 1::2].clip(0, height)
    return out


def box_area(boxes):
    """boxes (…, 4) xyxy -> (…) areas; degenerate boxes give 0."""
    if isinstance(boxes, torch.Tensor):
        return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)
    return (boxes[..., 2] - boxes[..., 0]).clip(min=0) * (boxes[..., 3] - boxes[..., 1]).clip(min=0)
