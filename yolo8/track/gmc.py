"""Global (camera) motion between consecutive frames, as a 2x3 affine matrix, for BoT-SORT.

Methods: ``sparseOptFlow`` (corners tracked by pyramidal Lucas-Kanade, then a RANSAC similarity fit),
``ecc`` (OpenCV's enhanced-correlation-coefficient alignment, Euclidean motion) and ``none``. Frames are
downscaled first because camera motion is global and the estimate only needs a coarse view.
"""

from __future__ import annotations

import cv2
import numpy as np

GMC_METHODS = ("sparseOptFlow", "ecc", "none")


class CameraMotion:
    """Estimates the warp that maps the previous frame's pixels onto the current frame's.

    Args:
        method: one of :data:`GMC_METHODS` (``None`` means ``none``).
        downscale: frames are shrunk by this factor before estimation; the translation is scaled back.
    """

    def __init__(self, method: str | None = "sparseOptFlow", downscale: int = 2):
        method = "none" if method in (None, "None") else method
        if method not in GMC_METHODS:
            raise ValueError(f"gmc_method '{method}' is not available; use one of {', '.join(GMC_METHODS)}.")
        self.method = method
        self.downscale = max(1, int(downscale))
        self.previous: np.ndarray | None = None

    def reset(self) -> None:
        self.previous = None

    def estimate(self, image: np.ndarray | None) -> np.ndarray:
        """(H, W, 3) uint8 BGR frame -> (2, 3) float64 affine from the previous frame to this one (identity on
        the first frame, with ``none``, or when the estimate fails)."""
        identity = np.eye(2, 3)
        if self.method == "none" or image is None:
            return identity
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        if self.downscale > 1:
            gray = cv2.resize(gray, (gray.shape[1] // self.downscale, gray.shape[0] // self.downscale))
        previous, self.previous = self.previous, gray
        if previous is None or previous.shape != gray.shape:
            return identity
        warp = self._sparse_flow(previous, gray) if self.method == "sparseOptFlow" else self._ecc(previous, gray)
        if warp is None:
            return identity
        warp = warp.astype(np.float64)
        warp[:, 2] *= self.downscale  # translation back to full-resolution pixels
        return warp

    @staticmethod
    def _sparse_flow(previous: np.ndarray, current: np.ndarray) -> np.ndarray | None:
        # 200 well-spread corners fix a 4-parameter similarity with room to spare; tracking them costs a few ms,
        # where 1000 would cost ~10x more for the same estimate
        corners = cv2.goodFeaturesToTrack(previous, maxCorners=200, qualityLevel=0.01, minDistance=3, blockSize=3)
        if corners is None or len(corners) < 4:
            return None
        moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, current, corners, None, winSize=(15, 15), maxLevel=2)
        good = status.reshape(-1).astype(bool)
        if good.sum() < 4:
            return None
        warp, _ = cv2.estimateAffinePartial2D(corners[good], moved[good], method=cv2.RANSAC)
        return warp

    @staticmethod
    def _ecc(previous: np.ndarray, current: np.ndarray) -> np.ndarray | None:
        warp = np.eye(2, 3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
        try:
            # findTransformECC(template, input) finds the warp taking the input onto the template, so the
            # current frame is the template to get previous -> current
            _, warp = cv2.findTransformECC(current, previous, warp, cv2.MOTION_EUCLIDEAN, criteria, None, 1)
        except cv2.error:
            return None
        return cv2.invertAffineTransform(warp)


def apply_warp(means: np.ndarray, covariances: np.ndarray, warp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move Kalman states by a camera warp: means (N, 8) cx, cy, a, h + velocities, covariances (N, 8, 8).

    The centre is warped (rotation + translation), its velocity rotated; aspect and height stay, since the
    warps here are close to rigid.
    """
    if len(means) == 0 or np.allclose(warp, np.eye(2, 3)):
        return means, covariances
    rotation, translation = warp[:, :2], warp[:, 2]
    block = np.eye(8)
    block[:2, :2] = rotation
    block[4:6, 4:6] = rotation
    means = means @ block.T
    means[:, :2] += translation
    covariances = block @ covariances @ block.T
    return means, covariances
