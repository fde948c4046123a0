"""The label scan: check every image and its YOLO label file once, keep the usable ones, cache the result.

Per image (``scan_image``): the image must open and verify with PIL and be at least 10 pixels
on each side; a JPEG missing its end marker is kept with a warning when it still decodes
(the file is never rewritten). Its label file is parsed by ``parse_label_text``. Outcomes:

* found: labels parsed (duplicate rows removed with a warning);
* missing: no label file, the image is kept as a background;
* empty: a label file without rows, the image is kept as a background;
* corrupt: unreadable image, or malformed label file; the image is skipped with a warning.

``scan_labels`` runs this over a thread pool, logs one summary line and the collected warnings
on the "yolo8" logger, and caches the result (see :mod:`yolo8.data.label_cache`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from multiprocessing.pool import ThreadPool
from pathlib import Path

from PIL import Image

from yolo8.data.dataset_config import label_file_for
from yolo8.data.imageio import ImageReadError, is_truncated_jpeg, oriented_size, read_image
from yolo8.data.label_cache import cache_key, default_cache_file, load_scan, save_scan
from yolo8.data.labels import ImageLabels, LabelError, ScanResult, parse_label_text

LOGGER = logging.getLogger("yolo8")
MIN_IMAGE_SIDE = 10
MAX_LOGGED_WARNINGS = 20
STATUSES = ("found", "missing", "empty", "corrupt")


@dataclass
class ImageScan:
    """Outcome of scanning one image: its labels (None when skipped), status (one of STATUSES), warnings."""

    labels: ImageLabels | None
    status: str
    warnings: list[str] = field(default_factory=list)


def _check_image(image_file: str) -> tuple[tuple[int, int] | None, list[str]]:
    """(height, width) after EXIF orientation, or None when the image is unusable; plus warnings."""
    try:
        with Image.open(image_file) as image:
            shape = oriented_size(image)
            image.verify()
    except Exception as error:  # PIL raises many types for damaged files
        return None, [f"{image_file}: skipped, cannot open the image ({type(error).__name__}: {error})"]
    if min(shape) < MIN_IMAGE_SIDE:
        return None, [f"{image_file}: skipped, image is {shape[1]}x{shape[0]} pixels, smaller than {MIN_IMAGE_SIDE}"]
    try:
        truncated = is_truncated_jpeg(image_file)
    except OSError as error:
        return None, [f"{image_file}: skipped, cannot read the file ({error})"]
    if not truncated:
        return shape, []
    try:
        read_image(image_file)
    except ImageReadError as error:
        return None, [f"{image_file}: skipped, truncated JPEG that does not decode ({error.reason})"]
    return shape, [
        f"{image_file}: JPEG has no end-of-image marker (truncated?); kept, but part of it may be "
        "grey. Re-save the image to silence this warning"
    ]


def scan_image(image_file: str, num_classes: int) -> ImageScan:
    """Check one image and parse its label file (label_file_for(image_file)); never raises for bad files."""
    shape, warnings = _check_image(image_file)
    if shape is None:
        return ImageScan(None, "corrupt", warnings)
    label_file = label_file_for(image_file)
    try:
        with open(label_file, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return ImageScan(ImageLabels(image_file, shape), "missing", warnings)
    except OSError as error:
        reason = f"{label_file}: skipped {image_file}, cannot read the label file ({error})"
        return ImageScan(None, "corrupt", warnings + [reason])
    try:
        text = data.decode("utf-8-sig")  # a leading byte-order mark (Windows editors) is not data
    except UnicodeDecodeError:
        reason = f"{label_file}: skipped {image_file}, the label file is not UTF-8 text"
        return ImageScan(None, "corrupt", warnings + [reason])
    if not text.strip():
        return ImageScan(ImageLabels(image_file, shape), "empty", warnings)
    try:
        classes, boxes, segments, label_warnings = parse_label_text(text, num_classes, label_file)
    except LabelError as error:
        return ImageScan(None, "corrupt", warnings + [f"{error}; skipped {image_file}"])
    return ImageScan(ImageLabels(image_file, shape, classes, boxes, segments), "found", warnings + label_warnings)


def _scan_one(arguments: tuple[str, int]) -> ImageScan:
    return scan_image(*arguments)


def _log_summary(prefix: str, result: ScanResult) -> None:
    source = f" (cache {result.cache_file})" if result.from_cache else ""
    LOGGER.info(
        f"{prefix}: found {result.found}, missing {result.missing}, empty {result.empty}, "
        f"corrupt {result.corrupt}{source}"
    )
    for message in result.warnings[:MAX_LOGGED_WARNINGS]:
        LOGGER.warning(message)
    if len(result.warnings) > MAX_LOGGED_WARNINGS:
        LOGGER.warning(f"… and {len(result.warnings) - MAX_LOGGED_WARNINGS} more label-scan warnings")
    if result.found == 0 and (result.missing or result.empty):
        LOGGER.warning(f"{prefix}: no labels found, every image counts as background; check the labels/ directory "
                       "next to images/")


def default_workers() -> int:
    """Scan threads: file I/O and PIL release the GIL, so a few more than the cores help."""
    return min(8, 2 * (os.cpu_count() or 1))


def scan_labels(
    image_files: list[str],
    num_classes: int,
    cache_file: Path | None = None,
    prefix: str | None = None,
    workers: int | None = None,
    use_cache: bool = True,
) -> ScanResult:
    """Scan images and their YOLO label files, reusing a cache when no file changed.

    Args:
        image_files: image paths (label files follow label_file_for).
        num_classes: valid class ids are 0..num_classes-1.
        cache_file: cache path; default '<labels dir>.yolo8.cache' (see default_cache_file).
        prefix: start of the summary line; default 'Scanning <labels dir>'.
        workers: scan threads; default default_workers().
        use_cache: False skips reading and writing the cache.

    Returns:
        ScanResult with the usable images' labels in input order, the counts and the warnings.
        One summary line and the warnings (at most MAX_LOGGED_WARNINGS) go to the "yolo8" logger.
    """
    image_files = [str(file) for file in image_files]
    if not image_files:
        raise ValueError("scan_labels got no image files; check the dataset's train/val paths.")
    if prefix is None:
        prefix = f"Scanning {Path(label_file_for(image_files[0])).parent}"
    cache_file = Path(cache_file) if cache_file is not None else default_cache_file(image_files)
    key = cache_key(image_files, num_classes) if use_cache else ""
    if use_cache:
        cached = load_scan(cache_file, key)
        if cached is not None:
            _log_summary(prefix, cached)
            return cached
    workers = workers or default_workers()
    counts = dict.fromkeys(STATUSES, 0)
    labels, warnings = [], []
    jobs = [(image_file, num_classes) for image_file in image_files]
    chunk = max(1, min(64, len(jobs) // (workers * 4)))
    with ThreadPool(workers) as pool:
        for scan in pool.imap(_scan_one, jobs, chunksize=chunk):
            counts[scan.status] += 1
            warnings.extend(scan.warnings)
            if scan.labels is not None:
                labels.append(scan.labels)
    result = ScanResult(labels=labels, warnings=warnings, **counts)
    if use_cache:
        failure = save_scan(cache_file, key, result)
        if failure is None:
            result.cache_file = cache_file
        else:
            result.warnings.append(failure)
    _log_summary(prefix, result)
    return result
