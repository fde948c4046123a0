"""One synthetic image: shapes with textures on a textured background, and their visible outlines.

Objects are painted one after another; a per-pixel owner map records which object is on top, so
each object's visible mask is known exactly. A placement is rejected (and retried) when it would
split an earlier object into separate visible pieces or leave it ambiguously hidden (between
``HIDDEN_FRACTION`` and ``MIN_VISIBLE_FRACTION`` of its area visible). Objects with less than
``MIN_VISIBLE_FRACTION`` of their area visible get no label.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from yolo8.data.synthetic import textures
from yolo8.data.synthetic.outline import polygon_from_mask
from yolo8.data.synthetic.shapes import CLASS_NAMES, rasterize_shape

EMPTY_PROBABILITY = 0.07  # share of background-only images
MAX_OBJECTS = 12  # objects attempted per non-empty image: uniform in 1..MAX_OBJECTS
MIN_OBJECT_SIZE = 6.0  # pixels; sizes are log-uniform up to MAX_SIZE_RATIO * shorter image side
MAX_SIZE_RATIO = 0.5
BORDER_PROBABILITY = 0.25  # share of objects allowed to hang over the image border
MIN_VISIBLE_FRACTION = 0.4  # below this share of its own area visible, an object is not labelled
HIDDEN_FRACTION = 0.1  # an earlier object may be covered only below this share, or stay labelled
MIN_CONTRAST = 80.0  # minimum sum over BGR of |mean fill - mean background| under an object
PLACEMENT_ATTEMPTS = 6


@dataclass
class SceneObject:
    """One labelled object.

    Attributes:
        class_id: index into CLASS_NAMES.
        box: (x1, y1, x2, y2) int pixel edges of the visible part; pixels x1..x2-1, y1..y2-1.
        mask: (y2 - y1, x2 - x1) bool visible pixels inside box (the largest connected part).
        polygon: (K, 2) float64 xy pixels of the visible outline; its bounding box equals box.
    """

    class_id: int
    box: tuple[int, int, int, int]
    mask: np.ndarray
    polygon: np.ndarray


@dataclass
class Scene:
    """image (H, W, 3) uint8 BGR and its labelled objects (possibly none).

    background: (H, W, 3) uint8 BGR of the same image before any object was painted (and before
    blur and noise), kept only when render_scene is asked for it (for tests and inspection).
    """

    image: np.ndarray
    objects: list[SceneObject]
    background: np.ndarray | None = None


@dataclass
class _Placed:
    """An object as painted: its class, unclipped area in pixels and clipped region in the image."""

    class_id: int
    area: int
    region: tuple[int, int, int, int]  # x1, y1, x2, y2 in the image


def _visibility(visible: np.ndarray, area: int) -> str:
    """'hidden', 'visible' or 'bad' (ambiguously covered, or split into separate pieces)."""
    fraction = int(visible.sum()) / area
    if fraction < HIDDEN_FRACTION:
        return "hidden"
    if fraction < MIN_VISIBLE_FRACTION:
        return "bad"
    _, _, stats, _ = cv2.connectedComponentsWithStats(visible.astype(np.uint8), connectivity=8)
    pieces = np.sort(stats[1:, cv2.CC_STAT_AREA])[::-1]
    if len(pieces) > 1 and pieces[1] > max(2, 0.02 * pieces.sum()):
        return "bad"
    return "visible"


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]):
    """Intersection of two x1, y1, x2, y2 regions, or None."""
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    return (x1, y1, x2, y2) if x1 < x2 and y1 < y2 else None


def _covers_acceptably(owner: np.ndarray, placed: list[_Placed], mask: np.ndarray, region) -> bool:
    """Whether painting mask (bool, shaped like region) keeps every earlier object well-defined."""
    x1, y1, x2, y2 = region
    under = owner[y1:y2, x1:x2][mask]
    for index in np.unique(under[under >= 0]).tolist():
        earlier = placed[index]
        ex1, ey1, ex2, ey2 = earlier.region
        visible = owner[ey1:ey2, ex1:ex2] == index
        ox1, oy1, ox2, oy2 = _overlap(earlier.region, region)
        visible[oy1 - ey1 : oy2 - ey1, ox1 - ex1 : ox2 - ex1] &= ~mask[oy1 - y1 : oy2 - y1, ox1 - x1 : ox2 - x1]
        if _visibility(visible, earlier.area) == "bad":
            return False
    return True


def _paint_surface(rng: np.random.Generator, shape_mask: np.ndarray, size: float, backdrop: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32 fill for a shape, contrasting with backdrop (mean BGR under it), maybe outlined."""
    height, width = shape_mask.shape
    inside = shape_mask.astype(bool)
    for _ in range(3):
        fill = textures.object_fill(rng, height, width)
        if np.abs(fill[inside].mean(axis=0) - backdrop).sum() >= MIN_CONTRAST:
            break
    if rng.random() < 0.35:
        thickness = max(1, int(round(size * rng.uniform(0.03, 0.08))))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * thickness + 1, 2 * thickness + 1))
        edge = inside & ~cv2.erode(shape_mask, kernel, borderValue=0).astype(bool)
        fill[edge] = textures.random_colour(rng)
    return fill


def _try_place(rng: np.random.Generator, canvas: np.ndarray, owner: np.ndarray, placed: list[_Placed]) -> bool:
    """Draw one random object onto canvas and owner in place, or leave both untouched and return False."""
    height, width = owner.shape
    class_id = int(rng.integers(len(CLASS_NAMES)))
    max_size = max(MIN_OBJECT_SIZE + 1, MAX_SIZE_RATIO * min(height, width))
    size = float(np.exp(rng.uniform(np.log(MIN_OBJECT_SIZE), np.log(max_size))))
    shape_mask = rasterize_shape(class_id, size, rng)
    mask_height, mask_width = shape_mask.shape
    if rng.random() < BORDER_PROBABILITY or mask_width > width or mask_height > height:
        left = int(np.floor(rng.uniform(-0.6 * mask_width, width - 0.4 * mask_width)))
        top = int(np.floor(rng.uniform(-0.6 * mask_height, height - 0.4 * mask_height)))
    else:
        left = int(rng.integers(0, width - mask_width + 1))
        top = int(rng.integers(0, height - mask_height + 1))
    region = _overlap((left, top, left + mask_width, top + mask_height), (0, 0, width, height))
    if region is None:
        return False
    x1, y1, x2, y2 = region
    clipped = shape_mask[y1 - top : y2 - top, x1 - left : x2 - left].astype(bool)
    area = int(shape_mask.sum())
    if _visibility(clipped, area) != "visible" or not _covers_acceptably(owner, placed, clipped, region):
        return False
    backdrop = canvas[y1:y2, x1:x2][clipped].mean(axis=0)
    fill = _paint_surface(rng, shape_mask, size, backdrop)
    canvas[y1:y2, x1:x2][clipped] = fill[y1 - top : y2 - top, x1 - left : x2 - left][clipped]
    owner[y1:y2, x1:x2][clipped] = len(placed)
    placed.append(_Placed(class_id, area, region))
    return True


def _degrade(rng: np.random.Generator, canvas: np.ndarray) -> np.ndarray:
    """Camera-like finish: maybe a slight blur and sensor noise; float32 -> (H, W, 3) uint8."""
    if rng.random() < 0.5:
        canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.3, 1.0))
    if rng.random() < 0.5:
        canvas = canvas + textures.grain(rng, *canvas.shape[:2], rng.uniform(1, 6))
    np.clip(canvas, 0, 255, out=canvas)
    return np.rint(canvas, out=canvas).astype(np.uint8)


def _labelled_objects(owner: np.ndarray, placed: list[_Placed]) -> list[SceneObject]:
    """The objects that stay visible enough, each with its visible box, mask and outline."""
    objects = []
    for index, item in enumerate(placed):
        x1, y1, x2, y2 = item.region
        visible = owner[y1:y2, x1:x2] == index
        if _visibility(visible, item.area) != "visible":
            continue
        _, labels, stats, _ = cv2.connectedComponentsWithStats(visible.astype(np.uint8), connectivity=8)
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        left, top, box_width, box_height = (int(v) for v in stats[largest, :4])
        if box_width < 2 or box_height < 2:
            continue
        part = labels[top : top + box_height, left : left + box_width] == largest
        polygon = polygon_from_mask(part) + [x1 + left, y1 + top]
        box = (x1 + left, y1 + top, x1 + left + box_width, y1 + top + box_height)
        objects.append(SceneObject(item.class_id, box, part, polygon))
    return objects


def render_scene(
    rng: np.random.Generator,
    width: int,
    height: int,
    *,
    empty_probability: float = EMPTY_PROBABILITY,
    keep_background: bool = False,
) -> Scene:
    """Draw one random image with its labels.

    Args:
        rng: the only source of randomness; the same generator state gives the same scene.
        width, height: image size in pixels.
        empty_probability: chance that the image holds no object (background and clutter only).
        keep_background: also return the background before objects were painted (Scene.background).

    Returns:
        Scene with image (height, width, 3) uint8 BGR and the labelled objects in drawing order.
    """
    canvas = textures.background(rng, height, width)
    if rng.random() < 0.4:
        textures.add_clutter(rng, canvas)
    background = np.clip(np.rint(canvas), 0, 255).astype(np.uint8) if keep_background else None
    owner = np.full((height, width), -1, np.int16)  # index of the object on top, -1 = background
    placed: list[_Placed] = []
    count = 0 if rng.random() < empty_probability else int(rng.integers(1, MAX_OBJECTS + 1))
    for _ in range(count):
        for _attempt in range(PLACEMENT_ATTEMPTS):
            if _try_place(rng, canvas, owner, placed):
                break
    image = _degrade(rng, canvas)
    return Scene(image, _labelled_objects(owner, placed), background)
