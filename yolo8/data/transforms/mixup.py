"""MixUp: blend two training images and keep the labels of both."""

from __future__ import annotations

import numpy as np

from yolo8.data.transforms.annotations import Annotations


def mixup(
    image: np.ndarray,
    annotations: Annotations,
    other_image: np.ndarray,
    other_annotations: Annotations,
    rng: np.random.Generator,
) -> tuple[np.ndarray, Annotations]:
    """Blend two (H, W, 3) uint8 images of the same shape with ratio ~ Beta(32, 32); concatenate labels."""
    ratio = rng.beta(32.0, 32.0)
    blended = (image.astype(np.float32) * ratio + other_image.astype(np.float32) * (1 - ratio)).astype(np.uint8)
    return blended, Annotations.concatenate([annotations, other_annotations])
