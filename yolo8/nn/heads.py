"""Task heads. They return raw outputs only; turning them into boxes and scores is :mod:`yolo8.nn.decode`.

Attribute names follow the YOLOv8 checkpoint layout: ``cv2`` box branch, ``cv3`` class branch,
``cv4`` mask-coefficient branch, ``dfl`` the distribution integral, ``proto`` the mask prototypes.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from yolo8.nn.blocks import DFL, Conv


def _branch(in_channels: int, hidden: int, out_channels: int) -> nn.Sequential:
    """Conv3x3 -> Conv3x3 -> plain 1x1 Conv2d with bias (the per-level prediction branch)."""
    return nn.Sequential(Conv(in_channels, hidden, 3), Conv(hidden, hidden, 3), nn.Conv2d(hidden, out_channels, 1))


class Detect(nn.Module):
    """Decoupled anchor-free detection head over several feature levels.

    ``cv2[i]``: box branch of level i -> 4 * reg_max DFL logits (sides l, t, r, b, each reg_max bins);
    ``cv3[i]``: class branch of level i -> num_classes logits; ``dfl``: :class:`DFL` used by the decoder.

    Input: list of (B, C_i, H_i, W_i). Output: list of (B, 4 * reg_max + num_classes, H_i, W_i),
    box logits first.
    """

    def __init__(self, num_classes: int, in_channels: Sequence[int], reg_max: int = 16):
        super().__init__()
        self.num_classes = num_classes
        self.num_levels = len(in_channels)
        self.reg_max = reg_max
        self.num_outputs = 4 * reg_max + num_classes  # channels per anchor
        box_hidden = max(16, in_channels[0] // 4, reg_max * 4)
        class_hidden = max(in_channels[0], min(num_classes, 100))
        self.cv2 = nn.ModuleList(_branch(c, box_hidden, 4 * reg_max) for c in in_channels)
        self.cv3 = nn.ModuleList(_branch(c, class_hidden, num_classes) for c in in_channels)
        self.dfl = DFL(reg_max) if reg_max > 1 else nn.Identity()
        self.out_channels = self.num_outputs

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        return [torch.cat((box(x), cls(x)), 1) for x, box, cls in zip(features, self.cv2, self.cv3)]

    @torch.no_grad()
    def initialize_biases(self, strides: Sequence[float], image_size: int = 640) -> None:
        """Prior biases: box logits 2.0; class logits log(5 / nc / (image_size / stride)^2), i.e. about
        5 objects per image spread over the level's cells, so early training is stable.

        The box value is the incumbent's (8.4; early YOLOv8 used 1.0). One value shared by a side's 16 bins
        cancels in their softmax and gets no gradient, so it does not change training: it only makes a
        fresh model's weights match the incumbent's.
        """
        for box, cls, stride in zip(self.cv2, self.cv3, strides):
            box[-1].bias.fill_(2.0)
            cls[-1].bias[: self.num_classes].fill_(math.log(5 / self.num_classes / (image_size / float(stride)) ** 2))


class Proto(nn.Module):
    """Mask prototypes at twice the input resolution of level 0 (1/4 of the image).

    ``cv1``: Conv3x3, ``upsample``: ConvTranspose2d x2 (with bias), ``cv2``: Conv3x3, ``cv3``: Conv1x1 to
    ``num_masks`` channels. (B, C, H, W) -> (B, num_masks, 2H, 2W).
    """

    def __init__(self, in_channels: int, hidden: int = 256, num_masks: int = 32):
        super().__init__()
        self.cv1 = Conv(in_channels, hidden, 3)
        self.upsample = nn.ConvTranspose2d(hidden, hidden, 2, 2, 0, bias=True)
        self.cv2 = Conv(hidden, hidden, 3)
        self.cv3 = Conv(hidden, num_masks)
        self.out_channels = num_masks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(self.cv2(self.upsample(self.cv1(x))))


class Segment(Detect):
    """:class:`Detect` plus mask coefficients and prototypes.

    ``cv4[i]``: mask-coefficient branch of level i -> num_masks; ``proto``: :class:`Proto` on level 0.
    Output: (detect levels as in :class:`Detect`, coefficients (B, num_masks, A), prototypes
    (B, num_masks, H_0 * 2, W_0 * 2)), A = sum of H_i * W_i in level order, each row-major.
    """

    def __init__(self, num_classes: int, num_masks: int = 32, proto_channels: int = 256,
                 in_channels: Sequence[int] = (), reg_max: int = 16):
        super().__init__(num_classes, in_channels, reg_max)
        self.num_masks = num_masks
        self.proto = Proto(in_channels[0], proto_channels, num_masks)
        mask_hidden = max(in_channels[0] // 4, num_masks)
        self.cv4 = nn.ModuleList(_branch(c, mask_hidden, num_masks) for c in in_channels)

    def forward(self, features: list[torch.Tensor]):
        prototypes = self.proto(features[0])
        batch = prototypes.shape[0]
        # each (B, nm, H_i, W_i) -> (B, nm, H_i*W_i), concatenated over levels -> (B, nm, A)
        coefficients = torch.cat([branch(x).view(batch, self.num_masks, -1) for x, branch in zip(features, self.cv4)], 2)
        return super().forward(features), coefficients, prototypes


class Classify(nn.Module):
    """Classification head: ``conv`` Conv to 1280 channels, ``pool`` global average, ``drop`` dropout,
    ``linear`` to num_classes. (B, C, H, W) (or a list, concatenated on channels) -> logits (B, num_classes)."""

    hidden = 1280

    def __init__(self, in_channels: int, num_classes: int, kernel_size: int = 1, stride: int = 1,
                 padding=None, groups: int = 1, dropout: float = 0.0):
        super().__init__()
        self.conv = Conv(in_channels, self.hidden, kernel_size, stride, padding, groups)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(p=dropout, inplace=True)
        self.linear = nn.Linear(self.hidden, num_classes)
        self.num_classes = num_classes
        self.out_channels = num_classes

    def forward(self, x) -> torch.Tensor:
        if isinstance(x, list):
            x = torch.cat(x, 1)
        return self.linear(self.drop(self.pool(self.conv(x)).flatten(1)))  # (B, 1280, 1, 1) -> (B, 1280)
