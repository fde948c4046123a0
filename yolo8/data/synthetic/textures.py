"""Colours and textures for the built-in dataset: image backgrounds, object fills, clutter.

All functions draw from a numpy Generator and return float32 BGR arrays in [0, 255] (callers
clip and convert once), so the same seed gives the same pixels.
"""

from __future__ import annotations

import cv2
import numpy as np


def random_colour(rng: np.random.Generator) -> np.ndarray:
    """(3,) float32 BGR colour; about one in eight is a grey."""
    if rng.random() < 0.125:
        return np.full(3, rng.uniform(0, 255), np.float32)
    return rng.uniform(0, 255, 3).astype(np.float32)


def _direction_ramp(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(H, W) float32 distance in pixels along a random direction, starting at 0."""
    angle = rng.uniform(0, np.pi)
    xs = np.arange(width, dtype=np.float32)[None, :] * np.float32(np.cos(angle))  # (1, W)
    ys = np.arange(height, dtype=np.float32)[:, None] * np.float32(np.sin(angle))  # (H, 1)
    ramp = xs + ys  # (1, W) + (H, 1) -> (H, W)
    return ramp - ramp.min()


def grain(rng: np.random.Generator, height: int, width: int, sigma: float) -> np.ndarray:
    """(H, W, 3) float32 zero-mean uniform noise with standard deviation sigma (cheap sensor grain)."""
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8).astype(np.float32)
    noise -= np.float32(127.5)
    noise *= np.float32(sigma / 73.9)  # 73.9 = standard deviation of uniform integers 0..255
    return noise


def _blend(first: np.ndarray, second: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per-pixel mix of two colours (3,): weight (H, W) in [0, 1] -> (H, W, 3) float32."""
    step = second - first
    return cv2.merge([weight * step[c] + first[c] for c in range(3)])  # 3 x (H, W) -> (H, W, 3)


def smooth_noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Large soft colour blotches: a coarse random colour grid upsampled bicubically."""
    grid = rng.uniform(0, 255, (int(rng.integers(2, 9)), int(rng.integers(2, 9)), 3)).astype(np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)


def gradient(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Linear gradient between two random colours in a random direction."""
    ramp = _direction_ramp(rng, height, width)
    return _blend(random_colour(rng), random_colour(rng), ramp / max(float(ramp.max()), 1.0))


def stripes(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Hard or soft stripes of two random colours, random angle and period (4-40 px)."""
    phase = _direction_ramp(rng, height, width) * np.float32(2 * np.pi / rng.uniform(4, 40))
    wave = np.sin(phase + np.float32(rng.uniform(0, 2 * np.pi)))
    weight = (wave > 0).astype(np.float32) if rng.random() < 0.5 else 0.5 + 0.5 * wave
    return _blend(random_colour(rng), random_colour(rng), weight)


def blotches(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A flat colour under layers of irregular soft-edged patches (thresholded smooth noise).

    The patches are organic on purpose: ellipses here would look like unlabelled circles.
    """
    image = np.empty((height, width, 3), np.float32)
    image[:] = random_colour(rng)
    for _ in range(int(rng.integers(2, 5))):
        grid = rng.random((int(rng.integers(3, 10)), int(rng.integers(3, 10))), dtype=np.float32)
        field = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        image[field > np.float32(rng.uniform(0.55, 0.8))] = random_colour(rng)
    return cv2.GaussianBlur(image, (0, 0), rng.uniform(1.0, 3.0))


def pixel_noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random colour with strong per-pixel noise (a grainy surface)."""
    base = random_colour(rng)
    return base + grain(rng, height, width, rng.uniform(10, 35))


_BACKGROUNDS = (smooth_noise, gradient, stripes, blotches, pixel_noise)
_FILLS = (gradient, stripes, smooth_noise, pixel_noise)


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(H, W, 3) float32 textured background: one or two texture kinds blended, plus grain."""
    first = _BACKGROUNDS[int(rng.integers(len(_BACKGROUNDS)))](rng, height, width)
    if rng.random() < 0.5:
        second = _BACKGROUNDS[int(rng.integers(len(_BACKGROUNDS)))](rng, height, width)
        alpha = np.float32(rng.uniform(0.25, 0.6))
        first = first * (1 - alpha) + second * alpha
    return first + grain(rng, height, width, rng.uniform(1, 8))


def object_fill(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(h, w, 3) float32 surface for one object: solid (40 %) or a texture of the same kinds."""
    if rng.random() < 0.4:
        fill = np.empty((height, width, 3), np.float32)
        fill[:] = random_colour(rng)
        return fill
    return _FILLS[int(rng.integers(len(_FILLS)))](rng, height, width)


def add_clutter(rng: np.random.Generator, image: np.ndarray) -> None:
    """Paint unlabelled distractors in place: thin lines and irregular blobs (no class shape)."""
    height, width = image.shape[:2]
    for _ in range(int(rng.integers(0, 5))):
        points = rng.integers(0, [width, height], (2, 2))
        thickness = int(rng.integers(1, 4))
        cv2.line(image, tuple(map(int, points[0])), tuple(map(int, points[1])), random_colour(rng).tolist(), thickness)
    for _ in range(int(rng.integers(0, 3))):
        vertices = int(rng.integers(7, 13))
        angles = np.sort(rng.uniform(0, 2 * np.pi, vertices))
        radius = rng.uniform(0.02, 0.12) * min(height, width) * rng.uniform(0.3, 1.0, vertices)
        centre = rng.uniform(0, 1, 2) * [width, height]
        outline = centre + radius[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        cv2.fillPoly(image, [np.round(outline).astype(np.int32)], random_colour(rng).tolist())
