"""Loader: collate, reproducible seeded workers, close_mosaic reaching persistent worker processes."""

import os

import cv2
import numpy as np
import torch

from yolo8.data.dataset import Sample, YOLODataset
from yolo8.data.labels import ImageLabels
from yolo8.data.loader import Batch, build_dataloader, collate
from yolo8.data.transforms.compose import Augmentation
from yolo8.ops.letterbox import LetterboxInfo


def write_images(directory, count=8, size=64):
    rng = np.random.default_rng(0)
    labels = []
    for index in range(count):
        image = np.full((size, size - 8 * (index % 3), 3), 60, np.uint8)
        height, width = image.shape[:2]
        x1, y1 = int(rng.integers(2, width // 2)), int(rng.integers(2, height // 2))
        image[y1 : y1 + 20, x1 : x1 + 20] = rng.integers(0, 256, 3)
        path = directory / f"{index}.png"
        cv2.imwrite(str(path), image)
        box = [(x1 + 10) / width, (y1 + 10) / height, 20 / width, 20 / height]
        labels.append(ImageLabels(str(path), (height, width), np.array([index % 2]), np.array([box], np.float32), []))
    return labels


def gains(**changes):
    return Augmentation(**{**Augmentation.none().__dict__, **changes})


def dataset_of(labels, augmentation, augment=True):
    return YOLODataset(labels, 64, augment, augmentation, False, 4, 32, 0.0, False)


def sample(count):
    return Sample(
        torch.zeros(3, 8, 8, dtype=torch.uint8), np.arange(count), np.full((count, 4), 0.5, np.float32), [],
        "x.png", (8, 8), LetterboxInfo((1.0, 1.0), (0.0, 0.0)),
    )


def test_collate_batch_index_column():
    batch = collate([sample(2), sample(0), sample(3)])
    assert isinstance(batch, Batch) and len(batch) == 3
    assert batch.images.shape == (3, 3, 8, 8) and batch.targets.dtype == torch.float32
    assert batch.targets[:, 0].tolist() == [0, 0, 2, 2, 2]
    assert batch.targets[:, 1].tolist() == [0, 1, 0, 1, 2]
    assert (batch.targets[:, 2:] == 0.5).all()
    assert batch.paths == ["x.png"] * 3 and batch.original_shapes == [(8, 8)] * 3
    assert collate([sample(0)]).targets.shape == (0, 6)


def epoch(loader):
    return [(batch.images.clone(), batch.targets.clone()) for batch in loader]


def test_two_workers_reproducible_for_a_seed(tmp_path):
    labels = write_images(tmp_path)
    yolo = gains(mosaic=1.0, translate=0.1, scale=0.5, hsv_h=0.015, hsv_s=0.7, hsv_v=0.4, fliplr=0.5)
    runs = []
    for seed in (0, 0, 1):
        loader = build_dataloader(dataset_of(labels, yolo), batch_size=4, workers=2, shuffle=True, seed=seed)
        assert loader.num_workers == 2
        runs.append(epoch(loader) + epoch(loader))  # two epochs through the same persistent workers
    for (images_a, targets_a), (images_b, targets_b) in zip(runs[0], runs[1]):
        assert torch.equal(images_a, images_b) and torch.equal(targets_a, targets_b)
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(runs[0], runs[2]))
    assert not torch.equal(runs[0][0][0], runs[0][2][0])  # the second epoch differs from the first


def test_close_mosaic_reaches_persistent_workers(tmp_path):
    labels = write_images(tmp_path)
    dataset = dataset_of(labels, gains(mosaic=1.0))  # mosaic is the only randomness
    plain = build_dataloader(dataset_of(labels, gains(), augment=False), 4, workers=0, shuffle=False, seed=0)
    expected = torch.cat([images for images, _ in epoch(plain)])
    loader = build_dataloader(dataset, batch_size=4, workers=2, shuffle=False, seed=0)
    assert loader.persistent_workers
    mosaics = torch.cat([images for images, _ in epoch(loader)])
    assert not any(torch.equal(a, b) for a, b in zip(mosaics, expected))
    dataset.close_mosaic()  # called in the main process between epochs, as the trainer does
    after = epoch(loader)
    assert torch.equal(torch.cat([images for images, _ in after]), expected)
    assert torch.equal(torch.cat([targets[:, 2:] for _, targets in after]), torch.cat([t[:, 2:] for _, t in epoch(plain)]))


def test_worker_count_is_capped(tmp_path):
    labels = write_images(tmp_path, count=4)
    loader = build_dataloader(dataset_of(labels, gains()), batch_size=1, workers=8, shuffle=False, seed=0)
    assert loader.num_workers == 0
    loader = build_dataloader(dataset_of(labels, gains()), batch_size=4, workers=64, shuffle=False, seed=0)
    assert loader.num_workers == min(4, os.cpu_count() or 1)


def test_distributed_sampler_when_rank_is_set(tmp_path):
    import torch.distributed as dist
    from torch.utils.data import DistributedSampler

    labels = write_images(tmp_path, count=6)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        loader = build_dataloader(dataset_of(labels, gains(), augment=False), 2, workers=0, shuffle=True, seed=0, rank=0)
        assert isinstance(loader.sampler, DistributedSampler)
        loader.sampler.set_epoch(0)
        paths = [path for batch in loader for path in batch.paths]
        assert sorted(paths) == sorted(label.image_file for label in labels)
    finally:
        dist.destroy_process_group()
