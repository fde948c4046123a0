"""Pure helpers over a *polygon set*: the vertices of many polygons stored end to end.

A polygon set is ``points`` (P, 2) float32 xy plus ``owners`` (P,) int64, the index of the polygon
(label) each vertex belongs to, non-decreasing. Polygons never need a Python loop this way.
"""

from __future__ import annotations

import numpy as np


def _polygon_starts(owners: np.ndarray) -> np.ndarray:
    """Indices where a new polygon starts in a non-decreasing (P,) owners array (P >= 1)."""
    changes = np.empty(len(owners), bool)
    changes[0] = True
    np.not_equal(owners[1:], owners[:-1], out=changes[1:])
    return np.flatnonzero(changes)


def _previous_vertex(owners: np.ndarray) -> np.ndarray:
    """(P,) index of each vertex's predecessor within its own polygon (the first wraps to the last)."""
    previous = np.arange(-1, len(owners) - 1)
    starts = _polygon_starts(owners)
    previous[starts] = np.append(starts[1:], len(owners)) - 1
    return previous


def clip_polygons(points: np.ndarray, owners: np.ndarray, bounds) -> tuple[np.ndarray, np.ndarray]:
    """Clip every polygon of a set to a rectangle.

    Args:
        points, owners: the polygon set.
        bounds: one rectangle (x1, y1, x2, y2) for all polygons, or (N, 4) one per polygon owner.
    Returns:
        The clipped (P', 2) points and (P',) owners. Sutherland-Hodgman against the four sides,
        vectorised over all vertices of all polygons; a polygon fully outside loses all its vertices.
        The bounds of each result are the tight box of the visible part of the object.
    """
    per_owner = isinstance(bounds, np.ndarray) and bounds.ndim == 2
    for side, (axis, keep_below) in enumerate(((0, False), (1, False), (0, True), (1, True))):
        if len(points) == 0:
            break
        limit = bounds[owners, side] if per_owner else bounds[side]
        coordinate = points[:, axis]
        inside = coordinate <= limit if keep_below else coordinate >= limit
        if inside.all():
            continue
        previous_index = _previous_vertex(owners)
        previous = points[previous_index]
        crossing = inside != inside[previous_index]
        previous_coordinate = previous[:, axis]
        t = (limit - previous_coordinate) / np.where(crossing, coordinate - previous_coordinate, 1.0)
        candidates = np.empty((len(points), 2, 2), np.float32)  # per vertex: crossing point, vertex
        candidates[:, 0] = previous + t[:, None] * (points - previous)
        candidates[:, 0, axis] = limit  # exactly on the side despite rounding
        candidates[:, 1] = points
        keep = np.empty((len(points), 2), bool)
        keep[:, 0], keep[:, 1] = crossing, inside
        points = candidates[keep]  # (P, 2, 2) -> (P', 2)
        owners = np.repeat(owners, keep.sum(axis=1))
    return points, owners


def polygon_bounds(points: np.ndarray, owners: np.ndarray, count: int) -> np.ndarray:
    """(count, 4) xyxy bounds of each polygon of a set; zeros for polygons without vertices."""
    bounds = np.zeros((count, 4), np.float32)
    if len(points) == 0:
        return bounds
    starts = _polygon_starts(owners)
    present = owners[starts]
    bounds[present, :2] = np.minimum.reduceat(points, starts, axis=0)
    bounds[present, 2:] = np.maximum.reduceat(points, starts, axis=0)
    return bounds
