"""Sample images shipped in yolo8/assets for trying prediction without a dataset."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from yolo8.data.synthetic.builtin import JPEG_QUALITY, image_rng
from yolo8.data.synthetic.scene import Scene, render_scene

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
# (file name, width, height, index in the "sample" random stream of seed 0); indices picked by eye
SAMPLES = (("shapes1.jpg", 320, 320, 0), ("shapes2.jpg", 480, 320, 10))


def sample_scene(name: str) -> Scene:
    """The scene (image and labels) behind one shipped sample image, regenerated from its seed."""
    for file_name, width, height, index in SAMPLES:
        if file_name == name:
            return render_scene(image_rng(0, "sample", index), width, height)
    raise ValueError(f"unknown sample image {name!r}; choose one of {[item[0] for item in SAMPLES]}")


def sample_images() -> list[Path]:
    """Paths of the shipped sample images (JPEG): shapes1.jpg 320x320 and shapes2.jpg 480x320."""
    return [ASSETS_DIR / file_name for file_name, *_ in SAMPLES]


def write_sample_images(directory: Path = ASSETS_DIR) -> list[Path]:
    """Regenerate the sample images into directory (what produced the shipped files)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for file_name, *_ in SAMPLES:
        path = directory / file_name
        if not cv2.imwrite(str(path), sample_scene(file_name).image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"cv2.imwrite could not write {path}; check that the directory is writable")
        paths.append(path)
    return paths


def found_sample_objects(name: str, boxes, classes, iou_threshold: float = 0.5) -> tuple[int, int]:
    """(found, total) for predictions on the sample image ``name``: how many of its labelled objects a
    prediction of the same class covers with IoU >= ``iou_threshold``, each prediction counted for one object
    at most (greedy by IoU, as recall at one threshold is counted).

    Args:
        boxes: (N, 4) xyxy original-image pixels (a tensor or array), e.g. ``Results.boxes.xyxy``.
        classes: (N,) class ids, e.g. ``Results.boxes.cls``.
    """
    import torch  # here: writing or listing the samples needs no torch

    from yolo8.ops.iou import pairwise_iou

    objects = sample_scene(name).objects
    if not objects:
        return 0, 0
    truth = torch.tensor([item.box for item in objects], dtype=torch.float32)  # (M, 4) xyxy pixel edges
    truth_classes = torch.tensor([item.class_id for item in objects])
    boxes = torch.as_tensor(np.asarray(boxes, dtype=np.float32)).reshape(-1, 4)
    classes = torch.as_tensor(np.asarray(classes)).reshape(-1).long()
    iou = pairwise_iou(truth, boxes) * (truth_classes[:, None] == classes[None, :])  # (M, N), 0 across classes
    found = 0
    while iou.numel() and iou.max() >= iou_threshold:
        flat = int(iou.argmax())
        row, column = divmod(flat, iou.shape[1])
        iou[row, :] = 0  # this object is found ...
        iou[:, column] = 0  # ... by this prediction, which finds no other
        found += 1
    return found, len(objects)
