"""Colour augmentation: random hue, saturation and value gains applied through one lookup table."""

from __future__ import annotations

import cv2
import numpy as np

_LEVELS = np.arange(256, dtype=np.float32)


def hsv_lut(gains: np.ndarray) -> np.ndarray:
    """(3,) multiplicative (hue, saturation, value) gains -> (256, 1, 3) uint8 per-channel table for 8-bit HSV.

    Hue wraps around OpenCV's 0..179 range; saturation and value are clipped to 0..255.
    """
    hue = (_LEVELS * gains[0]) % 180
    saturation = np.clip(_LEVELS * gains[1], 0, 255)
    value = np.clip(_LEVELS * gains[2], 0, 255)
    return np.stack([hue, saturation, value], axis=1).astype(np.uint8).reshape(256, 1, 3)  # (256, 3) -> (256, 1, 3)


def random_hsv(
    image_bgr: np.ndarray, rng: np.random.Generator, hue: float, saturation: float, value: float, to_rgb: bool
) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (H, W, 3) uint8 with random HSV gains, BGR or RGB (``to_rgb``).

    Gains are drawn uniformly in [-1, 1] x (hue, saturation, value) + 1. Converting back to RGB
    costs nothing extra, so the channel swap the network needs happens here. Labels are unaffected.
    """
    if not (hue or saturation or value):
        return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB) if to_rgb else image_bgr
    gains = rng.uniform(-1, 1, 3) * np.array([hue, saturation, value]) + 1
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV)
    cv2.LUT(hsv, hsv_lut(gains), dst=hsv)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB if to_rgb else cv2.COLOR_HSV2BGR)
