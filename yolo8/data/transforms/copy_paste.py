"""Copy-paste (Ghiasi et al., 2021, in YOLOv8's mirror form): objects are copied, mirrored left-right, into free space.

Each chosen object is cut out along its polygon from the mirrored image and pasted at its mirrored position,
so it needs polygon labels (cv2 fills the outline too: a copy brings a rim of up to
1 px of what surrounded it). A copy is kept only where it would cover less than ``MAX_COVERED`` of every box
already in the image (those pasted before it included); otherwise it is skipped, so no object is buried.
"""

from __future__ import annotations

import cv2
import numpy as np

from yolo8.data.transforms.annotations import Annotations
from yolo8.data.transforms.flip import flip_horizontal
from yolo8.ops.boxes import box_area

MAX_COVERED = 0.30


def covered_fraction(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(4,) xyxy box and (N, 4) xyxy boxes -> (N,) the part of each of ``boxes``' area that ``box`` covers.

    Degenerate boxes (zero area) count as uncovered.
    """
    top_left = np.maximum(box[:2], boxes[:, :2])
    bottom_right = np.minimum(box[2:], boxes[:, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
    area = box_area(boxes)
    return np.divide(intersection, area, out=np.zeros_like(intersection), where=area > 0)


def copy_paste(image: np.ndarray, annotations: Annotations, fraction: float,
               rng: np.random.Generator) -> tuple[np.ndarray, Annotations]:
    """Paste mirrored copies of ``round(fraction * N)`` randomly chosen objects of an (H, W, 3) image.

    Returns the image (a new array when anything was pasted) and the labels with the copies appended.
    Images without polygons or without objects come back unchanged.
    """
    count = round(min(fraction, 1.0) * len(annotations))
    if count == 0 or not annotations.has_segments:
        return image, annotations
    mirrored_image, mirrored = flip_horizontal(image, annotations)
    has_area = np.bincount(annotations.owners, minlength=len(annotations)) >= 3  # clipping can empty a polygon
    boxes = annotations.boxes
    pasted = []
    for index in rng.choice(len(annotations), size=count, replace=False):
        if has_area[index] and (covered_fraction(mirrored.boxes[index], boxes) < MAX_COVERED).all():
            pasted.append(index)
            boxes = np.concatenate([boxes, mirrored.boxes[index: index + 1]])
    if not pasted:
        return image, annotations
    keep = np.zeros(len(annotations), bool)
    keep[pasted] = True
    copies = mirrored.select(keep)
    mask = np.zeros(image.shape[:2], np.uint8)
    edges = np.searchsorted(copies.owners, np.arange(len(copies) + 1))
    vertices = np.round(copies.points).astype(np.int32)
    cv2.fillPoly(mask, [vertices[start:stop] for start, stop in zip(edges[:-1], edges[1:])], 1)
    result = image.copy()
    np.copyto(result, mirrored_image, where=mask[..., None].astype(bool))
    return result, Annotations.concatenate([annotations, copies])
