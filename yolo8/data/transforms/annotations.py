"""The labels of one image in pixel coordinates, as they travel through the transforms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yolo8.data.transforms.polygons import clip_polygons
from yolo8.ops.boxes import denormalize_boxes, normalize_boxes, xywh_to_xyxy, xyxy_to_xywh

_NO_POINTS = np.zeros((0, 2), np.float32)
_NO_OWNERS = np.zeros((0,), np.int64)


def clip_boxes_to(boxes: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(N, 4) xyxy boxes clipped to one (4,) rectangle x1, y1, x2, y2 or to (N, 4) rectangles."""
    return np.clip(boxes, bounds[..., [0, 1, 0, 1]], bounds[..., [2, 3, 2, 3]])


@dataclass
class Annotations:
    """Labels of one image in that image's pixel frame.

    Attributes:
        classes: (N,) int64 class ids.
        boxes: (N, 4) float32 xyxy pixels.
        points: (P, 2) float32 xy pixels, the vertices of all polygons end to end.
        owners: (P,) int64 label index of each vertex, non-decreasing.
        has_segments: True when every label came with a polygon (boxes then follow the polygons).
    """

    classes: np.ndarray
    boxes: np.ndarray
    points: np.ndarray
    owners: np.ndarray
    has_segments: bool

    @classmethod
    def empty(cls, has_segments: bool = False) -> "Annotations":
        return cls(np.zeros((0,), np.int64), np.zeros((0, 4), np.float32), _NO_POINTS, _NO_OWNERS, has_segments)

    @classmethod
    def from_normalized(cls, classes, boxes_xywh, segments: list, width: int, height: int) -> "Annotations":
        """(N,) classes, (N, 4) xywh and N (K, 2) polygons normalised to [0, 1] (or [] for boxes only)
        -> labels in pixels of a (height, width) image."""
        boxes = xywh_to_xyxy(denormalize_boxes(np.asarray(boxes_xywh, np.float32).reshape(-1, 4), width, height))
        classes = np.asarray(classes, np.int64).reshape(-1)
        has_segments = len(segments) == len(classes) and len(segments) > 0
        if has_segments:
            points = np.concatenate(segments).astype(np.float32) * np.array([width, height], np.float32)
            owners = np.repeat(np.arange(len(segments)), [len(polygon) for polygon in segments])
        else:
            points, owners = _NO_POINTS, _NO_OWNERS
        return cls(classes, boxes.astype(np.float32, copy=False), points, owners, has_segments)

    def to_normalized(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray, list]:
        """-> (classes (N,), boxes (N, 4) xywh normalised, N polygons (K, 2) normalised or []) for a (height, width) image."""
        boxes = normalize_boxes(xyxy_to_xywh(self.boxes), width, height).astype(np.float32, copy=False)
        if not self.has_segments:
            return self.classes, boxes, []
        points = self.points * np.array([1 / width, 1 / height], np.float32)
        edges = np.searchsorted(self.owners, np.arange(len(self.classes) + 1)).tolist()
        return self.classes, boxes, [points[start:stop] for start, stop in zip(edges[:-1], edges[1:])]

    def __len__(self) -> int:
        return len(self.classes)

    def select(self, keep: np.ndarray) -> "Annotations":
        """The labels where the (N,) boolean mask ``keep`` is true."""
        if keep.all():
            return self
        kept_points = keep[self.owners]
        new_index = np.cumsum(keep) - 1
        return Annotations(
            self.classes[keep], self.boxes[keep], self.points[kept_points],
            new_index[self.owners[kept_points]], self.has_segments,
        )

    def clipped(self, bounds) -> "Annotations":
        """Boxes and polygons clipped to the pixel rectangle ``bounds`` (x1, y1, x2, y2), or to
        (N, 4) rectangles, one per label."""
        bounds = np.asarray(bounds, np.float32)
        boxes = clip_boxes_to(self.boxes, bounds)
        points, owners = clip_polygons(self.points, self.owners, bounds)
        return Annotations(self.classes, boxes, points, owners, self.has_segments)

    def with_geometry(self, boxes: np.ndarray, points: np.ndarray) -> "Annotations":
        """Same labels and polygon membership with new (N, 4) boxes and (P, 2) points."""
        return Annotations(self.classes, boxes, points, self.owners, self.has_segments)

    @staticmethod
    def concatenate(parts: list["Annotations"]) -> "Annotations":
        """One set of labels from several; polygons are kept only when every part has them."""
        if not parts:
            return Annotations.empty()
        has_segments = all(part.has_segments or len(part) == 0 for part in parts) and any(
            part.has_segments for part in parts
        )
        offsets = np.cumsum([0] + [len(part) for part in parts[:-1]])
        return Annotations(
            np.concatenate([part.classes for part in parts]),
            np.concatenate([part.boxes for part in parts]).astype(np.float32, copy=False),
            np.concatenate([part.points for part in parts]) if has_segments else _NO_POINTS,
            np.concatenate([part.owners + offset for part, offset in zip(parts, offsets)]) if has_segments else _NO_OWNERS,
            has_segments,
        )
