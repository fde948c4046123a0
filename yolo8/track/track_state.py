"""One tracked object: its Kalman state, its lifecycle and the detection it was last matched to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class TrackState(Enum):
    """NEW: seen once, not yet confirmed (no id). TRACKED: matched this frame or recently. LOST: unmatched, kept
    for ``track_buffer`` frames so it can come back with its id. REMOVED: gone for good."""

    NEW = 0
    TRACKED = 1
    LOST = 2
    REMOVED = 3


@dataclass
class Track:
    """A track's state between frames.

    Attributes:
        mean: (8,) Kalman state in its tracker's ``state_space`` (ByteTrack: cx, cy, a, h; BoT-SORT: cx, cy, w, h)
            and the velocities of those four.
        covariance: (8, 8) its covariance.
        box: (4,) x1, y1, x2, y2 of the detection it was last matched to (what is reported).
        score, class_id: that detection's confidence and class.
        detection_index: that detection's row in the current frame (-1 when not matched this frame).
        track_id: 0 until confirmed, then a stable integer from 1.
        start_frame, last_frame: frames (1-based, per tracker) of its first and latest match.
        hits: number of matched frames.
        feature: (D,) smoothed appearance embedding (BoT-SORT with ReID), or None.
    """

    mean: np.ndarray
    covariance: np.ndarray
    box: np.ndarray
    score: float
    class_id: float
    detection_index: int
    start_frame: int
    last_frame: int
    state: TrackState = TrackState.NEW
    track_id: int = 0
    hits: int = 1
    feature: np.ndarray | None = field(default=None, repr=False)

    @property
    def confirmed(self) -> bool:
        return self.track_id > 0
