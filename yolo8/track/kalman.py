"""Constant-velocity Kalman filters for boxes, and the state spaces the trackers run them in.

Two parametrisations of a box, each with its own noise model:

- ``xyah`` (SORT / DeepSORT / ByteTrack): state (8,) cx, cy, a, h and their velocities, a = w / h; measurement
  (4,) cx, cy, a, h. Position and velocity noise are proportional to the box height, so a far (small) object is
  trusted to move fewer pixels than a near (large) one; the aspect ratio gets small fixed noise because shapes
  change their outline slowly.
- ``xywh`` (BoT-SORT, Aharon et al. 2022, eq. 1-2): state (8,) cx, cy, w, h and their velocities; measurement
  (4,) cx, cy, w, h. The noise of the x and w terms is proportional to the width, that of the y and h terms to the
  height, so the width is estimated directly (its box fits better than one rebuilt from a drifting aspect ratio).

Both share the same motion (position += velocity per frame) and the same algebra; only the noise differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

POSITION_WEIGHT = 1.0 / 20  # std of position noise per pixel of box size (sigma_p = sigma_m = 0.05 in BoT-SORT)
VELOCITY_WEIGHT = 1.0 / 160  # std of velocity noise per pixel of box size (sigma_v = 0.00625)


def _diagonal(std: np.ndarray) -> np.ndarray:
    """std (N, D) -> (N, D, D) diagonal covariances."""
    return np.einsum("ni,ij->nij", np.square(std), np.eye(std.shape[1]))


class _ConstantVelocityKalman:
    """Predict and update many boxes at once; every method takes and returns plain arrays (no state kept).

    Subclasses give the noise: ``_initial_std``, ``_process_std`` and ``_measurement_std``.
    """

    def __init__(self, dt: float = 1.0):
        self.motion = np.eye(8)
        self.motion[:4, 4:] = dt * np.eye(4)  # position += velocity * dt
        self.observe = np.eye(4, 8)  # the measurement is the position part of the state

    def _initial_std(self, measurement: np.ndarray) -> np.ndarray:
        """measurement (4,) -> (8,) std of a new track's state."""
        raise NotImplementedError

    def _process_std(self, means: np.ndarray) -> np.ndarray:
        """means (N, 8) -> (N, 8) std of the motion noise added per step."""
        raise NotImplementedError

    def _measurement_std(self, means: np.ndarray) -> np.ndarray:
        """means (N, 8) -> (N, 4) std of the detector's noise on a box of that size."""
        raise NotImplementedError

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """measurement (4,) -> mean (8,) with zero velocity, covariance (8, 8)."""
        mean = np.r_[measurement, np.zeros(4)].astype(np.float64)
        return mean, np.diag(np.square(self._initial_std(mean[:4])))

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One time step for N tracks: mean (N, 8), covariance (N, 8, 8) -> the same shapes."""
        if len(mean) == 0:
            return mean, covariance
        mean = mean @ self.motion.T
        covariance = self.motion @ covariance @ self.motion.T + _diagonal(self._process_std(mean))
        return mean, covariance

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """State (8,), (8, 8) -> expected measurement (4,) and its covariance (4, 4) including measurement noise."""
        noise = _diagonal(self._measurement_std(mean[None]))[0]
        return self.observe @ mean, self.observe @ covariance @ self.observe.T + noise

    def update(self, mean: np.ndarray, covariance: np.ndarray,
               measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct one state (8,), (8, 8) with a measurement (4,)."""
        means, covariances = self.update_many(mean[None], covariance[None], measurement[None])
        return means[0], covariances[0]

    def update_many(self, means: np.ndarray, covariances: np.ndarray,
                    measurements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct N states at once: means (N, 8), covariances (N, 8, 8), measurements (N, 4)."""
        projected_mean = means[:, :4]  # H x: the position part
        cross = covariances[:, :, :4]  # (N, 8, 4) P H^T
        projected_cov = covariances[:, :4, :4] + _diagonal(self._measurement_std(means))  # (N, 4, 4) S
        # gain = P H^T S^-1, solved rather than inverted: S is symmetric positive definite
        gain = np.linalg.solve(projected_cov, cross.transpose(0, 2, 1)).transpose(0, 2, 1)  # (N, 8, 4)
        innovation = measurements - projected_mean
        new_means = means + np.einsum("nij,nj->ni", gain, innovation)
        new_covariances = covariances - gain @ projected_cov @ gain.transpose(0, 2, 1)
        return new_means, new_covariances


class KalmanFilterXYAH(_ConstantVelocityKalman):
    """State cx, cy, a, h + velocities; noise proportional to the height, small fixed noise on the aspect."""

    def _initial_std(self, measurement: np.ndarray) -> np.ndarray:
        h = measurement[3]
        return np.array([2 * POSITION_WEIGHT * h, 2 * POSITION_WEIGHT * h, 1e-2, 2 * POSITION_WEIGHT * h,
                         10 * VELOCITY_WEIGHT * h, 10 * VELOCITY_WEIGHT * h, 1e-5, 10 * VELOCITY_WEIGHT * h])

    def _process_std(self, means: np.ndarray) -> np.ndarray:
        h = means[:, 3]
        position, velocity = POSITION_WEIGHT * h, VELOCITY_WEIGHT * h
        return np.stack([position, position, np.full_like(h, 1e-2), position,
                         velocity, velocity, np.full_like(h, 1e-5), velocity], 1)

    def _measurement_std(self, means: np.ndarray) -> np.ndarray:
        h = means[:, 3]
        return np.stack([POSITION_WEIGHT * h, POSITION_WEIGHT * h, np.full_like(h, 1e-1), POSITION_WEIGHT * h], 1)


class KalmanFilterXYWH(_ConstantVelocityKalman):
    """State cx, cy, w, h + velocities; x and w terms' noise proportional to w, y and h terms' to h (BoT-SORT)."""

    def _initial_std(self, measurement: np.ndarray) -> np.ndarray:
        w, h = measurement[2], measurement[3]
        return np.array([2 * POSITION_WEIGHT * w, 2 * POSITION_WEIGHT * h, 2 * POSITION_WEIGHT * w,
                         2 * POSITION_WEIGHT * h, 10 * VELOCITY_WEIGHT * w, 10 * VELOCITY_WEIGHT * h,
                         10 * VELOCITY_WEIGHT * w, 10 * VELOCITY_WEIGHT * h])

    def _process_std(self, means: np.ndarray) -> np.ndarray:
        w, h = means[:, 2], means[:, 3]
        return np.stack([POSITION_WEIGHT * w, POSITION_WEIGHT * h, POSITION_WEIGHT * w, POSITION_WEIGHT * h,
                         VELOCITY_WEIGHT * w, VELOCITY_WEIGHT * h, VELOCITY_WEIGHT * w, VELOCITY_WEIGHT * h], 1)

    def _measurement_std(self, means: np.ndarray) -> np.ndarray:
        w, h = means[:, 2], means[:, 3]
        return np.stack([POSITION_WEIGHT * w, POSITION_WEIGHT * h, POSITION_WEIGHT * w, POSITION_WEIGHT * h], 1)


def xyxy_to_xyah(boxes: np.ndarray) -> np.ndarray:
    """boxes (N, 4) x1, y1, x2, y2 -> (N, 4) cx, cy, w / h, h."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return np.stack([boxes[:, 0] + w / 2, boxes[:, 1] + h / 2, w / np.maximum(h, 1e-6), h], 1)


def xyah_to_xyxy(states: np.ndarray) -> np.ndarray:
    """states (N, >=4) cx, cy, a, h, ... -> (N, 4) x1, y1, x2, y2."""
    states = np.asarray(states, dtype=np.float64).reshape(len(states), -1)
    h = states[:, 3]
    w = states[:, 2] * h
    return np.stack([states[:, 0] - w / 2, states[:, 1] - h / 2, states[:, 0] + w / 2, states[:, 1] + h / 2], 1)


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """boxes (N, 4) x1, y1, x2, y2 -> (N, 4) cx, cy, w, h."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return np.stack([boxes[:, 0] + w / 2, boxes[:, 1] + h / 2, w, h], 1)


def xywh_to_xyxy(states: np.ndarray) -> np.ndarray:
    """states (N, >=4) cx, cy, w, h, ... -> (N, 4) x1, y1, x2, y2."""
    states = np.asarray(states, dtype=np.float64).reshape(len(states), -1)
    half_w, half_h = states[:, 2] / 2, states[:, 3] / 2
    return np.stack([states[:, 0] - half_w, states[:, 1] - half_h, states[:, 0] + half_w, states[:, 1] + half_h], 1)


@dataclass(frozen=True)
class StateSpace:
    """How a tracker's Kalman states read: the filter, the box conversions, and which entries are sizes.

    Attributes:
        layout: ``"xyah"`` or ``"xywh"`` (what :func:`yolo8.track.gmc.apply_warp` needs to know).
        make_filter: builds the Kalman filter of this space.
        from_xyxy: boxes (N, 4) xyxy -> (N, 4) measurements.
        to_xyxy: states (N, >=4) -> (N, 4) xyxy.
        size_velocities: state entries zeroed while a track is lost: it keeps moving but stops growing or
            shrinking, since nothing measures its size.
    """

    layout: str
    make_filter: Callable[[], _ConstantVelocityKalman]
    from_xyxy: Callable[[np.ndarray], np.ndarray]
    to_xyxy: Callable[[np.ndarray], np.ndarray]
    size_velocities: tuple[int, ...]


XYAH = StateSpace("xyah", KalmanFilterXYAH, xyxy_to_xyah, xyah_to_xyxy, size_velocities=(7,))
XYWH = StateSpace("xywh", KalmanFilterXYWH, xyxy_to_xywh, xywh_to_xyxy, size_velocities=(6, 7))
