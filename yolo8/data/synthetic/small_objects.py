"""A small-object variant of the built-in data, for sliced inference: large images holding shapes of 6-20 px.

Training images are tiles (``tile`` px crops, objects at full resolution), validation images are whole large
images, so a model trained on tiles meets its objects at the trained scale only when the large image is sliced.

Layout under ``cache_home()/datasets/small-objects-v1-...`` (the YOLO dataset format)::

    data.yaml, images/{train,val}/*.png, labels/{train,val}/*.txt (class cx cy w h, normalised)
    small.json   generator version and parameters; written last, so its presence means complete
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import yaml

from yolo8.data.synthetic import textures
from yolo8.data.synthetic.builtin import cache_home, replace_directory
from yolo8.data.synthetic.scene import MIN_CONTRAST
from yolo8.data.synthetic.shapes import CLASS_NAMES, rasterize_shape

SMALL_VERSION = 1
MARKER_NAME = "small.json"


def render_small_objects(rng: np.random.Generator, size: int, objects: int, min_size: float = 6.0,
                         max_size: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """One (size, size, 3) uint8 BGR image and its (N, 5) labels class, x1, y1, x2, y2 (pixels) of non-touching
    shapes with sizes log-uniform in [min_size, max_size]."""
    canvas = textures.background(rng, size, size)
    taken = np.zeros((size, size), bool)
    labels = []
    for _ in range(objects):
        class_id = int(rng.integers(len(CLASS_NAMES)))
        mask = rasterize_shape(class_id, float(np.exp(rng.uniform(np.log(min_size), np.log(max_size)))), rng) > 0
        h, w = mask.shape
        x, y = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
        if taken[max(y - 2, 0):y + h + 2, max(x - 2, 0):x + w + 2].any():
            continue  # keep objects apart so each label is one clear shape
        backdrop = canvas[y:y + h, x:x + w][mask].mean(axis=0)
        fill = textures.random_colour(rng).astype(np.float32)
        for _attempt in range(5):
            if np.abs(fill - backdrop).sum() >= MIN_CONTRAST:
                break
            fill = textures.random_colour(rng).astype(np.float32)
        canvas[y:y + h, x:x + w][mask] = fill
        taken[y:y + h, x:x + w] |= mask
        ys, xs = np.nonzero(mask)
        labels.append([class_id, x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1])
    image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    return image, np.asarray(labels, np.float64).reshape(-1, 5)


def _write(image: np.ndarray, labels: np.ndarray, image_file: Path, label_file: Path) -> None:
    height, width = image.shape[:2]
    cv2.imwrite(str(image_file), image)
    rows = [f"{int(c)} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} {(x2 - x1) / width:.6f} "
            f"{(y2 - y1) / height:.6f}" for c, x1, y1, x2, y2 in labels]
    label_file.write_text("".join(row + "\n" for row in rows))


def small_object_dataset(root: Path | str | None = None, train_images: int = 64, val_images: int = 16,
                         image_size: int = 960, tile: int = 320, objects: int = 40, seed: int = 0) -> Path:
    """data.yaml of the small-object dataset (generated on first use): ``train_images`` large images cut into
    ``tile`` px training tiles, ``val_images`` whole large images for validation."""
    spec = {"version": SMALL_VERSION, "train_images": train_images, "val_images": val_images,
            "image_size": image_size, "tile": tile, "objects": objects, "seed": seed}
    if root is None:
        root = cache_home() / "datasets" / (f"small-objects-v1-{train_images}x{val_images}-{image_size}px-"
                                            f"tile{tile}-{objects}obj-seed{seed}")
    root = Path(root)
    try:
        if json.loads((root / MARKER_NAME).read_text()) == spec:
            return root / "data.yaml"
    except (OSError, ValueError):
        pass
    root.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        for split in ("train", "val"):
            (partial / "images" / split).mkdir(parents=True)
            (partial / "labels" / split).mkdir(parents=True)
        rng = np.random.default_rng(seed)
        for index in range(train_images):
            image, labels = render_small_objects(rng, image_size, objects)
            for ty in range(0, image_size - tile + 1, tile):
                for tx in range(0, image_size - tile + 1, tile):
                    inside = ((labels[:, 1] >= tx) & (labels[:, 3] <= tx + tile) & (labels[:, 2] >= ty)
                              & (labels[:, 4] <= ty + tile))  # tiles keep only the shapes they hold whole
                    crop = labels[inside] - [0, tx, ty, tx, ty]
                    name = f"{index:05d}_{ty}_{tx}"
                    _write(image[ty:ty + tile, tx:tx + tile], crop, partial / "images" / "train" / f"{name}.png",
                           partial / "labels" / "train" / f"{name}.txt")
        for index in range(val_images):
            image, labels = render_small_objects(rng, image_size, objects)
            _write(image, labels, partial / "images" / "val" / f"{index:05d}.png",
                   partial / "labels" / "val" / f"{index:05d}.txt")
        data = {"path": str(root), "train": "images/train", "val": "images/val", "nc": len(CLASS_NAMES),
                "names": dict(enumerate(CLASS_NAMES))}
        (partial / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        (partial / MARKER_NAME).write_text(json.dumps(spec, indent=2) + "\n")
        replace_directory(partial, root)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return root / "data.yaml"
