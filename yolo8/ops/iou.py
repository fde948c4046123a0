"""IoU family: elementwise IoU / GIoU / DIoU / CIoU and pairwise IoU.

``bbox_iou`` compares box ``i`` of one tensor with box ``i`` of the other (after broadcasting);
``pairwise_iou`` compares every box of one set with every box of the other.
"""

from __future__ import annotations

import math

import torch
from torchvision.ops import box_iou

from yolo8.ops.boxes import xywh_to_xyxy

IOU_KINDS = ("iou", "giou", "diou", "ciou")


def bbox_iou(box1, box2, xywh: bool = False, kind: str = "iou", eps: float = 1e-7):
    """Elementwise overlap of two broadcastable box tensors.

    Args:
        box1, box2: Tensor[..., 4], xyxy (or xywh when ``xywh=True``), any common unit;
            the leading dimensions broadcast against each other.
        kind: "iou", "giou" (IoU - (hull area - union) / hull area), "diou" (IoU - rho^2 / c^2,
            rho = centre distance, c = hull diagonal) or "ciou" (DIoU - alpha * v, with the aspect
            term v = (4 / pi^2) (atan(w2 / h2) - atan(w1 / h1))^2 and alpha = v / (v - IoU + 1 + eps)
            treated as a constant: no gradient flows through alpha).
        eps: added to the union, to the heights and to the hull so degenerate boxes stay finite.

    Returns:
        Tensor[...] (the broadcast shape without the last dimension). IoU lies in [0, 1];
        GIoU in [-1, 1]; DIoU and CIoU in (-1, 1].
    """
    if kind not in IOU_KINDS:
        raise ValueError(f"bbox_iou: kind={kind!r} is not one of {IOU_KINDS}; pass one of those names.")
    if xywh:
        box1, box2 = xywh_to_xyxy(box1), xywh_to_xyxy(box2)
    x1a, y1a, x2a, y2a = box1.unbind(-1)
    x1b, y1b, x2b, y2b = box2.unbind(-1)
    width1, height1 = x2a - x1a, y2a - y1a + eps
    width2, height2 = x2b - x1b, y2b - y1b + eps

    intersection = (torch.minimum(x2a, x2b) - torch.maximum(x1a, x1b)).clamp(min=0) * (
        torch.minimum(y2a, y2b) - torch.maximum(y1a, y1b)
    ).clamp(min=0)
    union = width1 * height1 + width2 * height2 - intersection + eps
    iou = intersection / union
    if kind == "iou":
        return iou

    hull_width = torch.maximum(x2a, x2b) - torch.minimum(x1a, x1b)
    hull_height = torch.maximum(y2a, y2b) - torch.minimum(y1a, y1b)
    if kind == "giou":
        hull_area = hull_width * hull_height + eps
        return iou - (hull_area - union) / hull_area

    hull_diagonal_squared = hull_width**2 + hull_height**2 + eps
    centre_distance_squared = ((x1b + x2b - x1a - x2a) ** 2 + (y1b + y2b - y1a - y2a) ** 2) / 4
    distance_term = centre_distance_squared / hull_diagonal_squared
    if kind == "diou":
        return iou - distance_term

    aspect_term = (4 / math.pi**2) * (torch.atan(width2 / height2) - torch.atan(width1 / height1)).pow(2)
    with torch.no_grad():
        alpha = aspect_term / (aspect_term - iou + (1 + eps))
    return iou - (distance_term + aspect_term * alpha)


def pairwise_iou(boxes1, boxes2):
    """boxes1 (Tensor[N, 4], xyxy), boxes2 (Tensor[M, 4], xyxy) -> IoU matrix (Tensor[N, M])."""
    return box_iou(boxes1, boxes2)
