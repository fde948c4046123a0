"""COCO instances JSON -> YOLO dataset: ``labels/<split>/*.txt``, ``images/<split>/`` links and ``data.yaml``.

Conventions of the conversion (also in the README):

* The split is named after the JSON: ``instances_val2017.json`` -> ``val2017``; it becomes the YAML's
  ``train`` / ``val`` / ``test`` entry by the word it contains (neither -> ``val``). While only one split
  has been converted, ``train`` and ``val`` both point to it so that the YAML loads; converting the
  other JSON into the same output directory fills in its own entry.
* Classes: the categories sorted by COCO id; class index = position. The YAML records the original
  ids as ``coco_category_ids: [1, 2, 3, 5, …]`` (class index -> COCO category id), which
  ``save_json`` uses to write predictions with the original ids.
* Rows: ``cls cx cy w h`` from the COCO ``bbox`` (clipped to the image), or ``cls x1 y1 x2 y2 …`` when
  the annotation has polygon segmentation; all coordinates normalised, 6 decimals. A polygon in
  several parts becomes one polygon whose parts are joined by zero-width bridges (each part linked
  to the next at their closest vertices, walked there and back). Non-crowd RLE masks give box rows.
* Crowd annotations (``iscrowd: 1``): YOLO rows have no crowd flag, so their boxes (clipped to the image)
  go to the sidecar ``labels/<split>.crowd.json`` = ``{image key: [[cls, x1, y1, x2, y2], ...]}``, xyxy
  normalised, image key = ``file_name`` without extension (format: :mod:`yolo8.data.crowd`). YOLO tools
  ignore it; ``yolo8 val`` reads it so that detections on crowd regions are ignored as in COCOeval.
  A split without crowd regions has no sidecar (a stale one from an earlier conversion is removed).
* Left out, and counted in the summary: boxes with zero or negative width or height (also after clipping
  to the image), crowd or not.
* Images without annotations get empty label files. Images are symlinked (``copy_images=True``
  copies them; a file system without symlinks falls back to copying).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from yolo8.data.crowd import CROWD_SUFFIX, write_crowd_file
from yolo8.data.dataset_config import DatasetConfig

CATEGORY_IDS_KEY = "coco_category_ids"


class CocoFormatError(ValueError):
    """A COCO JSON that cannot be converted; the message names the file, the entry and the key."""


@dataclass
class CocoConversion:
    """What :func:`convert_coco_split` wrote and what it left out."""

    yaml_file: Path
    split: str
    split_key: str
    images: int = 0
    boxes: int = 0
    polygons: int = 0
    empty_images: int = 0
    crowd_kept: int = 0
    crowd_file: Path | None = None
    invalid_skipped: int = 0
    rle_as_boxes: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"COCO split '{self.split}' -> {self.yaml_file} ({self.split_key}: images/{self.split}): "
                 f"{self.images} images ({self.empty_images} without labels), {self.boxes} box rows, "
                 f"{self.polygons} polygon rows"]
        if self.crowd_kept:
            lines.append(f"{self.crowd_kept} crowd regions kept in {self.crowd_file} (iscrowd=1; YOLO labels have no "
                         "crowd flag, yolo8 val ignores detections on them as COCOeval does)")
        if self.invalid_skipped:
            lines.append(f"skipped {self.invalid_skipped} annotation(s) with zero or negative box width or height")
        if self.rle_as_boxes:
            lines.append(f"{self.rle_as_boxes} non-crowd RLE mask(s) written as box rows")
        return "\n".join(lines + self.warnings)


def _fail(json_file, message: str):
    raise CocoFormatError(f"{json_file}: {message}")


def _entries(data: dict, key: str, required: tuple, json_file) -> list:
    """data[key] checked to be a list of dicts that each have the ``required`` keys."""
    entries = data.get(key)
    if not isinstance(entries, list):
        _fail(json_file, f"missing key '{key}' (a list); is this a COCO instances file?")
    for index, entry in enumerate(entries):
        missing = [name for name in required if not isinstance(entry, dict) or name not in entry]
        if missing:
            name = entry.get("id", f"#{index}") if isinstance(entry, dict) else f"#{index}"
            _fail(json_file, f"'{key}' entry {name} lacks key(s) {missing}.")
    return entries


def load_coco_json(json_file) -> dict:
    """Read and check a COCO instances JSON: 'images' (id, file_name, width, height), 'categories' (id, name),
    'annotations' (id, image_id, category_id, bbox; optional: may be absent in image-info files)."""
    json_file = Path(json_file)
    if not json_file.is_file():
        raise FileNotFoundError(f"COCO annotations '{json_file}' not found.")
    try:
        data = json.loads(json_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        _fail(json_file, f"not valid JSON ({error}).")
    if not isinstance(data, dict):
        _fail(json_file, "expected a JSON object with 'images', 'annotations', 'categories', "
                         f"got {type(data).__name__}.")
    for image in _entries(data, "images", ("id", "file_name", "width", "height"), json_file):
        if not all(isinstance(image[k], (int, float)) and image[k] > 0 for k in ("width", "height")):
            _fail(json_file, f"image {image['id']}: width and height must be positive numbers, "
                             f"got {image['width']!r} x {image['height']!r}.")
    _entries(data, "categories", ("id", "name"), json_file)
    data.setdefault("annotations", [])
    _entries(data, "annotations", ("id", "image_id", "category_id", "bbox"), json_file)
    ids = [category["id"] for category in data["categories"]]
    if not ids or len(set(ids)) != len(ids) or not all(isinstance(i, int) for i in ids):
        _fail(json_file, f"'categories' ids must be distinct integers and not empty, got {ids}.")
    return data


def split_name(json_file) -> str:
    """'instances_val2017.json' -> 'val2017' (a stem without the 'instances_' prefix)."""
    stem = Path(json_file).stem
    return stem[len("instances_"):] if stem.startswith("instances_") and len(stem) > 10 else stem


def split_key(split: str) -> str:
    """The dataset YAML key a split fills: 'train', 'test', else 'val'."""
    lowered = split.lower()
    return "train" if "train" in lowered else "test" if "test" in lowered else "val"


def merge_polygon_parts(parts: list[np.ndarray]) -> np.ndarray:
    """Polygon parts (each (K_i, 2) xy) -> one (K, 2) polygon, parts joined by zero-width bridges.

    Part i is linked to part i+1 at their closest vertices; the walk goes out through every part to the
    last one, round it, and back, finishing each part's loop on the way back.
    """
    if len(parts) == 1:
        return parts[0]
    entry, exit_ = [0] * len(parts), [0] * len(parts)
    for i in range(len(parts) - 1):
        distances = ((parts[i][:, None, :] - parts[i + 1][None, :, :]) ** 2).sum(-1)  # (K_i, K_i+1)
        exit_[i], entry[i + 1] = np.unravel_index(int(distances.argmin()), distances.shape)
    entry[0], exit_[-1] = exit_[0], entry[-1]

    def walk(points, start, stop, full_loop=False):
        count = len(points)
        steps = count if full_loop else (stop - start) % count
        return [points[(start + k) % count] for k in range(steps + 1)]

    path = []
    for i, points in enumerate(parts):
        path += walk(points, entry[i], exit_[i], full_loop=i == len(parts) - 1)
    for i in range(len(parts) - 2, -1, -1):
        path += walk(parts[i], exit_[i], entry[i], full_loop=entry[i] == exit_[i])
    return np.array(path[:-1], dtype=np.float64)  # the walk ends where it began


def _polygon_row(segmentation, width: float, height: float) -> np.ndarray | None:
    """COCO polygon list (flat x, y pixel lists) -> (K, 2) normalised merged polygon, or None if unusable."""
    parts = [np.asarray(part, np.float64).reshape(-1, 2) for part in segmentation
             if isinstance(part, list) and len(part) >= 6 and len(part) % 2 == 0]  # (2K,) -> (K, 2)
    if not parts:
        return None
    merged = merge_polygon_parts(parts) / (width, height)
    return np.clip(merged, 0.0, 1.0)


def _format(values) -> str:
    return " ".join(f"{value:.6f}" for value in values)


def _label_rows(annotations: list, image: dict, class_of: dict, segments: bool, result: CocoConversion, json_file):
    """One image's annotations -> (YOLO label lines, crowd regions [[cls, x1, y1, x2, y2] normalised, ...]);
    updates the counters of ``result``."""
    width, height = float(image["width"]), float(image["height"])
    rows, crowd = [], []
    for annotation in annotations:
        bbox = annotation["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
            _fail(json_file, f"annotation {annotation['id']}: 'bbox' must be [x, y, width, height], got {bbox!r}.")
        x1, y1 = min(max(bbox[0], 0.0), width), min(max(bbox[1], 0.0), height)
        x2, y2 = min(max(bbox[0] + bbox[2], 0.0), width), min(max(bbox[1] + bbox[3], 0.0), height)
        if bbox[2] <= 0 or bbox[3] <= 0 or x2 <= x1 or y2 <= y1:
            result.invalid_skipped += 1
            if result.invalid_skipped <= 3:
                result.warnings.append(f"annotation {annotation['id']} ({image['file_name']}): box {bbox} has "
                                       f"no area inside the {width:g}x{height:g} image; skipped")
            continue
        cls = class_of[annotation["category_id"]]
        if annotation.get("iscrowd", 0):
            crowd.append([cls, x1 / width, y1 / height, x2 / width, y2 / height])
            result.crowd_kept += 1
            continue
        segmentation = annotation.get("segmentation")
        polygon = _polygon_row(segmentation, width, height) if segments and isinstance(segmentation, list) else None
        if polygon is not None:
            rows.append(f"{cls} {_format(polygon.reshape(-1))}")  # (K, 2) -> (2K,)
            result.polygons += 1
            continue
        result.rle_as_boxes += int(segments and isinstance(segmentation, dict))
        box = ((x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height)
        rows.append(f"{cls} {_format(box)}")
        result.boxes += 1
    return rows, crowd


def default_images_dir(json_file: Path, split: str, first_file: str | None) -> Path:
    """Where COCO usually keeps a split's images, relative to the JSON; raises when none holds them."""
    base = json_file.parent.parent if json_file.parent.name == "annotations" else json_file.parent
    candidates = [base / "images" / split, base / split, json_file.parent / split, base / "images", json_file.parent]
    for candidate in candidates:
        if candidate.is_dir() and (first_file is None or (candidate / first_file).is_file()):
            return candidate
    raise FileNotFoundError(f"{json_file}: could not find the images of split '{split}' (looked in "
                            f"{', '.join(str(c) for c in candidates)}); pass images=DIR.")


def default_output_dir(json_file: Path) -> Path:
    """A 'yolo' folder beside the 'annotations' folder holding the JSON (beside the JSON otherwise)."""
    json_file = Path(json_file).resolve()
    return (json_file.parent.parent if json_file.parent.name == "annotations" else json_file.parent) / "yolo"


def _place_image(source: Path, target: Path, copy: bool, result: CocoConversion) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and target.resolve() == source.resolve():
        return  # already there (out=DIR is the COCO folder itself, or a link from an earlier run)
    if target.is_symlink() or target.exists():
        target.unlink()
    if not copy:
        try:
            os.symlink(source, target)
            return
        except OSError as error:
            if not any("symlink" in w for w in result.warnings):
                result.warnings.append(f"cannot symlink images ({error}); copying them instead")
    shutil.copy2(source, target)


def _write_yaml(output_dir: Path, split: str, names: list, category_ids: list, json_file) -> tuple[Path, str]:
    """Create or extend output_dir/data.yaml with this split; returns (yaml file, split key)."""
    yaml_file, key = output_dir / "data.yaml", split_key(split)
    data = {"path": ".", "train": None, "val": None, "names": dict(enumerate(names)), CATEGORY_IDS_KEY: category_ids}
    if yaml_file.is_file():
        existing = yaml.safe_load(yaml_file.read_text(encoding="utf-8")) or {}
        old_names = existing.get("names") or []
        old_names = list(old_names.values()) if isinstance(old_names, dict) else list(old_names)
        if existing.get(CATEGORY_IDS_KEY) != category_ids or old_names != names:
            _fail(json_file, f"{yaml_file} already describes a dataset with other categories; choose another out=DIR.")
        data.update({k: existing.get(k) for k in ("train", "val", "test") if existing.get(k)})
    data[key] = f"images/{split}"
    data["train"], data["val"] = data["train"] or data["val"] or data[key], data["val"] or data["train"] or data[key]
    ids = data.pop(CATEGORY_IDS_KEY)
    text = yaml.safe_dump({k: v for k, v in data.items() if v is not None}, sort_keys=False, allow_unicode=True)
    yaml_file.write_text(f"# Converted from COCO by yolo8 ({json_file.name}).\n{text}"
                         f"{CATEGORY_IDS_KEY}: {ids}  # class index -> COCO category id\n", encoding="utf-8")
    return yaml_file, key


def convert_coco_split(annotations_json, images_dir=None, output_dir=None, copy_images: bool = False,
                       segments: bool = True) -> CocoConversion:
    """Convert one COCO instances JSON into YOLO labels, image links and data.yaml; see the module docstring.

    Args:
        annotations_json: the COCO instances file.
        images_dir: folder the images' ``file_name`` are relative to (default: searched near the JSON).
        output_dir: dataset folder to write (default: :func:`default_output_dir`).
        copy_images: copy images instead of symlinking them.
        segments: write polygon rows when annotations have polygons (False: boxes only).

    Raises:
        FileNotFoundError: the JSON or an image file does not exist.
        CocoFormatError: malformed JSON, missing keys, unknown image / category ids.
    """
    json_file = Path(annotations_json).resolve()
    data = load_coco_json(json_file)
    split = split_name(json_file)
    categories = sorted(data["categories"], key=lambda category: category["id"])
    names, category_ids = [str(c["name"]) for c in categories], [int(c["id"]) for c in categories]
    class_of = {category_id: index for index, category_id in enumerate(category_ids)}
    images = {image["id"]: image for image in data["images"]}
    first = data["images"][0]["file_name"] if data["images"] else None
    images_dir = Path(images_dir).resolve() if images_dir else default_images_dir(json_file, split, first)
    output_dir = Path(output_dir).resolve() if output_dir else default_output_dir(json_file)

    by_image = {image_id: [] for image_id in images}
    for annotation in data["annotations"]:
        if annotation["image_id"] not in images:
            _fail(json_file, f"annotation {annotation['id']} refers to image_id {annotation['image_id']!r}, "
                             "which is not in 'images'.")
        if annotation["category_id"] not in class_of:
            _fail(json_file, f"annotation {annotation['id']} has category_id {annotation['category_id']!r}, "
                             f"which is not in 'categories' (ids {category_ids}).")
        by_image[annotation["image_id"]].append(annotation)
    stems, missing = {}, []
    for image in data["images"]:
        relative = Path(image["file_name"])
        if relative.is_absolute() or ".." in relative.parts:
            _fail(json_file, f"image {image['id']}: file_name '{relative}' must be relative to the images folder.")
        stem = relative.with_suffix("").as_posix()
        if stem in stems:
            _fail(json_file, f"images '{stems[stem]}' and '{relative}' would share the label file {stem}.txt.")
        stems[stem] = relative
        if not (images_dir / relative).is_file():
            missing.append(str(images_dir / relative))
    if missing:
        raise FileNotFoundError(f"{json_file}: {len(missing)} image file(s) missing, e.g. {missing[0]}; "
                                "pass images=DIR with the folder holding them.")

    result = CocoConversion(output_dir / "data.yaml", split, split_key(split))
    crowd_regions = {}
    for image in data["images"]:
        relative = Path(image["file_name"])
        rows, crowd = _label_rows(by_image[image["id"]], image, class_of, segments, result, json_file)
        label_file = output_dir / "labels" / split / relative.with_suffix(".txt")
        label_file.parent.mkdir(parents=True, exist_ok=True)
        label_file.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
        _place_image(images_dir / relative, output_dir / "images" / split / relative, copy_images, result)
        result.images += 1
        result.empty_images += not rows
        if crowd:
            crowd_regions[relative.with_suffix("").as_posix()] = crowd
    crowd_file = output_dir / "labels" / f"{split}{CROWD_SUFFIX}"
    if crowd_regions:
        write_crowd_file(crowd_file, crowd_regions)
        result.crowd_file = crowd_file
    elif crowd_file.is_file():
        crowd_file.unlink()
    if result.invalid_skipped > 3:
        result.warnings.append(f"… and {result.invalid_skipped - 3} more annotation(s) without area")
    result.yaml_file, result.split_key = _write_yaml(output_dir, split, names, category_ids, json_file)
    return result


def convert_coco(annotations_json, images_dir=None, output_dir=None, copy_images: bool = False,
                 segments: bool = True) -> Path:
    """Convert a COCO instances JSON to a YOLO dataset; returns the written data.yaml (see convert_coco_split)."""
    return convert_coco_split(annotations_json, images_dir, output_dir, copy_images, segments).yaml_file


def coco_category_ids(data: DatasetConfig) -> list[int] | None:
    """The ``coco_category_ids`` list of a dataset YAML (class index -> COCO category id), or None.

    Raises:
        ValueError: the list is not num_classes distinct integers.
    """
    if data.yaml_file is None or not Path(data.yaml_file).is_file():
        return None
    raw = (yaml.safe_load(Path(data.yaml_file).read_text(encoding="utf-8")) or {}).get(CATEGORY_IDS_KEY)
    if raw is None:
        return None
    if (not isinstance(raw, list) or len(raw) != data.num_classes or len(set(raw)) != len(raw)
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw)):
        raise ValueError(f"dataset YAML '{data.yaml_file}': '{CATEGORY_IDS_KEY}' must list {data.num_classes} "
                         f"distinct integer ids (one per class), got {raw!r}.")
    return raw
