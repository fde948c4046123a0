"""Horizontal and vertical flips of an image and its labels."""

from __future__ import annotations

import cv2
import numpy as np

from yolo8.data.transforms.annotations import Annotations


def flip_horizontal(image: np.ndarray, annotations: Annotations) -> tuple[np.ndarray, Annotations]:
    """(H, W, C) image mirrored left-right (a new array) and its labels: x -> W - x."""
    width = image.shape[1]
    boxes = annotations.boxes[:, [2, 1, 0, 3]]  # new x1 comes from the old x2
    boxes[:, 0::2] = width - boxes[:, 0::2]
    points = annotations.points.copy()
    points[:, 0] = width - points[:, 0]
    return cv2.flip(image, 1), annotations.with_geometry(boxes, points)


def flip_vertical(image: np.ndarray, annotations: Annotations) -> tuple[np.ndarray, Annotations]:
    """(H, W, C) image mirrored top-bottom (a new array) and its labels: y -> H - y."""
    height = image.shape[0]
    boxes = annotations.boxes[:, [0, 3, 2, 1]]  # new y1 comes from the old y2
    boxes[:, 1::2] = height - boxes[:, 1::2]
    points = annotations.points.copy()
    points[:, 1] = height - points[:, 1]
    return cv2.flip(image, 0), annotations.with_geometry(boxes, points)
