"""Classifier inputs: the centre crop val and predict see, and YOLOv8's classification training recipe.

Evaluation (:func:`classification_input`): resize the short side, crop the centre.
Training (:class:`ClassificationAugment`), in this order:

1. random resized crop to ``size``: area a uniform fraction of the image in ``(1 - scale, 1)``, aspect ratio
   log-uniform in (3/4, 4/3), through torchvision's sampler. The area range is what YOLOv8 8.4 does with its
   ``scale`` setting, measured as a black box on a coordinate-coded image (red = x, green = y): crops cover
   0.50-1.00 of the image at scale=0.5, 0.80-1.00 at scale=0.2, 0.10-1.00 at scale=0.9;
2. horizontal flip with probability ``fliplr``;
3. ``auto_augment``: torchvision's RandAugment, AutoAugment or AugMix on the uint8 image; or, when
   ``auto_augment`` is none, HSV jitter (``hsv_h/s/v``) through lookup tables, as detection training does.
   One or the other, never both: YOLOv8 8.4 ignores ``hsv_*`` while an auto-augment policy is set (measured
   on a solid-colour image: the spread of the samples' colours is identical with hsv_* at 0 and at their
   defaults under randaugment, and the hsv_* jitter appears once auto_augment is none);
4. random erasing of a patch (torchvision's RandomErasing, probability ``erasing``, filled with 0 as YOLOv8's
   erased pixels are, measured).

The crop, flip and HSV steps run in OpenCV on the BGR array (a 64 px crop and resize costs ~20 us in OpenCV
against ~250 us in torchvision on a tensor); the policies are torchvision's on a PIL image, erasing
torchvision's on the uint8 tensor. The output stays uint8 in
[0, 255]: YOLOv8 classifiers take ``image / 255`` without mean/std normalisation, which the trainer applies.
Randomness: crop, flip and HSV draw from the ``rng`` argument (the crop through torch), the policies and
erasing from torch's global generator (both seeded per
loader worker by :func:`yolo8.data.loader.seed_worker`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision.transforms import v2

from yolo8.data.transforms.photometric import random_hsv

AUTO_AUGMENT_POLICIES = ("randaugment", "autoaugment", "augmix")
CROP_RATIO = (3 / 4, 4 / 3)  # torchvision's (and YOLOv8's) aspect-ratio range of the random crop


def classification_input(image: np.ndarray, size: int | tuple[int, int], crop_fraction: float = 1.0) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (h, w, 3) uint8 BGR classifier input, as YOLOv8 classifiers are fed at predict time.

    * ``size`` an int: resize (aspect kept) so the short side is ``size / crop_fraction`` (the long side is
      ``int(short * long / short_original)``), then crop the centre ``size`` × ``size``;
    * ``size`` a (height, width) pair: resize straight to it (aspect not kept; this is what YOLOv8
      does for a pair, measured).

    The resize is PIL's bilinear with antialiasing (through torchvision), which reproduces the YOLOv8
    classification input: class probabilities agree with the reference to ~1e-7.
    """
    rgb = Image.fromarray(np.ascontiguousarray(image[..., ::-1]))  # BGR -> RGB
    original_height, original_width = image.shape[:2]
    if isinstance(size, int):
        short = int(math.floor(size / crop_fraction)) if crop_fraction < 1 else size
        if original_height <= original_width:
            new_shape = (short, int(short * original_width / original_height))
        else:
            new_shape = (int(short * original_height / original_width), short)
        crop = (size, size)
    else:
        new_shape = crop = (int(size[0]), int(size[1]))
    if new_shape != (original_height, original_width):
        rgb = TF.resize(rgb, list(new_shape), interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    cropped = np.asarray(TF.center_crop(rgb, list(crop)))
    return np.ascontiguousarray(cropped[..., ::-1])  # RGB -> BGR


def bgr_to_chw_rgb(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 BGR -> (3, H, W) uint8 RGB tensor (a copy)."""
    return torch.from_numpy(np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1)))


def auto_augment_transform(policy: str | None):
    """The torchvision v2 transform for an ``auto_augment`` setting (None or '' for none)."""
    if not policy:
        return None
    transforms = {"randaugment": v2.RandAugment, "autoaugment": v2.AutoAugment, "augmix": v2.AugMix}
    if policy not in transforms:
        raise ValueError(f"auto_augment={policy!r} is not a policy; use one of {', '.join(AUTO_AUGMENT_POLICIES)} "
                         "or none.")
    return transforms[policy]()


def random_resized_crop(image: np.ndarray, size: int, scale: tuple[float, float]) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8: a random region (torchvision's sampler, torch's generator) resized.

    Shrinking uses area averaging (antialiased), enlarging bilinear interpolation.
    """
    height, width = image.shape[:2]
    # torchvision's sampler reads only the image's (C, H, W) shape: an empty tensor of that shape stands in
    top, left, crop_height, crop_width = v2.RandomResizedCrop.get_params(torch.empty(0, height, width), list(scale),
                                                                       list(CROP_RATIO))
    region = image[top : top + crop_height, left : left + crop_width]
    shrinking = crop_height * crop_width > size * size
    return cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


@dataclass(frozen=True)
class ClassificationAugment:
    """YOLOv8's classification training transform: (H, W, 3) uint8 BGR, rng -> (3, size, size) uint8 RGB.

    Args:
        size: output side (square).
        scale: the ``scale`` setting; crop areas are uniform in ``(1 - scale, 1)`` of the image.
        fliplr: horizontal-flip probability.
        hsv_h, hsv_s, hsv_v: HSV jitter ranges (see :func:`yolo8.data.transforms.photometric.random_hsv`), used
            when ``auto_augment`` is None.
        auto_augment: 'randaugment', 'autoaugment', 'augmix' or None.
        erasing: random-erasing probability.
    """

    size: int
    scale: float = 0.5
    fliplr: float = 0.5
    hsv_h: float = 0.015
    hsv_s: float = 0.7
    hsv_v: float = 0.4
    auto_augment: str | None = "randaugment"
    erasing: float = 0.4

    def __post_init__(self):
        policy = auto_augment_transform(self.auto_augment)  # checked here: a bad policy fails before workers start
        object.__setattr__(self, "_policy", policy)
        object.__setattr__(self, "_erase", v2.RandomErasing(p=self.erasing, value=0) if self.erasing > 0 else None)

    @property
    def area_range(self) -> tuple[float, float]:
        """The crop's area as a fraction of the image: (1 - scale, 1), lower end clipped at 0."""
        return (max(1.0 - self.scale, 0.0), 1.0)

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        image = random_resized_crop(image, self.size, self.area_range)
        if self.fliplr and rng.random() < self.fliplr:
            image = image[:, ::-1]
        if self._policy is None:
            image = random_hsv(np.ascontiguousarray(image), rng, self.hsv_h, self.hsv_s, self.hsv_v)
        if self._policy is not None:
            # the policies on a PIL image: PIL's C affine and colour ops are ~2x faster than the tensor kernels
            # at these sizes; the pixels are the same 8-bit RGB either way
            rgb = Image.fromarray(np.ascontiguousarray(image[..., ::-1]))  # BGR -> RGB
            tensor = torch.from_numpy(np.asarray(self._policy(rgb)).transpose(2, 0, 1).copy())  # HWC -> CHW
        else:
            tensor = bgr_to_chw_rgb(image)  # (size, size, 3) BGR -> (3, size, size) RGB
        if self._erase is not None:
            tensor = self._erase(tensor)
        return tensor


@dataclass(frozen=True)
class ClassificationEval:
    """Val's transform: (H, W, 3) uint8 BGR, rng (unused) -> (3, h, w) uint8 RGB, short side then centre crop."""

    size: int | tuple[int, int]
    crop_fraction: float = 1.0

    def __call__(self, image: np.ndarray, rng: np.random.Generator | None = None) -> torch.Tensor:
        return bgr_to_chw_rgb(classification_input(image, self.size, self.crop_fraction))
