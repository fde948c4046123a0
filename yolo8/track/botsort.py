"""BoT-SORT (Aharon et al., 2022, "BoT-SORT: Robust Associations Multi-Pedestrian Tracking").

ByteTrack's association with two additions: the predicted tracks are moved by the estimated camera motion
before matching (:mod:`yolo8.track.gmc`), and, with an appearance model, the first association's cost is the
smaller of the IoU cost and the appearance cost, where the appearance cost only counts for pairs that overlap
enough (IoU cost below ``proximity_thresh``) and look alike enough (cosine distance below ``appearance_thresh``).

ReID is off by default (YOLOv8's ``with_reid: False``). An appearance model is any callable
``encoder(image (H, W, 3) uint8 BGR, boxes (N, 4) xyxy) -> (N, D) embeddings``, passed as ``encoder=``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from yolo8.track.bytetrack import ByteTracker
from yolo8.track.gmc import CameraMotion, apply_warp
from yolo8.track.kalman import XYWH, StateSpace
from yolo8.track.matching import fuse_score, iou_distance
from yolo8.track.track_state import Track

Encoder = Callable[[np.ndarray, np.ndarray], np.ndarray]


class BoTSORT(ByteTracker):
    """ByteTrack with camera-motion compensation and optional appearance matching.

    Args (beyond :class:`ByteTracker`'s):
        gmc_method: ``sparseOptFlow``, ``ecc`` or ``none``.
        proximity_thresh: appearance counts only for pairs with IoU cost below this.
        appearance_thresh: appearance counts only for pairs with cosine distance below this.
        with_reid: use ``encoder`` for appearance; True without an encoder is an error.
        encoder: the appearance model (see the module docstring).

    Its Kalman state is (cx, cy, w, h) with width-proportional noise on the x and w terms (the paper's choice:
    the box width is estimated, not rebuilt from an aspect ratio).
    """

    state_space: StateSpace = XYWH

    def __init__(self, track_high_thresh: float = 0.25, track_low_thresh: float = 0.1, new_track_thresh: float = 0.25,
                 track_buffer: int = 30, match_thresh: float = 0.8, fuse_score: bool = True, frame_rate: float = 30.0,
                 gmc_method: str | None = "sparseOptFlow", proximity_thresh: float = 0.5,
                 appearance_thresh: float = 0.8, with_reid: bool = False, encoder: Encoder | None = None):
        if with_reid and encoder is None:
            raise ValueError("with_reid: True needs an appearance model: pass encoder=callable(image, boxes) -> "
                             "(N, D) embeddings (model.track(..., encoder=fn) or BoTSORT(encoder=fn)), or set "
                             "with_reid: False in the tracker YAML.")
        self.camera = CameraMotion(gmc_method)
        self.proximity_thresh = proximity_thresh
        self.appearance_thresh = appearance_thresh
        self.encoder = encoder if with_reid else None
        super().__init__(track_high_thresh, track_low_thresh, new_track_thresh, track_buffer, match_thresh,
                         fuse_score, frame_rate)

    def reset(self) -> None:
        super().reset()
        self.camera.reset()

    def _compensate(self, tracks: list[Track], image: np.ndarray | None) -> None:
        warp = self.camera.estimate(image)
        if not tracks:
            return
        means, covariances = apply_warp(np.stack([t.mean for t in tracks]), np.stack([t.covariance for t in tracks]),
                                        warp, self.state_space.layout)
        for track, mean, covariance in zip(tracks, means, covariances):
            track.mean, track.covariance = mean, covariance

    def _features(self, image: np.ndarray | None, boxes: np.ndarray):
        if self.encoder is None or image is None:
            return None
        features = np.asarray(self.encoder(image, boxes), np.float64)
        if features.shape[0] != len(boxes):
            raise ValueError(f"the ReID encoder returned {features.shape[0]} embeddings for {len(boxes)} boxes.")
        return features

    def _first_cost(self, tracks: list[Track], boxes: np.ndarray, scores: np.ndarray, features) -> np.ndarray:
        iou_cost = iou_distance(self._predicted(tracks), boxes)
        cost = fuse_score(iou_cost, scores) if self.fuse_score else iou_cost
        if features is None or not tracks or not len(boxes):
            return cost
        track_features = np.stack([t.feature if t.feature is not None else np.zeros(features.shape[1])
                                   for t in tracks])
        normed = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        appearance = np.clip(1.0 - track_features @ normed.T, 0.0, 2.0) / 2.0  # cosine distance in [0, 1]
        appearance[appearance > self.appearance_thresh] = 1.0
        appearance[iou_cost > self.proximity_thresh] = 1.0
        return np.minimum(cost, appearance)
