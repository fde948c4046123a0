"""Random affine / perspective warps of an image and its labels, and YOLOv8's box candidate rule.

A warp is a 3x3 matrix ``M`` mapping input pixels (x, y, 1) to output pixels (divided by the third
coordinate when ``perspective`` is non-zero).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from yolo8.data.transforms.annotations import Annotations
from yolo8.data.transforms.letterbox import PAD_VALUE
from yolo8.data.transforms.polygons import polygon_bounds


def random_affine_matrix(
    rng: np.random.Generator,
    output_size: tuple[int, int],
    input_center: tuple[float, float],
    degrees: float,
    translate: float,
    scale: float,
    shear: float,
    perspective: float,
) -> tuple[np.ndarray, float]:
    """Draw YOLOv8's random warp: centre, perspective, rotate+scale, shear, translate.

    Args:
        output_size: (height, width) of the warped image.
        input_center: (x, y) input pixel moved to the origin before rotating (the input's centre).
        degrees: rotation drawn in [-degrees, degrees].
        translate: output position of the centre drawn in [0.5 - translate, 0.5 + translate] x size.
        scale: zoom drawn in [1 - scale, 1 + scale].
        shear: x and y shear angles drawn in [-shear, shear] degrees.
        perspective: the two projective terms drawn in [-perspective, perspective].
    Returns:
        (3, 3) float64 matrix and the drawn zoom factor.
    """
    height, width = output_size
    center = np.eye(3)
    center[0, 2], center[1, 2] = -input_center[0], -input_center[1]
    projective = np.eye(3)
    projective[2, 0] = rng.uniform(-perspective, perspective)
    projective[2, 1] = rng.uniform(-perspective, perspective)
    rotation = np.eye(3)
    angle = rng.uniform(-degrees, degrees)
    zoom = rng.uniform(1 - scale, 1 + scale)
    rotation[:2] = cv2.getRotationMatrix2D(center=(0, 0), angle=angle, scale=zoom)
    shearing = np.eye(3)
    shearing[0, 1] = math.tan(math.radians(rng.uniform(-shear, shear)))
    shearing[1, 0] = math.tan(math.radians(rng.uniform(-shear, shear)))
    translation = np.eye(3)
    translation[0, 2] = rng.uniform(0.5 - translate, 0.5 + translate) * width
    translation[1, 2] = rng.uniform(0.5 - translate, 0.5 + translate) * height
    return translation @ shearing @ rotation @ projective @ center, float(zoom)


def is_affine(matrix: np.ndarray) -> bool:
    """True when the (3, 3) warp has no projective part."""
    return matrix[2, 0] == 0 and matrix[2, 1] == 0 and matrix[2, 2] == 1


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """points (K, 2) xy -> (K, 2) xy warped by the (3, 3) matrix, or by (K, 3, 3) one matrix per
    point, with the projective divide."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    if matrix.ndim == 3:
        warped = np.einsum("kij,kj->ki", matrix[:, :2, :2], points) + matrix[:, :2, 2]
        if (matrix[:, 2, :2] != 0).any():
            warped /= (np.einsum("kj,kj->k", matrix[:, 2, :2], points) + matrix[:, 2, 2])[:, None]
        return warped.astype(np.float32)
    warped = points @ matrix[:2, :2].T + matrix[:2, 2]
    if not is_affine(matrix):
        depth = points @ matrix[2, :2] + matrix[2, 2]
        warped /= depth[:, None]
    return warped.astype(np.float32)


def warp_image(image: np.ndarray, matrix: np.ndarray, output_size: tuple[int, int]) -> np.ndarray:
    """(H, W, C) image -> (height, width, C) warped by the (3, 3) matrix, bilinear, border 114."""
    height, width = output_size
    border = (PAD_VALUE,) * 3
    if is_affine(matrix):
        return cv2.warpAffine(image, matrix[:2], (width, height), borderValue=border)
    return cv2.warpPerspective(image, matrix, (width, height), borderValue=border)


def box_candidates(
    before: np.ndarray,
    after: np.ndarray,
    min_size: float = 2.0,
    max_aspect: float = 100.0,
    min_area_ratio: float = 0.1,
    eps: float = 1e-16,
) -> np.ndarray:
    """YOLOv8's rule for boxes that survive a warp.

    Args:
        before: (N, 4) xyxy boxes before the warp, already multiplied by the warp's zoom.
        after: (N, 4) xyxy boxes after the warp and clipping.
    Returns:
        (N,) bool: width and height > ``min_size`` px, area ratio after/before > ``min_area_ratio``
        and aspect ratio < ``max_aspect``.
    """
    width_before, height_before = before[:, 2] - before[:, 0], before[:, 3] - before[:, 1]
    width_after, height_after = after[:, 2] - after[:, 0], after[:, 3] - after[:, 1]
    aspect = np.maximum(width_after / (height_after + eps), height_after / (width_after + eps))
    return (
        (width_after > min_size)
        & (height_after > min_size)
        & (width_after * height_after / (width_before * height_before + eps) > min_area_ratio)
        & (aspect < max_aspect)
    )


def warp_annotations(annotations: Annotations, matrix: np.ndarray) -> Annotations:
    """Labels moved by the (3, 3) warp (or (N, 3, 3), one per label), not clipped: polygon vertices
    are warped, and boxes become the bounds of their 4 warped corners (or of the warped polygons)."""
    if len(annotations) == 0:
        return annotations
    if annotations.has_segments:
        per_point = matrix[annotations.owners] if matrix.ndim == 3 else matrix
        points = transform_points(annotations.points, per_point)
        return annotations.with_geometry(polygon_bounds(points, annotations.owners, len(annotations)), points)
    corners = annotations.boxes[:, [0, 1, 2, 1, 2, 3, 0, 3]].reshape(-1, 2)  # (N, 8) -> (4N, 2) xy
    per_corner = np.repeat(matrix, 4, axis=0) if matrix.ndim == 3 else matrix
    corners = transform_points(corners, per_corner).reshape(-1, 4, 2)  # (4N, 2) -> (N, 4 corners, 2)
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
    return annotations.with_geometry(boxes, annotations.points)


def scale_annotations(annotations: Annotations, zooms: np.ndarray, offsets: np.ndarray) -> Annotations:
    """Labels moved by ``x -> zoom * x + offset`` per axis, with (N, 2) positive zooms and offsets per label."""
    boxes = annotations.boxes * np.tile(zooms, 2) + np.tile(offsets, 2)
    points = annotations.points * zooms[annotations.owners] + offsets[annotations.owners]
    return annotations.with_geometry(boxes.astype(np.float32), points.astype(np.float32))


def keep_candidates(clipped: Annotations, boxes_before: np.ndarray) -> Annotations:
    """The clipped, warped labels that pass :func:`box_candidates`; with polygons, boxes first become
    the bounds of the clipped polygons, so they stay tight on partly visible objects.
    ``boxes_before`` (N, 4) are the boxes before the warp times its zoom."""
    if clipped.has_segments:
        clipped = clipped.with_geometry(polygon_bounds(clipped.points, clipped.owners, len(clipped)), clipped.points)
    return clipped.select(box_candidates(boxes_before, clipped.boxes))


def clip_and_filter(warped: Annotations, boxes_before: np.ndarray, output_size: tuple[int, int]) -> Annotations:
    """Clip warped labels to the (height, width) output and keep YOLOv8's box candidates (see
    :func:`keep_candidates`)."""
    if len(warped) == 0:
        return warped
    height, width = output_size
    return keep_candidates(warped.clipped((0, 0, width, height)), boxes_before)


def transform_annotations(
    annotations: Annotations, matrix: np.ndarray, output_size: tuple[int, int], zoom: float
) -> Annotations:
    """Warp labels by ``matrix`` into a (height, width) output, clip them, keep YOLOv8's candidates."""
    return clip_and_filter(warp_annotations(annotations, matrix), annotations.boxes * zoom, output_size)


def random_affine(
    image: np.ndarray,
    annotations: Annotations,
    rng: np.random.Generator,
    degrees: float,
    translate: float,
    scale: float,
    shear: float,
    perspective: float,
) -> tuple[np.ndarray, Annotations]:
    """Warp an (H, W, 3) image and its labels with a random affine/perspective, same output size (border 0)."""
    height, width = image.shape[:2]
    matrix, zoom = random_affine_matrix(
        rng, (height, width), (width / 2, height / 2), degrees, translate, scale, shear, perspective
    )
    if np.array_equal(matrix, np.eye(3)):
        return image, annotations
    return warp_image(image, matrix, (height, width)), transform_annotations(annotations, matrix, (height, width), zoom)
