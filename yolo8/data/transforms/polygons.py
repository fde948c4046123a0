"""Pure helpers over a *polygon set*: the vertices of many polygons stored end to end.

A polygon set is ``points`` (P, 2) float32 xy plus ``owners`` (P,) int64, the index of the polygon
(label) each vertex belongs to, non-decreasing. Polygons never need a Python loop this way.
"""

from __future__ import annotations

import numpy as np


def _previous_vertex(owners: np.ndarray) -> np.ndarray:
    """(P,) index of each vertex's predecessor within its own polygon (the first wraps to the last)."""
    count = len(owners)
    previous = np.arange(-1, count - 1)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    ends = np.r_[starts[1:], count] - 1
    previous[starts] = ends
    return previous


def clip_polygons(
    points: np.ndarray, owners: np.ndarray, bounds: tuple[float, float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Clip every polygon of a set to the rectangle ``bounds`` (x1, y1, x2, y2).

    Sutherland-Hodgman against the four sides, vectorised over all vertices of all polygons.
    A polygon fully outside loses all its vertices. The bounds of each result are the tight box of
    the visible part of the object. Returns the clipped (P', 2) points and (P',) owners.
    """
    x1, y1, x2, y2 = bounds
    for axis, limit, keep_below in ((0, x1, False), (0, x2, True), (1, y1, False), (1, y2, True)):
        if len(points) == 0:
            break
        coordinate = points[:, axis]
        inside = coordinate <= limit if keep_below else coordinate >= limit
        if inside.all():
            continue
        previous_index = _previous_vertex(owners)
        previous = points[previous_index]
        crossing = inside != inside[previous_index]
        denominator = np.where(crossing, coordinate - previous[:, axis], 1.0)
        t = (limit - previous[:, axis]) / denominator
        intersection = previous + t[:, None] * (points - previous)
        intersection[:, axis] = limit
        keep = np.stack([crossing, inside], axis=1)  # (P, 2): emit the crossing point, then the vertex
        points = np.stack([intersection, points], axis=1)[keep].astype(np.float32)  # (P, 2, 2) -> (P', 2)
        owners = np.broadcast_to(owners[:, None], keep.shape)[keep]  # (P, 2) -> (P',)
    return points, owners


def polygon_bounds(points: np.ndarray, owners: np.ndarray, count: int) -> np.ndarray:
    """(count, 4) xyxy bounds of each polygon of a set; zeros for polygons without vertices."""
    bounds = np.zeros((count, 4), np.float32)
    if len(points) == 0:
        return bounds
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    present = owners[starts]
    bounds[present, :2] = np.minimum.reduceat(points, starts, axis=0)
    bounds[present, 2:] = np.maximum.reduceat(points, starts, axis=0)
    return bounds
