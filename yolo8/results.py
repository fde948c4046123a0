"""What prediction returns: one :class:`Results` per image, holding its detections as :class:`Boxes`.

Boxes are in pixels of the *original* image (the letterbox is already undone). Tensors stay on the
device they were computed on until ``.cpu()`` / ``.numpy()``. Other tasks add their own fields
(masks, class probabilities) beside ``boxes``; every method treats a missing field as "nothing".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import cv2
import numpy as np
import torch

from yolo8.ops.boxes import normalize_boxes, xyxy_to_xywh
from yolo8.plotting import draw_detections


class Boxes:
    """Detections of one image.

    Args:
        data: (n, 6) Tensor or ndarray: x1, y1, x2, y2 (original-image pixels), confidence, class id.
        orig_shape: (height, width) of the original image, for the normalised views.
    """

    def __init__(self, data, orig_shape: tuple[int, int]):
        if data.ndim == 1:
            data = data[None]  # (6,) -> (1, 6): a single indexed detection
        if data.ndim != 2 or data.shape[1] != 6:
            raise ValueError(f"Boxes data must be (n, 6) x1, y1, x2, y2, conf, cls; got shape {tuple(data.shape)}.")
        self.data = data
        self.orig_shape = tuple(orig_shape)

    @property
    def xyxy(self):
        """(n, 4) x1, y1, x2, y2 pixels."""
        return self.data[:, :4]

    @property
    def conf(self):
        """(n,) confidences."""
        return self.data[:, 4]

    @property
    def cls(self):
        """(n,) class ids (float, as in ``data``)."""
        return self.data[:, 5]

    @property
    def xywh(self):
        """(n, 4) cx, cy, w, h pixels."""
        return xyxy_to_xywh(self.xyxy)

    @property
    def xyxyn(self):
        """(n, 4) x1, y1, x2, y2 divided by the image width / height."""
        return normalize_boxes(self.xyxy, self.orig_shape[1], self.orig_shape[0])

    @property
    def xywhn(self):
        """(n, 4) cx, cy, w, h divided by the image width / height (the YOLO label format)."""
        return normalize_boxes(self.xywh, self.orig_shape[1], self.orig_shape[0])

    @property
    def shape(self):
        return tuple(self.data.shape)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index) -> "Boxes":
        return Boxes(self.data[index], self.orig_shape)

    def __repr__(self) -> str:
        return f"Boxes(n={len(self)}, orig_shape={self.orig_shape})"

    def cpu(self) -> "Boxes":
        return self if isinstance(self.data, np.ndarray) else Boxes(self.data.cpu(), self.orig_shape)

    def numpy(self) -> "Boxes":
        return self if isinstance(self.data, np.ndarray) else Boxes(self.data.cpu().numpy(), self.orig_shape)

    def to(self, *args, **kwargs) -> "Boxes":
        """torch ``.to`` (device and/or dtype); numpy data is turned into a tensor first."""
        data = torch.as_tensor(self.data)
        return Boxes(data.to(*args, **kwargs), self.orig_shape)


def _as_numpy(values) -> np.ndarray:
    return values if isinstance(values, np.ndarray) else values.detach().cpu().float().numpy()


def _plural(name: str, count: int) -> str:
    if count == 1:
        return name
    return name + ("es" if name.endswith(("s", "x", "z", "ch", "sh")) else "s")


class Results:
    """Prediction for one image.

    Args:
        orig_img: (H, W, 3) uint8 BGR original image.
        path: the image's file (or a made-up name for in-memory images).
        names: class id -> class name.
        boxes: (n, 6) detections x1, y1, x2, y2, conf, cls in original pixels, or None.
        speed: milliseconds per stage: ``preprocess``, ``inference``, ``postprocess``.
    """

    def __init__(self, orig_img: np.ndarray, path: str, names: Mapping[int, str], boxes=None, speed=None):
        self.orig_img = orig_img
        self.orig_shape = tuple(orig_img.shape[:2])
        self.path = str(path)
        self.names = dict(names)
        self.boxes = None if boxes is None else Boxes(boxes, self.orig_shape)
        self.speed = dict(speed or {"preprocess": None, "inference": None, "postprocess": None})

    def __len__(self) -> int:
        return 0 if self.boxes is None else len(self.boxes)

    def __getitem__(self, index) -> "Results":
        return self._new(None if self.boxes is None else self.boxes[index].data)

    def __repr__(self) -> str:
        return f"Results(path={self.path!r}, orig_shape={self.orig_shape}, detections={len(self)}, speed={self.speed})"

    def _new(self, boxes) -> "Results":
        return Results(self.orig_img, self.path, self.names, boxes, self.speed)

    def cpu(self) -> "Results":
        return self._new(None if self.boxes is None else self.boxes.cpu().data)

    def numpy(self) -> "Results":
        return self._new(None if self.boxes is None else self.boxes.numpy().data)

    def to(self, *args, **kwargs) -> "Results":
        return self._new(None if self.boxes is None else self.boxes.to(*args, **kwargs).data)

    def counts_text(self) -> str:
        """Detections per class in class-id order, e.g. ``2 circles, 1 star``; ``(no detections)`` when empty."""
        if not len(self):
            return "(no detections)"
        classes, counts = np.unique(_as_numpy(self.boxes.cls).astype(int), return_counts=True)
        return ", ".join(
            f"{count} {_plural(self.names.get(c, str(c)), count)}"
            for c, count in zip(classes.tolist(), counts.tolist())
        )

    def plot(
        self, line_width: int | None = None, labels: bool = True, conf: bool = True, boxes: bool = True
    ) -> np.ndarray:
        """The original image with the detections drawn: (H, W, 3) uint8 BGR (a copy)."""
        if self.boxes is None:
            return self.orig_img.copy()
        return draw_detections(
            self.orig_img, _as_numpy(self.boxes.xyxy), _as_numpy(self.boxes.cls), _as_numpy(self.boxes.conf),
            self.names, line_width=line_width, labels=labels, conf=conf, boxes=boxes,
        )

    def save(self, filename, **plot_options) -> str:
        """Write :meth:`plot` (``plot_options`` are its arguments) to ``filename``; returns it."""
        filename = str(filename)
        if not cv2.imwrite(filename, self.plot(**plot_options)):
            raise OSError(f"cannot write image '{filename}': check the folder exists and the suffix is an image type.")
        return filename

    def save_txt(self, txt_file, save_conf: bool = False) -> str:
        """Write the detections as YOLO labels, one ``class cx cy w h [conf]`` line each (normalised).

        The file is overwritten; an image without detections gives an empty file. Returns the path.
        """
        lines = []
        if len(self):
            classes = _as_numpy(self.boxes.cls).astype(int)
            boxes = _as_numpy(self.boxes.xywhn)
            confidences = _as_numpy(self.boxes.conf)
            for class_id, box, confidence in zip(classes, boxes, confidences):
                values = [f"{v:.6g}" for v in box] + ([f"{confidence:.6g}"] if save_conf else [])
                lines.append(" ".join([str(class_id), *values]))
        Path(txt_file).write_text("".join(line + "\n" for line in lines))
        return str(txt_file)

    def save_crop(self, save_dir, file_name) -> list[str]:
        """Save each detection's pixels as ``save_dir/<class name>/<stem>.jpg`` (``<stem>2.jpg``… for repeats).

        The crop is the box rounded outward to whole pixels and clipped to the image. Returns the paths.
        """
        stem = Path(file_name).stem
        written, seen = [], {}
        if not len(self):
            return written
        height, width = self.orig_shape
        classes = _as_numpy(self.boxes.cls).astype(int)
        for class_id, (x1, y1, x2, y2) in zip(classes, _as_numpy(self.boxes.xyxy)):
            left, top = max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0)
            right, bottom = min(int(np.ceil(x2)), width), min(int(np.ceil(y2)), height)
            if right <= left or bottom <= top:
                continue
            name = self.names.get(int(class_id), str(class_id))
            seen[name] = seen.get(name, 0) + 1
            folder = Path(save_dir) / name
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{stem}{'' if seen[name] == 1 else seen[name]}.jpg"
            cv2.imwrite(str(path), self.orig_img[top:bottom, left:right])
            written.append(str(path))
        return written

    def summary(self, normalize: bool = False, decimals: int = 5) -> list[dict]:
        """One dict per detection: ``name``, ``class``, ``confidence``, ``box`` {x1, y1, x2, y2}.

        ``normalize`` divides the box by the image width / height.
        """
        if not len(self):
            return []
        boxes = _as_numpy(self.boxes.xyxyn if normalize else self.boxes.xyxy)
        records = []
        for (x1, y1, x2, y2), confidence, class_id in zip(
            boxes.tolist(), _as_numpy(self.boxes.conf).tolist(), _as_numpy(self.boxes.cls).astype(int).tolist()
        ):
            records.append({
                "name": self.names.get(class_id, str(class_id)),
                "class": class_id,
                "confidence": round(confidence, decimals),
                "box": {key: round(value, decimals) for key, value in zip(("x1", "y1", "x2", "y2"), (x1, y1, x2, y2))},
            })
        return records

    def to_json(self, normalize: bool = False, decimals: int = 5) -> str:
        """:meth:`summary` as a JSON string."""
        return json.dumps(self.summary(normalize=normalize, decimals=decimals), indent=2)
