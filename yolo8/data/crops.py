"""Object crops: a classification dataset (ImageNet folder layout) made from a detection dataset's boxes.

``write_object_crops(data.yaml, out)`` writes ``out/{train,val}/<class name>/<image stem>_<k>.jpg``: each
labelled object's box, widened by ``margin`` of its size on every side (some context, as a photographer's
crop has), clipped to the image, resized so its longer side is ``longest_side`` pixels. Objects smaller than
``min_side`` pixels are left out (nothing recognisable is left of them). ``builtin_crop_dataset()`` does this
once for the built-in detection dataset, so ``yolo8 classify train`` works on a fresh machine, and
``sample_crops()`` for the objects of the shipped sample images (what a classifier predicts on by default).

Writing happens in a sibling temporary directory renamed into place, with a ``crops.json`` marker written
last: an interrupted run never leaves half a dataset, and changed parameters make a new one.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from yolo8.data.dataset_config import image_files_from, label_file_for, load_dataset_config
from yolo8.data.imageio import read_image
from yolo8.data.labels import parse_label_text

LOGGER = logging.getLogger("yolo8")
MARKER_NAME = "crops.json"
CROPS_VERSION = 1  # bump when the pixels written for the same source change
JPEG_QUALITY = 95


def crop_box(box_xywh: np.ndarray, height: int, width: int, margin: float) -> tuple[int, int, int, int]:
    """A normalised (cx, cy, w, h) box -> (x1, y1, x2, y2) integer pixels, widened by ``margin`` x its size on each
    side and clipped to the (height, width) image."""
    cx, cy, w, h = (float(v) for v in box_xywh)
    half_w, half_h = w * width * (0.5 + margin), h * height * (0.5 + margin)
    x1, x2 = max(int(round(cx * width - half_w)), 0), min(int(round(cx * width + half_w)), width)
    y1, y2 = max(int(round(cy * height - half_h)), 0), min(int(round(cy * height + half_h)), height)
    return x1, y1, x2, y2


def resize_longest(image: np.ndarray, longest_side: int) -> np.ndarray:
    """(H, W, 3) -> (h, w, 3) with max(h, w) == longest_side, aspect kept (area averaging when shrinking)."""
    height, width = image.shape[:2]
    factor = longest_side / max(height, width)
    size = (max(int(round(width * factor)), 1), max(int(round(height * factor)), 1))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)


def _write_split(data, split: str, out: Path, longest_side: int, margin: float, min_side: int) -> int:
    names = data.names
    written = 0
    for image_file in image_files_from(getattr(data, split), data.root):
        label_file = Path(label_file_for(image_file))
        if not label_file.is_file():
            continue
        classes, boxes, _, _ = parse_label_text(label_file.read_text(), data.num_classes, str(label_file))
        if not len(classes):
            continue
        image = read_image(image_file)
        height, width = image.shape[:2]
        for k, (class_id, box) in enumerate(zip(classes.tolist(), boxes)):
            if min(box[2] * width, box[3] * height) < min_side:
                continue
            x1, y1, x2, y2 = crop_box(box, height, width, margin)
            crop = resize_longest(image[y1:y2, x1:x2], longest_side)
            target = out / split / names[class_id] / f"{Path(image_file).stem}_{k}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)  # only classes with crops get a folder: none is empty
            cv2.imwrite(str(target), crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            written += 1
    return written


def write_object_crops(data_yaml, out_root, longest_side: int = 64, margin: float = 0.1, min_side: int = 8,
                       splits: tuple[str, ...] = ("train", "val")) -> Path:
    """Write the crops of ``data_yaml``'s objects under ``out_root`` (see the module docstring); returns out_root.

    An ``out_root`` already holding crops of the same source and parameters is returned as it is.
    """
    data = load_dataset_config(data_yaml)
    out_root = Path(out_root).expanduser().absolute()
    spec = {"version": CROPS_VERSION, "source": str(data.yaml_file), "longest_side": int(longest_side),
            "margin": float(margin), "min_side": int(min_side), "splits": list(splits)}
    marker = out_root / MARKER_NAME
    if marker.is_file() and json.loads(marker.read_text()).get("spec") == spec:
        return out_root
    if out_root.exists() and any(out_root.iterdir()) and not marker.is_file():
        raise FileExistsError(f"{out_root} exists and was not written by write_object_crops (no {MARKER_NAME}); "
                              "give another output directory or remove it.")
    out_root.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out_root.name}.partial-", dir=out_root.parent))
    try:
        counts = {split: _write_split(data, split, partial, longest_side, margin, min_side) for split in splits}
        (partial / MARKER_NAME).write_text(json.dumps({"spec": spec, "crops": counts}, indent=2) + "\n")
        if out_root.exists():
            shutil.rmtree(out_root)
        partial.rename(out_root)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    LOGGER.info("Wrote %s object crops to %s", ", ".join(f"{n} {s}" for s, n in counts.items()), out_root)
    return out_root


def builtin_crop_dataset() -> Path:
    """The built-in classification dataset: crops (64 px) of the built-in detection scenes' objects, written
    beside that dataset in the same cache directory on first use; returns its root."""
    from yolo8.data.synthetic import builtin_dataset

    data_yaml = builtin_dataset()
    return write_object_crops(data_yaml, Path(data_yaml).parent.with_name(Path(data_yaml).parent.name + "-crops"))


def sample_crop_class(path: str | Path) -> str:
    """The true class name a :func:`sample_crops` file carries in its name ``<sample>_<k>_<class name>.jpg``."""
    return Path(path).stem.split("_", 2)[2]


def sample_crops(longest_side: int = 64, margin: float = 0.1, min_side: int = 8) -> list[Path]:
    """Crops of the shipped sample images' objects, as the built-in crops are cut, written once into
    ``cache_home()/samples/crops-v{CROPS_VERSION}`` as ``<sample>_<k>_<class name>.jpg`` (the true class in the
    name, to check a classifier's answers by eye); returns their paths in sample and object order."""
    from yolo8.data.synthetic import CLASS_NAMES, cache_home, sample_images, sample_scene

    out = cache_home() / "samples" / f"crops-v{CROPS_VERSION}"
    jobs = []
    for path in sample_images():
        scene = sample_scene(path.name)
        height, width = scene.image.shape[:2]
        for k, item in enumerate(scene.objects):
            x1, y1, x2, y2 = item.box
            if min(x2 - x1, y2 - y1) < min_side:
                continue
            box = np.array([(x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height])
            jobs.append((out / f"{path.stem}_{k}_{CLASS_NAMES[item.class_id]}.jpg", scene.image,
                         crop_box(box, height, width, margin)))
    if not all(target.is_file() for target, _, _ in jobs):
        out.mkdir(parents=True, exist_ok=True)
        for target, image, (x1, y1, x2, y2) in jobs:
            partial = target.with_name(f".{target.stem}.partial.jpg")  # renamed into place: never half a file
            if not cv2.imwrite(str(partial), resize_longest(image[y1:y2, x1:x2], longest_side),
                               [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
                raise OSError(f"cv2.imwrite could not write {partial}; check that {out} is writable")
            partial.replace(target)
    return [target for target, _, _ in jobs]
