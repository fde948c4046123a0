"""From settings to data: the dataset YAML (or the built-in dataset), a scanned split, its dataset and loader."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Callable

import numpy as np

from yolo8.config import Config
from yolo8.data.dataset import YOLODataset
from yolo8.data.dataset_config import DatasetConfig, image_files_from, load_dataset_config
from yolo8.data.label_scan import scan_labels
from yolo8.data.loader import build_dataloader
from yolo8.data.transforms.compose import Augmentation
from yolo8.data.transforms.masks import MaskLayout


def resolve_data(data: str | None) -> DatasetConfig:
    """The dataset a ``data`` setting names; None or empty means the built-in dataset."""
    if not data:
        from yolo8.data.synthetic import builtin_dataset

        data = builtin_dataset()
    return load_dataset_config(data)


def augmentation_from(config: Config) -> Augmentation:
    """The training augmentation gains from the settings table."""
    return Augmentation(**{field.name: float(config[field.name]) for field in fields(Augmentation)})


def split_labels(data: DatasetConfig, split: str, single_class: bool = False, fraction: float = 1.0) -> list:
    """Scanned labels of one split (train / val / test); every class becomes 0 when ``single_class``."""
    entries = getattr(data, split)
    if not entries:
        raise ValueError(f"{data.yaml_file}: the dataset has no '{split}' split; add a '{split}:' entry.")
    labels = scan_labels(image_files_from(entries, data.root), data.num_classes, prefix=f"{split}").labels
    if single_class:
        labels = [replace(label, classes=np.zeros_like(label.classes)) for label in labels]
    if fraction < 1.0:
        labels = labels[: max(1, round(len(labels) * fraction))]
    if not labels:
        raise ValueError(f"{data.yaml_file}: no usable images in the '{split}' split (see the warnings above).")
    return labels


def mask_layout_from(config: Config) -> MaskLayout:
    """The ground-truth mask layout the ``mask_ratio`` and ``overlap_mask`` settings ask for."""
    return MaskLayout(int(config.mask_ratio), bool(config.overlap_mask))


def training_loader(data: DatasetConfig, config: Config, image_size: int, batch_size: int, stride: int,
                    workers: int, rank: int = -1, masks: MaskLayout | None = None, select: Callable | None = None):
    """Augmented, shuffled loader over the train split; with ``masks``, samples carry ground-truth masks.
    ``select(labels, split, data)`` may leave images out (a task's rule, e.g. segmentation's polygons only)."""
    labels = split_labels(data, "train", config.single_cls, config.fraction)
    if select is not None:
        labels = select(labels, "train", data)
    dataset = YOLODataset(
        labels, image_size, augment=True,
        augmentation=augmentation_from(config), rect=config.rect, batch_size=batch_size, stride=stride,
        pad=0.0, cache=config.cache, seed=config.seed, masks=masks,
    )
    return build_dataloader(dataset, batch_size, workers, shuffle=not config.rect, seed=config.seed, rank=rank)


def evaluation_loader(data: DatasetConfig, config: Config, split: str, image_size: int, batch_size: int,
                      stride: int, workers: int, masks: MaskLayout | None = None, select: Callable | None = None,
                      rect: bool = True):
    """Letterboxed loader over ``split`` with rectangular batches (YOLOv8 pads them by half a stride), or with
    ``rect=False`` every image letterboxed to ``image_size`` square; with ``masks``, samples carry ground-truth
    masks (for a validation loss); ``select`` as in :func:`training_loader`."""
    labels = split_labels(data, split, config.single_cls)
    if select is not None:
        labels = select(labels, split, data)
    dataset = YOLODataset(
        labels, image_size, augment=False, augmentation=Augmentation.none(),
        rect=rect, batch_size=batch_size, stride=stride, pad=0.5, cache=config.cache, seed=0, masks=masks,
    )
    return build_dataloader(dataset, batch_size, workers, shuffle=False, seed=0)
