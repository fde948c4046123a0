"""Four-image mosaic followed by a random warp, rendered tile by tile straight into the output.

Behaviour (YOLOv8's): the 4 images are placed around a random centre (xc, yc) drawn in
[s/2, 3s/2] of a 2s x 2s canvas (top-left, top-right, bottom-left, bottom-right, each touching the
centre and cropped by the canvas), then the canvas is warped by a random affine/perspective to an
s x s output (border -s/2: the warp's centre is the canvas centre).

Speed: the canvas is never built. Each tile's crop is warped directly into the part of the output it
covers with one combined matrix (warp @ tile offset), over a grey (114) output. Pixels between tiles
blend with the grey or the neighbouring tile at the seams exactly as bilinear sampling would.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from yolo8.data.transforms.annotations import Annotations, clip_boxes_to
from yolo8.data.transforms.geometric import (
    clip_and_filter,
    is_affine,
    keep_candidates,
    random_affine_matrix,
    scale_annotations,
    transform_points,
    warp_annotations,
)
from yolo8.data.transforms.letterbox import PAD_VALUE


def mosaic_placements(
    shapes: list[tuple[int, int]], size: int, center: tuple[int, int]
) -> list[tuple[tuple[int, int, int, int], tuple[int, int]]]:
    """Where each of 4 images lands on the 2s x 2s canvas.

    Args:
        shapes: 4 (height, width) image shapes, in the order top-left, top-right, bottom-left, bottom-right.
        size: s, the output size.
        center: (xc, yc) canvas point all 4 images touch.
    Returns:
        4 tuples ``((x1, y1, x2, y2) source crop in image pixels, (dx, dy) offset image -> canvas)``.
    """
    xc, yc = center
    limit = 2 * size
    placements = []
    for tile, (height, width) in enumerate(shapes):
        if tile == 0:
            canvas = (max(xc - width, 0), max(yc - height, 0), xc, yc)
        elif tile == 1:
            canvas = (xc, max(yc - height, 0), min(xc + width, limit), yc)
        elif tile == 2:
            canvas = (max(xc - width, 0), yc, xc, min(yc + height, limit))
        else:
            canvas = (xc, yc, min(xc + width, limit), min(yc + height, limit))
        crop_width, crop_height = canvas[2] - canvas[0], canvas[3] - canvas[1]
        source_x = width - crop_width if tile in (0, 2) else 0  # left tiles keep their right part
        source_y = height - crop_height if tile in (0, 1) else 0  # top tiles keep their bottom part
        crop = (source_x, source_y, source_x + crop_width, source_y + crop_height)
        placements.append((crop, (canvas[0] - source_x, canvas[1] - source_y)))
    return placements


def _shift(dx: float, dy: float) -> np.ndarray:
    matrix = np.eye(3)
    matrix[0, 2], matrix[1, 2] = dx, dy
    return matrix


def _warp_tile_into(output: np.ndarray, crop: np.ndarray, matrix: np.ndarray) -> None:
    """Warp (h, w, 3) ``crop`` by (3, 3) ``matrix`` (crop pixels -> output pixels) into ``output`` in place."""
    height, width = output.shape[:2]
    corners = transform_points(
        np.array([[0, 0], [crop.shape[1], 0], [crop.shape[1], crop.shape[0]], [0, crop.shape[0]]]), matrix
    )
    x1, y1 = (max(0, math.floor(value) - 1) for value in corners.min(axis=0))
    x2, y2 = min(width, math.ceil(corners[:, 0].max()) + 1), min(height, math.ceil(corners[:, 1].max()) + 1)
    if x2 <= x1 or y2 <= y1:
        return
    region = output[y1:y2, x1:x2]  # a view: cv2 writes the warped tile straight into the output
    local = _shift(-x1, -y1) @ matrix
    if is_affine(local):
        cv2.warpAffine(crop, local[:2], (x2 - x1, y2 - y1), dst=region, borderMode=cv2.BORDER_TRANSPARENT)
    else:
        cv2.warpPerspective(crop, local, (x2 - x1, y2 - y1), dst=region, borderMode=cv2.BORDER_TRANSPARENT)


def _axis_span(start: int, stop: int, gain: float, offset: float, size: int) -> tuple[int, int, int, int] | None:
    """Whole-pixel source span [s0, s1) of [start, stop) that ``x -> gain * x + offset`` puts inside
    [0, size), and its whole-pixel destination [d0, d1); None when nothing is visible."""
    source_start = max(start, math.floor(-offset / gain))
    source_stop = min(stop, math.ceil((size - offset) / gain))
    if source_stop <= source_start:
        return None
    destination_start = round(gain * source_start + offset)
    destination_stop = round(gain * source_stop + offset)
    if destination_stop <= destination_start:
        return None
    return source_start, source_stop, destination_start, destination_stop


def _resize_tile_into(output: np.ndarray, image: np.ndarray, crop: tuple, matrix: np.ndarray) -> np.ndarray | None:
    """Paste the visible part of ``image[crop]`` scaled by the axis-aligned (3, 3) ``matrix`` into ``output``.

    The visible part is cut and resized to whole pixels, so the zoom actually applied differs from
    the matrix's by under a pixel over the tile. Returns the exact (3, 3) image -> output matrix
    used (for the labels), or None when the tile is not visible.
    """
    size_y, size_x = output.shape[:2]
    spans = (
        _axis_span(crop[0], crop[2], matrix[0, 0], matrix[0, 2], size_x),
        _axis_span(crop[1], crop[3], matrix[1, 1], matrix[1, 2], size_y),
    )
    if spans[0] is None or spans[1] is None:
        return None
    (sx0, sx1, dx0, dx1), (sy0, sy1, dy0, dy1) = spans
    piece = image[sy0:sy1, sx0:sx1]
    if (dx1 - dx0, dy1 - dy0) != (sx1 - sx0, sy1 - sy0):
        piece = cv2.resize(piece, (dx1 - dx0, dy1 - dy0), interpolation=cv2.INTER_LINEAR)
    top, bottom, left, right = max(dy0, 0), min(dy1, size_y), max(dx0, 0), min(dx1, size_x)
    output[top:bottom, left:right] = piece[top - dy0 : bottom - dy0, left - dx0 : right - dx0]
    exact = np.eye(3)
    exact[0, 0], exact[1, 1] = (dx1 - dx0) / (sx1 - sx0), (dy1 - dy0) / (sy1 - sy0)
    exact[0, 2], exact[1, 2] = dx0 - exact[0, 0] * sx0, dy0 - exact[1, 1] * sy0
    return exact


def mosaic4(
    images: list[np.ndarray],
    annotations: list[Annotations],
    size: int,
    rng: np.random.Generator,
    degrees: float,
    translate: float,
    scale: float,
    shear: float,
    perspective: float,
) -> tuple[np.ndarray, Annotations]:
    """Mosaic of 4 (H, W, 3) uint8 images, randomly warped to (size, size, 3); labels follow.

    ``annotations`` are in each image's own pixels; the result's are in output pixels, clipped and
    filtered by :func:`~yolo8.data.transforms.geometric.box_candidates`. When the warp is only a zoom
    and shift (no rotation, shear or perspective: YOLOv8's defaults) each tile is cut and resized
    instead of warped, which is several times faster.
    """
    center = (int(rng.uniform(size / 2, 3 * size / 2)), int(rng.uniform(size / 2, 3 * size / 2)))
    placements = mosaic_placements([image.shape[:2] for image in images], size, center)
    warp, zoom = random_affine_matrix(
        rng, (size, size), (size, size), degrees, translate, scale, shear, perspective
    )
    axis_aligned = warp[0, 1] == 0 and warp[1, 0] == 0 and is_affine(warp)
    output = np.full((size, size, 3), PAD_VALUE, np.uint8)
    visible, crops, warps = [], [], []
    for image, labels, (crop, (dx, dy)) in zip(images, annotations, placements):
        if crop[2] <= crop[0] or crop[3] <= crop[1]:
            continue
        tile_warp = warp @ _shift(dx, dy)  # image pixels -> output pixels
        if axis_aligned:
            tile_warp = _resize_tile_into(output, image, crop, tile_warp)
            if tile_warp is None:
                continue
        else:
            x1, y1, x2, y2 = crop
            _warp_tile_into(output, image[y1:y2, x1:x2], tile_warp @ _shift(x1, y1))
        visible.append(labels)
        crops.append(crop)
        warps.append(tile_warp)
    merged = Annotations.concatenate(visible)
    if len(merged) == 0:
        return output, merged
    tile_of_label = np.repeat(np.arange(len(visible)), [len(labels) for labels in visible])
    crops, warps = np.array(crops, np.float32), np.stack(warps)
    boxes_before = clip_boxes_to(merged.boxes, crops[tile_of_label]) * zoom  # the canvas shows only the crops
    if axis_aligned:
        # a zoom and shift maps each crop to a rectangle: one clip after the warp does for both
        zooms, offsets = warps[:, [0, 1], [0, 1]], warps[:, :2, 2]  # (T, 2) each
        shown = np.clip(np.concatenate([crops[:, :2] * zooms + offsets, crops[:, 2:] * zooms + offsets], axis=1), 0, size)
        scaled = scale_annotations(merged, zooms[tile_of_label], offsets[tile_of_label])
        return output, keep_candidates(scaled.clipped(shown[tile_of_label]), boxes_before)
    on_canvas = merged.clipped(crops[tile_of_label])
    warped = warp_annotations(on_canvas, warps[tile_of_label])
    return output, clip_and_filter(warped, boxes_before, (size, size))
