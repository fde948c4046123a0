"""Drawing predictions on images with OpenCV: boxes, class labels and confidences, masks, class lists.

Everything uses cv2's built-in Hershey font, so nothing is downloaded. Colours come from a fixed
palette indexed by class id, so a class keeps its colour across images and runs.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import cv2
import numpy as np

# Tableau 20 (the categorical palette matplotlib calls tab20), dark shades first, as RGB hex
_PALETTE_HEX = (
    "1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b", "e377c2", "7f7f7f", "bcbd22", "17becf",
    "aec7e8", "ffbb78", "98df8a", "ff9896", "c5b0d5", "c49c94", "f7b6d2", "c7c7c7", "dbdb8d", "9edae5",
)
PALETTE_BGR: tuple[tuple[int, int, int], ...] = tuple(
    (int(h[4:6], 16), int(h[2:4], 16), int(h[0:2], 16)) for h in _PALETTE_HEX
)
FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


def class_colour(class_id: int) -> tuple[int, int, int]:
    """BGR colour of a class (the palette repeats after 20 classes)."""
    return PALETTE_BGR[int(class_id) % len(PALETTE_BGR)]


def text_colour_for(background: Sequence[int]) -> tuple[int, int, int]:
    """White or black, whichever reads better on a BGR ``background`` (by its Rec. 601 luma)."""
    blue, green, red = background
    return BLACK if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else WHITE


def default_line_width(shape: Sequence[int]) -> int:
    """Box line width in pixels for an image of (height, width, …): about 0.3% of its mean side, at least 2."""
    return max(round((shape[0] + shape[1]) / 2 * 0.003), 2)


def draw_box(image: np.ndarray, box_xyxy: Sequence[float], colour, line_width: int) -> None:
    """Draw one box (x1, y1, x2, y2 pixels) on ``image`` (H, W, 3) uint8 BGR, in place."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in box_xyxy)
    cv2.rectangle(image, (x1, y1), (x2, y2), colour, thickness=line_width, lineType=cv2.LINE_AA)


def draw_label(image: np.ndarray, box_xyxy: Sequence[float], text: str, colour, line_width: int) -> None:
    """Draw ``text`` on a filled ``colour`` tag at the box's top-left corner, in place.

    The tag sits above the box when there is room, otherwise just inside its top edge, and is shifted
    so it stays within the image.
    """
    height, width = image.shape[:2]
    scale = line_width / 3
    thickness = max(line_width - 1, 1)
    (text_width, text_height), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    tag_width, tag_height = text_width + 2 * thickness, text_height + baseline + thickness
    left = int(min(max(float(box_xyxy[0]), 0), max(width - tag_width, 0)))
    top = int(float(box_xyxy[1]))
    top = top - tag_height if top - tag_height >= 0 else max(top, 0)
    top = min(top, max(height - tag_height, 0))
    cv2.rectangle(image, (left, top), (left + tag_width, top + tag_height), colour, thickness=-1)
    cv2.putText(
        image, text, (left + thickness, top + text_height + thickness // 2), FONT, scale,
        text_colour_for(colour), thickness=thickness, lineType=cv2.LINE_AA,
    )


def label_text(name: str, confidence: float | None) -> str:
    """``name 0.87`` (or just ``name`` when confidence is None)."""
    return name if confidence is None else f"{name} {confidence:.2f}"


def draw_detections(
    image: np.ndarray,
    boxes_xyxy: np.ndarray,
    classes: np.ndarray,
    confidences: np.ndarray,
    names: Mapping[int, str],
    line_width: int | None = None,
    labels: bool = True,
    conf: bool = True,
    boxes: bool = True,
) -> np.ndarray:
    """Return a copy of ``image`` (H, W, 3) uint8 BGR with detections drawn on it.

    Args:
        boxes_xyxy: (n, 4) boxes in the image's pixels.
        classes: (n,) class ids; confidences: (n,) scores in [0, 1].
        names: class id -> name; an id missing from it is drawn as its number.
        line_width: box line width; None picks one from the image size.
        labels / conf: draw the class name / its confidence on each box.
        boxes: draw the boxes at all (False leaves the image clean, e.g. when only masks should show).
    """
    canvas = np.ascontiguousarray(image).copy()
    if not boxes:
        return canvas
    line_width = line_width or default_line_width(canvas.shape)
    # draw the lowest score first so the most confident box and its label end up on top
    for index in np.argsort(np.asarray(confidences, dtype=np.float64), kind="stable"):
        class_id = int(classes[index])
        colour = class_colour(class_id)
        draw_box(canvas, boxes_xyxy[index], colour, line_width)
        if labels or conf:
            name = names.get(class_id, str(class_id)) if labels else ""
            text = label_text(name, float(confidences[index]) if conf else None).strip()
            draw_label(canvas, boxes_xyxy[index], text, colour, line_width)
    return canvas


def draw_masks(
    image: np.ndarray,
    masks: np.ndarray,
    classes: np.ndarray,
    confidences: np.ndarray | None = None,
    alpha: float = 0.5,
) -> np.ndarray:
    """Return a copy of ``image`` (H, W, 3) uint8 BGR with each mask blended in its class colour.

    Args:
        masks: (n, H, W) bool, in the image's pixels.
        classes: (n,) class ids (the colour of each mask).
        confidences: (n,) scores; the least confident mask is blended first, so the most confident
            ends up on top. None keeps the given order.
        alpha: opacity of a mask's colour (0 invisible, 1 opaque).
    """
    canvas = np.ascontiguousarray(image).copy()
    if masks.shape[1:] != canvas.shape[:2]:
        raise ValueError(f"masks of shape {masks.shape} do not match the image {canvas.shape[:2]}: "
                         "map them to the image's pixels first.")
    order = range(len(masks)) if confidences is None else np.argsort(np.asarray(confidences, np.float64), kind="stable")
    for index in order:
        region = np.asarray(masks[index], dtype=bool)
        colour = np.array(class_colour(int(classes[index])), dtype=np.float32)
        canvas[region] = np.round(canvas[region] * (1 - alpha) + colour * alpha).astype(np.uint8)
    return canvas


def draw_text_lines(image: np.ndarray, lines: Sequence[str], line_width: int | None = None) -> np.ndarray:
    """Return a copy of ``image`` (H, W, 3) uint8 BGR with ``lines`` on white tags stacked at its top-left.

    Used for classification results (one ``name 0.87`` line per class). ``line_width`` sets the text
    size as for boxes; None picks one from the image size.
    """
    canvas = np.ascontiguousarray(image).copy()
    line_width = line_width or default_line_width(canvas.shape)
    scale, thickness = line_width / 3, max(line_width - 1, 1)
    top = margin = 2 * line_width
    for text in lines:
        (text_width, text_height), baseline = cv2.getTextSize(text, FONT, scale, thickness)
        tag_height = text_height + baseline + thickness
        cv2.rectangle(canvas, (margin, top), (margin + text_width + 2 * thickness, top + tag_height), WHITE, -1)
        cv2.putText(canvas, text, (margin + thickness, top + text_height + thickness // 2), FONT, scale, BLACK,
                    thickness=thickness, lineType=cv2.LINE_AA)
        top += tag_height + thickness
    return canvas
