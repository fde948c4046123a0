"""ByteTrack (Zhang et al., 2022, "ByteTrack: Multi-Object Tracking by Associating Every Detection Box").

Per frame: predict every track with a Kalman filter, match confident detections to tracked and lost tracks
(IoU cost, optionally fused with the score), then match the remaining tracked tracks to low-confidence detections
(the "byte" step: occluded objects often score low), then confirm last frame's new tracks, start new ones from
confident unmatched detections, and forget tracks lost for longer than the buffer.
"""

from __future__ import annotations

import numpy as np

from yolo8.track.kalman import XYAH, StateSpace
from yolo8.track.matching import box_iou, fuse_score, iou_distance, linear_assignment
from yolo8.track.track_state import Track, TrackState

SECOND_MATCH_THRESH = 0.5  # cost (1 - IoU) limit for low-score detections: they must overlap well
UNCONFIRMED_MATCH_THRESH = 0.7  # cost limit for confirming a track seen once
DUPLICATE_IOU = 0.85  # a tracked and a lost track overlapping this much are one object: keep the older


class ByteTracker:
    """Tracks class-agnostic boxes across the frames of one stream.

    Args:
        track_high_thresh: detections at or above this score take part in the first association.
        track_low_thresh: detections above this (and below the high one) take part in the second association.
        new_track_thresh: an unmatched detection starts a track only at or above this score.
        track_buffer: frames (at 30 fps) a lost track is kept before it is removed.
        match_thresh: largest cost (1 - IoU, score-fused) accepted in the first association.
        fuse_score: multiply IoU by the detection score in the first association's cost.
        frame_rate: frames per second of the stream; scales ``track_buffer``.

    ``state_space`` names the Kalman filter and its box conversions: ByteTrack's (cx, cy, aspect, h); BoT-SORT
    overrides it with (cx, cy, w, h). Everything that reads or writes a track's state goes through it.
    """

    state_space: StateSpace = XYAH

    def __init__(self, track_high_thresh: float = 0.25, track_low_thresh: float = 0.1, new_track_thresh: float = 0.25,
                 track_buffer: int = 30, match_thresh: float = 0.8, fuse_score: bool = True, frame_rate: float = 30.0):
        self.track_high_thresh = track_high_thresh
        self.track_low_thresh = track_low_thresh
        self.new_track_thresh = new_track_thresh
        self.match_thresh = match_thresh
        self.fuse_score = fuse_score
        self.max_time_lost = max(1, int(round(frame_rate / 30.0 * track_buffer)))
        self.kalman = self.state_space.make_filter()
        self.reset()

    def reset(self) -> None:
        """Forget every track; ids start again at 1."""
        self.frame = 0
        self.tracked: list[Track] = []  # NEW and TRACKED
        self.lost: list[Track] = []
        self._next_id = 1

    # ------------------------------------------------------------------ hooks for BoT-SORT
    def _compensate(self, tracks: list[Track], image: np.ndarray | None) -> None:
        """Camera-motion compensation of the predicted states (none in ByteTrack)."""

    def _first_cost(self, tracks: list[Track], boxes: np.ndarray, scores: np.ndarray, features) -> np.ndarray:
        """(T, D) cost of the first association."""
        cost = iou_distance(self._predicted(tracks), boxes)
        return fuse_score(cost, scores) if self.fuse_score else cost

    def _features(self, image: np.ndarray | None, boxes: np.ndarray):
        """Appearance embeddings (N, D) of the detections, or None (ByteTrack uses none)."""
        return None

    # ------------------------------------------------------------------ the frame step
    def update(self, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray,
               image: np.ndarray | None = None) -> np.ndarray:
        """Advance one frame.

        Args:
            boxes: (N, 4) x1, y1, x2, y2 pixels of this frame's detections.
            scores: (N,) confidences. classes: (N,) class ids.
            image: (H, W, 3) uint8 BGR frame (camera-motion compensation and ReID use it).

        Returns:
            (K, 8) float64 rows x1, y1, x2, y2, track id, score, class, detection index for the confirmed tracks
            matched in this frame (the box is the matched detection's).
        """
        self.frame += 1
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float64).reshape(-1)
        classes = np.asarray(classes, np.float64).reshape(-1)
        high = np.flatnonzero(scores >= self.track_high_thresh)
        low = np.flatnonzero((scores > self.track_low_thresh) & (scores < self.track_high_thresh))
        features = self._features(image, boxes[high]) if len(high) else None

        for track in self.tracked + self.lost:
            track.detection_index = -1
            if track.state != TrackState.TRACKED:
                track.mean[list(self.state_space.size_velocities)] = 0.0  # see StateSpace.size_velocities
        self._predict(self.tracked + self.lost)
        self._compensate(self.tracked + self.lost, image)

        unconfirmed = [t for t in self.tracked if not t.confirmed]
        pool = [t for t in self.tracked if t.confirmed] + self.lost
        # 1. confident detections against every confirmed track, tracked or lost
        cost = self._first_cost(pool, boxes[high], scores[high], features)
        matches, free_tracks, free_high = linear_assignment(cost, self.match_thresh)
        self._match([(pool[row], high[column], None if features is None else features[column])
                     for row, column in matches], boxes, scores, classes)
        # 2. low-confidence detections against the tracks still tracked (not the lost: too risky)
        remaining = [pool[i] for i in free_tracks if pool[i].state == TrackState.TRACKED]
        cost = iou_distance(self._predicted(remaining), boxes[low])
        matches, still_free, _ = linear_assignment(cost, SECOND_MATCH_THRESH)
        self._match([(remaining[row], low[column], None) for row, column in matches], boxes, scores, classes)
        for index in still_free:
            remaining[index].state = TrackState.LOST
        # 3. last frame's new tracks against the confident detections left
        left = high[free_high]
        left_features = None if features is None else features[free_high]
        cost = iou_distance(self._predicted(unconfirmed), boxes[left])
        cost = fuse_score(cost, scores[left]) if self.fuse_score else cost
        matches, dead, free_left = linear_assignment(cost, UNCONFIRMED_MATCH_THRESH)
        self._match([(unconfirmed[row], left[column], None if left_features is None else left_features[column])
                     for row, column in matches], boxes, scores, classes)
        for index in dead:
            unconfirmed[index].state = TrackState.REMOVED
        # 4. new tracks from confident unmatched detections (confirmed at once on a stream's first frame)
        for column in free_left:
            index = left[column]
            if scores[index] >= self.new_track_thresh:
                feature = None if left_features is None else left_features[column]
                self._start(index, boxes, scores, classes, feature)
        self._housekeep()
        rows = [[*t.box, t.track_id, t.score, t.class_id, t.detection_index]
                for t in self.tracked if t.confirmed and t.last_frame == self.frame]
        return np.asarray(rows, np.float64).reshape(-1, 8)

    def _predicted(self, tracks: list[Track]) -> np.ndarray:
        """(T, 4) xyxy of the tracks' Kalman states (the boxes used for association)."""
        return self.state_space.to_xyxy(np.stack([t.mean for t in tracks])) if tracks else np.zeros((0, 4))

    def _predict(self, tracks: list[Track]) -> None:
        if not tracks:
            return
        means, covariances = self.kalman.predict(np.stack([t.mean for t in tracks]),
                                                 np.stack([t.covariance for t in tracks]))
        for track, mean, covariance in zip(tracks, means, covariances):
            track.mean, track.covariance = mean, covariance

    def _match(self, pairs: list[tuple[Track, int, np.ndarray | None]], boxes, scores, classes) -> None:
        """Update each (track, detection index, embedding or None) pair, the Kalman filter in one batch; a lost
        track comes back with its id, a new one gets the next id."""
        if not pairs:
            return
        tracks = [track for track, _, _ in pairs]
        indices = np.array([index for _, index, _ in pairs])
        means, covariances = self.kalman.update_many(np.stack([t.mean for t in tracks]),
                                                     np.stack([t.covariance for t in tracks]),
                                                     self.state_space.from_xyxy(boxes[indices]))
        for (track, index, feature), mean, covariance in zip(pairs, means, covariances):
            track.mean, track.covariance = mean, covariance
            track.box, track.score, track.class_id = boxes[index].copy(), float(scores[index]), float(classes[index])
            track.detection_index, track.last_frame, track.hits = int(index), self.frame, track.hits + 1
            track.state = TrackState.TRACKED
            if not track.confirmed:
                track.track_id, self._next_id = self._next_id, self._next_id + 1
            if feature is not None:
                track.feature = _smooth(track.feature, feature)

    def _start(self, index: int, boxes, scores, classes, feature) -> None:
        mean, covariance = self.kalman.initiate(self.state_space.from_xyxy(boxes[index])[0])
        track = Track(mean, covariance, boxes[index].copy(), float(scores[index]), float(classes[index]), int(index),
                      start_frame=self.frame, last_frame=self.frame)
        if feature is not None:
            track.feature = _smooth(None, feature)
        if self.frame == 1:  # nothing to confirm against on the first frame: every confident object is real
            track.state = TrackState.TRACKED
            track.track_id, self._next_id = self._next_id, self._next_id + 1
        self.tracked.append(track)

    def _housekeep(self) -> None:
        """Sort tracks into tracked / lost, drop removed and expired ones, and resolve tracked-lost duplicates."""
        everything = self.tracked + self.lost
        for track in everything:
            if track.state == TrackState.LOST and self.frame - track.last_frame > self.max_time_lost:
                track.state = TrackState.REMOVED
        self.tracked = [t for t in everything if t.state in (TrackState.NEW, TrackState.TRACKED)]
        self.lost = [t for t in everything if t.state == TrackState.LOST]
        if self.tracked and self.lost:
            overlap = box_iou(self._predicted(self.tracked), self._predicted(self.lost))
            for i, j in zip(*np.nonzero(overlap > DUPLICATE_IOU)):
                tracked, lost = self.tracked[i], self.lost[j]
                older_lost = lost.last_frame - lost.start_frame > tracked.last_frame - tracked.start_frame
                (tracked if older_lost else lost).state = TrackState.REMOVED
            self.tracked = [t for t in self.tracked if t.state != TrackState.REMOVED]
            self.lost = [t for t in self.lost if t.state != TrackState.REMOVED]


def _smooth(old: np.ndarray | None, new: np.ndarray, alpha: float = 0.9) -> np.ndarray:
    """Exponential moving average of L2-normalised embeddings (BoT-SORT keeps alpha 0.9)."""
    new = new / max(float(np.linalg.norm(new)), 1e-12)
    mixed = new if old is None else alpha * old + (1 - alpha) * new
    return mixed / max(float(np.linalg.norm(mixed)), 1e-12)
