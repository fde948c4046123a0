"""Augmentation gains and the steps every training sample ends with (colour, flips, CHW tensor)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import cv2
import numpy as np
import torch

from yolo8.data.transforms.annotations import Annotations
from yolo8.data.transforms.flip import flip_horizontal, flip_vertical
from yolo8.data.transforms.photometric import random_hsv


@dataclass(frozen=True)
class Augmentation:
    """Training augmentation gains. No defaults here: the values come from ``yolo8.config``.

    Attributes:
        mosaic: probability of a 4-image mosaic.
        degrees, translate, scale, shear, perspective: random warp ranges (see ``random_affine_matrix``).
        hsv_h: hue shift range (fraction of the colour circle); hsv_s, hsv_v: saturation and value gain ranges.
        fliplr, flipud: flip probabilities.
        bgr: probability of swapping the red and blue channels.
        mixup: probability of blending with a second mosaic.
        copy_paste: fraction of objects pasted again, mirrored (needs polygon labels; see ``copy_paste``).
    """

    mosaic: float
    degrees: float
    translate: float
    scale: float
    shear: float
    perspective: float
    hsv_h: float
    hsv_s: float
    hsv_v: float
    fliplr: float
    flipud: float
    bgr: float
    mixup: float
    copy_paste: float

    @classmethod
    def none(cls) -> "Augmentation":
        """All gains zero: the identity augmentation."""
        return cls(**{field.name: 0.0 for field in fields(cls)})

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"Augmentation.{field.name}={value!r}: expected a number >= 0")


def colour_and_flips(
    image_bgr: np.ndarray, annotations: Annotations, rng: np.random.Generator, augmentation: Augmentation
) -> tuple[np.ndarray, Annotations]:
    """Random HSV, random vertical / horizontal flips, then a random red-blue swap of an (H, W, 3) BGR image
    and its labels."""
    image = random_hsv(image_bgr, rng, augmentation.hsv_h, augmentation.hsv_s, augmentation.hsv_v)
    if rng.random() < augmentation.flipud:
        image, annotations = flip_vertical(image, annotations)
    if rng.random() < augmentation.fliplr:
        image, annotations = flip_horizontal(image, annotations)
    if augmentation.bgr and rng.random() < augmentation.bgr:  # no draw when off: default runs stay as they were
        image = np.ascontiguousarray(image[..., ::-1])
    return image, annotations


def bgr_to_chw_rgb(image_bgr: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 BGR -> (3, H, W) contiguous uint8 RGB tensor.

    cv2.split writes the planes straight into the output in reversed order: one pass that both
    transposes and swaps channels, several times faster than a numpy transpose copy.
    """
    height, width = image_bgr.shape[:2]
    planes = np.empty((3, height, width), np.uint8)  # (3, H, W), filled plane by plane
    cv2.split(image_bgr, [planes[2], planes[1], planes[0]])
    return torch.from_numpy(planes)
