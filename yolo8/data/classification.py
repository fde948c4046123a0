"""Classification datasets in the YOLOv8 (ImageNet) folder layout: the images of a scanned split as batches,
prepared for val (short side + centre crop, exactly as predict prepares a frame) or augmented for training.

The folder layout, its scan and its hygiene checks are in :mod:`yolo8.data.classification_scan`;
the transforms in :mod:`yolo8.data.transforms.classify`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from yolo8.data.classification_scan import (  # noqa: F401  (re-exported: the package's public names)
    ClassFolderWarning,
    ClassificationDataError,
    ClassificationSplit,
    load_classification_split,
)
from yolo8.data.imageio import ImageReadError, read_image
from yolo8.data.loader import seed_worker
from yolo8.data.transforms.classify import ClassificationEval


class CachedImagesWarning(UserWarning):
    """cache=disk could not write a .npy beside an image (read-only folder): that image is decoded every time."""


@dataclass
class ClassificationBatch:
    """A collated classification batch.

    Attributes:
        images: (B, 3, S, S) uint8 RGB, prepared as predict prepares them (divide by 255 for the model).
        labels: (B,) int64 class ids.
        paths: B image paths.
        skipped: paths of the images of this batch that could not be read (not in ``images``).
    """

    images: torch.Tensor
    labels: torch.Tensor
    paths: list[str]
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device, non_blocking: bool = False) -> "ClassificationBatch":
        """The batch with its tensors on ``device`` (images stay uint8)."""
        return ClassificationBatch(self.images.to(device, non_blocking=non_blocking),
                                   self.labels.to(device, non_blocking=non_blocking), self.paths, self.skipped)

    def pin_memory(self) -> "ClassificationBatch":
        """Called by DataLoader(pin_memory=True) in its pinning thread."""
        return ClassificationBatch(self.images.pin_memory(), self.labels.pin_memory(), self.paths, self.skipped)

    @property
    def letterbox(self) -> list[None]:
        """Per image, how it maps back to its original: nothing, a centre crop has no inverse (as in predict)."""
        return [None] * len(self)

    @property
    def original_shapes(self) -> list[tuple[int, int]]:
        """Per image, the (height, width) it is scored at: the network input's."""
        return [tuple(self.images.shape[2:])] * len(self)


class ClassificationDataset(Dataset):
    """Images of a :class:`ClassificationSplit` as (image (3, S, S) uint8 RGB, path, label), or
    (None, path, reason) when the file cannot be decoded.

    Args:
        split: the scanned split.
        transform: ``(image (H, W, 3) uint8 BGR, rng) -> (3, S, S) uint8 RGB``
            (:class:`~yolo8.data.transforms.classify.ClassificationEval` or ``ClassificationAugment``).
        cache: False; 'ram' (every image decoded once, up front, and kept: worker processes share the arrays);
            'disk' (a ``.npy`` of the decoded image written beside each image, read instead of decoding).
        seed: seeds the generator ``transform`` draws from (see :meth:`reseed`).
    """

    def __init__(self, split: ClassificationSplit, transform: Callable, cache: bool | str = False, seed: int = 0):
        self.split = split
        self.transform = transform
        self.cache = cache
        self.rng = np.random.default_rng(seed)
        self.images: list[np.ndarray | None] | None = None
        if cache == "ram":
            self.images = [self._decode(index) for index in range(len(self))]
        elif cache == "disk":
            for index in range(len(self)):
                self._write_npy(index)

    def reseed(self, seed: int) -> None:
        """Restart the transform's generator from ``seed`` (called in each loader worker)."""
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.split.image_files)

    def _decode(self, index: int) -> np.ndarray | None:
        try:
            return read_image(self.split.image_files[index])
        except ImageReadError:
            return None  # reported with its reason when the sample is asked for

    def _npy_path(self, index: int) -> Path:
        return Path(self.split.image_files[index]).with_suffix(".npy")

    def _write_npy(self, index: int) -> None:
        npy = self._npy_path(index)
        if npy.is_file():
            return
        image = self._decode(index)
        if image is None:
            return
        try:
            np.save(npy, image, allow_pickle=False)
        except OSError as error:
            warnings.warn(f"cache=disk cannot write '{npy}' ({error}); that image is decoded every time instead.",
                          CachedImagesWarning, stacklevel=3)

    def load(self, index: int) -> np.ndarray:
        """Image ``index`` as (H, W, 3) uint8 BGR (from the cache when there is one). Raises ImageReadError."""
        if self.images is not None and self.images[index] is not None:
            return self.images[index]
        if self.cache == "disk" and self._npy_path(index).is_file():
            return np.load(self._npy_path(index), allow_pickle=False)
        return read_image(self.split.image_files[index])

    def __getitem__(self, index: int):
        path = self.split.image_files[index]
        try:
            image = self.load(index)
        except ImageReadError as error:
            return None, path, error.reason
        return self.transform(image, self.rng), path, int(self.split.labels[index])


def collate_classification(samples: list) -> ClassificationBatch:
    """List of (image or None, path, label or reason) -> :class:`ClassificationBatch` (unreadable samples dropped)."""
    kept = [sample for sample in samples if sample[0] is not None]
    skipped = [f"{path} ({reason})" for image, path, reason in samples if image is None]
    images = torch.stack([image for image, _, _ in kept]) if kept else torch.zeros(0, 3, 0, 0, dtype=torch.uint8)
    labels = torch.tensor([label for _, _, label in kept], dtype=torch.int64)
    return ClassificationBatch(images, labels, [path for _, path, _ in kept], skipped)


def _worker_count(workers: int, batch_size: int) -> int:
    """Workers capped by the CPU count (per CUDA device) and the batch size, as the detection loader caps them."""
    devices = max(torch.cuda.device_count(), 1)
    return max(0, min(int(workers), (os.cpu_count() or 1) // devices, batch_size if batch_size > 1 else 0))


def build_classification_loader(split: ClassificationSplit, size, batch_size: int, workers: int,
                                seed: int = 0, crop_fraction: float = 1.0, cache: bool | str = False) -> DataLoader:
    """An ordered (unshuffled) DataLoader of :class:`ClassificationBatch` over ``split``, each image prepared as
    predict prepares it (short side ``size / crop_fraction``, centre crop ``size``)."""
    batch_size = max(int(batch_size), 1)
    workers = _worker_count(workers, batch_size)
    generator = torch.Generator()
    generator.manual_seed(seed)
    dataset = ClassificationDataset(split, ClassificationEval(size, crop_fraction), cache=cache, seed=seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
        collate_fn=collate_classification, pin_memory=torch.cuda.is_available(),
        worker_init_fn=seed_worker if workers > 0 else None, generator=generator, drop_last=False,
    )


def build_classification_training_loader(split: ClassificationSplit, transform: Callable, batch_size: int,
                                         workers: int, seed: int = 0, rank: int = -1,
                                         cache: bool | str = False) -> DataLoader:
    """A shuffled DataLoader of augmented :class:`ClassificationBatch` over ``split``.

    Workers are persistent and seeded from ``seed`` (:func:`~yolo8.data.loader.seed_worker`); ``rank != -1``
    uses a DistributedSampler (call ``loader.sampler.set_epoch(epoch)`` each epoch). A last batch of a single
    image is dropped.
    """
    batch_size = max(int(batch_size), 1)
    workers = _worker_count(workers, batch_size)
    dataset = ClassificationDataset(split, transform, cache=cache, seed=seed)
    sampler = DistributedSampler(dataset, shuffle=True, seed=seed) if rank != -1 else None
    generator = torch.Generator()
    generator.manual_seed(seed + max(rank, 0))
    # a last batch of one image cannot train: BatchNorm needs two values per channel, and at 32 px the last
    # feature map is 1 x 1. That one image is left out of the epoch (another one each epoch, as the order shuffles).
    images = len(sampler) if sampler is not None else len(dataset)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=sampler is None, sampler=sampler, num_workers=workers,
        collate_fn=collate_classification, pin_memory=torch.cuda.is_available(), persistent_workers=workers > 0,
        worker_init_fn=seed_worker if workers > 0 else None, generator=generator,
        drop_last=images % batch_size == 1 and images > 1,
    )
