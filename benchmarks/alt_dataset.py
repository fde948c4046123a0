"""A second synthetic detection dataset, drawn differently from the built-in one, in the YOLO box format.

    python benchmarks/alt_dataset.py OUT_DIR [--train 400] [--val 100] [--size 320] [--classes 7] [--seed 1]
                                     [--polygons]

Writes ``OUT_DIR/images/{train,val}/NNNNNN.jpg``, ``OUT_DIR/labels/{train,val}/NNNNNN.txt`` (one row
``cls cx cy w h`` per object, normalised to [0, 1]) and ``OUT_DIR/data.yaml``, then prints the YAML path.
With ``--polygons`` the rows are segmentation outlines instead, ``cls x1 y1 x2 y2 ...``: the outline of the
largest visible part of each object after the later objects were drawn over it (holes, e.g. in a target or
an A, are filled). The images are the same as without it.

Written without reference to ``yolo8/data/synthetic/`` (numpy + OpenCV only) so that it checks we are
not tuned to our own data. Objects are glyphs (cv2.putText in varied Hershey fonts and weights),
arrows, hatched rectangles, targets, X marks, zigzags, bar groups and arcs; their colour and fill
(solid, gradient, noise) never identify the class. Each image holds 0-12 objects from ~8 px to ~60 %
of the image, with aspect-ratio changes, rotations, partial overlap and truncation at the border, on
smooth random fields, gradients, stripes or multi-scale noise with unlabelled clutter, then random
blur, sensor noise and JPEG quality 35-95. A quarter of the images are not square (long side = size).
Every image has its own generator seeded from (seed, split, index): the output is deterministic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

CLASS_POOL = ("glyph_A", "arrow", "hatched_rect", "glyph_7", "target", "x_mark", "zigzag", "bars", "glyph_K", "arc")
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
         cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX_SMALL)
GLYPH_MAX_ROTATION = 25.0  # degrees; glyphs beyond this start to look like each other (7 vs L)
MIN_VISIBLE = 0.6  # an object may lose at most 40 % of its pixels to later objects
SPLIT_IDS = {"train": 0, "val": 1}


# ---------------------------------------------------------------- shapes: canonical masks at work resolution

def _glyph(character: str, rng: np.random.Generator, work: int) -> np.ndarray:
    """A character drawn with cv2.putText in a random font and weight, cropped to its ink. uint8 mask."""
    font = int(rng.choice(FONTS)) | (cv2.FONT_ITALIC if rng.random() < 0.2 else 0)
    thickness = int(rng.integers(1, 5)) * max(work // 64, 1)
    scale = cv2.getFontScaleFromHeight(font, work, thickness)
    (width, height), baseline = cv2.getTextSize(character, font, scale, thickness)
    canvas = np.zeros((height + baseline + 4 * thickness, width + 4 * thickness), np.uint8)
    cv2.putText(canvas, character, (2 * thickness, height + 2 * thickness), font, scale, 255, thickness, cv2.LINE_AA)
    return canvas


def _arrow(rng: np.random.Generator, work: int) -> np.ndarray:
    """An arrow pointing right: a shaft and a triangular head."""
    canvas = np.zeros((work, work), np.uint8)
    shaft_half = work * rng.uniform(0.06, 0.14)
    head_half = work * rng.uniform(0.25, 0.45)
    head_start = work * rng.uniform(0.45, 0.7)
    middle = work / 2
    points = np.array([[0.05 * work, middle - shaft_half], [head_start, middle - shaft_half], [head_start, middle - head_half],
                       [0.95 * work, middle], [head_start, middle + head_half], [head_start, middle + shaft_half],
                       [0.05 * work, middle + shaft_half]])
    cv2.fillPoly(canvas, [np.round(points * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return canvas


def _hatched_rect(rng: np.random.Generator, work: int) -> np.ndarray:
    """A rectangle outline filled with parallel diagonal hatching."""
    canvas = np.zeros((work, work), np.uint8)
    border = max(int(work * rng.uniform(0.04, 0.09)), 2)
    spacing = work * rng.uniform(0.12, 0.22)
    line = max(int(spacing * rng.uniform(0.25, 0.45)), 1)
    direction = 1 if rng.random() < 0.5 else -1
    for offset in np.arange(-work, 2 * work, spacing):
        start = (int(offset), 0) if direction > 0 else (int(offset), work)
        cv2.line(canvas, start, (int(offset + work), work if direction > 0 else 0), 255, line, cv2.LINE_AA)
    cv2.rectangle(canvas, (0, 0), (work - 1, work - 1), 255, border)
    return canvas


def _target(rng: np.random.Generator, work: int) -> np.ndarray:
    """A ring around a filled centre dot."""
    canvas = np.zeros((work, work), np.uint8)
    centre, radius = (work // 2, work // 2), work // 2 - 2
    cv2.circle(canvas, centre, radius - int(work * rng.uniform(0.04, 0.08)), 255,
               max(int(work * rng.uniform(0.06, 0.12)), 2), cv2.LINE_AA)
    cv2.circle(canvas, centre, int(radius * rng.uniform(0.2, 0.4)), 255, -1, cv2.LINE_AA)
    return canvas


def _x_mark(rng: np.random.Generator, work: int) -> np.ndarray:
    """Two thick strokes crossing at 60-120 degrees."""
    canvas = np.zeros((work, work), np.uint8)
    thickness = max(int(work * rng.uniform(0.08, 0.18)), 2)
    half_angle = np.deg2rad(rng.uniform(30, 60))
    reach = work / 2 - thickness
    for sign in (1, -1):
        dx, dy = reach * np.cos(half_angle), sign * reach * np.sin(half_angle)
        cv2.line(canvas, (int(work / 2 - dx), int(work / 2 - dy)), (int(work / 2 + dx), int(work / 2 + dy)), 255,
                 thickness, cv2.LINE_AA)
    return canvas


def _zigzag(rng: np.random.Generator, work: int) -> np.ndarray:
    """A thick open polyline of 3-5 alternating strokes."""
    canvas = np.zeros((work, work), np.uint8)
    segments = int(rng.integers(3, 6))
    thickness = max(int(work * rng.uniform(0.06, 0.12)), 2)
    xs = np.linspace(thickness, work - thickness, segments + 1)
    ys = np.where(np.arange(segments + 1) % 2 == 0, thickness, work - thickness) + rng.uniform(-0.08, 0.08, segments + 1) * work
    points = np.stack([xs, np.clip(ys, thickness, work - thickness)], axis=1).astype(np.int32)
    cv2.polylines(canvas, [points], False, 255, thickness, cv2.LINE_AA)
    return canvas


def _bars(rng: np.random.Generator, work: int) -> np.ndarray:
    """Three to five parallel filled bars of unequal width."""
    canvas = np.zeros((work, work), np.uint8)
    count = int(rng.integers(3, 6))
    edges = np.linspace(0, work, 2 * count)
    for index in range(count):
        left, right = edges[2 * index], edges[2 * index] + (edges[1] - edges[0]) * rng.uniform(0.6, 1.6)
        cv2.rectangle(canvas, (int(left), 0), (int(min(right, work - 1)), work - 1), 255, -1)
    return canvas


def _arc(rng: np.random.Generator, work: int) -> np.ndarray:
    """A thick open arc of 150-260 degrees."""
    canvas = np.zeros((work, work), np.uint8)
    thickness = max(int(work * rng.uniform(0.08, 0.16)), 2)
    sweep = rng.uniform(150, 260)
    radius = work // 2 - thickness
    cv2.ellipse(canvas, (work // 2, work // 2), (radius, radius), 0, 0, sweep, 255, thickness, cv2.LINE_AA)
    return canvas


SHAPES = {
    "glyph_A": lambda rng, work: _glyph("A", rng, work),
    "arrow": _arrow,
    "hatched_rect": _hatched_rect,
    "glyph_7": lambda rng, work: _glyph("7", rng, work),
    "target": _target,
    "x_mark": _x_mark,
    "zigzag": _zigzag,
    "bars": _bars,
    "glyph_K": lambda rng, work: _glyph("K", rng, work),
    "arc": _arc,
}


def object_alpha(name: str, longest_side: float, rng: np.random.Generator) -> np.ndarray:
    """Class `name` stretched, rotated and resized so its tight box's longest side is `longest_side` px.

    Returns alpha (float32[h, w] in [0, 1]); the mask's tight box (alpha > 0.5) fills the array.
    """
    work = 160 if longest_side > 80 else 80
    mask = SHAPES[name](rng, work)
    stretch = np.exp(rng.uniform(np.log(0.55), np.log(1.8)))  # width / height
    height, width = mask.shape
    mask = cv2.resize(mask, (max(int(width * np.sqrt(stretch)), 4), max(int(height / np.sqrt(stretch)), 4)))
    limit = GLYPH_MAX_ROTATION if name.startswith("glyph") else 180.0
    angle = rng.uniform(-limit, limit)
    height, width = mask.shape
    diagonal = int(np.ceil(np.hypot(height, width))) + 4
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    matrix[:, 2] += ((diagonal - width) / 2, (diagonal - height) / 2)
    mask = cv2.warpAffine(mask, matrix, (diagonal, diagonal), flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(mask > 127)
    mask = mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scale = longest_side / max(mask.shape)
    size = (max(int(round(mask.shape[1] * scale)), 2), max(int(round(mask.shape[0] * scale)), 2))
    mask = cv2.resize(mask, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return mask.astype(np.float32) / 255.0


# ---------------------------------------------------------------- backgrounds, fills, degradation

def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, 3).astype(np.float32)


def _smooth_field(rng: np.random.Generator, height: int, width: int, cells: int, channels: int = 3) -> np.ndarray:
    """A random field of `cells` x `cells` control values upsampled bicubically. float32[H, W, C] about in [0, 1]."""
    field = rng.random((cells, cells, channels)).astype(np.float32)
    return cv2.resize(field, (width, height), interpolation=cv2.INTER_CUBIC).reshape(height, width, channels)


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A float32[H, W, 3] background in 0..255: smooth field, gradient, stripes or multi-scale noise, plus clutter."""
    kind = rng.choice(["field", "gradient", "stripes", "octaves"])
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "field":
        image = _smooth_field(rng, height, width, int(rng.integers(2, 9))) * 255
    elif kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        ramp = xs * np.cos(angle) + ys * np.sin(angle)
        ramp = ((ramp - ramp.min()) / max(np.ptp(ramp), 1.0))[..., None]  # (H, W) -> (H, W, 1)
        image = (1 - ramp) * _random_colour(rng) + ramp * _random_colour(rng)
    elif kind == "stripes":
        angle, period = rng.uniform(0, np.pi), rng.uniform(6, 40)
        wave = 0.5 + 0.5 * np.sin((xs * np.cos(angle) + ys * np.sin(angle)) * 2 * np.pi / period)
        wave = wave[..., None] if rng.random() < 0.5 else (wave > 0.5).astype(np.float32)[..., None]
        image = (1 - wave) * _random_colour(rng) + wave * _random_colour(rng)
    else:
        image = sum(_smooth_field(rng, height, width, cells) * weight
                    for cells, weight in ((4, 0.55), (16, 0.3), (64, 0.15))) * 255
    image = np.ascontiguousarray(image, np.float32)
    for _ in range(int(rng.integers(0, 8))):  # unlabelled clutter: lines and ellipses
        colour = tuple(float(v) for v in _random_colour(rng))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.line(image, (x, y), end, colour, int(rng.integers(1, 4)), cv2.LINE_AA)
        else:
            axes = (int(rng.integers(3, max(width // 6, 4))), int(rng.integers(3, max(height // 6, 4))))
            cv2.ellipse(image, (x, y), axes, rng.uniform(0, 180), 0, 360, colour, int(rng.choice([-1, 1, 2])), cv2.LINE_AA)
    return image


def fill(rng: np.random.Generator, height: int, width: int, behind: np.ndarray) -> np.ndarray:
    """A float32[h, w, 3] paint for one object, contrasting with the mean colour `behind` it."""
    colour = _random_colour(rng)
    if abs(colour.mean() - behind.mean()) < 60:  # push brightness away from the background
        colour = np.clip(colour + (90 if behind.mean() < 128 else -90), 0, 255)
    kind = rng.random()
    if kind < 0.6:
        return np.broadcast_to(colour, (height, width, 3))
    if kind < 0.85:
        ramp = np.linspace(0, 1, width if rng.random() < 0.5 else height, dtype=np.float32)
        ramp = ramp[None, :, None] if ramp.size == width else ramp[:, None, None]  # (1, w, 1) or (h, 1, 1)
        other = np.clip(colour + rng.uniform(-70, 70, 3), 0, 255)
        return np.broadcast_to((1 - ramp) * colour + ramp * other, (height, width, 3))
    return np.clip(colour + (rng.random((height, width, 3), dtype=np.float32) - 0.5) * 80, 0, 255)


def degrade(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Random blur, sensor noise and grey-scale on a float32 image; returns uint8."""
    if rng.random() < 0.35:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.6))
    if rng.random() < 0.5:
        image = image + rng.normal(0, rng.uniform(2, 12), image.shape).astype(np.float32)
    if rng.random() < 0.1:
        image = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
    return np.clip(image, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- scenes

def render_image(rng: np.random.Generator, size: int, names: tuple[str, ...]) -> tuple[np.ndarray, list[tuple]]:
    """One image and its objects.

    Returns (image uint8[H, W, 3] BGR with max(H, W) == size, objects [(class_id, x1, y1, x2, y2)] in pixels,
    boxes clipped to the image).
    """
    image, objects, _ = render_scene(rng, size, names)
    return image, objects


def render_scene(rng: np.random.Generator, size: int, names: tuple[str, ...]):
    """As :func:`render_image`, plus the owner map: int32[H, W], the index of the object whose solid pixel is
    visible there, -1 for none."""
    height, width = size, size
    if rng.random() < 0.25:
        short = int(size * rng.uniform(0.6, 0.95))
        height, width = (short, size) if rng.random() < 0.5 else (size, short)
    image = background(rng, height, width)
    owner = np.full((height, width), -1, np.int32)
    visible, total, objects = [], [], []
    wanted = int(rng.choice(13, p=np.r_[0.03, np.full(12, 0.97 / 12)]))
    for _ in range(wanted * 4):  # retries for placements that hide too much of an earlier object
        if len(objects) == wanted:
            break
        class_id = int(rng.integers(len(names)))
        longest = np.exp(rng.uniform(np.log(8), np.log(0.6 * min(height, width))))
        alpha = object_alpha(names[class_id], longest, rng)
        h, w = alpha.shape
        x0 = int(rng.integers(-w // 4, width - 3 * w // 4 + 1))
        y0 = int(rng.integers(-h // 4, height - 3 * h // 4 + 1))
        xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, width), min(y0 + h, height)
        local = alpha[ya - y0:yb - y0, xa - x0:xb - x0]
        solid = local > 0.5
        if solid.sum() < 0.7 * (alpha > 0.5).sum() or solid.sum() < 6:
            continue  # too much of it outside the image
        covered = np.bincount(owner[ya:yb, xa:xb][solid] + 1, minlength=len(objects) + 1)[1:]
        if any(visible[k] - covered[k] < MIN_VISIBLE * total[k] for k in np.nonzero(covered)[0]):
            continue
        for k in np.nonzero(covered)[0]:
            visible[k] -= covered[k]
        region = image[ya:yb, xa:xb]
        paint = fill(rng, yb - ya, xb - xa, region.reshape(-1, 3).mean(axis=0))
        image[ya:yb, xa:xb] = region * (1 - local[..., None]) + paint * local[..., None]
        owner[ya:yb, xa:xb][solid] = len(objects)
        visible.append(int(solid.sum()))
        total.append(int(solid.sum()))
        ys, xs = np.nonzero(solid)
        objects.append((class_id, xa + xs.min(), ya + ys.min(), xa + xs.max() + 1, ya + ys.max() + 1))
    return degrade(rng, image), objects, owner


def polygon_text(objects: list[tuple], owner: np.ndarray) -> str:
    """YOLO segmentation rows ``cls x1 y1 x2 y2 ...`` (normalised, 6 decimals): per object, the outline of the
    largest connected part of its visible pixels (``owner == index``), simplified to within 0.7 px."""
    height, width = owner.shape
    rows = []
    for index, (class_id, *_box) in enumerate(objects):
        visible = (owner == index).astype(np.uint8)
        contours, _ = cv2.findContours(visible, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            continue
        outline = cv2.approxPolyDP(max(contours, key=cv2.contourArea), 0.7, True).reshape(-1, 2).astype(np.float64)
        if len(outline) < 3:  # a line or a dot: its pixel box
            x1, y1 = outline.min(axis=0)
            x2, y2 = outline.max(axis=0) + 1
            outline = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float64)
        points = np.clip(outline / [width, height], 0, 1)
        rows.append(f"{class_id} " + " ".join(f"{value:.6f}" for value in points.ravel()))
    return "".join(row + "\n" for row in rows)


def label_text(objects: list[tuple], height: int, width: int) -> str:
    """YOLO rows `cls cx cy w h` (normalised, 6 decimals) for objects [(class_id, x1, y1, x2, y2)] in pixels."""
    rows = [f"{c} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}"
            for c, x1, y1, x2, y2 in objects]
    return "".join(row + "\n" for row in rows)


def generate(out_dir, train: int = 400, val: int = 100, size: int = 320, classes: int = 7, seed: int = 1,
             polygons: bool = False) -> Path:
    """Write the dataset into `out_dir` (created; existing image/label files of the same names are replaced);
    label rows are boxes, or outlines with ``polygons``.

    Returns the path of `out_dir/data.yaml`.
    """
    if not 1 <= classes <= len(CLASS_POOL):
        raise ValueError(f"classes={classes}: choose 1..{len(CLASS_POOL)} (from {CLASS_POOL}).")
    if size < 32:
        raise ValueError(f"size={size}: images must be at least 32 px.")
    root = Path(out_dir).resolve()
    names = CLASS_POOL[:classes]
    for split, count in (("train", train), ("val", val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            rng = np.random.default_rng([seed, SPLIT_IDS[split], index])
            image, objects, owner = render_scene(rng, size, names)
            quality = int(rng.integers(35, 96))
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise RuntimeError(f"OpenCV could not encode image {split}/{index:06d} as JPEG.")
            (root / "images" / split / f"{index:06d}.jpg").write_bytes(encoded.tobytes())
            rows = polygon_text(objects, owner) if polygons else label_text(objects, *image.shape[:2])
            (root / "labels" / split / f"{index:06d}.txt").write_text(rows)
    data_yaml = root / "data.yaml"
    names_yaml = "".join(f"  {k}: {name}\n" for k, name in enumerate(names))
    data_yaml.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnc: {classes}\nnames:\n{names_yaml}")
    return data_yaml


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--train", type=int, default=400, help="training images")
    parser.add_argument("--val", type=int, default=100, help="validation images")
    parser.add_argument("--size", type=int, default=320, help="longest image side in pixels")
    parser.add_argument("--classes", type=int, default=7, help=f"number of classes, 1..{len(CLASS_POOL)}")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--polygons", action="store_true", help="segmentation outlines instead of boxes")
    args = parser.parse_args(argv)
    print(generate(args.out_dir, args.train, args.val, args.size, args.classes, args.seed, args.polygons))


if __name__ == "__main__":
    sys.exit(main())
