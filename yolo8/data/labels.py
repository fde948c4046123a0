"""Labels of one image as read from a YOLO txt file: the ImageLabels record, label-text parsing and the scan result."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class ImageLabels:
    """Everything the dataset needs to know about one image before reading its pixels.

    Attributes:
        image_file: path of the image.
        shape: (height, width) of the image as stored, after EXIF orientation is applied.
        classes: (N,) int64 class ids.
        boxes: (N, 4) float32 xywh normalised to [0, 1].
        segments: N polygons, each (K, 2) float32 xy normalised, or [] when the file has boxes only.
    """

    image_file: str
    shape: tuple[int, int]
    classes: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    segments: list = field(default_factory=list)

    @property
    def box_only(self) -> bool:
        """Labelled with boxes and no polygons (a detection label file)."""
        return len(self.classes) > 0 and not self.segments


@dataclass
class ScanResult:
    """Outcome of scanning a dataset's images and label files.

    Attributes:
        labels: one ImageLabels per usable image, in the order of the scanned image list.
        found: images whose label file has at least one valid row.
        missing: images without a label file (kept, as backgrounds).
        empty: images whose label file has no rows (kept, as backgrounds).
        corrupt: images skipped because the image or its label file is unusable.
        warnings: one message per problem, each naming the file and the reason.
        cache_file: where the result was cached (or loaded from), None when not cached.
        from_cache: True when the result was loaded from cache_file instead of scanned.
    """

    labels: list[ImageLabels]
    found: int = 0
    missing: int = 0
    empty: int = 0
    corrupt: int = 0
    warnings: list[str] = field(default_factory=list)
    cache_file: Path | None = None
    from_cache: bool = False


class LabelError(ValueError):
    """A label file that cannot be used; the message names the file, the line and the reason."""


COORDINATE_TOLERANCE = 1e-3  # normalised coordinates this far outside [0, 1] are clipped, not rejected


def _parse_row(fields: list[str], line_number: int, num_classes: int, where: str) -> tuple:
    """One row's text fields -> tuple of floats, validated; raises LabelError."""
    try:
        values = tuple(float(text) for text in fields)
    except ValueError:
        bad = next(text for text in fields if not _is_float(text))
        raise LabelError(f"{where} line {line_number}: non-numeric value '{bad}'") from None
    if not all(math.isfinite(value) for value in values):
        raise LabelError(f"{where} line {line_number}: non-finite value in {' '.join(fields)}")
    count = len(values)
    if count != 5 and (count < 7 or count % 2 == 0):
        raise LabelError(
            f"{where} line {line_number}: {count} values; expected 5 (class cx cy w h) or a class "
            "followed by at least 3 x y pairs (an odd count of 7 or more)"
        )
    class_id = values[0]
    if class_id != int(class_id):
        raise LabelError(f"{where} line {line_number}: class id {fields[0]} is not an integer")
    if not 0 <= class_id < num_classes:
        raise LabelError(
            f"{where} line {line_number}: class id {int(class_id)} outside 0..{num_classes - 1} "
            f"(the dataset has nc={num_classes})"
        )
    coordinates = values[1:]
    low, high = min(coordinates), max(coordinates)
    if low < -COORDINATE_TOLERANCE or high > 1 + COORDINATE_TOLERANCE:
        bad = low if low < -COORDINATE_TOLERANCE else high
        raise LabelError(
            f"{where} line {line_number}: coordinate {bad:g} outside [0, 1]; labels must be "
            "normalised by the image width and height"
        )
    return values


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _box_corners(cx: float, cy: float, w: float, h: float) -> np.ndarray:
    """xywh box -> (4, 2) polygon of its corners, clockwise from the top-left."""
    x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)


def _polygon_box(points: np.ndarray) -> np.ndarray:
    """(K, 2) xy polygon -> (4,) xywh of its bounding box."""
    low, high = points.min(axis=0), points.max(axis=0)
    return np.concatenate([(low + high) / 2, high - low])


def parse_label_text(text: str, num_classes: int, label_file: str = "<labels>"):
    """Parse a YOLO label file's text.

    Rows are 'class cx cy w h' (a box) or 'class x1 y1 x2 y2 x3 y3 …' (a polygon of ≥3 points),
    all coordinates normalised to [0, 1]. A leading byte-order mark is ignored. When any row is a polygon, every row gets a segment
    (box rows become their 4 corners) and every box is its polygon's bounding box.

    Returns:
        classes (N,) int64, boxes (N, 4) float32 xywh normalised, segments (list of N (K, 2)
        float32 arrays, or [] when all rows are boxes), warnings (list of str: duplicate rows removed, box rows
        among polygon rows).

    Raises:
        LabelError: a malformed row, a class id outside 0..num_classes-1 or a coordinate outside
            [0, 1]; the message names label_file, the line and the value.
    """
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark decoded as plain UTF-8
    rows, first_line, duplicate_lines, row_lines = [], {}, [], []
    for line_number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        values = _parse_row(fields, line_number, num_classes, label_file)
        if values in first_line:
            duplicate_lines.append(line_number)
            continue
        first_line[values] = line_number
        rows.append(values)
        row_lines.append(line_number)
    warnings = []
    if duplicate_lines:
        warnings.append(
            f"{label_file}: removed {len(duplicate_lines)} duplicate row(s) (line(s) "
            f"{', '.join(map(str, duplicate_lines[:10]))}{', …' if len(duplicate_lines) > 10 else ''})"
        )
    classes = np.array([int(row[0]) for row in rows], np.int64)
    if not any(len(row) > 5 for row in rows):
        boxes = np.array([row[1:] for row in rows], np.float32).reshape(-1, 4)
        return classes, np.clip(boxes, 0.0, 1.0), [], warnings
    box_lines = [line for row, line in zip(rows, row_lines) if len(row) <= 5]
    if box_lines:
        warnings.append(
            f"{label_file}: {len(box_lines)} box row(s) among polygon rows (line(s) "
            f"{', '.join(map(str, box_lines[:10]))}{', …' if len(box_lines) > 10 else ''}): their outline is "
            "taken to be their box's rectangle (a segmentation model learns a rectangular mask for them)"
        )
    segments = []
    for row in rows:
        points = np.array(row[1:], np.float32).reshape(-1, 2) if len(row) > 5 else _box_corners(*row[1:])
        segments.append(np.clip(points, 0.0, 1.0))  # (2K,) -> (K, 2) xy
    boxes = np.stack([_polygon_box(points) for points in segments]).astype(np.float32)
    return classes, boxes, segments, warnings
