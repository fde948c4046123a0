"""YOLODataset: images + labels -> augmented (training) or letterboxed (validation) samples."""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from yolo8.data.imageio import ImageReadError, read_image
from yolo8.data.labels import ImageLabels
from yolo8.data.transforms.annotations import Annotations
from yolo8.data.transforms.compose import Augmentation, bgr_to_chw_rgb, colour_and_flips
from yolo8.data.transforms.copy_paste import copy_paste
from yolo8.data.transforms.geometric import random_affine
from yolo8.data.transforms.letterbox import letterbox, resize_long_side
from yolo8.data.transforms.masks import MaskLayout, overlap_masks, polygon_masks
from yolo8.data.transforms.mixup import mixup
from yolo8.data.transforms.mosaic import mosaic4
from yolo8.ops.letterbox import LetterboxInfo, rect_batch_shapes

LOGGER = logging.getLogger("yolo8")


class CopyPasteWithoutPolygonsWarning(UserWarning):
    """copy_paste > 0 on a dataset whose labels are boxes only: nothing can be pasted."""


@dataclass
class Sample:
    """One dataset item.

    Attributes:
        image: (3, H, W) uint8 RGB tensor, contiguous.
        classes: (N,) int64.
        boxes: (N, 4) float32 xywh normalised to the output image.
        segments: N polygons (K, 2) float32 xy normalised to the output image, or [] for boxes only.
        image_file: path of the (first, for a mosaic) source image.
        original_shape: (height, width) of that image as read.
        letterbox: mapping from the original image to ``image`` (see ``boxes_from_letterbox``);
            None for augmented samples, whose random warp has no such inverse.
        masks: None unless the dataset has a :class:`MaskLayout`; then (h, w) int16 index mask (overlap layout, and
            the labels above are ordered by decreasing mask area) or (N, h, w) uint8 binary masks (separate layout),
            h, w = the image's size / ratio.
    """

    image: torch.Tensor
    classes: np.ndarray
    boxes: np.ndarray
    segments: list
    image_file: str
    original_shape: tuple[int, int]
    letterbox: LetterboxInfo | None
    masks: np.ndarray | None = None


@dataclass
class _LoadedImage:
    image: np.ndarray  # (h, w, 3) uint8 BGR, long side = image_size
    original_shape: tuple[int, int]
    resize: LetterboxInfo  # original -> resized
    annotations: Annotations  # labels in the resized image's pixels (never modified in place)


class YOLODataset(torch.utils.data.Dataset):
    """Detection dataset over scanned labels.

    Args:
        labels: one :class:`ImageLabels` per image.
        image_size: s; images are resized on load so their long side is s.
        augment: training pipeline (mosaic / random warp / HSV / flips) when true, else letterbox only.
        augmentation: the gains (from ``yolo8.config``); ignored when ``augment`` is false.
        rect: rectangular batches: images sorted by aspect ratio, each batch letterboxed to a shared
            stride-multiple shape (no mosaic). The order of ``self.labels`` becomes the sorted order.
        batch_size: batch size (rect shapes and the size of the mosaic image buffer depend on it).
        stride: the model's largest stride.
        pad: rect padding in strides (YOLOv8: 0.0 for training, 0.5 for validation).
        cache: False, or "ram" (True means "ram") to keep resized images in memory.
        seed: seed of the sampling RNG in this process; DataLoader workers reseed it (see ``reseed``).
        masks: a :class:`MaskLayout` to rasterise each sample's polygons into ground-truth masks after
            augmentation (segmentation training), or None.

    Mosaic switch: ``close_mosaic()`` writes to a one-byte tensor in shared memory that every worker
    process reads on each item, so it takes effect in persistent workers from the next item they
    build (call it between epochs: batches already prefetched are not rebuilt).
    """

    def __init__(
        self,
        labels: list[ImageLabels],
        image_size: int,
        augment: bool,
        augmentation: Augmentation,
        rect: bool,
        batch_size: int,
        stride: int,
        pad: float,
        cache: str | bool,
        seed: int = 0,
        masks: MaskLayout | None = None,
    ):
        if not labels:
            raise ValueError("YOLODataset got no images: check the dataset YAML's train/val entries")
        if cache is True:
            cache = "ram"
        if cache not in (False, "ram"):
            raise ValueError(f"cache={cache!r}: expected False or 'ram'")
        self.labels = list(labels)
        self.mask_layout = masks
        self.image_size = image_size
        self.augment = augment
        self.augmentation = augmentation if augment else Augmentation.none()
        self.rect = rect
        self.batch_shapes = None
        if rect:
            shapes = np.array([label.shape for label in self.labels])
            order, self.batch_index, self.batch_shapes = rect_batch_shapes(shapes, image_size, batch_size, stride, pad)
            self.labels = [self.labels[i] for i in order]
        if augment and augmentation.copy_paste and not any(label.segments for label in self.labels):
            warnings.warn(f"copy_paste={augmentation.copy_paste} does nothing here: copy-paste cuts objects along "
                          f"their polygons and these labels (e.g. {self.labels[0].image_file}) are boxes only",
                          CopyPasteWithoutPolygonsWarning, stacklevel=2)
        self._mosaic_enabled = torch.ones(1, dtype=torch.uint8).share_memory_()
        self._buffer_size = min(len(self.labels), batch_size * 8, 1000) if augment else 0
        self._buffer: OrderedDict[int, _LoadedImage] = OrderedDict()
        self._unreadable: set[int] = set()  # images that failed to read after the label scan (training skips them)
        self._ram: list[_LoadedImage] | None = None
        if cache == "ram":
            with ThreadPoolExecutor(max_workers=4) as pool:
                self._ram = list(pool.map(self._read_and_resize, range(len(self.labels))))
        self.reseed(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def reseed(self, seed: int) -> None:
        """Restart this process's sampling RNG from ``seed`` and empty the mosaic buffer (reproducibility)."""
        self._rng = np.random.default_rng(seed)
        self._buffer.clear()

    def set_mosaic(self, enabled: bool) -> None:
        """Turn mosaic on or off in this process and in all DataLoader workers (shared memory)."""
        self._mosaic_enabled[0] = int(enabled)

    def close_mosaic(self) -> None:
        """Stop using mosaic (YOLOv8 does this for the last ``close_mosaic`` epochs)."""
        self.set_mosaic(False)

    @property
    def mosaic_enabled(self) -> bool:
        return bool(self._mosaic_enabled.item())

    def _read_and_resize(self, index: int) -> _LoadedImage:
        label = self.labels[index]
        image = read_image(label.image_file)
        resized, resize = resize_long_side(image, self.image_size)
        height, width = resized.shape[:2]
        annotations = Annotations.from_normalized(label.classes, label.boxes, label.segments, width, height)
        return _LoadedImage(resized, image.shape[:2], resize, annotations)

    def _load(self, index: int) -> tuple[_LoadedImage, Annotations]:
        """Resized image of ``index`` (RAM cache, mosaic buffer, or disk) and its labels in its pixels."""
        if self._ram is not None:
            loaded = self._ram[index]
        elif index in self._buffer:
            loaded = self._buffer[index]
        else:
            loaded = self._read_or_substitute(index)
            if self._buffer_size:
                self._buffer[index] = loaded
                if len(self._buffer) > self._buffer_size:
                    self._buffer.popitem(last=False)
        return loaded, loaded.annotations

    def _read_or_substitute(self, index: int) -> _LoadedImage:
        """Read image ``index``; in training, an image that became unreadable after the label scan (replaced,
        truncated, deleted mid-run) is swapped for the next readable one with one warning naming it, and the run
        goes on. Evaluation (no augmentation) raises :class:`ImageReadError`: a substitute would skew the metrics."""
        try:
            return self._read_and_resize(index)
        except ImageReadError as error:
            if not self.augment:
                raise
            first_error = error
        unreadable = self._unreadable
        if index not in unreadable:
            unreadable.add(index)
            LOGGER.warning("%s; training on another image in its place this epoch", first_error)
        for step in range(1, len(self.labels)):
            other = (index + step) % len(self.labels)
            if other in unreadable:
                continue
            try:
                return self._read_and_resize(other)
            except ImageReadError as error:
                unreadable.add(other)
                LOGGER.warning("%s; training on another image in its place this epoch", error)
        raise ImageReadError(self.labels[index].image_file, "no training image can be read any more "
                             f"({len(unreadable)} of {len(self.labels)} failed since the label scan)")

    def _partner_index(self) -> int:
        """A mosaic partner: any image when all are in RAM or while the buffer of recently loaded
        images holds fewer than 4 (so a worker's first mosaics are not 4 copies of one image),
        else one from that buffer (no decoding)."""
        if self._ram is not None or len(self._buffer) < 4:
            return int(self._rng.integers(len(self.labels)))
        keys = list(self._buffer)
        return keys[int(self._rng.integers(len(keys)))]

    def _output_shape(self, index: int) -> tuple[int, int]:
        if self.rect:
            return tuple(int(v) for v in self.batch_shapes[self.batch_index[index]])
        return self.image_size, self.image_size

    def _mosaic(self, index: int) -> tuple[np.ndarray, Annotations, _LoadedImage]:
        """Mosaic with ``index`` top-left; also returns that image as loaded."""
        first = self._load(index)
        tiles = [first] + [self._load(self._partner_index()) for _ in range(3)]
        gains = self.augmentation
        image, annotations = mosaic4(
            [loaded.image for loaded, _ in tiles],
            [annotations for _, annotations in tiles],
            self.image_size,
            self._rng,
            gains.degrees, gains.translate, gains.scale, gains.shear, gains.perspective,
        )
        return image, annotations, first[0]

    def _letterboxed(self, index: int) -> tuple[np.ndarray, Annotations, _LoadedImage, LetterboxInfo]:
        loaded, annotations = self._load(index)
        image, info = letterbox(loaded.image, self._output_shape(index), auto=False, scaleup=False)
        ratio, offset = np.array(info.ratio, np.float32), np.array(info.pad, np.float32)
        boxes = annotations.boxes * np.tile(ratio, 2) + np.tile(offset, 2)
        return image, annotations.with_geometry(boxes, annotations.points * ratio + offset), loaded, info

    def __getitem__(self, index: int) -> Sample:
        label = self.labels[index]
        gains = self.augmentation
        if not self.augment:
            image, annotations, loaded, info = self._letterboxed(index)
            letterbox_info = loaded.resize.then(info)
        else:
            letterbox_info = None
            use_mosaic = self._rng.random() < gains.mosaic and self.mosaic_enabled and not self.rect
            if use_mosaic:
                image, annotations, loaded = self._mosaic(index)
            else:
                image, annotations, loaded, _ = self._letterboxed(index)
                image, annotations = random_affine(
                    image, annotations, self._rng,
                    gains.degrees, gains.translate, gains.scale, gains.shear, gains.perspective,
                )
            if gains.copy_paste and self.mosaic_enabled:  # closing mosaic closes copy-paste too, as in YOLOv8
                image, annotations = copy_paste(image, annotations, gains.copy_paste, self._rng)
            if use_mosaic and self._rng.random() < gains.mixup:
                other_image, other_annotations, _ = self._mosaic(int(self._rng.integers(len(self.labels))))
                image, annotations = mixup(image, annotations, other_image, other_annotations, self._rng)
            image, annotations = colour_and_flips(image, annotations, self._rng, gains)
        height, width = image.shape[:2]
        classes, boxes, segments = annotations.to_normalized(width, height)
        masks = None
        if self.mask_layout is not None:
            masks, order = instance_masks(annotations, height, width, self.mask_layout)
            classes, boxes, segments = classes[order], boxes[order], [segments[i] for i in order] if segments else []
        return Sample(
            bgr_to_chw_rgb(image), classes, boxes, segments, label.image_file, loaded.original_shape, letterbox_info,
            masks,
        )


def instance_masks(annotations: Annotations, height: int, width: int,
                   layout: MaskLayout) -> tuple[np.ndarray, np.ndarray]:
    """The ground-truth masks of one (height, width) sample in ``layout``, and the order its labels must take:
    by decreasing mask area for the overlap layout, unchanged for the separate one.

    Segmentation loaders leave box-only images out, so every labelled sample has polygons; should one come without
    (a dataset built by hand), its boxes are rasterised as rectangles rather than its masks left empty."""
    points, owners = annotations.points, annotations.owners
    if not annotations.has_segments and len(annotations):
        corners = annotations.boxes[:, [[0, 1], [2, 1], [2, 3], [0, 3]]]  # (N, 4) xyxy -> (N, 4 corners, 2)
        points = corners.reshape(-1, 2)
        owners = np.repeat(np.arange(len(annotations)), 4)
    masks = polygon_masks(points, owners, len(annotations), height, width, layout.ratio)
    if not layout.overlap:
        return masks, np.arange(len(annotations))
    index_mask, order = overlap_masks(masks)
    return index_mask, order
