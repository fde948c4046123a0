"""Tracker state for a run of frames: one tracker per stream, kept across calls when asked to persist.

A stream is one video file (its path), or everything that is not a video (an image folder such as a MOT
``img1/`` directory, a list of arrays): consecutive frames of one scene. Each stream gets its own tracker, so two
videos in one source (or one process) never share ids. ``reset()`` forgets every stream.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from yolo8.data.sources import VIDEO_SUFFIXES
from yolo8.results import Results
from yolo8.track.bytetrack import ByteTracker
from yolo8.track.tracker_config import TrackerSettings, build_tracker

IMAGE_STREAM = "<images>"


def stream_key(path: str) -> str:
    """The stream a frame belongs to: its video's path, or one shared key for images."""
    return path if Path(path).suffix.lower() in VIDEO_SUFFIXES else IMAGE_STREAM


class TrackingSession:
    """Turns each frame's detections into tracked boxes.

    Args:
        settings: the tracker YAML's settings.
        frame_rate: frames per second of the streams (scales the lost-track buffer).
        encoder: optional appearance model for BoT-SORT with ``with_reid: True``.
    """

    def __init__(self, settings: TrackerSettings, frame_rate: float = 30.0, encoder: Callable | None = None):
        self.settings = settings
        self.frame_rate = frame_rate
        self.encoder = encoder
        self.trackers: dict[str, ByteTracker] = {}
        build_tracker(settings, frame_rate, encoder)  # fail now, not at the first frame, on a bad setting

    def reset(self) -> None:
        """Forget every stream's tracks; ids start again at 1."""
        self.trackers.clear()

    def tracker_for(self, path: str, fps: float | None = None) -> ByteTracker:
        """The tracker of ``path``'s stream, made at its first frame (``fps``: the video's frame rate, if known)."""
        key = stream_key(path)
        if key not in self.trackers:
            self.trackers[key] = build_tracker(self.settings, fps or self.frame_rate, self.encoder)
        return self.trackers[key]

    def update(self, results: Results, fps: float | None = None) -> Results:
        """Results of one frame (detect or segment) -> Results whose boxes carry track ids (``boxes.id``), only the
        confirmed tracks matched in this frame, with their masks."""
        if results.probs is not None:
            raise ValueError("tracking needs a detect or segment model; this model classifies whole images.")
        tracker = self.tracker_for(results.path, fps)
        boxes = results.boxes
        data = np.zeros((0, 6)) if boxes is None else _numpy(boxes.data)
        tracked = tracker.update(data[:, :4], data[:, 4], data[:, 5], results.orig_img)  # (K, 8)
        rows = tracked[:, [0, 1, 2, 3, 4, 5, 6]]  # x1, y1, x2, y2, id, conf, cls
        indices = tracked[:, 7].astype(int)
        like = boxes.data if boxes is not None else None
        box_data = torch.as_tensor(rows, dtype=like.dtype, device=like.device) if isinstance(like, torch.Tensor) \
            else rows.astype(np.float32)
        masks = None
        if results.masks is not None:
            data = results.masks.data
            masks = data[torch.as_tensor(indices, device=data.device) if isinstance(data, torch.Tensor) else indices]
        return Results(results.orig_img, results.path, results.names, box_data, results.speed, masks=masks)


def _numpy(values) -> np.ndarray:
    return values.detach().cpu().double().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, float)
