"""The task-specific steps of prediction: how a frame becomes a network input, and how the model's
output becomes the fields of :class:`~yolo8.results.Results` (``boxes``, ``masks``, ``probs``).

* detect / segment: letterbox (aspect kept, padded to a multiple of the stride) → model → NMS →
  boxes (and masks) mapped back to the original image through the exact inverse of the letterbox.
* classify: resize the short side to the input size and crop the centre (as YOLOv8 classifiers are
  fed at predict time), RGB in [0, 1], no mean/std normalisation → model → softmax probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from yolo8.data.transforms.classify import classification_input
from yolo8.data.transforms.letterbox import letterbox
from yolo8.ops.letterbox import LetterboxInfo, boxes_from_letterbox
from yolo8.ops.masks import masks_from_letterbox, masks_from_prototypes
from yolo8.ops.nms import non_max_suppression

TASKS = ("detect", "segment", "classify")


@dataclass(frozen=True)
class NmsSettings:
    """The NMS options of a prediction run (see :func:`yolo8.ops.nms.non_max_suppression`)."""

    conf: float
    iou: float
    classes: list[int] | None = None
    agnostic: bool = False
    max_det: int = 300


def prepare_image(image: np.ndarray, task: str, size: int | tuple[int, int], stride: int):
    """(H, W, 3) uint8 BGR original -> (network image (h, w, 3) uint8 BGR, LetterboxInfo or None).

    ``size``: the input size, (height, width) or one int for a square. Classification returns no
    letterbox info: its crop has no inverse to apply.
    """
    if task == "classify":
        return classification_input(image, size), None
    return letterbox(image, (size, size) if isinstance(size, int) else size, auto=True, scaleup=True, stride=stride)


def output_fields(
    task: str,
    output,
    input_shape: tuple[int, int],
    letterboxes: list[LetterboxInfo | None],
    original_shapes: list[tuple[int, int]],
    nms: NmsSettings,
) -> list[dict]:
    """The model's eval output for a batch -> per image, keyword arguments for ``Results`` (on the output's device).

    Args:
        output: detect ``(decoded (B, 4+nc, A), raw)``; segment ``((decoded (B, 4+nc+nm, A),
            prototypes (B, nm, H/4, W/4)), raw)``; classify ``(probs (B, nc), logits)``.
        input_shape: (H, W) of the network input.
        letterboxes / original_shapes: per image, how it was letterboxed and its (h0, w0).
    Returns:
        B dicts: ``boxes`` (n, 6) float32; ``masks`` (n, h0, w0) bool for segment; ``probs`` (nc,) float32.
    """
    if task == "classify":
        return [{"probs": probs.float()} for probs in output[0]]
    decoded, prototypes = output[0] if task == "segment" else (output[0], None)
    num_masks = 0 if prototypes is None else prototypes.shape[1]
    detections = non_max_suppression(decoded, nms.conf, nms.iou, classes=nms.classes, agnostic=nms.agnostic,
                                     max_det=nms.max_det, num_masks=num_masks)
    fields = []
    for index, found in enumerate(detections):
        found = found.float()
        info, original_shape = letterboxes[index], original_shapes[index]
        if prototypes is None:
            fields.append({"boxes": detections_to_original(found, info, original_shape)})
            continue
        masks = masks_from_prototypes(prototypes[index], found[:, 6:], found[:, :4], input_shape)
        # a detection whose mask is empty at input resolution is dropped, as YOLOv8 does
        keep = masks.flatten(1).any(dim=1)  # (n, H, W) -> (n, H*W) -> (n,)
        fields.append({
            "boxes": detections_to_original(found[keep], info, original_shape),
            "masks": masks_from_letterbox(masks[keep], info, original_shape),
        })
    return fields


def detections_to_original(detections: torch.Tensor, info: LetterboxInfo, original_shape) -> torch.Tensor:
    """(n, 6+) detections in letterboxed pixels -> (n, 6) float32 x1, y1, x2, y2, conf, cls in original pixels."""
    detections = detections[:, :6].float()
    return torch.cat((boxes_from_letterbox(detections[:, :4], info, original_shape), detections[:, 4:]), dim=1)
