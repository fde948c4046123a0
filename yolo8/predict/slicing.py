"""Sliced inference for small objects: overlapping tiles plus the whole image, each run through the model, with
the boxes mapped back to the image and merged.

A small object covers few pixels of the network input when a large image is letterboxed down to ``imgsz``; a
tile of ``slice`` pixels is scaled far less, so the object stays big enough to detect. The whole image is run
too, so large objects (cut into pieces by the tiles) are still found whole.

Merging is greedy matching-and-merging (as in SAHI, Akyon et al. 2022): detections sorted by confidence; each
kept detection absorbs later ones of the same class (any class with ``agnostic``) that lie mostly inside it or it
inside them (intersection over the smaller box above ``MERGE_IOS``), growing to the union box; masks are OR-ed. So
a box cut at a tile border merges with its whole version from the full image or the overlapping tile. Only
detections of different passes merge, at most one from each: every pass has been through NMS already, so two
boxes of one pass (a small object inside a big one) are two objects. The merged list keeps at most ``max_det``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from yolo8.data.sources import Frame
from yolo8.result_parts import as_numpy
from yolo8.results import Results

MERGE_IOS = 0.5  # intersection over the smaller box above which two same-class detections are one object


def tile_windows(height: int, width: int, tile_width: int, tile_height: int, overlap: float) -> list[tuple[int, ...]]:
    """(x1, y1, x2, y2) pixel windows of ``tile_width`` x ``tile_height`` covering the image, neighbours sharing
    ``overlap`` of a tile; the last row / column is aligned to the image border. An image no larger than one tile
    gives no windows (the whole image is run anyway)."""
    if width <= tile_width and height <= tile_height:
        return []

    def starts(size: int, tile: int) -> list[int]:
        if size <= tile:
            return [0]
        stride = max(1, int(round(tile * (1 - overlap))))
        positions = list(range(0, size - tile, stride))
        return positions + [size - tile]

    tile_width, tile_height = min(tile_width, width), min(tile_height, height)
    return [(x, y, x + tile_width, y + tile_height)
            for y in starts(height, tile_height) for x in starts(width, tile_width)]


def greedy_merge(boxes: np.ndarray, masks: np.ndarray | None = None, threshold: float = MERGE_IOS,
                 passes: np.ndarray | None = None, agnostic: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Merge duplicate detections of several passes over one image.

    Args:
        boxes: (N, 6) x1, y1, x2, y2, conf, cls in image pixels.
        masks: (N, H, W) bool, or None.
        threshold: intersection over the smaller box above which two detections are one object.
        passes: (N,) int, the pass each detection comes from (0: whole image, k: tile k); None: each its own.
        agnostic: merge across classes (the merged detection keeps the most confident one's class).

    Returns:
        (M, 6) merged boxes (union boxes, the highest confidence) and (M, H, W) masks, most confident first.
    """
    order = np.argsort(-boxes[:, 4], kind="stable")
    boxes = boxes[order]
    masks = None if masks is None else masks[order]
    passes = np.arange(len(boxes)) if passes is None else np.asarray(passes)[order]
    areas = np.prod(np.clip(boxes[:, 2:4] - boxes[:, :2], 0, None), axis=1)
    used = np.zeros(len(boxes), bool)
    merged_boxes, merged_masks = [], []
    for i in range(len(boxes)):
        if used[i]:
            continue
        used[i] = True
        current = boxes[i].copy()
        mask = None if masks is None else masks[i].copy()
        later = np.flatnonzero(~used & (passes != passes[i]) & (agnostic | (boxes[:, 5] == current[5])))
        for j in _best_per_pass(boxes[i, :4], areas[i], boxes[later, :4], areas[later], passes[later],
                                later, threshold):
            used[j] = True
            current[:2] = np.minimum(current[:2], boxes[j, :2])
            current[2:4] = np.maximum(current[2:4], boxes[j, 2:4])
            if mask is not None:
                mask |= masks[j]
        merged_boxes.append(current)
        if mask is not None:
            merged_masks.append(mask)
    out_boxes = np.asarray(merged_boxes, np.float32).reshape(-1, 6)
    if masks is None:
        return out_boxes, None
    return out_boxes, (np.stack(merged_masks) if merged_masks else np.zeros((0, *masks.shape[1:]), bool))


def _best_per_pass(kept: np.ndarray, kept_area: float, candidates: np.ndarray, areas: np.ndarray,
                   passes: np.ndarray, indices: np.ndarray, threshold: float) -> list[int]:
    """The candidates a kept box absorbs: of those overlapping it enough (intersection over the smaller box above
    ``threshold``), the one with the highest IoU from each pass.

    kept (4,) xyxy and its area; candidates (K, 4) xyxy, their areas (K,), passes (K,) and row indices (K,).
    """
    if not len(candidates):
        return []
    top_left = np.maximum(candidates[:, :2], kept[:2])
    bottom_right = np.minimum(candidates[:, 2:4], kept[2:4])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
    ios = inter / np.maximum(np.minimum(areas, kept_area), 1e-9)
    iou = inter / np.maximum(areas + kept_area - inter, 1e-9)
    chosen = []
    for pass_index in np.unique(passes[ios > threshold]):
        # one pass's detections are distinct objects (NMS has run): the best-fitting one is this object's piece
        rows = np.flatnonzero((passes == pass_index) & (ios > threshold))
        chosen.append(int(indices[rows[np.argmax(iou[rows])]]))
    return chosen


class Slicer:
    """Runs one frame as tiles + the whole image and merges the detections.

    Args:
        tile: (width, height) of a tile in pixels (``slice=W[,H]``; one number is a square tile).
        overlap: fraction of a tile that neighbouring tiles share (``slice_overlap``).
        merge_threshold: intersection over the smaller box above which same-class detections merge.
        agnostic: merge detections of different classes too (``agnostic_nms``).
        max_det: keep at most this many merged detections, most confident first (``max_det``).
    """

    def __init__(self, tile: Sequence[int], overlap: float = 0.2, merge_threshold: float = MERGE_IOS,
                 agnostic: bool = False, max_det: int = 300):
        tile = list(tile)
        if not 1 <= len(tile) <= 2:
            raise ValueError(f"slice={tile} is invalid: give a tile width, or width,height in pixels.")
        self.tile_width, self.tile_height = tile[0], tile[-1]
        self.overlap = overlap
        self.merge_threshold = merge_threshold
        self.agnostic = agnostic
        self.max_det = max_det

    def __call__(self, frame: Frame, run: Callable[[list[Frame]], list[tuple[Frame, Results, tuple]]]):
        """(frame, merged Results, input shape of the whole-image pass); ``run`` predicts a list of frames."""
        height, width = frame.image.shape[:2]
        windows = tile_windows(height, width, self.tile_width, self.tile_height, self.overlap)
        crops = [Frame(f"{frame.path}#tile{k}", np.ascontiguousarray(frame.image[y1:y2, x1:x2]), "array", k,
                       len(windows)) for k, (x1, y1, x2, y2) in enumerate(windows)]
        outputs = run([frame, *crops])
        whole = outputs[0][1]
        if whole.probs is not None:
            raise ValueError("slice= works with detect and segment models; this model classifies whole images.")
        all_boxes, all_masks, all_passes = [], [], []
        with_masks = whole.masks is not None
        for pass_index, ((_, results, _), window) in enumerate(zip(outputs, [(0, 0, width, height), *windows])):
            if results.boxes is None or not len(results.boxes):
                continue
            x1, y1, x2, y2 = window
            boxes = as_numpy(results.boxes.data).astype(np.float32).copy()
            boxes[:, [0, 2]] += x1  # tile pixels -> image pixels
            boxes[:, [1, 3]] += y1
            all_boxes.append(boxes)
            all_passes.append(np.full(len(boxes), pass_index))
            if with_masks:
                canvas = np.zeros((len(boxes), height, width), bool)
                canvas[:, y1:y2, x1:x2] = as_numpy(results.masks.data).astype(bool)
                all_masks.append(canvas)
        boxes = np.concatenate(all_boxes) if all_boxes else np.zeros((0, 6), np.float32)
        masks = (np.concatenate(all_masks) if all_masks else np.zeros((0, height, width), bool)) if with_masks else None
        passes = np.concatenate(all_passes) if all_passes else np.zeros(0, int)
        boxes, masks = greedy_merge(boxes, masks, self.merge_threshold, passes, self.agnostic)
        boxes, masks = boxes[:self.max_det], None if masks is None else masks[:self.max_det]  # most confident first
        device = whole.boxes.data.device if isinstance(whole.boxes.data, torch.Tensor) else None
        box_data = torch.from_numpy(boxes).to(device) if device is not None else boxes
        mask_data = None if masks is None else (torch.from_numpy(masks).to(device) if device is not None else masks)
        speed = {key: sum(  # the frame's cost: every pass, whole image and tiles
            (r.speed.get(key) or 0.0) for _, r, _ in outputs) for key in whole.speed}
        merged = Results(frame.image, frame.path, whole.names, box_data, speed, masks=mask_data)
        return frame, merged, outputs[0][2]
