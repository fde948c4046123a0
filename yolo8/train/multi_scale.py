"""Multi-scale training (``multi_scale``): each batch is resized to a random stride-multiple size.

Labels are normalised to the image, so only the pixels change; the loss reads the size from the features.
Under DDP each rank draws its own sizes (its own seed), so ranks train at different sizes in a step.
"""

from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F


def random_training_size(image_size: int, fraction: float, stride: int, rng: random.Random = random) -> int:
    """One of the stride multiples within ``image_size`` x [1 - fraction, 1 + fraction], all equally likely
    (at least one stride). ``rng`` defaults to Python's global generator, which the trainer seeds and a
    resumed run restores."""
    smallest = max(math.ceil(image_size * (1 - fraction) / stride), 1)
    largest = max(math.floor(image_size * (1 + fraction) / stride), smallest)
    return rng.randint(smallest, largest) * stride


def resize_batch(images: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """(B, C, H, W) float images scaled (bilinear) so their longer side is ``size``; each side a multiple
    of ``stride``. Returned unchanged when already that size."""
    height, width = images.shape[2:]
    gain = size / max(height, width)
    new_shape = [max(round(side * gain / stride), 1) * stride for side in (height, width)]
    if new_shape == [height, width]:
        return images
    return F.interpolate(images, size=new_shape, mode="bilinear", align_corners=False)
