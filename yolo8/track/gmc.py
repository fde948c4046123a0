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


STATE_LAYOUTS = ("xyah", "xywh")


def apply_warp(means: np.ndarray, covariances: np.ndarray, warp: np.ndarray,
               layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Move Kalman states by a camera warp.

    Args:
        means: (N, 8) states, ``layout`` ``"xywh"`` (cx, cy, w, h + velocities) or ``"xyah"`` (cx, cy, a, h + ...).
        covariances: (N, 8, 8) their covariances.
        warp: (2, 3) affine, previous frame -> current frame pixels.
        layout: the states' parametrisation (:data:`STATE_LAYOUTS`).

    Returns:
        means (N, 8) and covariances (N, 8, 8) in the current frame. The centre goes through the full affine, its
        velocity through the linear part; sizes (w, h, or h with the aspect unchanged) and their velocities are
        multiplied by the warp's scale sqrt(|det|) of the linear part (exact for the similarity warps estimated here).
        The covariance goes through the same linear map: P' = T P T^T.
    """
    if layout not in STATE_LAYOUTS:
        raise ValueError(f"state layout '{layout}' is unknown; use one of {', '.join(STATE_LAYOUTS)}.")
    if len(means) == 0 or np.allclose(warp, np.eye(2, 3)):
        return means, covariances
    linear, translation = warp[:, :2], warp[:, 2]
    scale = float(np.sqrt(abs(np.linalg.det(linear))))
    transform = np.eye(8)
    transform[:2, :2] = linear  # centre
    transform[4:6, 4:6] = linear  # centre velocity
    sizes = (2, 3) if layout == "xywh" else (3,)  # an aspect ratio is scale-free
    for index in sizes:
        transform[index, index] = transform[index + 4, index + 4] = scale
    means = means @ transform.T
    means[:, :2] += translation
    covariances = transform @ covariances @ transform.T
    return means, covariances
