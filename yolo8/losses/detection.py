"""YOLOv8 detection loss: BCE classification + CIoU box + distribution focal loss (DFL)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from yolo8.losses.assigner import Assignment, TaskAlignedAssigner
from yolo8.ops.anchors import bbox_to_dist, dist_to_bbox, make_anchors
from yolo8.ops.boxes import xywh_to_xyxy
from yolo8.ops.dfl import anchor_major_bins, expected_distance, flatten_levels
from yolo8.ops.iou import bbox_iou


def distribution_focal_loss(logits, target):
    """DFL: cross-entropy towards the two bins around a continuous target distance.

    Args:
        logits: Tensor[N, 4, reg_max], bin logits per side (l, t, r, b).
        target: Tensor[N, 4], distances in bin units, within [0, reg_max - 1).

    Returns:
        Tensor[N]: per box, the mean over the 4 sides of
        ``(right - t) * CE(left) + (t - left) * CE(right)`` with ``left = floor(t)``, ``right = left + 1``.
    """
    num_boxes, num_sides, reg_max = logits.shape
    left = target.long()  # floor, as target >= 0
    right = left + 1
    left_weight = right - target
    right_weight = 1 - left_weight
    flat_logits = logits.reshape(-1, reg_max)  # (N, 4, R) -> (N*4, R)
    left_loss = F.cross_entropy(flat_logits, left.view(-1), reduction="none").view(num_boxes, num_sides)
    right_loss = F.cross_entropy(flat_logits, right.view(-1), reduction="none").view(num_boxes, num_sides)
    return (left_loss * left_weight + right_loss * right_weight).mean(-1)


def first_row_of_each_image(batch_index: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(M,) image index of each row, rows grouped by image in image order -> (counts (B,), first row (B,))."""
    counts = torch.bincount(batch_index, minlength=batch_size)
    return counts, torch.cumsum(counts, 0) - counts


def targets_to_padded(targets, batch_size: int, image_size):
    """Flat targets -> per-image padded gts.

    Args:
        targets: Tensor[M, 6] (batch_idx, cls, cx, cy, w, h), boxes normalised to the input image.
        batch_size: B, number of images (images without targets get only padding).
        image_size: (height, width) of the input in pixels.

    Returns:
        gt_labels (Tensor[B, Mmax, 1]), gt_boxes (Tensor[B, Mmax, 4], xyxy pixels),
        gt_mask (Tensor[B, Mmax, 1], 1 for real gts); Mmax = most targets in one image (may be 0).
    """
    device, dtype = targets.device, targets.dtype
    batch_index = targets[:, 0].long()
    if len(targets) and (int(batch_index.min()) < 0 or int(batch_index.max()) >= batch_size):
        raise ValueError(
            f"targets: batch_idx values {sorted(set(batch_index.tolist()))} fall outside 0..{batch_size - 1} "
            f"for a batch of {batch_size} images; column 0 of targets must index the image in the batch."
        )
    counts, first_of_image = first_row_of_each_image(batch_index, batch_size)  # (B,) targets per image, first row
    max_per_image = int(counts.max()) if batch_size and len(targets) else 0
    gt_labels = torch.zeros((batch_size, max_per_image, 1), dtype=dtype, device=device)
    gt_boxes = torch.zeros((batch_size, max_per_image, 4), dtype=dtype, device=device)
    gt_mask = torch.zeros((batch_size, max_per_image, 1), dtype=dtype, device=device)
    if len(targets):
        order = torch.sort(batch_index, stable=True).indices
        sorted_batch = batch_index[order]
        slot = torch.arange(len(targets), device=device) - first_of_image[sorted_batch]
        height, width = image_size
        scale = torch.tensor((width, height, width, height), dtype=dtype, device=device)
        gt_labels[sorted_batch, slot, 0] = targets[order, 1]
        gt_boxes[sorted_batch, slot] = xywh_to_xyxy(targets[order, 2:6] * scale)
        gt_mask[sorted_batch, slot, 0] = 1
    return gt_labels, gt_boxes, gt_mask


@dataclass
class DetectionTerms:
    """The detection loss of one batch before its gains, and what the assignment decided.

    box, cls, dfl: scalar Tensors (unweighted); assignment: the :class:`Assignment` (target boxes in input pixels);
    batch_size: B; image_size: (height, width) of the input in pixels.
    """

    box: torch.Tensor
    cls: torch.Tensor
    dfl: torch.Tensor
    assignment: Assignment
    batch_size: int
    image_size: tuple[int, int]


class DetectionLoss:
    """YOLOv8 detection loss, built from explicit hyperparameters (no model needed).

    Call it with the head's raw per-level outputs and the batch targets; see :meth:`__call__`.
    """

    def __init__(
        self,
        num_classes: int,
        strides=(8, 16, 32),
        reg_max: int = 16,
        box_gain: float = 7.5,
        cls_gain: float = 0.5,
        dfl_gain: float = 1.5,
        top_k: int = 10,
        alpha: float = 0.5,
        beta: float = 6.0,
    ):
        self.num_classes = num_classes
        self.strides = tuple(strides)
        self.reg_max = reg_max
        self.box_gain = box_gain
        self.cls_gain = cls_gain
        self.dfl_gain = dfl_gain
        self.assigner = TaskAlignedAssigner(top_k=top_k, num_classes=num_classes, alpha=alpha, beta=beta)

    def __call__(self, raw_outputs, targets, image_size=None):
        """Compute the loss for one batch.

        Args:
            raw_outputs: list of Tensor[B, 4*reg_max + C, H_i, W_i], one per stride; channels are the
                box DFL logits (side * reg_max + bin, sides l, t, r, b) then the class logits.
            targets: Tensor[M, 6] (batch_idx, cls, cx, cy, w, h), boxes normalised to the input image.
            image_size: (height, width) of the input in pixels; default H_0 * strides[0], W_0 * strides[0].

        Returns:
            total (scalar Tensor) = (box + cls + dfl) * B, each term times its gain (what to backprop);
            items (Tensor[3], detached) = [box * box_gain, cls * cls_gain, dfl * dfl_gain].
        """
        terms = self.terms(raw_outputs, targets, image_size)
        items = torch.stack((terms.box * self.box_gain, terms.cls * self.cls_gain, terms.dfl * self.dfl_gain))
        return items.sum() * terms.batch_size, items.detach()

    def terms(self, raw_outputs, targets, image_size=None) -> "DetectionTerms":
        """The three unweighted loss terms and the assignment they came from (arguments as :meth:`__call__`)."""
        self._check_outputs(raw_outputs)
        batch_size = raw_outputs[0].shape[0]
        device = raw_outputs[0].device
        dtype = torch.promote_types(raw_outputs[0].dtype, torch.float32)  # half outputs (AMP): loss in float32
        feature_shapes = [tuple(level.shape[2:]) for level in raw_outputs]
        if image_size is None:
            image_size = (feature_shapes[0][0] * self.strides[0], feature_shapes[0][1] * self.strides[0])

        box_logits, class_logits = flatten_levels(raw_outputs, self.reg_max, self.num_classes)  # (B, 4R, A), (B, C, A)
        box_logits = anchor_major_bins(box_logits.to(dtype), self.reg_max)  # (B, 4R, A) -> (B, A, 4, R)
        class_logits = class_logits.to(dtype).permute(0, 2, 1)  # (B, C, A) -> (B, A, C)

        anchor_points, stride_per_anchor = make_anchors(feature_shapes, self.strides, 0.5, device, dtype)  # (A, 2), (A, 1)
        pred_distances = expected_distance(box_logits)  # (B, A, 4, R) -> (B, A, 4), grid units
        pred_boxes = dist_to_bbox(pred_distances, anchor_points, xywh=False)  # (B, A, 4) xyxy grid units

        gt_labels, gt_boxes, gt_mask = targets_to_padded(targets.to(device, dtype), batch_size, image_size)
        assignment = self.assigner(
            class_logits.detach().sigmoid(),
            pred_boxes.detach() * stride_per_anchor,
            anchor_points * stride_per_anchor,
            gt_labels,
            gt_boxes,
            gt_mask,
        )
        target_scores = assignment.target_scores
        target_scores_sum = target_scores.sum().clamp(min=1)

        cls_loss = F.binary_cross_entropy_with_logits(class_logits, target_scores, reduction="sum") / target_scores_sum

        foreground = assignment.foreground_mask
        if foreground.any():
            weight = target_scores.sum(-1)[foreground]  # (N,) over the N foreground anchors
            anchor_index = foreground.nonzero(as_tuple=True)[1]  # (N,) anchor of each foreground entry
            target_boxes = assignment.target_boxes[foreground] / stride_per_anchor[anchor_index]  # (N, 4) grid units
            ciou = bbox_iou(pred_boxes[foreground], target_boxes, kind="ciou")
            box_loss = ((1 - ciou) * weight).sum() / target_scores_sum
            target_distances = bbox_to_dist(anchor_points[anchor_index], target_boxes, self.reg_max - 1)  # (N, 4)
            dfl = distribution_focal_loss(box_logits[foreground], target_distances)
            dfl_loss = (dfl * weight).sum() / target_scores_sum
        else:
            box_loss = dfl_loss = 0.0 + box_logits.sum() * 0  # keeps the graph connected; 0.0 + turns -0.0 into 0.0
        return DetectionTerms(box_loss, cls_loss, dfl_loss, assignment, batch_size, tuple(image_size))

    def _check_outputs(self, raw_outputs):
        expected_channels = 4 * self.reg_max + self.num_classes
        if len(raw_outputs) != len(self.strides):
            raise ValueError(
                f"DetectionLoss: got {len(raw_outputs)} output levels but strides={self.strides}; "
                "pass strides matching the head's levels."
            )
        for index, level in enumerate(raw_outputs):
            if level.dim() != 4 or level.shape[1] != expected_channels:
                raise ValueError(
                    f"DetectionLoss: output level {index} has shape {tuple(level.shape)}, expected "
                    f"(B, {expected_channels}, H, W) = 4*reg_max({self.reg_max}) + num_classes({self.num_classes}); "
                    "build the loss with the model's num_classes and reg_max."
                )
