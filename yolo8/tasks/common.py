"""What the task modules share: postprocess settings, the evaluation data of a val run, the speed report."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

LOGGER = logging.getLogger("yolo8")
PLOTTED_BATCHES = 3  # val_batch{0,1,2}_labels.jpg / _pred.jpg


@dataclass(frozen=True)
class PostprocessSettings:
    """How decoded outputs become final predictions (see :func:`yolo8.ops.nms.non_max_suppression`).

    ``multi_label``: a box may carry several classes (val: AP needs every candidate); ``drop_empty_masks``:
    a segmentation detection whose mask is empty at input resolution is dropped (predict, as YOLOv8 does);
    ``lazy_masks``: masks are built in chunks when scored rather than all at once (val, up to 300 per image).
    """

    conf: float
    iou: float = 0.7
    classes: list[int] | None = None
    agnostic: bool = False
    max_det: int = 300
    multi_label: bool = False
    drop_empty_masks: bool = False
    lazy_masks: bool = False


@dataclass
class EvaluationData:
    """What a stand-alone val run scores on: the loader, class names, the COCO category ids for save_json, and
    the file or folder the data came from (for messages)."""

    loader: Any
    names: dict
    category_ids: list[int] | None = None
    source: Any = None


def speed_per_image(seconds: np.ndarray, images: int) -> dict:
    """Seconds spent (preprocess, inference, postprocess) over ``images`` -> milliseconds per image by stage."""
    per_image = np.asarray(seconds, np.float64) * 1000 / max(images, 1)
    return dict(zip(("preprocess", "inference", "postprocess"), per_image.tolist()))


def image_size_setting(imgsz, stride: int = 1) -> int:
    """The ``imgsz`` setting (int or [height, width]) as the one size datasets letterbox to: the long side,
    rounded up to a multiple of ``stride``."""
    size = imgsz if isinstance(imgsz, int) else max(imgsz)
    return -(-int(size) // stride) * stride


def say_if_rounded(imgsz, stride: int) -> None:
    """Warn (once per call) when ``imgsz`` is not a multiple of the model's largest stride, and what is used."""
    sizes = [imgsz] if isinstance(imgsz, int) else list(imgsz)
    rounded = [-(-int(size) // stride) * stride for size in sizes]
    if rounded != sizes:
        used = rounded[0] if isinstance(imgsz, int) else rounded
        LOGGER.warning("imgsz=%s is not a multiple of the model's largest stride %d: using imgsz=%s", imgsz, stride,
                       used)


def input_size(imgsz, stride: int) -> tuple[int, int]:
    """The ``imgsz`` setting (int or [height, width]) -> (height, width), each rounded up to a multiple of stride."""
    height, width = (imgsz, imgsz) if isinstance(imgsz, int) else imgsz
    return (-(-int(height) // stride) * stride, -(-int(width) // stride) * stride)


def network_size(imgsz, stride: int) -> int | tuple[int, int]:
    """What :func:`prepare_image` receives: one size (stride multiple) for an int ``imgsz``, else (height, width).

    Classification treats the two differently (short side + centre crop versus a plain resize)."""
    size = input_size(imgsz, stride)
    return size[0] if isinstance(imgsz, int) else size


class BatchLoss:
    """A loss over tensors, called the way the trainer and validator call every task's loss: ``(raw outputs,
    batch)``. ``fields`` names the batch attributes the loss takes after the raw outputs, in order (detection:
    ``("targets",)``; segmentation: ``("targets", "masks")``)."""

    def __init__(self, loss, fields: tuple[str, ...]):
        self.loss, self.fields = loss, tuple(fields)

    def __call__(self, raw_outputs, batch):
        return self.loss(raw_outputs, *(getattr(batch, name) for name in self.fields))
