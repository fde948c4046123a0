"""Batching: the Batch dataclass, collate, seeded worker processes and the DataLoader builder."""

from __future__ import annotations

import os
import random
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler


@dataclass
class Batch:
    """A collated batch.

    Attributes:
        images: (B, 3, H, W) uint8 RGB.
        targets: (M, 6) float32 rows (batch_index, class, cx, cy, w, h), boxes normalised.
        segments: B lists of (K, 2) float32 polygons normalised, aligned with that image's rows of
            ``targets`` (empty lists for box-only data).
        paths: B image paths.
        original_shapes: B (height, width) of the source images.
        letterbox: B :class:`LetterboxInfo` (None for augmented samples).
        masks: None, or the ground-truth masks of a segmentation dataset (see ``YOLODataset(masks=...)``):
            (B, h, w) int16 index masks (overlap layout) or (M, h, w) uint8 binary masks, one per target row.
    """

    images: torch.Tensor
    targets: torch.Tensor
    segments: list
    paths: list
    original_shapes: list
    letterbox: list
    masks: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device, non_blocking: bool = False) -> "Batch":
        """The batch with its tensors on ``device`` (images stay uint8)."""
        return Batch(
            self.images.to(device, non_blocking=non_blocking),
            self.targets.to(device, non_blocking=non_blocking),
            self.segments, self.paths, self.original_shapes, self.letterbox,
            None if self.masks is None else self.masks.to(device, non_blocking=non_blocking),
        )

    def pin_memory(self) -> "Batch":
        """Called by DataLoader(pin_memory=True) in its pinning thread."""
        return Batch(
            self.images.pin_memory(), self.targets.pin_memory(),
            self.segments, self.paths, self.original_shapes, self.letterbox,
            None if self.masks is None else self.masks.pin_memory(),
        )


def collate(samples: list) -> Batch:
    """List of :class:`~yolo8.data.dataset.Sample` -> :class:`Batch` (targets get the batch index column)."""
    counts = [len(sample.classes) for sample in samples]
    targets = np.zeros((sum(counts), 6), np.float32)
    if targets.shape[0]:
        targets[:, 0] = np.repeat(np.arange(len(samples)), counts)
        targets[:, 1] = np.concatenate([sample.classes for sample in samples])
        targets[:, 2:] = np.concatenate([sample.boxes for sample in samples])
    images = [sample.image for sample in samples]
    out = None
    if torch.utils.data.get_worker_info() is not None:
        # in a worker, stack straight into shared memory: the batch then reaches the main process
        # without another copy (what torch's default collate does too)
        numel = sum(image.numel() for image in images)
        out = images[0].new(images[0]._typed_storage()._new_shared(numel, device="cpu")).resize_(
            len(images), *images[0].shape
        )
    return Batch(
        images=torch.stack(images, out=out),
        targets=torch.from_numpy(targets),
        segments=[sample.segments for sample in samples],
        paths=[sample.image_file for sample in samples],
        original_shapes=[sample.original_shape for sample in samples],
        letterbox=[sample.letterbox for sample in samples],
        masks=_collate_masks(samples),
    )


def _collate_masks(samples: list) -> torch.Tensor | None:
    """The samples' masks as one tensor: stacked index masks (B, h, w), or per-instance masks concatenated in
    target order (M, h, w); None when the samples have none."""
    masks = [sample.masks for sample in samples]
    if masks[0] is None:
        return None
    if masks[0].ndim == 2:
        return torch.from_numpy(np.stack(masks))
    return torch.from_numpy(np.concatenate(masks))


def seed_worker(worker_id: int) -> None:
    """DataLoader worker_init_fn: seed numpy, random, torch and the dataset's RNG for this worker.

    torch gives each worker ``base_seed + worker_id`` where ``base_seed`` is drawn from the loader's
    seeded generator, so the seeds follow from the user's seed and differ between workers (and
    between epochs when workers are not persistent).
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    cv2.setNumThreads(0)  # one worker = one core; cv2's own threads would fight the other workers
    dataset = torch.utils.data.get_worker_info().dataset
    if hasattr(dataset, "reseed"):
        dataset.reseed(seed)


def build_dataloader(
    dataset, batch_size: int, workers: int, shuffle: bool, seed: int, rank: int = -1
) -> DataLoader:
    """DataLoader over a YOLODataset producing :class:`Batch`.

    Workers are capped by the CPU count (per CUDA device) and the batch size; they are persistent and
    seeded from ``seed`` (see :func:`seed_worker`). ``rank != -1`` uses a DistributedSampler: call
    ``loader.sampler.set_epoch(epoch)`` each epoch. Memory is pinned when CUDA is available.
    Rectangular datasets are never shuffled (their batches are grouped by aspect ratio).
    """
    if getattr(dataset, "rect", False) and shuffle:
        warnings.warn("rect=True is incompatible with shuffle; shuffle is turned off", stacklevel=2)
        shuffle = False
    devices = max(torch.cuda.device_count(), 1)
    workers = max(0, min(workers, (os.cpu_count() or 1) // devices, batch_size if batch_size > 1 else 0))
    sampler = None
    if rank != -1:
        sampler = DistributedSampler(dataset, shuffle=shuffle, seed=seed)
    generator = torch.Generator()
    generator.manual_seed(seed + max(rank, 0))
    if workers == 0 and hasattr(dataset, "reseed"):
        dataset.reseed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0,
        worker_init_fn=seed_worker if workers > 0 else None,
        generator=generator,
        drop_last=False,
    )
