"""Detections made from ground truth with a detector's faults, to test and measure trackers without a detector.

Each ground-truth box is dropped with ``miss_rate``, jittered by ``jitter`` of its size and given a score that
falls with occlusion (low-score detections are what ByteTrack's second association is for); a few false
positives of low score are added per frame. Deterministic for a seed.
"""

from __future__ import annotations

import numpy as np


def noisy_detections(gt: dict[int, np.ndarray], frames: int, image_size: tuple[int, int], seed: int = 0,
                     miss_rate: float = 0.1, jitter: float = 0.05, false_positives: float = 0.3,
                     visibility: dict[int, np.ndarray] | None = None) -> dict[int, np.ndarray]:
    """{frame: (K, 6) x1, y1, x2, y2, id, conf} ground truth -> {frame: (N, 6) x1, y1, x2, y2, conf, cls} detections.

    Args:
        frames: number of frames (1-based keys 1..frames are all present in the output).
        image_size: (height, width), for false positives.
        false_positives: expected number of false positives per frame.
        visibility: {frame: (K,) visible fraction} in the gt rows' order; lowers the scores of occluded objects.
    """
    rng = np.random.default_rng(seed)
    height, width = image_size
    out = {}
    for frame in range(1, frames + 1):
        rows = np.asarray(gt.get(frame, np.zeros((0, 6))), np.float64).reshape(-1, 6)
        seen = 1.0 if visibility is None else np.asarray(visibility.get(frame, np.ones(len(rows))))
        keep = rng.random(len(rows)) >= miss_rate
        boxes = rows[:, :4].copy()
        size = np.tile(boxes[:, 2:] - boxes[:, :2], 2)  # (K, 4) w, h, w, h
        boxes += rng.normal(0, jitter, boxes.shape) * size
        scores = np.clip(rng.uniform(0.55, 0.95, len(rows)) * np.clip(seen, 0.3, 1.0) + 0.05, 0.0, 1.0)
        detections = np.concatenate([boxes, scores[:, None], np.zeros((len(rows), 1))], 1)[keep]
        count = rng.poisson(false_positives)
        corner = rng.uniform([0, 0], [width * 0.9, height * 0.9], (count, 2))
        sides = rng.uniform(10, 40, (count, 2))
        fakes = np.concatenate([corner, corner + sides, rng.uniform(0.15, 0.5, (count, 1)), np.zeros((count, 1))], 1)
        out[frame] = np.concatenate([detections, fakes]) if count else detections
    return out
