"""From settings to data: the dataset YAML (or the built-in dataset), a scanned split, its dataset and loader."""

from __future__ import annotations

import warnings
from dataclasses import fields, replace

import numpy as np

from yolo8.config import Config
from yolo8.data.dataset import YOLODataset
from yolo8.data.dataset_config import DatasetConfig, image_files_from, load_dataset_config
from yolo8.data.label_scan import scan_labels
from yolo8.data.loader import build_dataloader
from yolo8.data.transforms.compose import Augmentation
from yolo8.data.transforms.masks import MaskLayout


class BoxOnlyLabelsWarning(UserWarning):
    """Segmentation training found images whose labels are boxes only: they are left out, as they have no masks."""


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


def with_polygons(labels: list, split: str, data: DatasetConfig) -> list:
    """The images of ``labels`` that segmentation can train on: every labelled image must have polygons. Images
    whose label files are boxes only are left out with a :class:`BoxOnlyLabelsWarning` naming them; when none is
    left, a ValueError says what the dataset needs."""
    box_only = [label for label in labels if len(label.classes) and not len(label.segments)]
    if not box_only:
        return labels
    kept = [label for label in labels if not (len(label.classes) and not len(label.segments))]
    examples = ", ".join(str(label.image_file) for label in box_only[:3])
    if not kept:
        raise ValueError(f"{data.yaml_file}: every labelled image of the '{split}' split has box-only labels (e.g. "
                         f"{examples}); segmentation trains on polygon rows 'class x1 y1 x2 y2 x3 y3 ...'. Use a "
                         "segmentation dataset, or train a detection model on these boxes.")
    warnings.warn(f"{len(box_only)} of {len(labels)} '{split}' images have box-only labels and are left out of "
                  f"segmentation training (no masks to learn from): {examples}"
                  f"{' ...' if len(box_only) > 3 else ''}. Give them polygon rows to use them.",
                  BoxOnlyLabelsWarning, stacklevel=2)
    return kept


def mask_layout_from(config: Config) -> MaskLayout:
    """The ground-truth mask layout the ``mask_ratio`` and ``overlap_mask`` settings ask for."""
    return MaskLayout(int(config.mask_ratio), bool(config.overlap_mask))


def training_loader(data: DatasetConfig, config: Config, image_size: int, batch_size: int, stride: int,
                    workers: int, rank: int = -1, masks: MaskLayout | None = None):
    """Augmented, shuffled loader over the train split; with ``masks``, samples carry ground-truth masks (images
    without polygons are left out, see :func:`with_polygons`)."""
    labels = split_labels(data, "train", config.single_cls, config.fraction)
    if masks is not None:
        labels = with_polygons(labels, "train", data)
    dataset = YOLODataset(
        labels, image_size, augment=True,
        augmentation=augmentation_from(config), rect=config.rect, batch_size=batch_size, stride=stride,
        pad=0.0, cache=config.cache, seed=config.seed, masks=masks,
    )
    return build_dataloader(dataset, batch_size, workers, shuffle=not config.rect, seed=config.seed, rank=rank)


def evaluation_loader(data: DatasetConfig, config: Config, split: str, image_size: int, batch_size: int,
                      stride: int, workers: int, masks: MaskLayout | None = None):
    """Letterboxed loader over ``split`` with rectangular batches (YOLOv8 pads them by half a stride); with
    ``masks``, samples carry ground-truth masks (for a validation loss)."""
    dataset = YOLODataset(
        split_labels(data, split, config.single_cls), image_size, augment=False, augmentation=Augmentation.none(),
        rect=True, batch_size=batch_size, stride=stride, pad=0.5, cache=config.cache, seed=0, masks=masks,
    )
    return build_dataloader(dataset, batch_size, workers, shuffle=False, seed=0)
