"""Colour augmentation: a random hue shift and saturation and value gains, applied through lookup tables."""

from __future__ import annotations

import cv2
import numpy as np

_LEVELS = np.arange(256, dtype=np.float32)


def hsv_tables(hue_shift: float, saturation_gain: float, value_gain: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three (256,) uint8 lookup tables for 8-bit HSV: hue, saturation, value.

    ``hue_shift`` is a fraction of the colour circle, added (OpenCV's 8-bit hue runs 0..179 and wraps);
    saturation and value are multiplied by their gains and clipped to 0..255.
    """
    hue = ((_LEVELS + hue_shift * 180) % 180).astype(np.uint8)
    saturation = np.clip(_LEVELS * saturation_gain, 0, 255).astype(np.uint8)
    value = np.clip(_LEVELS * value_gain, 0, 255).astype(np.uint8)
    return hue, saturation, value


def random_hsv(
    image_bgr: np.ndarray, rng: np.random.Generator, hue: float, saturation: float, value: float
) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (H, W, 3) uint8 BGR with a random hue shift and saturation and value gains
    (the input itself when all three ranges are 0).

    Three numbers d are drawn uniformly in [-1, 1] x (hue, saturation, value): the hue is shifted by
    d[0] of the colour circle, saturation and value are multiplied by 1 + d[1] and 1 + d[2]. This is
    what the incumbent (8.4) does, measured on plain-colour images: its hue spread does not depend on
    the hue, and pure red (hue 0) changes too, which a hue *gain* could not do. Labels are unaffected.
    """
    if not (hue or saturation or value):
        return image_bgr
    draws = rng.uniform(-1, 1, 3) * np.array([hue, saturation, value])
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV)
    planes = cv2.split(hsv)  # three single-channel lookups beat one 3-channel lookup in OpenCV
    for plane, table in zip(planes, hsv_tables(draws[0], 1 + draws[1], 1 + draws[2])):
        cv2.LUT(plane, table, dst=plane)
    cv2.merge(planes, dst=hsv)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR, dst=hsv)
