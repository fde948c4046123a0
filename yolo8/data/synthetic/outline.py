"""Binary mask -> polygon whose bounding box is exactly the mask's bounding box."""

from __future__ import annotations

import cv2
import numpy as np


def polygon_from_mask(mask: np.ndarray, epsilon: float = 0.7) -> np.ndarray:
    """Outline of the largest 8-connected part of a mask, simplified, in pixel-edge coordinates.

    Pixel (row r, column c) covers [c, c + 1) x [r, r + 1). The outline is traced through boundary
    pixel centres, simplified with Douglas-Peucker (epsilon pixels, always keeping the extreme
    points), then stretched about its centre by half a pixel on every side so that its bounding
    box is exactly the bounding box of the traced part's pixels (what a person would annotate).

    Args:
        mask: (H, W) bool or uint8, at least one pixel set.
        epsilon: simplification tolerance in pixels.

    Returns:
        (K, 2) float64 xy in pixels of the mask's frame, K >= 3.
    """
    padded = np.pad(mask.astype(np.uint8), 1)  # so parts touching the frame are traced too
    contours, _ = cv2.findContours(padded, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        raise ValueError("polygon_from_mask got an empty mask; pass a mask with at least one pixel set")
    contour = max(contours, key=lambda c: (cv2.contourArea(c), len(c)))[:, 0, :] - 1  # (K, 1, 2) -> (K, 2)
    low, high = contour.min(axis=0), contour.max(axis=0)
    if np.any(high == low) or len(contour) < 3:  # a line or a dot: its box is the polygon
        x1, y1 = low
        x2, y2 = high + 1
        return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float64)
    simplified = cv2.approxPolyDP(contour.reshape(-1, 1, 2), epsilon, True)[:, 0, :]  # (K', 1, 2) -> (K', 2)
    kept = {tuple(point) for point in simplified.tolist()}
    extremes = {int(contour[:, 0].argmin()), int(contour[:, 0].argmax()),
                int(contour[:, 1].argmin()), int(contour[:, 1].argmax())}
    keep = [i for i, point in enumerate(contour.tolist()) if i in extremes or tuple(point) in kept]
    points = contour[keep].astype(np.float64)
    if len(points) < 3:
        points = contour.astype(np.float64)
    centre = (low + high) / 2
    stretch = (high - low + 1) / (high - low)
    return (points - centre) * stretch + centre + 0.5
