"""Colour augmentation: random hue, saturation and value gains applied through one lookup table."""

from __future__ import annotations

import cv2
import numpy as np

_LEVELS = np.arange(256, dtype=np.float32)


def hsv_tables(gains: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(3,) multiplicative (hue, saturation, value) gains -> three (256,) uint8 lookup tables for 8-bit HSV.

    Hue wraps around OpenCV's 0..179 range; saturation and value are clipped to 0..255.
    """
    hue = ((_LEVELS * gains[0]) % 180).astype(np.uint8)
    saturation = np.clip(_LEVELS * gains[1], 0, 255).astype(np.uint8)
    value = np.clip(_LEVELS * gains[2], 0, 255).astype(np.uint8)
    return hue, saturation, value


def random_hsv(
    image_bgr: np.ndarray, rng: np.random.Generator, hue: float, saturation: float, value: float
) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (H, W, 3) uint8 BGR with random HSV gains (the input when all gains are 0).

    Gains are drawn uniformly in [-1, 1] x (hue, saturation, value) + 1 and applied through one
    per-channel lookup table in 8-bit HSV. Labels are unaffected.
    """
    if not (hue or saturation or value):
        return image_bgr
    gains = rng.uniform(-1, 1, 3) * np.array([hue, saturation, value]) + 1
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV)
    planes = cv2.split(hsv)  # three single-channel lookups beat one 3-channel lookup in OpenCV
    for plane, table in zip(planes, hsv_tables(gains)):
        cv2.LUT(plane, table, dst=plane)
    cv2.merge(planes, dst=hsv)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR, dst=hsv)
