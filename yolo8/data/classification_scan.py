"""Scanning a classification dataset in the YOLOv8 (ImageNet) folder layout, and its folder hygiene.

On disk::

    root/
      train/<class_a>/*.jpg, train/<class_b>/*.jpg, …
      val/<class_a>/*.jpg, …          (or test/)

``data=`` is ``root`` itself, or a YAML with ``path`` (the root), ``train`` / ``val`` / ``test``
(class-folder directories relative to ``path``) and optional ``names``. Class ``i`` is the ``i``-th
sorted sub-directory of ``train/`` (of the split itself when ``train/`` is absent); its name is that
folder's name, or ``names[i]`` from the YAML (ImageNet folders are WordNet ids, the YAML gives words).
Images are found recursively inside each class folder; extensions match in any case (``.JPG``, ``.Png``).

Nothing is silently mislabelled. Errors (:class:`ClassificationDataError`, saying what to fix): a missing
dataset or split, a split without class folders, an empty class folder, a class folder the training split
does not have (with a hint when it differs only in case), YAML names that do not match the folders.
Warnings (subclasses of :class:`ClassFolderWarning`, each naming examples): files that are not images
(skipped), images lying loose in a split folder outside any class folder (skipped), a training class
without a folder in the scanned split (its accuracy is not measured), and, with ``verify=True``, files with
an image extension that are not readable images (left out).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from yolo8.data.dataset_config import IMAGE_EXTENSIONS, is_image_file, read_dataset_yaml, resolve_dataset_root

SPLIT_FALLBACK = {"val": "test", "test": "val"}  # YOLOv8 accepts test/ for val and val/ for test
LISTED = 3  # example paths named in a warning


class ClassificationDataError(ValueError):
    """A classification dataset that is missing, empty, or disagrees with the model."""


class ClassFolderWarning(UserWarning):
    """Something in a classification dataset's folders was skipped or cannot be scored; the message names it."""


class NonImageFilesWarning(ClassFolderWarning):
    """Files without an image extension inside class folders: skipped."""


class LooseImagesWarning(ClassFolderWarning):
    """Images directly in a split folder, outside any class folder: they have no class and are skipped."""


class MissingClassWarning(ClassFolderWarning):
    """A training class has no folder in the scanned split: it has no images there and no accuracy is measured."""


class UnreadableImagesWarning(ClassFolderWarning):
    """Files with an image extension that do not open as images: left out."""


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


def _examples(paths: list) -> str:
    return ", ".join(str(path) for path in paths[:LISTED]) + (f" and {len(paths) - LISTED} more"
                                                              if len(paths) > LISTED else "")


def _class_folders(directory: Path) -> list[str]:
    """Sorted names of the sub-directories of ``directory`` (hidden ones skipped)."""
    return sorted(entry.name for entry in directory.iterdir() if entry.is_dir() and not entry.name.startswith("."))


def files_in(folder: Path) -> tuple[list[str], list[str]]:
    """(image files, other files) under ``folder``, recursive, each sorted by path. Hidden files are ignored, and
    so is ``<stem>.npy`` beside an image ``<stem>.<ext>`` (the ``cache=disk`` copy of its pixels)."""
    images, others = [], []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        image_stems = {name.rpartition(".")[0] for name in filenames if is_image_file(name)}
        for name in filenames:
            if name.startswith(".") or (name.endswith(".npy") and name[:-4] in image_stems):
                continue
            (images if is_image_file(name) else others).append(os.path.join(dirpath, name))
    return sorted(images), sorted(others)


def unreadable_reason(path: str) -> str | None:
    """Why ``path`` is not an image (empty, or its header does not open), or None when it opens. Reads the
    header only (microseconds); a file truncated later is caught when it is decoded."""
    try:
        if os.path.getsize(path) == 0:
            return "empty file"
        with Image.open(path) as image:
            image.verify()
    except Exception as error:  # PIL raises many types for a bad file; all mean the same here
        return f"{type(error).__name__}: {error}"
    return None


def _read_yaml_source(yaml_file: Path) -> tuple[Path, dict[str, Path], list[str] | None]:
    """A classification data YAML -> (root, {split: directory}, names or None)."""
    try:
        content = read_dataset_yaml(yaml_file) or {}  # the detection YAML reader: its errors name the file and the fix
    except OSError as error:
        raise ClassificationDataError(f"cannot read dataset YAML '{yaml_file}': {error}") from error
    if not isinstance(content, dict):
        raise ClassificationDataError(f"dataset YAML '{yaml_file}' must be a mapping with path, train, val, names.")
    root = resolve_dataset_root(content.get("path"), yaml_file)
    splits = {split: root / str(content[split]) for split in ("train", "val", "test") if content.get(split)}
    names = content.get("names")
    if isinstance(names, dict):
        names = [names[key] for key in sorted(names)]
    return root.resolve(), splits, None if names is None else [str(name) for name in names]


def dataset_directories(data) -> tuple[Path, dict[str, Path], list[str] | None]:
    """``data`` (a root directory or a YAML) -> (root, {split: directory}, YAML names or None).

    Raises:
        ClassificationDataError: ``data`` is neither an existing directory nor a YAML file.
    """
    if data is None:
        raise ClassificationDataError(
            "classification needs data=<directory> holding train/ and val/ folders of class sub-folders "
            "(ImageNet layout), e.g. data=datasets/imagenette.")
    source = Path(os.path.expanduser(str(data)))
    if source.suffix.lower() in (".yaml", ".yml") and source.is_file():
        return _read_yaml_source(source)
    if source.is_dir():
        root = source.resolve()
        return root, {name: root / name for name in ("train", "val", "test")}, None
    raise ClassificationDataError(
        f"classification dataset '{data}' not found: give a directory with train/ and val/ class folders "
        "(or a YAML with path, train, val, names). yolo8 never downloads datasets.")


def _unknown_class_error(directory: Path, unknown: list[str], class_source: Path, folders: list[str]):
    by_lower = {folder.lower(): folder for folder in folders}
    hints = [f"'{name}' differs only in case from '{by_lower[name.lower()]}'" for name in unknown
             if name.lower() in by_lower]
    hint = f" ({'; '.join(hints[:LISTED])}: rename it to match)" if hints else ""
    return ClassificationDataError(
        f"'{directory}' has class folders {unknown[:5]} that '{class_source}' does not have{hint}; "
        "every split must use the training split's class folders.")


def load_classification_split(data, split: str = "val", verify: bool = False) -> ClassificationSplit:
    """Scan ``split`` of a folder dataset (``data``: its root directory, or a YAML naming the folders).

    When the split's folder is absent, ``val`` falls back to ``test`` and ``test`` to ``val``. With ``verify``
    every image's header is opened and unreadable files are left out (a warning names them); without it,
    they are skipped when loaded (the loader reports them).

    Raises:
        ClassificationDataError: see the module docstring. Messages name the directory and the fix.
    Warns:
        ClassFolderWarning subclasses: see the module docstring.
    """
    root, directories, yaml_names = dataset_directories(data)
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
        raise _unknown_class_error(directory, unknown, class_source, folders)
    _warn_loose_files(directory)
    image_files, labels, others, missing = [], [], [], []
    for index, folder in enumerate(folders):
        if folder not in present:
            missing.append(folder)
            continue
        images, not_images = files_in(directory / folder)
        others += not_images
        if not images:
            raise ClassificationDataError(
                f"class folder '{directory / folder}' holds no images (extensions, any case: "
                f"{', '.join(sorted(IMAGE_EXTENSIONS))}); add images or remove the folder from every split.")
        image_files += images
        labels += [index] * len(images)
    if missing:
        warnings.warn(f"'{directory}' has no folder for {len(missing)} of the {len(folders)} classes "
                      f"({_examples(missing)}): they have no images in this split and their accuracy is not "
                      "measured. Add the folders with images to score them.", MissingClassWarning, stacklevel=2)
    if others:
        warnings.warn(f"{len(others)} file(s) in the class folders of '{directory}' are not images and are "
                      f"skipped: {_examples(others)}. Image extensions: {', '.join(sorted(IMAGE_EXTENSIONS))}.",
                      NonImageFilesWarning, stacklevel=2)
    labels = np.asarray(labels, dtype=np.int64)
    if verify:
        image_files, labels = _readable(image_files, labels, directory)
    return ClassificationSplit(root, directory, class_source, names, image_files, labels)


def _warn_loose_files(directory: Path) -> None:
    loose = sorted(str(entry) for entry in directory.iterdir() if entry.is_file() and is_image_file(entry.name))
    if loose:
        warnings.warn(f"{len(loose)} image(s) lie directly in '{directory}', outside any class folder, and are "
                      f"skipped: {_examples(loose)}. Move each into '{directory}/<class name>/'.",
                      LooseImagesWarning, stacklevel=3)


def _readable(image_files: list[str], labels: np.ndarray, directory: Path) -> tuple[list[str], np.ndarray]:
    """The images whose headers open, and their labels; a warning names the others. All unreadable: an error."""
    reasons = [unreadable_reason(path) for path in image_files]
    bad = [f"{path} ({reason})" for path, reason in zip(image_files, reasons) if reason is not None]
    if not bad:
        return image_files, labels
    keep = np.array([reason is None for reason in reasons])
    if not keep.any():
        raise ClassificationDataError(f"none of the {len(image_files)} images in '{directory}' can be read "
                                      f"(e.g. {bad[0]}); replace them with JPEG or PNG files.")
    warnings.warn(f"{len(bad)} of {len(image_files)} images in '{directory}' cannot be read and are left out: "
                  f"{_examples(bad)}. Re-save or delete them.", UnreadableImagesWarning, stacklevel=3)
    return [path for path, kept in zip(image_files, keep) if kept], labels[keep]
