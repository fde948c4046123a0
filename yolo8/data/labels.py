"""Labels of one image as read from a YOLO txt file, and the label scan over a dataset."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ImageLabels:
    """Everything the dataset needs to know about one image before reading its pixels.

    Attributes:
        image_file: path of the image.
        shape: (height, width) of the image as stored, after EXIF orientation is applied.
        classes: (N,) int64 class ids.
        boxes: (N, 4) float32 xywh normalised to [0, 1].
        segments: N polygons, each (K, 2) float32 xy normalised, or [] when the file has boxes only.
    """

    image_file: str
    shape: tuple[int, int]
    classes: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    segments: list = field(default_factory=list)
