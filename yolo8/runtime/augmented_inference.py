"""Test-time augmentation (``augment=True``) for detection: one image seen at three scales, one of them mirrored.

Each view's predictions are mapped back to the input image's pixels and all are handed to NMS together,
which keeps the best-scoring box of each object over the views. The views are YOLOv8's published ones:
scales 1, 0.83 and 0.67 of the input, the 0.83 view flipped left-right. Merging them in one NMS is our
own choice, so scores differ from the incumbent's augmented ones. A smaller view helps with large objects,
the mirror with asymmetric ones. The views hold 2.1x the pixels of the input, and inference costs about
that much more, plus a larger NMS.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

VIEWS = ((1.0, False), (0.83, True), (0.67, False))  # (scale, flipped left-right)
PAD_VALUE = 114 / 255  # the letterbox grey, so a view's padding looks like the input's own


def scaled_view(images: torch.Tensor, scale: float, flip: bool, stride: int) -> tuple[torch.Tensor, tuple[float, float]]:
    """(B, 3, H, W) -> the view: resized by ``scale`` (bilinear), mirrored if ``flip``, padded right and
    bottom to a multiple of ``stride``. Returns the view and its exact (height, width) gains."""
    height, width = images.shape[2:]
    view = images.flip(-1) if flip else images
    new_height, new_width = max(round(height * scale), 1), max(round(width * scale), 1)
    if (new_height, new_width) != (height, width):
        view = F.interpolate(view, size=(new_height, new_width), mode="bilinear", align_corners=False)
    pad_bottom, pad_right = -new_height % stride, -new_width % stride
    if pad_bottom or pad_right:
        view = F.pad(view, (0, pad_right, 0, pad_bottom), value=PAD_VALUE)
    return view, (new_height / height, new_width / width)


def boxes_to_input(decoded: torch.Tensor, gains: tuple[float, float], flip: bool, width: int) -> torch.Tensor:
    """(B, 4 + k, A) predictions of a view (boxes cx, cy, w, h in view pixels) -> the same in input pixels,
    for an input ``width`` pixels wide. Padding sits right and bottom, so it moves no coordinate."""
    gain_y, gain_x = gains
    boxes = decoded[:, :4] / decoded.new_tensor([gain_x, gain_y, gain_x, gain_y]).view(1, 4, 1)  # (B, 4, A) / (1, 4, 1)
    if flip:
        boxes = torch.cat((width - boxes[:, :1], boxes[:, 1:]), dim=1)
    return torch.cat((boxes, decoded[:, 4:]), dim=1)


def augmented_decode(decode: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, stride: int) -> torch.Tensor:
    """Run ``decode`` ((B, 3, h, w) -> (B, 4 + nc, A) detections in view pixels) on every view of ``images``
    ((B, 3, H, W)); returns (B, 4 + nc, A1 + A2 + A3): the predictions of every view in input pixels, ready for
    NMS. ``stride``: the model's largest stride, to which each view is padded."""
    width = images.shape[-1]
    views = []
    for scale, flip in VIEWS:
        view, gains = scaled_view(images, scale, flip, stride)
        views.append(boxes_to_input(decode(view), gains, flip, width))
    return torch.cat(views, dim=2)
