"""YOLOv8 instance-segmentation loss: the detection loss plus a per-instance mask BCE on the prototypes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from yolo8.losses.detection import DetectionLoss


def box_crop_weights(boxes_xyxy: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(N, 4) boxes in pixels of an (height, width) grid -> (N, height, width) float: 1 where pixel index
    (row r, column c) satisfies ``x1 <= c < x2`` and ``y1 <= r < y2``, else 0 (the rule of
    :func:`yolo8.ops.masks.crop_masks`), built by broadcasting instead of a loop over boxes."""
    columns = torch.arange(width, device=boxes_xyxy.device, dtype=boxes_xyxy.dtype)[None, None, :]  # (1, 1, W)
    rows = torch.arange(height, device=boxes_xyxy.device, dtype=boxes_xyxy.dtype)[None, :, None]  # (1, H, 1)
    x1, y1, x2, y2 = boxes_xyxy[:, :, None, None].unbind(1)  # each (N, 1, 1)
    return ((columns >= x1) & (columns < x2) & (rows >= y1) & (rows < y2)).to(boxes_xyxy.dtype)


def instance_mask_loss(logits: torch.Tensor, gt_masks: torch.Tensor, boxes_xyxy: torch.Tensor,
                       normalised_areas: torch.Tensor) -> torch.Tensor:
    """Per-instance mask loss as YOLOv8 defines it.

    Args:
        logits: (N, h, w) predicted mask logits at prototype resolution.
        gt_masks: (N, h, w) 0/1 target masks.
        boxes_xyxy: (N, 4) each instance's target box in prototype pixels.
        normalised_areas: (N,) the box's area as a fraction of the image (w * h normalised).
    Returns:
        (N,): the BCE-with-logits map cropped to the box, averaged over all h * w pixels, divided by the area:
        a small object's loss is not drowned by the pixels outside it.
    """
    _, height, width = logits.shape
    bce = F.binary_cross_entropy_with_logits(logits, gt_masks, reduction="none")  # (N, h, w)
    cropped = bce * box_crop_weights(boxes_xyxy, height, width)
    return cropped.mean(dim=(1, 2)) / normalised_areas


def masks_per_target(masks: torch.Tensor, targets: torch.Tensor, overlap: bool) -> torch.Tensor:
    """The batch's ground-truth masks as one binary mask per target row.

    Args:
        masks: overlap layout (B, h, w) integer index masks (pixel = 1-based index of the image's instance that
            covers it, in the image's target order; 0 background), or separate layout (M, h, w) 0/1, one per row.
        targets: (M, 6) rows (batch_idx, cls, cx, cy, w, h), grouped by image in image order.
        overlap: which layout ``masks`` is.
    Returns:
        (M, h, w) float 0/1 masks aligned with ``targets``.
    """
    if not overlap:
        return masks.float()
    batch_index = targets[:, 0].long()
    counts = torch.bincount(batch_index, minlength=len(masks))
    first_of_image = torch.cumsum(counts, 0) - counts
    instance_number = torch.arange(len(targets), device=masks.device) - first_of_image[batch_index] + 1  # (M,) 1-based
    return (masks[batch_index] == instance_number[:, None, None].to(masks.dtype)).float()


class SegmentationLoss(DetectionLoss):
    """YOLOv8 segmentation loss: box, seg, cls and dfl items (the seg item weighted by the box gain).

    Args as :class:`DetectionLoss`, plus ``overlap``: whether ground-truth masks come in the overlap layout
    (one index mask per image) or the separate one (a binary mask per target); see :func:`masks_per_target`.
    """

    def __init__(self, num_classes: int, overlap: bool = True, **detection_settings):
        super().__init__(num_classes, **detection_settings)
        self.overlap = overlap

    def __call__(self, raw_outputs, targets, masks, image_size=None):
        """Compute the loss for one batch.

        Args:
            raw_outputs: the Segment head's training output: (detection levels as :class:`DetectionLoss` takes
                them, coefficients (B, nm, A), prototypes (B, nm, h, w)).
            targets: Tensor[M, 6] (batch_idx, cls, cx, cy, w, h), boxes normalised to the input image.
            masks: the ground-truth masks in the layout ``overlap`` says, at any resolution (resized to the
                prototypes' with nearest-neighbour when they differ).
            image_size: (height, width) of the input in pixels; default from the first level and stride.

        Returns:
            total (scalar Tensor) = (box + seg + cls + dfl) * B, each term times its gain (seg takes box's);
            items (Tensor[4], detached) = [box, seg, cls, dfl] times their gains.
        """
        levels, coefficients, prototypes = raw_outputs
        terms = self.terms(levels, targets, image_size)
        seg_loss = self._mask_term(terms, coefficients, prototypes, targets.to(prototypes.device), masks)
        items = torch.stack((terms.box * self.box_gain, seg_loss * self.box_gain, terms.cls * self.cls_gain,
                             terms.dfl * self.dfl_gain))
        return items.sum() * terms.batch_size, items.detach()

    def _mask_term(self, terms, coefficients, prototypes, targets, masks) -> torch.Tensor:
        """Mean over the foreground anchors of :func:`instance_mask_loss` of each anchor's assigned instance."""
        assignment = terms.assignment
        foreground = assignment.foreground_mask  # (B, A)
        dtype = torch.promote_types(prototypes.dtype, torch.float32)
        prototypes, coefficients = prototypes.to(dtype), coefficients.to(dtype)
        if not foreground.any():
            return (prototypes.sum() + coefficients.sum()) * 0  # keeps the graph connected
        num_masks, proto_height, proto_width = prototypes.shape[1:]
        gt_masks = masks_per_target(masks.to(prototypes.device), targets, self.overlap)  # (M, h', w')
        if gt_masks.shape[1:] != (proto_height, proto_width):
            gt_masks = F.interpolate(gt_masks[None], (proto_height, proto_width), mode="nearest")[0]

        image_index, anchor_index = foreground.nonzero(as_tuple=True)  # (N,) each, grouped by image
        counts = torch.bincount(targets[:, 0].long(), minlength=len(foreground))
        first_target = torch.cumsum(counts, 0) - counts  # (B,) row of each image's first target
        target_row = first_target[image_index] + assignment.target_gt_index[image_index, anchor_index]  # (N,)

        # (N, nm) coefficients of the foreground anchors, padded per image so one bmm serves the whole batch
        per_image = torch.bincount(image_index, minlength=len(foreground))  # (B,)
        slot = torch.arange(len(image_index), device=foreground.device) - (torch.cumsum(per_image, 0) - per_image)[image_index]
        padded = coefficients.new_zeros((len(foreground), int(per_image.max()), num_masks))  # (B, Nmax, nm)
        padded[image_index, slot] = coefficients.permute(0, 2, 1)[image_index, anchor_index]
        logits = torch.bmm(padded, prototypes.flatten(2))  # (B, Nmax, nm) @ (B, nm, h*w) -> (B, Nmax, h*w)
        logits = logits[image_index, slot].view(-1, proto_height, proto_width)  # (N, h, w)

        height, width = terms.image_size
        boxes = assignment.target_boxes[image_index, anchor_index]  # (N, 4) xyxy input pixels
        scale = boxes.new_tensor((width, height, width, height))
        normalised = boxes / scale
        areas = (normalised[:, 2] - normalised[:, 0]) * (normalised[:, 3] - normalised[:, 1])
        proto_boxes = normalised * boxes.new_tensor((proto_width, proto_height, proto_width, proto_height))
        losses = instance_mask_loss(logits, gt_masks[target_row], proto_boxes, areas)
        return losses.mean()
