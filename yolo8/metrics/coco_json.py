"""COCO JSON writers: detections as COCO results (``predictions.json``) and ground truth as COCO annotations
(``ground_truth.json``), so that pycocotools or any COCO tool can re-score a validation run.

Conventions:

* image_id: the image file stem, an ``int`` when the stem is numeric (``000000139.jpg`` -> 139), else the
  stem string (YOLOv8's convention). Two images with the same id are an error.
* category_id: ``category_ids[class index]`` when the dataset records its COCO ids (``coco_category_ids``
  in the dataset YAML, written by :func:`yolo8.data.coco.convert_coco`), else class index + 1.
* bbox: ``[x, y, width, height]`` in original-image pixels, rounded to 3 decimals; score to 5 decimals.
  Ground-truth ``area`` is the box area (so COCOeval's area ranges match the validator's) and
  ``iscrowd`` is 0 (YOLO labels carry no crowd flag).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from yolo8.ops.boxes import denormalize_boxes, xywh_to_xyxy, xyxy_to_ltwh

PREDICTIONS_FILE = "predictions.json"
GROUND_TRUTH_FILE = "ground_truth.json"


def image_id_from_path(path) -> int | str:
    """'…/000000000139.jpg' -> 139; 'cat_01.png' -> 'cat_01'."""
    stem = Path(str(path)).stem
    return int(stem) if stem.isdigit() and stem.isascii() else stem


def category_id_table(num_classes: int, category_ids: list[int] | None = None) -> list[int]:
    """Class index -> COCO category id: ``category_ids`` when given (length num_classes), else index + 1."""
    if category_ids is None:
        return list(range(1, num_classes + 1))
    if len(category_ids) != num_classes:
        raise ValueError(f"category_ids has {len(category_ids)} entries for {num_classes} classes; "
                         "give one COCO category id per class.")
    return [int(category_id) for category_id in category_ids]


def _ltwh(boxes_xyxy) -> np.ndarray:
    """(N, 4) xyxy pixels -> (N, 4) ltwh pixels rounded to 3 decimals."""
    return np.round(xyxy_to_ltwh(np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)), 3)


def detections_to_coco(image_id, boxes_xyxy, scores, classes, category_ids: list[int]) -> list[dict]:
    """One image's detections -> COCO result dicts.

    Args:
        boxes_xyxy (ndarray[N, 4], xyxy, original-image pixels), scores ([N]), classes ([N] class indices).
        category_ids: class index -> COCO category id (:func:`category_id_table`).
    """
    boxes = _ltwh(boxes_xyxy)
    return [{"image_id": image_id, "category_id": category_ids[int(cls)], "bbox": box.tolist(),
             "score": round(float(score), 5)}
            for box, score, cls in zip(boxes, np.asarray(scores).reshape(-1), np.asarray(classes).reshape(-1))]


class CocoJsonRecorder:
    """Collects per-image detections and ground truth during validation; ``write`` saves both JSON files.

    Args:
        names: class index -> name (every class becomes a COCO category).
        category_ids: class index -> COCO category id, or None for index + 1.
    """

    def __init__(self, names: dict, category_ids: list[int] | None = None):
        self.names = dict(names)
        self.category_ids = category_id_table(len(self.names), category_ids)
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.detections: list[dict] = []
        self._files: dict = {}

    def add(self, path, shape: tuple[int, int], pred_boxes, scores, classes, gt_boxes, gt_classes) -> None:
        """One image: ``shape`` (height, width); boxes (N, 4) / (M, 4) xyxy in original-image pixels.

        Raises:
            ValueError: another image already has this image_id.
        """
        image_id = image_id_from_path(path)
        if image_id in self._files:
            raise ValueError(f"images '{self._files[image_id]}' and '{path}' both get COCO image_id {image_id!r} "
                             "(the file stem); rename one so that stems are unique.")
        self._files[image_id] = path
        height, width = int(shape[0]), int(shape[1])
        self.images.append({"id": image_id, "file_name": Path(str(path)).name, "width": width, "height": height})
        for box, cls in zip(_ltwh(gt_boxes), np.asarray(gt_classes).reshape(-1)):
            self.annotations.append({
                "id": len(self.annotations) + 1, "image_id": image_id, "category_id": self.category_ids[int(cls)],
                "bbox": box.tolist(), "area": round(float(box[2] * box[3]), 6), "iscrowd": 0,
            })
        self.detections += detections_to_coco(image_id, pred_boxes, scores, classes, self.category_ids)

    def ground_truth(self) -> dict:
        """The collected ground truth as a COCO instances dict (images, annotations, categories)."""
        categories = [{"id": self.category_ids[index], "name": str(name)} for index, name in sorted(self.names.items())]
        return {"info": {"description": "ground truth written by yolo8 val (save_json=True)"},
                "images": self.images, "annotations": self.annotations, "categories": categories}

    def write(self, save_dir) -> tuple[Path, Path]:
        """Write predictions.json and ground_truth.json into ``save_dir``; returns their paths."""
        save_dir = Path(save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        predictions, ground_truth = save_dir / PREDICTIONS_FILE, save_dir / GROUND_TRUTH_FILE
        predictions.write_text(json.dumps(self.detections), encoding="utf-8")
        ground_truth.write_text(json.dumps(self.ground_truth()), encoding="utf-8")
        return predictions, ground_truth


def ground_truth_from_labels(labels: list, names: dict, category_ids: list[int] | None = None) -> dict:
    """Scanned YOLO labels (:class:`yolo8.data.labels.ImageLabels`, boxes xywh normalised) -> COCO instances dict."""
    recorder = CocoJsonRecorder(names, category_ids)
    for label in labels:
        height, width = label.shape
        boxes = xywh_to_xyxy(denormalize_boxes(np.asarray(label.boxes, np.float64).reshape(-1, 4), width, height))
        recorder.add(label.image_file, label.shape, np.zeros((0, 4)), [], [], boxes, label.classes)
    return recorder.ground_truth()
