"""Image-batch mosaics with boxes: ``train_batch0.jpg``, ``val_batch0_labels.jpg``, ``val_batch0_pred.jpg``."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np

from yolo8.metrics.plots.canvas import class_name, names_as_dict
from yolo8.plotting import class_colour, draw_box, draw_label

MAX_GRID = 4  # at most 4 x 4 tiles
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _to_numpy(value, dtype=None) -> np.ndarray:
    """Tensor / array / list -> ndarray (moved to the CPU and detached when it is a tensor)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)


def targets_to_pixel_boxes(targets, image_height: int, image_width: int):
    """Training targets -> the arrays :func:`plot_image_batch` takes.

    targets (M, 6) = (batch_idx, cls, cx, cy, w, h), box normalised to [0, 1] of the batch image size
    -> (boxes float64[M, 4] xyxy pixels, classes int64[M], batch_index int64[M]).
    """
    targets = _to_numpy(targets, np.float64).reshape(-1, 6)  # (M, 6), also for M = 0
    centre = targets[:, 2:4] * (image_width, image_height)  # (M, 2) pixels
    half_size = targets[:, 4:6] * (image_width, image_height) / 2  # (M, 2)
    boxes = np.concatenate([centre - half_size, centre + half_size], axis=1)  # (M, 4) xyxy
    return boxes, targets[:, 1].astype(np.int64), targets[:, 0].astype(np.int64)


def _images_hwc_bgr(images) -> np.ndarray:
    """(B, 3, H, W) RGB, uint8 or float in [0, 1] -> (B, H, W, 3) uint8 BGR."""
    images = _to_numpy(images)
    if images.size == 0 and images.ndim != 4:
        return np.zeros((0, 0, 0, 3), np.uint8)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"plot_image_batch: images have shape {images.shape}; expected (B, 3, H, W) RGB.")
    if images.dtype != np.uint8:
        images = np.nan_to_num(images.astype(np.float32))
        if images.size and images.max() <= 1.0:
            images = images * 255  # float images in [0, 1]
        images = np.clip(images, 0, 255).round().astype(np.uint8)
    return np.ascontiguousarray(images.transpose(0, 2, 3, 1)[..., ::-1])  # (B, 3, H, W) RGB -> (B, H, W, 3) BGR


def _draw_caption(tile: np.ndarray, text: str, scale: float) -> None:
    """Write ``text`` (left-trimmed with '...' to fit) at the top-left of ``tile``, white on a dark strip."""
    thickness = max(int(round(scale * 2)), 1)
    while len(text) > 4 and cv2.getTextSize(text, FONT, scale, thickness)[0][0] > tile.shape[1] - 8:
        text = "..." + text[4:]
    (text_width, text_height), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    strip = tile[: text_height + baseline + 6, : text_width + 8]  # view into the tile
    strip[:] = (strip * 0.35).astype(np.uint8)  # darken rather than cover, the image stays visible
    cv2.putText(tile, text, (4, text_height + 3), FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def plot_image_batch(
    images,
    boxes_xyxy,
    classes,
    batch_index,
    save_file,
    confidences=None,
    paths: Sequence[str] | None = None,
    names: Mapping[int, str] | Sequence[str] | None = None,
    max_images: int = 16,
    conf_threshold: float = 0.25,
    max_width: int = 1920,
) -> Path:
    """Draw a batch as a grid (up to 4 x 4) with its boxes and class labels; write it; return the path.

    Args:
        images: (B, 3, H, W) RGB uint8 (float in [0, 1] is accepted), ndarray or tensor.
        boxes_xyxy: (M, 4) boxes in the batch images' pixels; classes (M,) ids; batch_index (M,) image of each box.
            Labels in the (batch_idx, cls, cx, cy, w, h) format convert with :func:`targets_to_pixel_boxes`.
        save_file: output image (.jpg / .png).
        confidences: (M,) scores for predictions; boxes below ``conf_threshold`` are not drawn and the
            label reads "name 0.87". None for ground-truth labels.
        paths: the B source file names, written at the top of each tile.
        names: {class id: name} or a list; unknown ids are drawn as numbers.
        max_images: first this many images are drawn (at most 16).
        max_width: the mosaic is scaled down so it is at most this wide (tiles keep their aspect ratio).
    Boxes with NaN/inf coordinates are skipped. An empty batch writes a single blank "no images" tile.
    """
    batch = _images_hwc_bgr(images)
    boxes = _to_numpy(boxes_xyxy, np.float64).reshape(-1, 4)  # (M, 4)
    classes = _to_numpy(classes, np.float64).reshape(-1)
    batch_index = _to_numpy(batch_index, np.float64).reshape(-1)
    scores = None if confidences is None else _to_numpy(confidences, np.float64).reshape(-1)
    if not len(boxes) == len(classes) == len(batch_index) == (len(boxes) if scores is None else len(scores)):
        raise ValueError(
            f"plot_image_batch: {len(boxes)} boxes, {len(classes)} classes, {len(batch_index)} batch indices"
            + ("" if scores is None else f", {len(scores)} confidences") + "; give one of each per box."
        )
    keep = np.isfinite(boxes).all(axis=1) & np.isfinite(classes) & np.isfinite(batch_index)
    if scores is not None:
        keep &= np.isfinite(scores) & (scores >= conf_threshold)
    names = names_as_dict(names)
    count = min(len(batch), int(max_images), MAX_GRID * MAX_GRID)
    height, width = batch.shape[1:3] if batch.shape[1] and batch.shape[2] else (64, 64)
    grid_columns = max(math.ceil(math.sqrt(count)), 1)
    grid_rows = max(math.ceil(count / grid_columns), 1)
    scale = min(1.0, max_width / (grid_columns * width))
    tile_height, tile_width = max(int(height * scale), 1), max(int(width * scale), 1)
    mosaic = np.full((grid_rows * tile_height, grid_columns * tile_width, 3), 255, np.uint8)
    line_width = max(round((tile_height + tile_width) / 2 * 0.004), 2)
    caption_scale = float(np.clip(min(tile_height, tile_width) / 700, 0.35, 0.8))
    for i in range(count):
        tile = cv2.resize(batch[i], (tile_width, tile_height), interpolation=cv2.INTER_AREA)
        drawn = np.nonzero(keep & (batch_index == i))[0]
        if scores is not None:
            drawn = drawn[np.argsort(scores[drawn], kind="stable")]  # most confident box and label end on top
        for j in drawn:
            box = boxes[j] * (tile_width / width, tile_height / height, tile_width / width, tile_height / height)
            colour = class_colour(int(classes[j]))
            draw_box(tile, box, colour, line_width)
            text = class_name(names, int(classes[j])) + ("" if scores is None else f" {scores[j]:.2f}")
            draw_label(tile, box, text, colour, line_width)
        if paths is not None and i < len(paths):
            _draw_caption(tile, os.path.basename(str(paths[i])), caption_scale)
        top, left = (i // grid_columns) * tile_height, (i % grid_columns) * tile_width
        mosaic[top:top + tile_height, left:left + tile_width] = tile
        cv2.rectangle(mosaic, (left, top), (left + tile_width - 1, top + tile_height - 1), (255, 255, 255), 2)
    if count == 0:
        cv2.putText(mosaic, "no images", (4, tile_height // 2), FONT, caption_scale, (0, 0, 0), 1, cv2.LINE_AA)
    path = Path(save_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), mosaic):
        raise OSError(f"plot_image_batch: could not write '{path}'; use a .jpg or .png name in a writable folder.")
    return path
