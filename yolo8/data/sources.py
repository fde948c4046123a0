"""Prediction inputs: turn a ``source`` setting into a stream of BGR frames.

Accepted sources: an image file, a video file, a directory (its images and videos, sorted by
name), a glob pattern, a list of any of these; in-memory images as a numpy array (H, W, 3) BGR
uint8 as OpenCV gives, a PIL image (RGB), a torch tensor (3, H, W) or (B, 3, H, W) RGB float in
[0, 1], or a list of such images. Videos are read one frame at a time, never loaded whole.

Frames are original images: resizing (letterbox) belongs to the predictor, which also needs the
original for drawing and for mapping boxes back.

A file that cannot be read (a corrupt image, a video OpenCV cannot open or decode) is skipped with a
warning naming it, and the rest of the source goes on; the end of the iteration says how many were
skipped. A video that ends before its header's frame count gets a warning with both counts. When
nothing at all could be read, iteration raises :class:`SourceReadError` (an ``OSError``).
"""

from __future__ import annotations

import glob
import itertools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import torch
from PIL import Image

from yolo8.data.imageio import read_image

IMAGE_SUFFIXES = (".bmp", ".dng", ".jpeg", ".jpg", ".mpo", ".png", ".tif", ".tiff", ".webp", ".pfm", ".gif")
VIDEO_SUFFIXES = (".asf", ".avi", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg", ".ts", ".webm", ".wmv")


@dataclass
class Frame:
    """One image to predict on.

    Attributes:
        path: the file it came from, or a made-up name (``image0.jpg``) for an in-memory image.
        image: (H, W, 3) uint8 BGR, the original pixels.
        kind: ``image`` (a file), ``video`` (a frame of a video file) or ``array`` (in memory).
        item: 0-based position of its file/array among the source's items.
        items: number of items in the source.
        frame: for videos, the 1-based count of frames read so far from this video (else 0).
        frames: for videos, how many frames ``vid_stride`` will yield from this video according to its
            header (0 when unknown or not a video).
        fps: for videos, the frame rate divided by ``vid_stride`` (what a video writer should use), else 0.
    """

    path: str
    image: np.ndarray
    kind: str
    item: int
    items: int
    frame: int = 0
    frames: int = 0
    fps: float = 0.0


MAX_SKIP_WARNINGS = 10  # per-file skip warnings before the rest are only counted in the final summary


class SourceReadError(OSError):
    """Nothing could be read from a prediction source: every file in it is unreadable."""


class SourceWarning(UserWarning):
    """A prediction source file was skipped, or a video ended before its header said it would."""


class Source:
    """An iterable over the frames of a prediction source; see :func:`load_source`.

    ``items`` are file paths (str) or in-memory BGR arrays; ``len()`` is their number (a video counts once).
    After (or during) an iteration, ``skipped`` lists ``(path, reason)`` of the files that could not be read.
    """

    def __init__(self, items: list, vid_stride: int = 1):
        if vid_stride < 1:
            raise ValueError(f"vid_stride={vid_stride} is invalid: use 1 to read every frame, N for every Nth.")
        self.items = items
        self.vid_stride = vid_stride
        self.skipped: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Frame]:
        self.skipped = []
        yielded = 0
        for index, item in enumerate(self.items):
            if isinstance(item, np.ndarray):
                yielded += 1
                yield Frame(f"image{index}.jpg", item, "array", index, len(self.items))
                continue
            if is_video(item):
                read = 0
                for frame in self._video_frames(item, index):
                    read += 1
                    yield frame
                yielded += read
                continue
            try:
                image = read_image(item)
            except OSError as error:  # ImageReadError, or the file vanished or is not readable
                self._skip(item, getattr(error, "reason", None) or str(error))
                continue
            yielded += 1
            yield Frame(item, image, "image", index, len(self.items))
        self._finish(yielded)

    def _skip(self, path: str, reason: str) -> None:
        self.skipped.append((path, reason))
        if len(self.skipped) <= MAX_SKIP_WARNINGS:
            more = " (further skips are only counted)" if len(self.skipped) == MAX_SKIP_WARNINGS else ""
            warnings.warn(f"skipped '{path}': {reason}{more}", SourceWarning, stacklevel=3)

    def _finish(self, yielded: int) -> None:
        """At the end of an iteration: summarise the skipped files, or fail when nothing was read."""
        if not self.skipped:
            return
        files = sum(not isinstance(item, np.ndarray) for item in self.items)
        names = ", ".join(Path(path).name for path, _ in self.skipped[:5])
        names += f", … ({len(self.skipped) - 5} more)" if len(self.skipped) > 5 else ""
        if yielded == 0:
            first_path, first_reason = self.skipped[0]
            raise SourceReadError(
                f"nothing could be read from the source: all {len(self.skipped)} file(s) are unreadable "
                f"({names}); first: '{first_path}': {first_reason}. Check the files (corrupt, truncated or "
                "an unsupported codec) and re-encode or remove them.")
        warnings.warn(f"skipped {len(self.skipped)} of {files} source file(s) that could not be read: {names}",
                      SourceWarning, stacklevel=3)

    def _video_frames(self, path: str, index: int) -> Iterator[Frame]:
        """The kept frames of one video; an unreadable video is skipped and a short one warned about."""
        capture = cv2.VideoCapture(path)
        if not capture.isOpened():
            capture.release()
            self._skip(path, "OpenCV cannot open this video (corrupt file or unsupported codec)")
            return
        try:
            total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            frames = max(0, -(-total // self.vid_stride))  # ceil: frames 0, s, 2s, ... are kept
            fps = (capture.get(cv2.CAP_PROP_FPS) or 30.0) / self.vid_stride
            read = 0
            for position in itertools.count():  # until the stream ends; the header's count is only a claim
                if not capture.grab():
                    break
                if position % self.vid_stride:
                    continue  # grab() skips a frame without converting it
                ok, image = capture.retrieve()
                if not ok or image is None:
                    break
                read += 1
                yield Frame(path, image, "video", index, len(self.items), read, frames, fps)
        finally:
            capture.release()
        if read == 0:
            self._skip(path, "no frame could be decoded from this video (corrupt file or unsupported codec)")
        elif read < frames:
            warnings.warn(f"video '{path}' ended early: read {read} of the {frames} frames its header announces "
                          "(truncated or damaged file); the rest is missing from the results", SourceWarning,
                          stacklevel=3)


def is_video(path) -> bool:
    return isinstance(path, (str, os.PathLike)) and Path(path).suffix.lower() in VIDEO_SUFFIXES


def load_source(source, vid_stride: int = 1) -> Source:
    """Resolve ``source`` (see the module docstring) into a :class:`Source` of frames.

    Raises:
        FileNotFoundError: a path or glob that matches nothing; the message names it.
        ValueError: a type or file suffix that is not a supported image or video.
    """
    return Source(_resolve(source), vid_stride)


def _resolve(source) -> list:
    """source -> flat list of file paths (str) and BGR arrays."""
    if isinstance(source, (list, tuple)):
        if not source:
            raise ValueError("source is an empty list: give at least one image, video, directory or array.")
        return [item for element in source for item in _resolve(element)]
    if isinstance(source, (str, os.PathLike)):
        return _resolve_path(str(source))
    if isinstance(source, np.ndarray):
        return [_check_array(source)]
    if isinstance(source, Image.Image):
        rgb = np.asarray(source.convert("RGB"))
        return [np.ascontiguousarray(rgb[..., ::-1])]  # RGB -> BGR
    if isinstance(source, torch.Tensor):
        return _tensor_to_bgr(source)
    raise ValueError(
        f"source of type {type(source).__name__} is not supported: use a path, directory, glob, video, "
        "numpy array (H, W, 3) BGR, PIL image, torch tensor (B, 3, H, W) in [0, 1], or a list of these."
    )


def _resolve_path(text: str) -> list[str]:
    if "://" in text:
        raise ValueError(
            f"source '{text}' is a URL or stream; yolo8 never opens network connections: download it first."
        )
    if any(char in text for char in "*?["):
        matches = sorted(path for path in glob.glob(text, recursive=True) if _is_media(path))
        if not matches:
            raise FileNotFoundError(f"source glob '{text}' matches no image or video files.")
        return matches
    path = Path(text)
    if path.is_dir():
        files = sorted(str(child) for child in path.iterdir() if child.is_file() and _is_media(child))
        if not files:
            raise FileNotFoundError(
                f"source directory '{text}' holds no images or videos "
                f"(looked for {', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})."
            )
        return files
    if not path.exists():
        raise FileNotFoundError(f"source '{text}' does not exist: check the path.")
    if not _is_media(path):
        raise ValueError(
            f"source '{text}' has an unsupported suffix '{path.suffix}': "
            f"images {', '.join(IMAGE_SUFFIXES)}; videos {', '.join(VIDEO_SUFFIXES)}."
        )
    return [text]


def _is_media(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES


def _check_array(array: np.ndarray) -> np.ndarray:
    """(H, W, 3) or (H, W) uint8 -> (H, W, 3) uint8 BGR; other layouts are refused with the fix."""
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)  # (H, W) -> (H, W, 3)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"numpy source of shape {array.shape} is not an image: use (H, W, 3) BGR as cv2.imread gives.")
    if array.dtype != np.uint8:
        raise ValueError(f"numpy source of dtype {array.dtype} is not supported: use uint8 pixels 0-255.")
    return np.ascontiguousarray(array)


def _tensor_to_bgr(tensor: torch.Tensor) -> list[np.ndarray]:
    """(3, H, W) or (B, 3, H, W) RGB float in [0, 1] -> B arrays (H, W, 3) uint8 BGR."""
    if tensor.ndim == 3:
        tensor = tensor[None]
    if tensor.ndim != 4 or tensor.shape[1] != 3:
        raise ValueError(f"tensor source of shape {tuple(tensor.shape)} is not supported: use (B, 3, H, W) RGB.")
    if not tensor.is_floating_point() or tensor.min() < 0 or tensor.max() > 1:
        raise ValueError("tensor source must be floating point RGB in [0, 1]; divide uint8 pixels by 255.")
    pixels = (tensor.detach().float().cpu() * 255).round().to(torch.uint8)
    # (B, 3, H, W) RGB -> (B, H, W, 3) BGR
    pixels = pixels.flip(1).permute(0, 2, 3, 1).numpy()
    return [np.ascontiguousarray(image) for image in pixels]
