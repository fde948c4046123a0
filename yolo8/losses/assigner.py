"""Task-aligned assignment of anchors to ground-truth boxes (TOOD / YOLOv8)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from yolo8.ops.iou import bbox_iou


@dataclass
class Assignment:
    """Per-anchor targets; B images, A anchors, C classes.

    target_labels (Tensor[B, A], long): class of the assigned gt, ``num_classes`` for background.
    target_boxes (Tensor[B, A, 4], xyxy, same unit as the gts): the assigned gt box, zeros for background.
    target_scores (Tensor[B, A, C]): one-hot class x normalised alignment metric, zeros for background.
    foreground_mask (Tensor[B, A], bool): anchors that received a gt.
    target_gt_index (Tensor[B, A], long): index of the assigned gt in the padded gt list, 0 for background.
    """

    target_labels: torch.Tensor
    target_boxes: torch.Tensor
    target_scores: torch.Tensor
    foreground_mask: torch.Tensor
    target_gt_index: torch.Tensor

    def __iter__(self):
        return iter(
            (self.target_labels, self.target_boxes, self.target_scores, self.foreground_mask, self.target_gt_index)
        )


def anchors_inside_boxes(anchor_points, boxes, eps: float = 1e-9):
    """anchor_points (Tensor[A, 2], x y), boxes (Tensor[B, M, 4], xyxy, same unit)
    -> (Tensor[B, M, A], bool): the point lies strictly inside the box (by more than ``eps``)."""
    batch_size, num_boxes, _ = boxes.shape
    top_left, bottom_right = boxes.view(-1, 1, 4).chunk(2, -1)  # (B*M, 1, 2) each
    margins = torch.cat((anchor_points[None] - top_left, bottom_right - anchor_points[None]), -1)  # (B*M, A, 4)
    return margins.amin(-1).gt(eps).view(batch_size, num_boxes, -1)  # (B*M, A) -> (B, M, A)


class TaskAlignedAssigner:
    """Assigns each anchor to at most one gt by the task-alignment metric ``score^alpha * CIoU^beta``.

    For each gt, the ``top_k`` anchors with the highest metric among those whose point lies inside
    the gt box become positives; an anchor claimed by several gts goes to the gt it overlaps most
    (highest CIoU) among all gts containing its point. Target scores are the one-hot class times the metric normalised per gt:
    ``metric / max metric of that gt * max IoU of that gt``.
    """

    def __init__(self, top_k: int = 10, num_classes: int = 80, alpha: float = 0.5, beta: float = 6.0, eps: float = 1e-9):
        self.top_k = top_k
        self.num_classes = num_classes
        self.alpha = alpha
        self.beta = beta
        self.eps = eps

    @torch.no_grad()
    def __call__(self, pred_scores, pred_boxes, anchor_points, gt_labels, gt_boxes, gt_mask) -> Assignment:
        """Assign anchors to gts, vectorised over the batch.

        Args:
            pred_scores: Tensor[B, A, C], sigmoid class probabilities.
            pred_boxes: Tensor[B, A, 4], xyxy pixels.
            anchor_points: Tensor[A, 2], x y pixels.
            gt_labels: Tensor[B, M, 1], class indices (any dtype; padding rows may hold anything).
            gt_boxes: Tensor[B, M, 4], xyxy pixels (padding rows may hold anything).
            gt_mask: Tensor[B, M, 1], 1 for real gts, 0 for padding.

        Returns:
            :class:`Assignment` (unpacks to target_labels, target_boxes, target_scores,
            foreground_mask, target_gt_index).
        """
        batch_size, num_anchors, num_classes = pred_scores.shape
        num_gts = gt_boxes.shape[1]
        device = pred_scores.device
        if num_gts == 0:
            return Assignment(
                torch.full((batch_size, num_anchors), self.num_classes, dtype=torch.long, device=device),
                torch.zeros((batch_size, num_anchors, 4), dtype=pred_boxes.dtype, device=device),
                torch.zeros_like(pred_scores),
                torch.zeros((batch_size, num_anchors), dtype=torch.bool, device=device),
                torch.zeros((batch_size, num_anchors), dtype=torch.long, device=device),
            )

        labels = gt_labels.long().squeeze(-1).clamp(0, num_classes - 1)  # (B, M, 1) -> (B, M)
        candidates = anchors_inside_boxes(anchor_points, gt_boxes, self.eps) & gt_mask.bool()  # (B, M, A)
        metric, overlaps = self._alignment_metric(pred_scores, pred_boxes, labels, gt_boxes, candidates)

        top_k = min(self.top_k, num_anchors)
        top_indices = metric.topk(top_k, dim=-1, largest=True).indices  # (B, M, k)
        in_top_k = torch.zeros_like(candidates).scatter_(-1, top_indices, True)  # (B, M, A)
        positives = in_top_k & candidates

        # An anchor claimed by several gts goes to the gt with the highest overlap among all gts whose
        # box contains it, even one that did not rank it in its top k (YOLOv8's rule).
        batch_index, anchor_index = (positives.sum(1) > 1).nonzero(as_tuple=True)  # contested anchors, (N,) each
        if len(batch_index):
            contained_overlaps = torch.where(
                candidates[batch_index, :, anchor_index], overlaps[batch_index, :, anchor_index], -1.0
            )  # (N, M); -1 marks gts that do not contain the anchor
            winner = contained_overlaps.argmax(-1)  # (N,)
            positives[batch_index, :, anchor_index] = False
            positives[batch_index, winner, anchor_index] = True

        foreground_mask = positives.any(1)  # (B, A)
        gt_numbers = torch.arange(num_gts, device=device)[None, :, None]  # (1, M, 1)
        target_gt_index = (positives * gt_numbers).sum(1)  # (B, A): at most one positive per anchor; 0 for background
        target_labels = labels.gather(1, target_gt_index)  # (B, A)
        target_boxes = gt_boxes.gather(1, target_gt_index[..., None].expand(-1, -1, 4))  # (B, A, 4)
        target_labels = torch.where(foreground_mask, target_labels, torch.full_like(target_labels, self.num_classes))
        target_boxes = target_boxes * foreground_mask[..., None]

        positive_metric = metric * positives  # (B, M, A)
        max_metric_per_gt = positive_metric.amax(-1, keepdim=True)  # (B, M, 1)
        max_overlap_per_gt = (overlaps * positives).amax(-1, keepdim=True)  # (B, M, 1)
        normalised = (positive_metric * max_overlap_per_gt / (max_metric_per_gt + self.eps)).amax(1)  # (B, A)
        one_hot = F.one_hot(target_labels.clamp(max=num_classes - 1), num_classes).to(pred_scores.dtype)  # (B, A, C)
        target_scores = one_hot * (normalised * foreground_mask)[..., None]
        return Assignment(target_labels, target_boxes, target_scores, foreground_mask, target_gt_index)

    def _alignment_metric(self, pred_scores, pred_boxes, labels, gt_boxes, candidates):
        """-> metric (Tensor[B, M, A]) = score(gt class)^alpha * CIoU^beta and overlaps (Tensor[B, M, A],
        CIoU clamped at 0); both are 0 outside ``candidates`` (Tensor[B, M, A], bool)."""
        batch_size, num_gts, num_anchors = candidates.shape
        overlaps = torch.zeros(candidates.shape, dtype=pred_boxes.dtype, device=pred_boxes.device)
        class_scores = torch.zeros(candidates.shape, dtype=pred_scores.dtype, device=pred_scores.device)

        batch_index, gt_index, anchor_index = candidates.nonzero(as_tuple=True)  # each (N,)
        gt_selected = gt_boxes[batch_index, gt_index]  # (N, 4)
        pred_selected = pred_boxes[batch_index, anchor_index]  # (N, 4)
        overlaps[candidates] = bbox_iou(gt_selected, pred_selected, kind="ciou").clamp_(min=0).to(overlaps.dtype)
        class_scores[candidates] = pred_scores[batch_index, anchor_index, labels[batch_index, gt_index]]
        metric = class_scores.pow(self.alpha) * overlaps.pow(self.beta)
        return metric, overlaps
