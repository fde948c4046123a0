"""What prediction returns: one :class:`Results` per image.

Detection fills ``boxes`` (:class:`Boxes`), segmentation ``boxes`` and ``masks`` (:class:`Masks`, one per
box), classification ``probs`` (:class:`Probs`). Boxes and masks are in pixels of the *original* image
(the letterbox is already undone). Tensors stay on the device they were computed on until ``.cpu()`` /
``.numpy()``. Every method treats a missing field as "nothing".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import cv2
import numpy as np

from yolo8.plotting import (
    class_colour,
    default_line_width,
    draw_box,
    draw_detections,
    draw_label,
    draw_masks,
    draw_text_lines,
    label_text,
)
from yolo8.result_parts import Boxes, Masks, Probs
from yolo8.result_parts import as_numpy as _as_numpy

__all__ = ["Boxes", "Masks", "Probs", "Results"]


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
        boxes: (n, 6) detections x1, y1, x2, y2, conf, cls in original pixels (tracking: (n, 7) with the track id
            before conf), or None.
        speed: milliseconds per stage: ``preprocess``, ``inference``, ``postprocess``.
        masks: (n, H, W) bool instance masks in original pixels, one per box (segmentation), or None.
        probs: (nc,) class probabilities (classification), or None.

    ``len()`` is the number of detections, or for classification the number of classes (as in YOLOv8).
    ``keypoints`` and ``obb`` are always None (yolo8 has no pose or oriented-box task); they exist so
    YOLOv8 scripts that test them keep working.
    """

    def __init__(self, orig_img: np.ndarray, path: str, names: Mapping[int, str], boxes=None, speed=None,
                 masks=None, probs=None):
        self.orig_img = orig_img
        self.orig_shape = tuple(orig_img.shape[:2])
        self.path = str(path)
        self.names = dict(names)
        self.boxes = None if boxes is None else Boxes(boxes, self.orig_shape)
        self.masks = None if masks is None else Masks(masks, self.orig_shape)
        self.probs = None if probs is None else Probs(probs)
        self.keypoints = None
        self.obb = None
        if self.masks is not None and len(self.masks) != len(self):
            raise ValueError(f"{len(self.masks)} masks for {len(self)} boxes: segmentation needs one mask per box.")
        self.speed = dict(speed or {"preprocess": None, "inference": None, "postprocess": None})

    def __len__(self) -> int:
        if self.probs is not None:
            return len(self.probs)
        return 0 if self.boxes is None else len(self.boxes)

    def __getitem__(self, index) -> "Results":
        """The detections (boxes and their masks) selected by ``index``; probabilities are kept whole."""
        return self._new(
            None if self.boxes is None else self.boxes[index].data,
            None if self.masks is None else self.masks[index].data,
            None if self.probs is None else self.probs.data,
        )

    def __repr__(self) -> str:
        if self.probs is not None:
            return (f"Results(path={self.path!r}, orig_shape={self.orig_shape}, top1={self.probs.top1}, "
                    f"speed={self.speed})")
        masks = "" if self.masks is None else ", masks=True"
        return (f"Results(path={self.path!r}, orig_shape={self.orig_shape}, detections={self._detections()}{masks}, "
                f"speed={self.speed})")

    def _detections(self) -> int:
        return 0 if self.boxes is None else len(self.boxes)

    def _new(self, boxes, masks, probs) -> "Results":
        return Results(self.orig_img, self.path, self.names, boxes, self.speed, masks=masks, probs=probs)

    def _convert(self, method: str, *args, **kwargs) -> "Results":
        fields = (self.boxes, self.masks, self.probs)
        return self._new(*(None if f is None else getattr(f, method)(*args, **kwargs).data for f in fields))

    def cpu(self) -> "Results":
        return self._convert("cpu")

    def numpy(self) -> "Results":
        return self._convert("numpy")

    def to(self, *args, **kwargs) -> "Results":
        return self._convert("to", *args, **kwargs)

    def counts_text(self) -> str:
        """For the log line: detections per class in class-id order (``2 circles, 1 star``; ``(no detections)``),
        or for classification the top-5 classes with their probabilities (``cat 0.91, dog 0.05, …``)."""
        if self.probs is not None:
            return ", ".join(f"{self._name(c)} {p:.2f}" for c, p in self._top5())
        if not self._detections():
            return "(no detections)"
        classes, counts = np.unique(_as_numpy(self.boxes.cls).astype(int), return_counts=True)
        return ", ".join(
            f"{count} {_plural(self._name(c), count)}" for c, count in zip(classes.tolist(), counts.tolist())
        )

    def verbose(self) -> str:
        """YOLOv8's name for :meth:`counts_text` (without YOLOv8's trailing ", ")."""
        return self.counts_text()

    def _name(self, class_id: int) -> str:
        return self.names.get(class_id, str(class_id))

    def _top5(self) -> list[tuple[int, float]]:
        """(class id, probability) of the 5 most probable classes."""
        return list(zip(self.probs.top5, _as_numpy(self.probs.top5conf).astype(float).tolist()))

    def plot(
        self, line_width: int | None = None, labels: bool = True, conf: bool = True, boxes: bool = True,
        masks: bool = True, probs: bool = True,
    ) -> np.ndarray:
        """The original image with the prediction drawn: (H, W, 3) uint8 BGR (a copy).

        Masks are blended translucently under the boxes; classification draws its top-5 classes as text.
        ``boxes`` / ``masks`` / ``probs`` switch each layer off.
        """
        canvas = self.orig_img
        if masks and self.masks is not None and len(self.masks):
            canvas = draw_masks(
                canvas, _as_numpy(self.masks.data), _as_numpy(self.boxes.cls), _as_numpy(self.boxes.conf)
            )
        if self.boxes is not None and self.boxes.is_track and boxes:
            canvas = self._plot_tracks(canvas, line_width, labels, conf)
        elif self.boxes is not None:
            canvas = draw_detections(
                canvas, _as_numpy(self.boxes.xyxy), _as_numpy(self.boxes.cls), _as_numpy(self.boxes.conf),
                self.names, line_width=line_width, labels=labels, conf=conf, boxes=boxes,
            )
        if probs and self.probs is not None:
            canvas = draw_text_lines(canvas, [f"{self._name(c)} {p:.2f}" for c, p in self._top5()], line_width)
        return canvas.copy() if canvas is self.orig_img else canvas

    def _plot_tracks(self, image: np.ndarray, line_width: int | None, labels: bool, conf: bool) -> np.ndarray:
        """Tracked boxes drawn in one colour per track id, labelled ``id:N name conf`` (a copy of image)."""
        canvas = np.ascontiguousarray(image).copy()
        line_width = line_width or default_line_width(canvas.shape)
        rows = zip(_as_numpy(self.boxes.xyxy), _as_numpy(self.boxes.id).astype(int), _as_numpy(self.boxes.cls),
                   _as_numpy(self.boxes.conf))
        for box, track_id, class_id, score in rows:
            colour = class_colour(int(track_id))
            draw_box(canvas, box, colour, line_width)
            text = f"id:{track_id} " + label_text(self._name(int(class_id)) if labels else "",
                                                  float(score) if conf else None)
            draw_label(canvas, box, " ".join(text.split()), colour, line_width)
        return canvas

    def save(self, filename, **plot_options) -> str:
        """Write :meth:`plot` (``plot_options`` are its arguments) to ``filename``; returns it."""
        filename = str(filename)
        if not cv2.imwrite(filename, self.plot(**plot_options)):
            raise OSError(f"cannot write image '{filename}': check the folder exists and the suffix is an image type.")
        return filename

    def save_txt(self, txt_file, save_conf: bool = False) -> str:
        """Write the prediction as text, as YOLOv8 does; the file is overwritten. Returns the path.

        * detection: one ``class cx cy w h [conf]`` line per box (normalised, the YOLO label format);
        * segmentation: one ``class x1 y1 x2 y2 … [conf]`` line per mask outline (normalised polygon, the
          YOLO segment label format); a detection whose mask has no outline is left out;
        * classification: ``probability name`` lines for the top-5 classes, most probable first.

        An image without detections gives an empty file.
        """
        lines = []
        if self.probs is not None:
            lines = [f"{p:.2f} {self._name(c)}" for c, p in self._top5()]
        elif self._detections():
            classes = _as_numpy(self.boxes.cls).astype(int)
            confidences = _as_numpy(self.boxes.conf)
            shapes = self.masks.xyn if self.masks is not None else _as_numpy(self.boxes.xywhn)
            for class_id, shape, confidence in zip(classes, shapes, confidences):
                if len(shape) == 0:
                    continue
                values = [f"{v:.6g}" for v in shape.reshape(-1)] + ([f"{confidence:.6g}"] if save_conf else [])
                lines.append(" ".join([str(class_id), *values]))
        Path(txt_file).write_text("".join(line + "\n" for line in lines))
        return str(txt_file)

    def save_crop(self, save_dir, file_name) -> list[str]:
        """Save each detection's pixels as ``save_dir/<class name>/<stem>.jpg`` (``<stem>2.jpg``… for repeats).

        The crop is the box rounded outward to whole pixels and clipped to the image. Returns the paths.
        Classification results have no boxes and save nothing.
        """
        stem = Path(file_name).stem
        written, seen = [], {}
        if not self._detections():
            return written
        height, width = self.orig_shape
        classes = _as_numpy(self.boxes.cls).astype(int)
        for class_id, (x1, y1, x2, y2) in zip(classes, _as_numpy(self.boxes.xyxy)):
            left, top = max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0)
            right, bottom = min(int(np.ceil(x2)), width), min(int(np.ceil(y2)), height)
            if right <= left or bottom <= top:
                continue
            name = self._name(int(class_id))
            seen[name] = seen.get(name, 0) + 1
            folder = Path(save_dir) / name
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{stem}{'' if seen[name] == 1 else seen[name]}.jpg"
            cv2.imwrite(str(path), self.orig_img[top:bottom, left:right])
            written.append(str(path))
        return written

    def summary(self, normalize: bool = False, decimals: int = 5) -> list[dict]:
        """One dict per detection: ``name``, ``class``, ``confidence``, ``box`` {x1, y1, x2, y2}, and for
        segmentation ``segments`` {x: [...], y: [...]} (the mask outline); for classification one dict
        (``name``, ``class``, ``confidence``) per top-5 class.

        ``normalize`` divides boxes and outlines by the image width / height.
        """
        if self.probs is not None:
            return [{"name": self._name(c), "class": c, "confidence": round(p, decimals)} for c, p in self._top5()]
        if not self._detections():
            return []
        boxes = _as_numpy(self.boxes.xyxyn if normalize else self.boxes.xyxy)
        polygons = None if self.masks is None else (self.masks.xyn if normalize else self.masks.xy)
        records = []
        for index, ((x1, y1, x2, y2), confidence, class_id) in enumerate(zip(
            boxes.tolist(), _as_numpy(self.boxes.conf).tolist(), _as_numpy(self.boxes.cls).astype(int).tolist()
        )):
            record = {
                "name": self._name(class_id),
                "class": class_id,
                "confidence": round(confidence, decimals),
                "box": {key: round(value, decimals) for key, value in zip(("x1", "y1", "x2", "y2"), (x1, y1, x2, y2))},
            }
            if self.boxes.is_track:
                record["track_id"] = int(_as_numpy(self.boxes.id)[index])
            if polygons is not None:
                record["segments"] = {
                    axis: [round(float(v), decimals) for v in polygons[index][:, column]]
                    for axis, column in (("x", 0), ("y", 1))
                }
            records.append(record)
        return records

    def to_json(self, normalize: bool = False, decimals: int = 5) -> str:
        """:meth:`summary` as a JSON string."""
        return json.dumps(self.summary(normalize=normalize, decimals=decimals), indent=2)
