"""YOLOv8 instance-segmentation loss: the detection loss plus a per-instance mask BCE on the prototypes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from yolo8.losses.detection import DetectionLoss, first_row_of_each_image
from yolo8.ops.masks import inside_boxes


def instance_mask_loss(logits: torch.Tensor, gt_masks: torch.Tensor, boxes_xyxy: torch.Tensor,
                       normalised_areas: torch.Tensor) -> torch.Tensor:
    """Per-instance mask loss as YOLOv8 defines it.

    Args:
        logits: (N, h, w) predicted mask logits at prototype resolution.
        gt_masks: (N, h, w) 0/1 target masks (any dtype: uint8 keeps what autograd stores for backward small).
        boxes_xyxy: (N, 4) each instance's target box in prototype pixels.
        normalised_areas: (N,) the box's area as a fraction of the image (w * h normalised).
    Returns:
        (N,): the BCE-with-logits map cropped to the box (:func:`yolo8.ops.masks.inside_boxes`), averaged over all
        h * w pixels, divided by the area: a small object's loss is not drowned by the pixels outside it.
    """
    _, height, width = logits.shape
    # BCE with logits written as softplus(x) - x * y: equal to F.binary_cross_entropy_with_logits, and autograd then
    # keeps the logits and the uint8 targets for backward instead of float copies of both
    bce = F.softplus(logits) - logits * gt_masks
    cropped = torch.where(inside_boxes(boxes_xyxy, height, width), bce, 0.0)  # keeps a bool mask, not a float one
    return cropped.sum(dim=(1, 2)) / (height * width) / normalised_areas


def masks_per_target(masks: torch.Tensor, targets: torch.Tensor, overlap: bool) -> torch.Tensor:
    """The batch's ground-truth masks as one binary mask per target row.

    Args:
        masks: overlap layout (B, h, w) integer index masks (pixel = 1-based index of the image's instance that
            covers it, in the image's target order; 0 background), or separate layout (M, h, w) 0/1, one per row.
        targets: (M, 6) rows (batch_idx, cls, cx, cy, w, h), grouped by image in image order.
        overlap: which layout ``masks`` is.
    Returns:
        (M, h, w) uint8 0/1 masks aligned with ``targets``.
    """
    if not overlap:
        return masks.to(torch.uint8)
    batch_index = targets[:, 0].long()
    _, first_of_image = first_row_of_each_image(batch_index, len(masks))
    instance_number = torch.arange(len(targets), device=masks.device) - first_of_image[batch_index] + 1  # (M,) 1-based
    return (masks[batch_index] == instance_number[:, None, None].to(masks.dtype)).to(torch.uint8)


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
            targets: Tensor[M, 6] (batch_idx, cls, cx, cy, w, h), boxes normalised to the input image. Rows in
                any image order; within an image, their order is what the overlap layout's indices count.
            masks: the ground-truth masks in the layout ``overlap`` says, at any resolution (resized to the
                prototypes' with nearest-neighbour when they differ); separate-layout masks follow the rows of
                ``targets``.
            image_size: (height, width) of the input in pixels; default from the first level and stride.

        Returns:
            total (scalar Tensor) = (box + seg + cls + dfl) * B, each term times its gain (seg takes box's);
            items (Tensor[4], detached) = [box, seg, cls, dfl] times their gains.
        """
        if masks is None:
            raise ValueError("SegmentationLoss needs the batch's ground-truth masks; build the dataset with a "
                             "MaskLayout (YOLODataset(masks=...)), as the segment task's loaders do.")
        levels, coefficients, prototypes = raw_outputs
        targets, masks = targets.to(prototypes.device), masks.to(prototypes.device)
        batch_index = targets[:, 0]
        if len(targets) > 1 and bool((batch_index[1:] < batch_index[:-1]).any()):  # group rows by image, stably
            order = torch.sort(batch_index, stable=True).indices
            targets, masks = targets[order], masks if self.overlap else masks[order]
        terms = self.terms(levels, targets, image_size)
        seg_loss = self._mask_term(terms, coefficients, prototypes, targets, masks)
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
        gt_masks = masks_per_target(masks, targets, self.overlap)  # (M, h', w') uint8
        if gt_masks.shape[1:] != (proto_height, proto_width):  # (M, h', w') -> (1, M, h', w') for interpolate
            gt_masks = F.interpolate(gt_masks[None].float(), (proto_height, proto_width), mode="nearest")[0]
            gt_masks = gt_masks.to(torch.uint8)

        image_index, anchor_index = foreground.nonzero(as_tuple=True)  # (N,) each, grouped by image
        _, first_target = first_row_of_each_image(targets[:, 0].long(), len(foreground))  # (B,)
        target_row = first_target[image_index] + assignment.target_gt_index[image_index, anchor_index]  # (N,)

        # (N, nm) coefficients of the foreground anchors, padded per image so one bmm serves the whole batch
        per_image, first_anchor = first_row_of_each_image(image_index, len(foreground))  # (B,) each
        slot = torch.arange(len(image_index), device=foreground.device) - first_anchor[image_index]
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
