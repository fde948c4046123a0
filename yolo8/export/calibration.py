"""Calibration images for INT8 post-training quantisation: the **train** split, prepared as the network sees it.

Calibrating on the split that is later validated flatters the accuracy report (the quantisation ranges were fit
to those very images); yolo8 calibrates on train by default, so the INT8 report of :mod:`yolo8.export.int8_report`
is measured on images the calibration never saw (when the dataset's train and val differ).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from yolo8.data.imageio import read_image
from yolo8.data.transforms.classify import classification_input
from yolo8.data.transforms.letterbox import letterbox

MAX_CALIBRATION_IMAGES = 300  # NNCF's default subset size: more images barely move the ranges


def calibration_files(task: str, data: str, fraction: float, split: str = "train") -> list[Path]:
    """Image files of ``split`` of ``data`` (a dataset YAML; a class-folder root for classify): ``fraction`` of
    them, at most :data:`MAX_CALIBRATION_IMAGES`, taken evenly over the split (a class-folder split is sorted by
    class: its first files would calibrate on the first classes only)."""
    if task == "classify":
        from yolo8.data.classification_scan import load_classification_split

        files = [Path(path) for path in load_classification_split(data, split).image_files]
    else:
        from yolo8.data.build import resolve_data, split_labels

        files = [Path(label.image_file) for label in split_labels(resolve_data(data), split)]
    count = min(max(1, round(len(files) * fraction)), MAX_CALIBRATION_IMAGES)
    if len(files) > count:
        files = [files[int(i)] for i in np.linspace(0, len(files) - 1, count)]
    if not files:
        raise ValueError(f"int8 calibration: no images in the '{split}' split of {data}.")
    return files


def calibration_input(file: Path, task: str, size: tuple[int, int]) -> np.ndarray:
    """One image -> network input (1, 3, H, W) float32 RGB in [0, 1] at exactly ``size`` (height, width):
    letterboxed for detect / segment, resized and centre-cropped for classify."""
    image = read_image(file)
    if task == "classify":
        prepared = classification_input(image, size if size[0] != size[1] else size[0])
    else:
        prepared, _ = letterbox(image, size, auto=False, scaleup=True)
    # (H, W, 3) BGR uint8 -> (1, 3, H, W) RGB float32
    return np.ascontiguousarray(prepared[..., ::-1].transpose(2, 0, 1))[None].astype(np.float32) / 255
