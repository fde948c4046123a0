"""The classifier input: a frame resized on its short side and centre-cropped, as YOLOv8 classifiers are fed."""

from __future__ import annotations

import numpy as np
import torchvision.transforms.functional as TF
from PIL import Image


def classification_input(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (h, w, 3) uint8 BGR classifier input, as YOLOv8 classifiers are fed at predict time.

    * ``size`` an int: resize (aspect kept) so the short side is ``size`` (the long side is
      ``int(size * long / short)``), then crop the centre ``size`` × ``size``;
    * ``size`` a (height, width) pair: resize straight to it (aspect not kept; this is what YOLOv8
      does for a pair, measured).

    The resize is PIL's bilinear with antialiasing (through torchvision), which reproduces the YOLOv8
    classification input: class probabilities agree with the reference to ~1e-7.
    """
    rgb = Image.fromarray(np.ascontiguousarray(image[..., ::-1]))  # BGR -> RGB
    original_height, original_width = image.shape[:2]
    if isinstance(size, int):
        if original_height <= original_width:
            new_shape = (size, int(size * original_width / original_height))
        else:
            new_shape = (int(size * original_height / original_width), size)
        crop = (size, size)
    else:
        new_shape = crop = (int(size[0]), int(size[1]))
    if new_shape != (original_height, original_width):
        rgb = TF.resize(rgb, list(new_shape), interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    cropped = np.asarray(TF.center_crop(rgb, list(crop)))
    return np.ascontiguousarray(cropped[..., ::-1])  # RGB -> BGR
