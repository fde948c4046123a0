"""Letterbox resizing and load-time resizing of images (the geometry is :mod:`yolo8.ops.letterbox`).

Frames: an *original* image of shape (h0, w0) maps into a letterboxed image by
``x' = x * ratio[0] + pad[0]`` and ``y' = y * ratio[1] + pad[1]`` (pixels).
"""

from __future__ import annotations

import cv2
import numpy as np

from yolo8.ops.letterbox import LetterboxInfo

PAD_VALUE = 114


def resize_long_side(image: np.ndarray, size: int) -> tuple[np.ndarray, LetterboxInfo]:
    """Resize (H, W, C) so its long side is ``size``, keeping aspect ratio.

    INTER_AREA when shrinking, INTER_LINEAR when growing; returns the image unchanged when the long
    side already equals ``size``. Returns the image and the mapping from the input (pad is (0, 0)).
    """
    height, width = image.shape[:2]
    gain = size / max(height, width)
    if gain == 1:
        return image, LetterboxInfo((1.0, 1.0), (0.0, 0.0))
    new_width = min(max(1, round(width * gain)), size)
    new_height = min(max(1, round(height * gain)), size)
    interpolation = cv2.INTER_AREA if gain < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_width, new_height), interpolation=interpolation)
    return resized, LetterboxInfo((new_width / width, new_height / height), (0.0, 0.0))


def letterbox(
    image: np.ndarray,
    new_shape: tuple[int, int],
    auto: bool,
    scaleup: bool,
    stride: int = 32,
) -> tuple[np.ndarray, LetterboxInfo]:
    """Resize (H, W, C) keeping aspect ratio to fit ``new_shape`` = (height, width), pad with 114.

    ``auto=False`` pads to exactly ``new_shape`` (training, validation); ``auto=True`` pads only up to
    the next multiple of ``stride`` (prediction). ``scaleup=False`` never enlarges the image.
    Padding is split evenly between the two sides (the extra pixel of an odd split goes right/bottom).
    Each side is at least 1 px after resizing, so an extremely elongated image (e.g. 10000x50 at 64)
    gets slightly different x and y ratios; the returned info is still the exact mapping.
    Returns the letterboxed image and its :class:`LetterboxInfo`.
    """
    height, width = image.shape[:2]
    target_height, target_width = new_shape
    gain = min(target_height / height, target_width / width)
    if not scaleup:
        gain = min(gain, 1.0)
    # a very elongated image would round its short side to 0 px (cv2.resize rejects that): keep >= 1 px
    new_width = min(max(1, round(width * gain)), max(1, target_width))
    new_height = min(max(1, round(height * gain)), max(1, target_height))
    pad_width, pad_height = target_width - new_width, target_height - new_height
    if auto:
        pad_width, pad_height = pad_width % stride, pad_height % stride
    if (new_width, new_height) != (width, height):
        image = cv2.resize(image, (new_width, new_height), interpolation=cv2.INTER_LINEAR)
    left, top = pad_width // 2, pad_height // 2
    right, bottom = pad_width - left, pad_height - top
    if pad_width or pad_height:
        image = cv2.copyMakeBorder(
            image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
        )
    info = LetterboxInfo((new_width / width, new_height / height), (float(left), float(top)))
    return image, info
