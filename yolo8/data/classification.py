"""Classification datasets in the YOLOv8 (ImageNet) folder layout, and the loader that batches them.

On disk::

    root/
      train/<class_a>/*.jpg, train/<class_b>/*.jpg, …
      val/<class_a>/*.jpg, …          (or test/)

``data=`` is ``root`` itself, or a YAML with ``path`` (the root), ``train`` / ``val`` / ``test``
(class-folder directories relative to ``path``) and optional ``names``. Class ``i`` is the ``i``-th
sorted sub-directory of ``train/`` (of the split itself when ``train/`` is absent); its name is that
folder's name, or ``names[i]`` from the YAML (ImageNet folders are WordNet ids, the YAML gives words).
Images are found recursively inside each class folder.

Samples are prepared exactly as :func:`yolo8.data.transforms.classify.classification_input` prepares a
predict frame (short side resized, centre crop), so val and predict see identical inputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.utils.data import DataLoader, Dataset

from yolo8.data.dataset_config import IMAGE_EXTENSIONS
from yolo8.data.imageio import ImageReadError, read_image
from yolo8.data.loader import seed_worker
from yolo8.data.transforms.classify import classification_input

SPLIT_FALLBACK = {"val": "test", "test": "val"}  # YOLOv8 accepts test/ for val and val/ for test


class ClassificationDataError(ValueError):
    """A classification dataset that is missing, empty, or disagrees with the model."""


@dataclass
class ClassificationSplit:
    """One split of a folder dataset.

    Attributes:
        root: dataset root directory.
        directory: the split's directory of class folders.
        class_directory: the directory whose sorted sub-folders define the classes (train/, else ``directory``).
        names: class id -> name.
        image_files: every image path, sorted by class then path.
        labels: int64 (N,) class id of each image.
    """

    root: Path
    directory: Path
    class_directory: Path
    names: dict[int, str]
    image_files: list[str]
    labels: np.ndarray

    @property
    def num_classes(self) -> int:
        return len(self.names)


def _class_folders(directory: Path) -> list[str]:
    """Sorted names of the sub-directories of ``directory`` (hidden ones skipped)."""
    return sorted(entry.name for entry in directory.iterdir() if entry.is_dir() and not entry.name.startswith("."))


def _images_in(folder: Path) -> list[str]:
    """Image files under ``folder`` (recursive), sorted by path."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        found += [os.path.join(dirpath, name) for name in filenames
                  if name.rpartition(".")[2].lower() in IMAGE_EXTENSIONS]
    return sorted(found)


def _read_yaml_source(yaml_file: Path) -> tuple[Path, dict[str, Path], list[str] | None]:
    """A classification data YAML -> (root, {split: directory}, names or None)."""
    try:
        content = yaml.safe_load(yaml_file.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ClassificationDataError(f"cannot read dataset YAML '{yaml_file}': {error}") from error
    if not isinstance(content, dict):
        raise ClassificationDataError(f"dataset YAML '{yaml_file}' must be a mapping with path, train, val, names.")
    raw_root = content.get("path")
    root = Path(os.path.expanduser(str(raw_root))) if raw_root else yaml_file.parent
    if not root.is_absolute():
        root = yaml_file.parent / root if (yaml_file.parent / root).exists() else Path.cwd() / root
    splits = {split: root / str(content[split]) for split in ("train", "val", "test") if content.get(split)}
    names = content.get("names")
    if isinstance(names, dict):
        names = [names[key] for key in sorted(names)]
    return root.resolve(), splits, None if names is None else [str(name) for name in names]


def load_classification_split(data, split: str = "val") -> ClassificationSplit:
    """Scan ``split`` of a folder dataset (``data``: its root directory, or a YAML naming the folders).

    When the split's folder is absent, ``val`` falls back to ``test`` and ``test`` to ``val``.

    Raises:
        ClassificationDataError: the dataset, the split or a class folder is missing or holds no images,
            or the YAML's names do not match the number of class folders. Messages name the directory.
    """
    if data is None:
        raise ClassificationDataError(
            "classification needs data=<directory> holding train/ and val/ folders of class sub-folders "
            "(ImageNet layout), e.g. data=datasets/imagenette.")
    source = Path(os.path.expanduser(str(data)))
    if source.suffix.lower() in (".yaml", ".yml") and source.is_file():
        root, directories, yaml_names = _read_yaml_source(source)
    elif source.is_dir():
        root, yaml_names = source.resolve(), None
        directories = {name: root / name for name in ("train", "val", "test")}
    else:
        raise ClassificationDataError(
            f"classification dataset '{data}' not found: give a directory with train/ and val/ class folders "
            "(or a YAML with path, train, val, names). yolo8 never downloads datasets.")
    directory = directories.get(split)
    if directory is None or not directory.is_dir():
        fallback = directories.get(SPLIT_FALLBACK.get(split, ""))
        if fallback is None or not fallback.is_dir():
            raise ClassificationDataError(
                f"classification dataset '{root}' has no '{split}' split: expected the folder "
                f"'{directory or root / split}' holding one sub-folder of images per class.")
        directory = fallback
    train_directory = directories.get("train")
    class_source = train_directory if train_directory is not None and train_directory.is_dir() else directory
    folders = _class_folders(class_source)
    if not folders:
        raise ClassificationDataError(f"'{class_source}' holds no class folders; put each class's images in "
                                      f"'{class_source}/<class name>/'.")
    if yaml_names is not None and len(yaml_names) != len(folders):
        raise ClassificationDataError(
            f"the dataset YAML lists {len(yaml_names)} names but '{class_source}' has {len(folders)} class "
            "folders; class i is the i-th sorted folder, so the two must agree.")
    names = {index: (yaml_names[index] if yaml_names else folder) for index, folder in enumerate(folders)}
    present = set(_class_folders(directory))
    unknown = sorted(present - set(folders))
    if unknown:
        raise ClassificationDataError(
            f"'{directory}' has class folders {unknown[:5]} that '{class_source}' does not have; "
            "every split must use the training split's class folders.")
    image_files, labels = [], []
    for index, folder in enumerate(folders):
        if folder not in present:
            continue  # a class absent from this split: allowed, it simply has no images here
        images = _images_in(directory / folder)
        if not images:
            raise ClassificationDataError(
                f"class folder '{directory / folder}' holds no images (extensions: {', '.join(sorted(IMAGE_EXTENSIONS))}); "
                "add images or remove the folder from every split.")
        image_files += images
        labels += [index] * len(images)
    return ClassificationSplit(root, directory, class_source, names, image_files, np.asarray(labels, dtype=np.int64))


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

    @property
    def letterbox(self) -> list[None]:
        """Per image, how it maps back to its original: nothing, a centre crop has no inverse (as in predict)."""
        return [None] * len(self)

    @property
    def original_shapes(self) -> list[tuple[int, int]]:
        """Per image, the (height, width) it is scored at: the network input's."""
        return [tuple(self.images.shape[2:])] * len(self)


class ClassificationDataset(Dataset):
    """Images of a :class:`ClassificationSplit` as (image (3, S, S) uint8 RGB, label, path), or None when unreadable.

    Args:
        split: the scanned split.
        size: the input size: an int (short side + centre crop) or (height, width) (plain resize).
    """

    def __init__(self, split: ClassificationSplit, size: int | tuple[int, int]):
        self.split = split
        self.size = size

    def __len__(self) -> int:
        return len(self.split.image_files)

    def __getitem__(self, index: int):
        path = self.split.image_files[index]
        try:
            image = read_image(path)
        except ImageReadError as error:
            return None, path, error.reason
        prepared = classification_input(image, self.size)
        # (S, S, 3) BGR -> (3, S, S) RGB
        chw = np.ascontiguousarray(prepared[..., ::-1].transpose(2, 0, 1))
        return torch.from_numpy(chw), path, int(self.split.labels[index])


def collate_classification(samples: list) -> ClassificationBatch:
    """List of (image or None, path, label or reason) -> :class:`ClassificationBatch` (unreadable samples dropped)."""
    kept = [sample for sample in samples if sample[0] is not None]
    skipped = [f"{path} ({reason})" for image, path, reason in samples if image is None]
    images = torch.stack([image for image, _, _ in kept]) if kept else torch.zeros(0, 3, 0, 0, dtype=torch.uint8)
    labels = torch.tensor([label for _, _, label in kept], dtype=torch.int64)
    return ClassificationBatch(images, labels, [path for _, path, _ in kept], skipped)


def build_classification_loader(split: ClassificationSplit, size, batch_size: int, workers: int,
                                seed: int = 0) -> DataLoader:
    """An ordered (unshuffled) DataLoader of :class:`ClassificationBatch` over ``split``.

    Workers are capped by the CPU count and the batch size, as the detection loader caps them.
    """
    batch_size = max(int(batch_size), 1)
    workers = max(0, min(int(workers), os.cpu_count() or 1, batch_size if batch_size > 1 else 0))
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        ClassificationDataset(split, size), batch_size=batch_size, shuffle=False, num_workers=workers,
        collate_fn=collate_classification, pin_memory=torch.cuda.is_available(),
        worker_init_fn=seed_worker if workers > 0 else None, generator=generator, drop_last=False,
    )
