"""The dataset a classification training run uses: its train and val splits, scanned, and its class names."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from yolo8.data.classification_scan import ClassificationSplit, load_classification_split

LOGGER = logging.getLogger("yolo8")


@dataclass
class ClassificationData:
    """A folder dataset ready to train on.

    Attributes:
        train, val: the scanned splits (val is the ``val/`` folder, else ``test/``).
        names: class id -> name (from the train split's class folders, or the YAML's names).
        yaml_file: what the run records as its ``data`` setting (the dataset root or its YAML); named as
            :class:`yolo8.data.dataset_config.DatasetConfig`'s field, which the trainer records for either kind.
    """

    train: ClassificationSplit
    val: ClassificationSplit
    names: dict[int, str]
    yaml_file: Path

    @property
    def num_classes(self) -> int:
        return len(self.names)


def resolve_classification_data(data, fraction: float = 1.0) -> ClassificationData:
    """``data`` (a root folder, a YAML, or None for the built-in crops) -> its :class:`ClassificationData`.

    The train split's images are checked up front (unreadable ones left out with a warning); ``fraction`` < 1
    keeps that share of each class's training images (the first ones in path order), so no class disappears.

    Raises:
        ClassificationDataError: the dataset, a split or a class folder is missing or empty (see
            :mod:`yolo8.data.classification_scan`).
    """
    if not data:
        from yolo8.data.crops import builtin_crop_dataset

        data = builtin_crop_dataset()
    train = load_classification_split(data, "train", verify=True)
    val = load_classification_split(data, "val")
    if fraction < 1.0:
        train = _fraction_of(train, fraction)
    LOGGER.info("train: %s, %d images in %d classes; val: %s, %d images", train.directory, len(train.image_files),
                train.num_classes, val.directory, len(val.image_files))
    return ClassificationData(train, val, train.names, Path(str(data)))


def _fraction_of(split: ClassificationSplit, fraction: float) -> ClassificationSplit:
    keep = []
    for class_id in range(split.num_classes):
        indices = [i for i, label in enumerate(split.labels.tolist()) if label == class_id]
        keep += indices[: max(1, round(len(indices) * fraction))] if indices else []
    keep.sort()
    return replace(split, image_files=[split.image_files[i] for i in keep], labels=split.labels[keep])
