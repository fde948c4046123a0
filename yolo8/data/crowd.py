"""Crowd regions beside YOLO labels: the ``labels/<split>.crowd.json`` sidecar written by ``yolo8 convert coco``.

YOLO label rows have no crowd flag, so COCO's ``iscrowd: 1`` annotations are kept in a sidecar that
YOLO tools ignore (it is not a ``.txt`` inside the split's label folder):

* File: ``<dataset>/labels/<split>.crowd.json``, beside the folder ``labels/<split>/``.
* Content: a JSON object ``{image key: [[cls, x1, y1, x2, y2], ...]}``; ``cls`` is the class index (as
  in the label rows), the box is xyxy normalised by the image width / height (6 decimals).
* Image key: the image path relative to ``images/<split>/`` without its extension, with ``/``
  separators (the file stem for COCO's flat folders): ``images/val2017/000000000139.jpg`` ->
  ``000000000139``. Images without crowd regions are absent.

Validation adds these boxes as ground truth with ``iscrowd=1``: as in COCOeval, a detection matched to a
crowd region is neither a true nor a false positive, and crowd regions are not counted as instances.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

CROWD_SUFFIX = ".crowd.json"


def crowd_file_for(image_file) -> tuple[Path, str] | None:
    """Where an image's crowd regions would be: (sidecar file, image key), or None outside an images/<split>/ tree.

    Example: 'data/images/val2017/sub/a.jpg' -> ('data/labels/val2017.crowd.json', 'sub/a').
    """
    images_part = f"{os.sep}images{os.sep}"
    head, separator, tail = os.path.normpath(str(image_file)).rpartition(images_part)
    parts = Path(tail).parts
    if not separator or len(parts) < 2:
        return None
    split, relative = parts[0], Path(*parts[1:])
    return Path(head) / "labels" / f"{split}{CROWD_SUFFIX}", relative.with_suffix("").as_posix()


def write_crowd_file(crowd_file, regions: dict[str, list]) -> None:
    """Write ``{image key: [[cls, x1, y1, x2, y2] normalised, ...]}`` (see the module docstring)."""
    rounded = {key: [[int(row[0])] + [round(float(v), 6) for v in row[1:5]] for row in rows]
               for key, rows in regions.items()}
    Path(crowd_file).write_text(json.dumps(rounded, separators=(",", ":")), encoding="utf-8")


def _region_rows(rows) -> np.ndarray | None:
    """[[cls, x1, y1, x2, y2], ...] -> ndarray[K, 5], or None when it is not that."""
    try:
        array = np.asarray(rows, np.float64)
    except (TypeError, ValueError):
        return None
    if array.size == 0:
        return array.reshape(0, 5)
    return array if array.ndim == 2 and array.shape[1] == 5 else None


def read_crowd_file(crowd_file, num_classes: int | None = None) -> dict[str, np.ndarray]:
    """A sidecar -> {image key: ndarray[K, 5] (cls, x1, y1, x2, y2 normalised)}.

    Raises:
        ValueError: not JSON, not an object of lists of 5 numbers, or a class outside [0, num_classes).
    """
    crowd_file = Path(crowd_file)
    try:
        data = json.loads(crowd_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"crowd regions '{crowd_file}': not valid JSON ({error}); delete it or convert the "
                         "COCO split again.") from None
    if not isinstance(data, dict):
        raise ValueError(f"crowd regions '{crowd_file}': expected a JSON object {{image key: [[cls, x1, y1, x2, y2], "
                         f"...]}}, got {type(data).__name__}.")
    regions = {}
    for key, rows in data.items():
        array = _region_rows(rows)
        if array is None:
            raise ValueError(f"crowd regions '{crowd_file}': entry '{key}' must be a list of [cls, x1, y1, x2, y2], "
                             f"got {rows!r}.")
        classes = array[:, 0]
        if len(array) and (np.any(classes != np.round(classes)) or classes.min() < 0
                           or (num_classes is not None and classes.max() >= num_classes)):
            raise ValueError(f"crowd regions '{crowd_file}': entry '{key}' has class ids {classes.tolist()}, not "
                             f"integers in [0, {num_classes}); does the file belong to this dataset?")
        regions[str(key)] = array
    return regions


class CrowdRegions:
    """Looks up an image's crowd regions, reading each sidecar once.

    Args:
        num_classes: classes of the dataset (crowd classes are checked against it).
        single_class: report every crowd region as class 0 (``single_cls``).
    """

    def __init__(self, num_classes: int, single_class: bool = False):
        self.num_classes = int(num_classes)
        self.single_class = bool(single_class)
        self._files: dict[Path, dict[str, np.ndarray] | None] = {}

    def __call__(self, image_file, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Crowd regions of one image of ``shape`` (height, width): classes (ndarray[K] int64) and
        boxes (ndarray[K, 4], xyxy, original-image pixels); K = 0 without a sidecar."""
        location = crowd_file_for(image_file)
        if location is None:
            return np.zeros(0, np.int64), np.zeros((0, 4))
        crowd_file, key = location
        if crowd_file not in self._files:
            self._files[crowd_file] = read_crowd_file(crowd_file, self.num_classes) if crowd_file.is_file() else None
        regions = (self._files[crowd_file] or {}).get(key, np.zeros((0, 5)))
        height, width = shape
        classes = np.zeros(len(regions), np.int64) if self.single_class else regions[:, 0].astype(np.int64)
        return classes, regions[:, 1:5] * (width, height, width, height)

    @property
    def files(self) -> list[Path]:
        """The sidecars found so far."""
        return [file for file, regions in self._files.items() if regions is not None]


def crowd_annotations(first_id: int, image_id, boxes_xyxy, classes, category_ids: list[int]) -> list[dict]:
    """Crowd regions of one image -> COCO annotation dicts with ``iscrowd: 1`` and ``area`` = box area.

    Args:
        first_id: annotation id of the first region (the others follow).
        boxes_xyxy (ndarray[K, 4], xyxy, original-image pixels), classes (ndarray[K] class indices).
        category_ids: class index -> COCO category id.
    """
    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    ltwh = np.round(np.concatenate((boxes[:, :2], boxes[:, 2:] - boxes[:, :2]), 1), 3)  # (K, 4) xyxy -> ltwh
    return [{"id": first_id + index, "image_id": image_id, "category_id": category_ids[int(cls)],
             "bbox": box.tolist(), "area": round(float(box[2] * box[3]), 6), "iscrowd": 1}
            for index, (box, cls) in enumerate(zip(ltwh, np.asarray(classes).reshape(-1)))]
