"""Caching a label scan in an .npz file that loads without pickle (np.load(allow_pickle=False)).

The cache is keyed by a hash of the cache version, the class count and every image and label
file's path, size and modification time, so touching or editing any file invalidates it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from yolo8.data.dataset_config import label_file_for
from yolo8.data.labels import ImageLabels, ScanResult

LOGGER = logging.getLogger("yolo8")
CACHE_VERSION = "yolo8-labels-1"
_ARRAY_KEYS = (
    "version", "key", "image_files", "shapes", "label_counts", "has_segments", "classes", "boxes",
    "segment_lengths", "segment_points", "counts", "warnings",
)


def default_cache_file(image_files: list[str]) -> Path:
    """'<labels dir>.yolo8.cache' beside the first image's labels directory, e.g. labels/train.yolo8.cache.

    The '.yolo8' part keeps it apart from the '.cache' files other tools write in the same place.
    """
    labels_dir = Path(label_file_for(image_files[0])).parent
    return labels_dir.parent / f"{labels_dir.name}.yolo8.cache"


def _stat_text(path: str) -> str:
    try:
        status = os.stat(path)
    except OSError:
        return "-"
    return f"{status.st_size}:{status.st_mtime_ns}"


def cache_key(image_files: list[str], num_classes: int) -> str:
    """sha256 hex over the cache version, num_classes and each image/label path, size and mtime."""
    digest = hashlib.sha256(f"{CACHE_VERSION}\n{num_classes}\n".encode())
    for image_file in image_files:
        label_file = label_file_for(image_file)
        record = f"{image_file}\0{_stat_text(image_file)}\0{label_file}\0{_stat_text(label_file)}\n"
        digest.update(record.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _string_array(strings: list[str]) -> np.ndarray:
    """Strings -> (bytes,) uint8 of their NUL-separated UTF-8 (compact, unlike fixed-width 'U' arrays)."""
    data = "\0".join(strings).encode("utf-8", "surrogateescape")
    return np.frombuffer(data, np.uint8) if strings else np.zeros((0,), np.uint8)


def _strings(array: np.ndarray, count: int | None = None) -> list[str]:
    """Inverse of _string_array; count disambiguates [] from [''] ."""
    if count == 0 or (count is None and array.size == 0):
        return []
    return array.tobytes().decode("utf-8", "surrogateescape").split("\0")


def _to_arrays(key: str, result: ScanResult) -> dict[str, np.ndarray]:
    labels = result.labels
    segment_lengths, segment_points = [], []
    for item in labels:
        if item.segments:
            segment_lengths.extend(len(points) for points in item.segments)
            segment_points.extend(item.segments)
        else:
            segment_lengths.extend([0] * len(item.classes))
    return {
        "version": np.array(CACHE_VERSION),
        "key": np.array(key),
        "image_files": _string_array([item.image_file for item in labels]),
        "shapes": np.array([item.shape for item in labels], np.int64).reshape(-1, 2),
        "label_counts": np.array([len(item.classes) for item in labels], np.int64),
        "has_segments": np.array([bool(item.segments) for item in labels], bool),
        "classes": np.concatenate([item.classes for item in labels] + [np.zeros(0, np.int64)]).astype(np.int64),
        "boxes": np.concatenate([item.boxes for item in labels] + [np.zeros((0, 4), np.float32)]).astype(np.float32),
        "segment_lengths": np.array(segment_lengths, np.int64),
        "segment_points": np.concatenate(segment_points + [np.zeros((0, 2), np.float32)]).astype(np.float32),
        "counts": np.array([result.found, result.missing, result.empty, result.corrupt], np.int64),
        "warnings": _string_array(result.warnings),
    }


def _from_arrays(arrays: dict[str, np.ndarray], cache_file: Path) -> ScanResult:
    label_ends = np.cumsum(arrays["label_counts"])
    classes = np.split(arrays["classes"], label_ends[:-1])
    boxes = np.split(arrays["boxes"], label_ends[:-1])
    segment_lengths = np.split(arrays["segment_lengths"], label_ends[:-1])
    points = arrays["segment_points"]
    point_start = 0
    labels = []
    image_files = _strings(arrays["image_files"], len(arrays["label_counts"]))
    if len(image_files) != len(arrays["label_counts"]):
        raise ValueError("cache arrays disagree in length")
    for index, image_file in enumerate(image_files):
        segments = []
        if arrays["has_segments"][index]:
            for length in segment_lengths[index].tolist():
                segments.append(points[point_start : point_start + length])
                point_start += length
        height, width = arrays["shapes"][index].tolist()
        labels.append(ImageLabels(image_file, (height, width), classes[index], boxes[index], segments))
    found, missing, empty, corrupt = arrays["counts"].tolist()
    return ScanResult(
        labels=labels, found=found, missing=missing, empty=empty, corrupt=corrupt,
        warnings=_strings(arrays["warnings"]), cache_file=cache_file, from_cache=True,
    )


def load_scan(cache_file: Path, key: str) -> ScanResult | None:
    """The cached ScanResult when cache_file exists, loads safely and matches key; else None.

    A cache is disposable: one that is missing or stale returns None silently; one that cannot be
    read (truncated, garbage, foreign format, inconsistent arrays) logs a one-line warning on the
    "yolo8" logger and returns None, so the labels are scanned again and the cache rewritten.
    Never raises.
    """
    cache_file = Path(cache_file)
    if not cache_file.exists():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as archive:
            if str(archive["version"]) != CACHE_VERSION or str(archive["key"]) != key:
                return None
            arrays = {name: archive[name] for name in _ARRAY_KEYS}
        return _from_arrays(arrays, cache_file)
    except Exception as error:  # noqa: BLE001 - zipfile, zlib, numpy and OS errors all mean "unreadable"
        reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        LOGGER.warning(f"{cache_file}: label cache unreadable ({reason}); rebuilding it")
        return None


def save_scan(cache_file: Path, key: str, result: ScanResult) -> str | None:
    """Write result to cache_file atomically; returns a warning message instead of raising on failure."""
    cache_file = Path(cache_file)
    temporary = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            np.savez(file, **_to_arrays(key, result))
        os.replace(temporary, cache_file)
    except OSError as error:
        try:
            temporary.unlink()
        except OSError:
            pass
        return (
            f"{cache_file}: label cache not saved ({error.strerror or error}); the next run will scan "
            "the labels again. Make the directory writable or pass another cache_file."
        )
    return None
