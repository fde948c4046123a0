"""The built-in dataset on disk: generated once into a cache directory, in the YOLO dataset format.

Layout (the same as a user's dataset, so the same loading code runs)::

    root/data.yaml            path, train: images/train, val: images/val, nc, names
    root/images/{train,val}/000000.jpg ...
    root/labels/{train,val}/000000.txt ...   one polygon row per object: cls x1 y1 x2 y2 ... (normalised)
    root/builtin.json         generator version and parameters; written last, so its presence means complete

Generation happens in a sibling temporary directory that is renamed into place, so an interrupted
run never leaves a half dataset, and a change of generator version or parameters regenerates.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import cv2
import numpy as np
import yaml

from yolo8.data.synthetic.scene import Scene, render_scene
from yolo8.data.synthetic.shapes import CLASS_NAMES

GENERATOR_VERSION = 1  # bump whenever the pixels or labels for a given seed change
DATASET_DIRNAME = "builtin-v1"
MARKER_NAME = "builtin.json"
JPEG_QUALITY = 90
DEFAULT_TRAIN_IMAGES = 256
DEFAULT_VAL_IMAGES = 64
DEFAULT_IMAGE_SIZE = 320
NON_SQUARE_PROBABILITY = 0.25  # share of images whose shorter side is 60-95 % of image_size
_SPLIT_CODES = {"train": 0, "val": 1, "sample": 2}  # keeps the splits' random streams apart

_LOGGER = logging.getLogger(__name__)


def cache_home() -> Path:
    """$YOLO8_HOME, else $XDG_CACHE_HOME/yolo8, else ~/.cache/yolo8."""
    if os.environ.get("YOLO8_HOME"):
        return Path(os.environ["YOLO8_HOME"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "yolo8"
    return Path.home() / ".cache" / "yolo8"


def default_root(train_images: int, val_images: int, image_size: int, seed: int) -> Path:
    """cache_home()/datasets/builtin-v1, with a suffix naming the parameters when not the defaults."""
    name = DATASET_DIRNAME
    if (train_images, val_images, image_size, seed) != (DEFAULT_TRAIN_IMAGES, DEFAULT_VAL_IMAGES, DEFAULT_IMAGE_SIZE, 0):
        name += f"-{train_images}x{val_images}-{image_size}px-seed{seed}"
    return cache_home() / "datasets" / name


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of one image: independent of every other image and of generation order."""
    return np.random.default_rng([seed, _SPLIT_CODES[split], index])


def random_image_shape(rng: np.random.Generator, image_size: int) -> tuple[int, int]:
    """(width, height): square image_size, or landscape/portrait with the longer side image_size."""
    if rng.random() >= NON_SQUARE_PROBABILITY:
        return image_size, image_size
    shorter = int(round(image_size * rng.uniform(0.6, 0.95)))
    return (image_size, shorter) if rng.random() < 0.5 else (shorter, image_size)


def label_rows(scene: Scene) -> list[str]:
    """One 'cls x1 y1 x2 y2 ...' row per object, coordinates normalised to [0, 1] with 6 decimals."""
    height, width = scene.image.shape[:2]
    rows = []
    for item in scene.objects:
        normalised = np.clip(item.polygon / [width, height], 0.0, 1.0) + 0.0  # + 0.0 turns -0.0 into 0.0
        rows.append(" ".join([str(item.class_id)] + [f"{value:.6f}" for value in normalised.reshape(-1)]))
    return rows


def write_scene(scene: Scene, image_file: Path, label_file: Path) -> None:
    """Write the image as JPEG (fixed quality, so bytes are reproducible) and its label file."""
    if not cv2.imwrite(str(image_file), scene.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise OSError(f"cv2.imwrite could not write {image_file}; check that its directory is writable")
    rows = label_rows(scene)
    label_file.write_text("\n".join(rows) + ("\n" if rows else ""))


def write_split(root: Path, split: str, count: int, image_size: int, seed: int) -> None:
    """Generate count images of one split into root/images/<split> and root/labels/<split>."""
    image_dir, label_dir = root / "images" / split, root / "labels" / split
    image_dir.mkdir(parents=True, exist_ok=True)
    label_dir.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        rng = image_rng(seed, split, index)
        width, height = random_image_shape(rng, image_size)
        scene = render_scene(rng, width, height)
        write_scene(scene, image_dir / f"{index:06d}.jpg", label_dir / f"{index:06d}.txt")


def _read_marker(root: Path):
    try:
        return json.loads((root / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None


def _check_count(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"builtin_dataset: {name}={value!r} must be an integer >= {minimum}")


def builtin_dataset(
    root: Path | str | None = None,
    *,
    train_images: int = DEFAULT_TRAIN_IMAGES,
    val_images: int = DEFAULT_VAL_IMAGES,
    image_size: int = DEFAULT_IMAGE_SIZE,
    seed: int = 0,
) -> Path:
    """Path of the built-in dataset's data.yaml, generating the dataset first if needed.

    Args:
        root: dataset directory; default default_root(...) under cache_home(). An existing directory
            is reused if its builtin.json matches, replaced if it is an older built-in dataset, and
            refused if it is anything else (non-empty without builtin.json).
        train_images, val_images: number of images per split.
        image_size: longer image side in pixels (a quarter of the images are not square).
        seed: the same seed gives byte-identical images and labels.
    """
    _check_count("train_images", train_images, 1)
    _check_count("val_images", val_images, 1)
    _check_count("image_size", image_size, 32)
    _check_count("seed", seed, 0)
    root = Path(root).expanduser() if root is not None else default_root(train_images, val_images, image_size, seed)
    root = root.absolute()
    spec = {
        "generator_version": GENERATOR_VERSION,
        "train_images": int(train_images),
        "val_images": int(val_images),
        "image_size": int(image_size),
        "seed": int(seed),
    }
    if _read_marker(root) == spec:
        return root / "data.yaml"
    if root.exists() and (not root.is_dir() or (any(root.iterdir()) and _read_marker(root) is None)):
        raise FileExistsError(
            f"{root} exists and is not a yolo8 built-in dataset (it has no {MARKER_NAME}); "
            "pass another root= or remove that directory"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    _LOGGER.info("Generating the built-in dataset (%d train, %d val images) into %s", train_images, val_images, root)
    partial = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        write_split(partial, "train", spec["train_images"], spec["image_size"], spec["seed"])
        write_split(partial, "val", spec["val_images"], spec["image_size"], spec["seed"])
        data = {"path": str(root), "train": "images/train", "val": "images/val",
                "nc": len(CLASS_NAMES), "names": list(CLASS_NAMES)}
        (partial / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        (partial / MARKER_NAME).write_text(json.dumps(spec, indent=2) + "\n")
        _move_into_place(partial, root, spec)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return root / "data.yaml"


def replace_directory(partial: Path, root: Path) -> None:
    """Rename the finished ``partial`` directory to ``root``; a stale ``root`` is first renamed aside (so ``root``
    is never half there) and then deleted."""
    stale = root.with_name(f".{root.name}.stale-{uuid.uuid4().hex[:8]}") if root.exists() else None
    if stale is not None:
        os.rename(root, stale)
    os.rename(partial, root)
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)


def _move_into_place(partial: Path, root: Path, spec: dict) -> None:
    """Rename the finished partial directory to root, setting aside whatever stale root was there."""
    stale = None
    if root.exists():
        stale = root.with_name(f".{root.name}.stale-{uuid.uuid4().hex[:8]}")
        os.rename(root, stale)
    try:
        os.rename(partial, root)
    except OSError:
        if _read_marker(root) != spec:  # not a concurrent generator that finished the same dataset first
            raise
    finally:
        if stale is not None:
            shutil.rmtree(stale, ignore_errors=True)
