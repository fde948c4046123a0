"""The eight shape classes of the built-in dataset, rasterised as binary masks.

A class is a geometry, never a colour: every class is drawn with the same colour and texture
distribution (see :mod:`yolo8.data.synthetic.textures`), so a detector has to learn shape.
Each shape is described in unit coordinates (all points within the unit circle) as a list of
polygons with a fill value (1 = paint, 0 = cut a hole), then scaled, rotated and rasterised with
sub-pixel precision.
"""

from __future__ import annotations

import cv2
import numpy as np

CLASS_NAMES = ("circle", "square", "triangle", "star", "cross", "ring", "hexagon", "crescent")

_CIRCLE_VERTICES = 64
_SUBPIXEL_BITS = 4  # cv2.fillPoly fixed-point shift: coordinates in 1/16 pixel


def _regular_polygon(vertices: int, radius: float = 1.0, phase: float = 0.0) -> np.ndarray:
    """(vertices, 2) float64 xy of a regular polygon centred at the origin."""
    angles = phase + np.arange(vertices) * (2 * np.pi / vertices)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _star(points: int, inner_ratio: float) -> np.ndarray:
    """(2 * points, 2) xy of a star alternating outer radius 1 and inner radius inner_ratio."""
    radii = np.tile([1.0, inner_ratio], points)
    angles = np.arange(2 * points) * (np.pi / points) - np.pi / 2
    return radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _cross(arm_width: float) -> np.ndarray:
    """(12, 2) xy of a plus sign whose arms are arm_width wide (unit-circle bound)."""
    half = arm_width / 2
    reach = np.sqrt(1.0 - half**2)  # the arm corners lie on the unit circle
    return np.array(
        [
            [half, half], [reach, half], [reach, -half], [half, -half],
            [half, -reach], [-half, -reach], [-half, -half], [-reach, -half],
            [-reach, half], [-half, half], [-half, reach], [half, reach],
        ]
    )


def unit_shape(class_id: int, rng: np.random.Generator) -> list[tuple[np.ndarray, int]]:
    """Polygons of one random instance of class_id in unit coordinates.

    Returns:
        list of (points (K, 2) float64 xy within the unit circle, fill value 1 or 0),
        painted in order (holes come after the outline they cut).
    """
    name = CLASS_NAMES[class_id]
    if name == "circle":
        return [(_regular_polygon(_CIRCLE_VERTICES), 1)]
    if name == "square":
        return [(_regular_polygon(4, phase=np.pi / 4), 1)]
    if name == "triangle":
        return [(_regular_polygon(3, phase=-np.pi / 2), 1)]
    if name == "star":
        return [(_star(5, rng.uniform(0.38, 0.5)), 1)]
    if name == "cross":
        return [(_cross(rng.uniform(0.3, 0.45)), 1)]
    if name == "ring":
        inner = rng.uniform(0.45, 0.65)
        return [(_regular_polygon(_CIRCLE_VERTICES), 1), (_regular_polygon(_CIRCLE_VERTICES, inner), 0)]
    if name == "hexagon":
        return [(_regular_polygon(6), 1)]
    if name == "crescent":
        cut_radius = rng.uniform(0.75, 0.95)
        cut = _regular_polygon(_CIRCLE_VERTICES, cut_radius) + [rng.uniform(0.4, 0.6), 0.0]
        return [(_regular_polygon(_CIRCLE_VERTICES), 1), (cut, 0)]
    raise ValueError(f"class_id {class_id} is not one of 0..{len(CLASS_NAMES) - 1} ({CLASS_NAMES})")


def rasterize_shape(class_id: int, size: float, rng: np.random.Generator) -> np.ndarray:
    """A random instance of class_id, rotated and slightly stretched, as a tight binary mask.

    Args:
        class_id: index into CLASS_NAMES.
        size: diameter in pixels of the circle that bounds the shape before stretching.
        rng: source of the rotation, stretch and shape parameters.

    Returns:
        mask (h, w) uint8 in {0, 1}: one 8-connected piece, cropped to its pixels (h, w >= 1).
    """
    polygons = unit_shape(class_id, rng)
    angle = rng.uniform(0, 2 * np.pi)
    stretch = rng.uniform(0.85, 1.15)
    cos, sin = np.cos(angle), np.sin(angle)
    transform = np.array([[cos, -sin], [sin, cos]]) @ np.diag([stretch, 1 / stretch]) * (size / 2)
    side = int(np.ceil(size * 1.2)) + 3
    centre = side / 2
    canvas = np.zeros((side, side), np.uint8)
    for points, value in polygons:
        pixels = points @ transform.T + centre - 0.5  # pixel centres sit at integer coordinates
        fixed_point = np.round(pixels * (1 << _SUBPIXEL_BITS)).astype(np.int32)
        cv2.fillPoly(canvas, [fixed_point], value, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    pieces, labels, stats, _ = cv2.connectedComponentsWithStats(canvas, connectivity=8)
    if pieces < 2:  # sub-pixel shape: keep one pixel so callers never see an empty mask
        return np.ones((1, 1), np.uint8)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))  # drops pixels cut off at sharp tips
    left, top, width, height = (int(v) for v in stats[largest, :4])
    return (labels[top : top + height, left : left + width] == largest).astype(np.uint8)
