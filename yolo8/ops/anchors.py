"""Anchor points of the anchor-free head and the distance <-> box transforms around them."""

from __future__ import annotations

import torch


def make_anchors(feature_shapes, strides, offset: float = 0.5, device=None, dtype=torch.float32):
    """Anchor points for every cell of every feature level.

    Args:
        feature_shapes: sequence of (height, width) per level, in level order.
        strides: sequence of the levels' strides in input pixels.
        offset: position of the point inside its cell (0.5 = cell centre).

    Returns:
        points (Tensor[A, 2], x y in feature-cell units of their own level),
        stride_per_anchor (Tensor[A, 1]); A = sum(h * w), levels in order, each row-major.
    """
    points, stride_column = [], []
    for (height, width), stride in zip(feature_shapes, strides):
        xs = torch.arange(width, device=device, dtype=dtype) + offset
        ys = torch.arange(height, device=device, dtype=dtype) + offset
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        points.append(torch.stack((grid_x, grid_y), -1).view(-1, 2))
        stride_column.append(torch.full((height * width, 1), float(stride), device=device, dtype=dtype))
    return torch.cat(points), torch.cat(stride_column)


def dist_to_bbox(distances, points, xywh: bool = True, dim: int = -1):
    """Distances (left, top, right, bottom) from anchor points -> boxes.

    Args:
        distances: Tensor[..., 4, ...] with the 4 sides along ``dim``.
        points: anchor points broadcastable to half of ``distances`` along ``dim``.
        xywh: return (cx, cy, w, h) when True, (x1, y1, x2, y2) otherwise.
    """
    left_top, right_bottom = distances.chunk(2, dim)
    top_left_corner = points - left_top
    bottom_right_corner = points + right_bottom
    if xywh:
        return torch.cat(((top_left_corner + bottom_right_corner) / 2, bottom_right_corner - top_left_corner), dim)
    return torch.cat((top_left_corner, bottom_right_corner), dim)


def bbox_to_dist(points, boxes_xyxy, max_distance: float):
    """Boxes (…, 4) xyxy and points (…, 2) -> distances (…, 4) (l, t, r, b) clipped to [0, max_distance - 0.01].

    ``max_distance`` is ``reg_max - 1`` so a distance always falls between two DFL bins.
    """
    x1y1, x2y2 = boxes_xyxy.chunk(2, -1)
    return torch.cat((points - x1y1, x2y2 - points), -1).clamp_(0, max_distance - 0.01)
