"""A constant-velocity Kalman filter for boxes in (cx, cy, aspect, h) space, as SORT / DeepSORT / ByteTrack use.

State (8,): cx, cy, a, h and their velocities; a = w / h. Measurement (4,): cx, cy, a, h. The noise of position
and velocity is proportional to the box height, so a far (small) object is trusted to move fewer pixels than a
near (large) one; the aspect ratio gets small fixed noise because shapes change their outline slowly.
"""

from __future__ import annotations

import numpy as np

POSITION_WEIGHT = 1.0 / 20  # std of position noise per pixel of box height
VELOCITY_WEIGHT = 1.0 / 160  # std of velocity noise per pixel of box height


class KalmanFilterXYAH:
    """Predict and update many boxes at once; every method takes and returns plain arrays (no state kept)."""

    def __init__(self, dt: float = 1.0):
        self.motion = np.eye(8)
        self.motion[:4, 4:] = dt * np.eye(4)  # position += velocity * dt
        self.observe = np.eye(4, 8)  # the measurement is the position part of the state

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """measurement (4,) cx, cy, a, h -> mean (8,) with zero velocity, covariance (8, 8)."""
        mean = np.r_[measurement, np.zeros(4)]
        h = measurement[3]
        std = [2 * POSITION_WEIGHT * h, 2 * POSITION_WEIGHT * h, 1e-2, 2 * POSITION_WEIGHT * h,
               10 * VELOCITY_WEIGHT * h, 10 * VELOCITY_WEIGHT * h, 1e-5, 10 * VELOCITY_WEIGHT * h]
        return mean, np.diag(np.square(std))

    def _process_noise(self, heights: np.ndarray) -> np.ndarray:
        """heights (N,) -> (N, 8, 8) diagonal process noise."""
        small_p, small_v = np.full_like(heights, 1e-2), np.full_like(heights, 1e-5)
        std = np.stack([POSITION_WEIGHT * heights, POSITION_WEIGHT * heights, small_p, POSITION_WEIGHT * heights,
                        VELOCITY_WEIGHT * heights, VELOCITY_WEIGHT * heights, small_v, VELOCITY_WEIGHT * heights], 1)
        return np.einsum("ni,ij->nij", np.square(std), np.eye(8))  # (N, 8) -> (N, 8, 8) diagonal

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One time step for N tracks: mean (N, 8), covariance (N, 8, 8) -> the same shapes."""
        if len(mean) == 0:
            return mean, covariance
        mean = mean @ self.motion.T
        covariance = self.motion @ covariance @ self.motion.T + self._process_noise(mean[:, 3])
        return mean, covariance

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """State (8,), (8, 8) -> expected measurement (4,) and its covariance (4, 4) including measurement noise."""
        h = mean[3]
        noise = np.diag(np.square([POSITION_WEIGHT * h, POSITION_WEIGHT * h, 1e-1, POSITION_WEIGHT * h]))
        return self.observe @ mean, self.observe @ covariance @ self.observe.T + noise

    def update(self, mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct one state (8,), (8, 8) with a measurement (4,) cx, cy, a, h."""
        means, covariances = self.update_many(mean[None], covariance[None], measurement[None])
        return means[0], covariances[0]

    def update_many(self, means: np.ndarray, covariances: np.ndarray,
                    measurements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct N states at once: means (N, 8), covariances (N, 8, 8), measurements (N, 4)."""
        h = means[:, 3]
        std = np.stack([POSITION_WEIGHT * h, POSITION_WEIGHT * h, np.full_like(h, 1e-1), POSITION_WEIGHT * h], 1)
        projected_mean = means[:, :4]  # H x: the position part
        cross = covariances[:, :, :4]  # (N, 8, 4) P H^T
        projected_cov = covariances[:, :4, :4] + np.einsum("ni,ij->nij", np.square(std), np.eye(4))  # (N, 4, 4) S
        # gain = P H^T S^-1, solved rather than inverted: S is symmetric positive definite
        gain = np.linalg.solve(projected_cov, cross.transpose(0, 2, 1)).transpose(0, 2, 1)  # (N, 8, 4)
        innovation = measurements - projected_mean
        new_means = means + np.einsum("nij,nj->ni", gain, innovation)
        new_covariances = covariances - gain @ projected_cov @ gain.transpose(0, 2, 1)
        return new_means, new_covariances


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
