"""Polygons -> ground-truth masks for segmentation training, after augmentation.

Rasterisation follows what YOLOv8's training masks are, measured on its collate output as a black box (the parity
fixture ``seg_loss_masks_*.npy`` is reproduced bit for bit): each polygon is resampled to
:data:`RESAMPLED_POINTS` vertices spaced evenly along its closed outline, the vertices are truncated to whole pixels,
the polygon is filled at the full image size and the fill is resized to 1/ratio with bilinear interpolation.
("Evenly" is in vertex index: every edge gets the same share of the points, whatever its length.)
The resampling matters: truncating 1000 points on the outline gives a different staircase than truncating the
original vertices (up to 36 of 6400 pixels differ without it).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from yolo8.data.transforms.polygons import polygon_bounds

RESAMPLED_POINTS = 1000


@dataclass(frozen=True)
class MaskLayout:
    """How a segmentation sample carries its masks.

    Attributes:
        ratio: masks are 1/ratio of the image size (``mask_ratio``, YOLOv8's default 4).
        overlap: one (h, w) index mask per image (pixel = 1-based index of the covering instance, 0 background;
            instances ordered by decreasing area, later ones drawn over earlier ones) when true, else one
            (h, w) binary mask per instance (``overlap_mask``).
    """

    ratio: int = 4
    overlap: bool = True

    def __post_init__(self):
        if not isinstance(self.ratio, int) or self.ratio < 1:
            raise ValueError(f"mask_ratio={self.ratio!r}: expected a whole number >= 1")


def resample_polygon(points: np.ndarray, count: int = RESAMPLED_POINTS) -> np.ndarray:
    """(K, 2) xy polygon -> (count, 2) float32 vertices along its closed outline, evenly spaced in vertex index
    (each edge gets the same share of the points, whatever its length)."""
    closed = np.concatenate((points, points[:1])).astype(np.float32)  # (K + 1, 2)
    positions = np.linspace(0, len(closed) - 1, count)
    knots = np.arange(len(closed))
    return np.stack([np.interp(positions, knots, closed[:, axis]) for axis in (0, 1)], axis=1).astype(np.float32)


def polygon_masks(points: np.ndarray, owners: np.ndarray, count: int, height: int, width: int,
                  ratio: int) -> np.ndarray:
    """Rasterise a polygon set (see :mod:`yolo8.data.transforms.polygons`) into one mask per owner.

    Args:
        points, owners: (P, 2) xy pixels of a (height, width) image and (P,) owner of each vertex.
        count: number of owners N (owners without vertices get an empty mask).
        ratio: the masks are (height // ratio, width // ratio).
    Returns:
        (N, height // ratio, width // ratio) uint8 0/1.
    """
    out_height, out_width = height // ratio, width // ratio
    masks = np.zeros((count, out_height, out_width), np.uint8)
    if count == 0 or len(points) == 0:
        return masks
    # Each polygon is filled only over the ratio-aligned block around it: with an integer scale, bilinear
    # downsampling reads each output pixel from its own input block, so the block gives the same pixels as
    # the whole image would. When the image size is not a multiple of ratio, the whole image is used.
    aligned = height % ratio == 0 and width % ratio == 0
    bounds = polygon_bounds(points, owners, count)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    for start, stop in zip(starts, np.r_[starts[1:], len(points)]):
        owner = int(owners[start])
        outline = resample_polygon(points[start:stop]).astype(np.int32)  # truncated to whole pixels, as measured
        if aligned:
            left, top = (np.floor(bounds[owner, :2] / ratio).astype(int) - 1).clip(0)
            right = min(int(np.ceil(bounds[owner, 2] / ratio)) + 2, out_width)
            bottom = min(int(np.ceil(bounds[owner, 3] / ratio)) + 2, out_height)
        else:
            left, top, right, bottom = 0, 0, out_width, out_height
        if right <= left or bottom <= top:
            continue
        canvas = np.zeros(((bottom - top) * ratio, (right - left) * ratio) if aligned else (height, width), np.uint8)
        cv2.fillPoly(canvas, [outline - np.array([left * ratio, top * ratio], np.int32)], 1)
        masks[owner, top:bottom, left:right] = cv2.resize(canvas, (right - left, bottom - top),
                                                          interpolation=cv2.INTER_LINEAR)
    return masks


def overlap_masks(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Binary per-instance masks -> one index mask, largest instances first.

    Args:
        masks: (N, h, w) 0/1.
    Returns:
        index mask (h, w) int16 (pixel = 1-based position in ``order`` of the instance drawn last there,
        0 background) and ``order`` (N,) instance indices by decreasing area (stable), so a small object lying
        on a large one keeps its pixels.
    """
    areas = masks.reshape(len(masks), -1).sum(axis=1) if len(masks) else np.zeros(0, np.int64)  # (N, h*w) -> (N,)
    order = np.argsort(-areas, kind="stable")
    index_mask = np.zeros(masks.shape[1:], np.int16)
    for position, instance in enumerate(order, start=1):
        index_mask[masks[instance].astype(bool)] = position
    return index_mask, order
