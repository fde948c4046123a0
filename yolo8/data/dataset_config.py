"""Dataset YAML files in the Ultralytics format, and the image/label file conventions they imply.

A dataset YAML looks like::

    path: ../datasets/coco8      # dataset root; relative to this YAML's directory, else to the cwd
    train: images/train          # a directory, a .txt list of images, or a list of either
    val: images/val
    test:                        # optional
    names: {0: person, 1: bicycle}   # or a list: [person, bicycle]
    nc: 2                        # optional; must agree with names

Labels sit beside the images: ``…/images/…/x.jpg`` has its labels in ``…/labels/…/x.txt``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

IMAGE_EXTENSIONS = frozenset({"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm"})
SPLITS = ("train", "val", "test")


class DatasetConfigError(ValueError):
    """A dataset YAML with a missing or invalid key, or a path that does not exist."""


@dataclass
class DatasetConfig:
    """A loaded dataset YAML.

    Attributes:
        root: dataset root directory (absolute).
        train, val, test: absolute paths (directories, image files or .txt image lists) of each
            split, or None when the YAML does not give the split.
        names: class id -> class name, ids 0..num_classes-1.
        num_classes: number of classes.
        yaml_file: the YAML file, or None when the config came from a dict.
    """

    root: Path
    train: list[str] | None
    val: list[str] | None
    test: list[str] | None
    names: dict[int, str]
    num_classes: int
    yaml_file: Path | None = None


def _where(yaml_file: Path | None) -> str:
    return f"dataset YAML '{yaml_file}'" if yaml_file else "dataset config"


def resolve_dataset_root(raw_path, yaml_file: Path | None) -> Path:
    """The `path` key -> absolute root: relative paths try the YAML's directory, then the cwd."""
    base = yaml_file.parent if yaml_file else Path.cwd()
    if raw_path in (None, ""):
        return base.resolve()
    path = Path(os.path.expanduser(str(raw_path)))
    if path.is_absolute():
        return path
    candidates = [base / path, Path.cwd() / path]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    return candidates[0].resolve()  # does not exist; the split check below reports it


def _parse_names(data: dict, where: str) -> dict[int, str]:
    names, count = data.get("names"), data.get("nc")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise DatasetConfigError(f"{where}: 'nc' must be a positive integer, got {count!r}.")
    if names is None:
        if count is None:
            raise DatasetConfigError(
                f"{where}: missing key 'names'. Add the class names, e.g. 'names: [cat, dog]' "
                "or 'names: {0: cat, 1: dog}'."
            )
        return {index: f"class{index}" for index in range(count)}
    if isinstance(names, (list, tuple)):
        parsed = dict(enumerate(names))
    elif isinstance(names, dict):
        try:
            parsed = {int(key): value for key, value in names.items()}
        except (TypeError, ValueError) as error:
            raise DatasetConfigError(f"{where}: 'names' keys must be class ids 0, 1, …, got {list(names)}.") from error
    else:
        raise DatasetConfigError(f"{where}: 'names' must be a list or a dict of id: name, got {type(names).__name__}.")
    if sorted(parsed) != list(range(len(parsed))):
        raise DatasetConfigError(
            f"{where}: 'names' ids must be 0..{len(parsed) - 1} with no gaps, got {sorted(parsed)}."
        )
    if not parsed:
        raise DatasetConfigError(f"{where}: 'names' is empty; list at least one class.")
    if count is not None and count != len(parsed):
        raise DatasetConfigError(
            f"{where}: 'nc: {count}' disagrees with 'names', which has {len(parsed)} entries. "
            "Fix one of them, or remove 'nc'."
        )
    return {index: str(parsed[index]) for index in range(len(parsed))}


def _resolve_split(data: dict, key: str, root: Path, where: str, required: bool) -> list[str] | None:
    raw = data.get(key)
    if raw in (None, "", []):
        if required:
            raise DatasetConfigError(
                f"{where}: missing key '{key}'. Add '{key}: <images directory or .txt list, relative to "
                f"the dataset root {root}>'."
            )
        return None
    entries = raw if isinstance(raw, (list, tuple)) else [raw]
    resolved = []
    for entry in entries:
        if not isinstance(entry, (str, os.PathLike)):
            raise DatasetConfigError(f"{where}: '{key}' entries must be paths, got {entry!r}.")
        path = Path(os.path.expanduser(str(entry)))
        path = path if path.is_absolute() else root / path
        if required and not path.exists():
            raise DatasetConfigError(
                f"{where}: '{key}: {entry}' points to {path}, which does not exist. Fix '{key}' or the "
                f"dataset root ('path' key, resolved to {root})."
            )
        resolved.append(str(path))
    return resolved


def read_dataset_yaml(yaml_file: Path):
    """Parsed YAML; a syntax error or undecodable text becomes one DatasetConfigError line."""
    try:
        with open(yaml_file, encoding="utf-8-sig") as file:
            return yaml.safe_load(file)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise DatasetConfigError(
            f"dataset YAML '{yaml_file}' is not valid YAML at {where}: {problem}. Check the indentation "
            "and quoting there (values with ':' or '#' need quotes; indent with spaces, not tabs)."
        ) from None
    except UnicodeDecodeError:
        raise DatasetConfigError(
            f"dataset YAML '{yaml_file}' is not UTF-8 text; save it as UTF-8."
        ) from None
    except (ValueError, OverflowError, RecursionError) as error:  # e.g. 'date: 2001-02-30' -> datetime's ValueError
        raise DatasetConfigError(
            f"dataset YAML '{yaml_file}' has a value PyYAML cannot read ({type(error).__name__}: {error}); "
            "quote it to make it text."
        ) from None


def _yaml_in_directory(directory: Path, source) -> Path:
    """The dataset YAML inside a directory given as ``data=``.

    data.yaml (or data.yml) when present, else the only *.yaml / *.yml whose top level has both
    'train' and 'val' keys. Raises DatasetConfigError saying what a detection dataset needs otherwise.
    """
    for name in ("data.yaml", "data.yml"):
        if (directory / name).is_file():
            return directory / name
    candidates = []
    for yaml_file in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            data = yaml.safe_load(yaml_file.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError, OverflowError, RecursionError, yaml.YAMLError):  # ValueError: bad dates
            continue
        if isinstance(data, dict) and "train" in data and "val" in data:
            candidates.append(yaml_file)
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise DatasetConfigError(
            f"data='{source}' is a directory with several dataset YAMLs "
            f"({', '.join(file.name for file in candidates)}); pass one of them, e.g. data={candidates[0]}."
        )
    raise DatasetConfigError(
        f"data='{source}' is a directory ({directory}) without a dataset YAML. A detection dataset "
        "needs a YAML file (e.g. data.yaml in that directory, or pass its path) with 'path' (dataset "
        "root), 'train' and 'val' (image directories or .txt lists) and 'names' (the class names); "
        "labels go in labels/ beside images/."
    )


def load_dataset_config(source, required_splits=("train", "val")) -> DatasetConfig:
    """Load a dataset YAML (path) or an already-parsed dict into a DatasetConfig.

    Args:
        source: path of a .yaml file, a directory holding one (see _yaml_in_directory), or a dict
            with the same keys.
        required_splits: splits that must be present and exist on disk; other splits are
            resolved but not checked.

    Raises:
        FileNotFoundError: the YAML file does not exist.
        DatasetConfigError: the YAML is not valid YAML (the message gives line and column), a
            directory holds no dataset YAML, or a key is missing or invalid, or a required split's path is missing.
    """
    yaml_file = None
    if isinstance(source, dict):
        data = dict(source)
    else:
        yaml_file = Path(source).resolve()
        if yaml_file.is_dir():
            yaml_file = _yaml_in_directory(yaml_file, source)
        if not yaml_file.is_file():
            raise FileNotFoundError(f"dataset YAML '{source}' not found (looked at {yaml_file}).")
        data = read_dataset_yaml(yaml_file)
        if not isinstance(data, dict):
            raise DatasetConfigError(
                f"dataset YAML '{yaml_file}' must be a mapping of keys (path, train, val, names), "
                f"got {type(data).__name__}."
            )
    where = _where(yaml_file)
    unknown = [split for split in required_splits if split not in SPLITS]
    if unknown:
        raise ValueError(f"required_splits must be among {SPLITS}, got {unknown}.")
    root = resolve_dataset_root(data.get("path"), yaml_file)
    names = _parse_names(data, where)
    splits = {key: _resolve_split(data, key, root, where, key in required_splits) for key in SPLITS}
    return DatasetConfig(root=root, names=names, num_classes=len(names), yaml_file=yaml_file, **splits)


def is_image_file(path) -> bool:
    """True when the file name ends with one of IMAGE_EXTENSIONS (any case)."""
    return str(path).rpartition(".")[2].lower() in IMAGE_EXTENSIONS


def _images_in_list_file(list_file: Path, root: Path) -> list[str]:
    """Image paths listed one per line in a .txt file; relative lines resolve against root."""
    files = []
    with open(list_file, encoding="utf-8") as file:
        for line in file:
            line = line.strip()
            if not line:
                continue
            path = line[2:] if line.startswith("./") else line
            files.append(path if os.path.isabs(path) else os.path.join(root, path))
    return files


def _walk_files(directory: Path, visited_directories: set[str], seen_files: set[str]) -> list[str]:
    """Files under directory, following symlinks but entering each real directory only once.

    A symlink loop (``ln -s . images/train/loop``) or two links to one folder would otherwise list
    the same images again and again (or never finish); a file reached through several paths is
    listed once, under the first path found. visited_directories and seen_files hold realpaths and
    are shared across the entries of one split.
    """
    files = []
    for current, subdirs, names in os.walk(directory, followlinks=True):
        real = os.path.realpath(current)
        if real in visited_directories:
            subdirs[:] = []
            continue
        visited_directories.add(real)
        subdirs.sort()  # deterministic: which path of a linked folder is kept does not depend on the OS
        subdirs[:] = [
            name for name in subdirs if os.path.realpath(os.path.join(current, name)) not in visited_directories
        ]
        for name in sorted(names):
            file = os.path.join(current, name)
            real_file = os.path.realpath(file)
            if real_file not in seen_files:
                seen_files.add(real_file)
                files.append(file)
    return files


def image_files_from(entries, root) -> list[str]:
    """All image files named by split entries, sorted.

    Args:
        entries: a path or a list of paths, each a directory (searched recursively, following
            symlinks but never the same real directory or file twice), an image
            file, or a .txt file listing image paths (relative lines such as './images/x.jpg'
            resolve against root).
        root: dataset root used for relative entries and relative lines in list files.

    Raises:
        FileNotFoundError: an entry does not exist, or no images were found.
    """
    root = Path(root)
    entries = entries if isinstance(entries, (list, tuple)) else [entries]
    files: list[str] = []
    visited_directories: set[str] = set()
    seen_files: set[str] = set()
    for entry in entries:
        path = Path(entry) if Path(entry).is_absolute() else root / entry
        if path.is_dir():
            files.extend(_walk_files(path, visited_directories, seen_files))
        elif path.is_file() and path.suffix.lower() == ".txt":
            files.extend(_images_in_list_file(path, root))
        elif path.is_file():
            files.append(str(path))
        else:
            raise FileNotFoundError(f"dataset entry '{entry}' not found (looked at {path}).")
    images = sorted(os.path.normpath(file) for file in files if is_image_file(file))
    if not images:
        raise FileNotFoundError(
            f"no images found in {[str(entry) for entry in entries]}; supported extensions: "
            f"{', '.join(sorted(IMAGE_EXTENSIONS))}."
        )
    return images


def label_file_for(image_file) -> str:
    """YOLO convention: the last '/images/' path component becomes '/labels/' and the extension '.txt'.

    Example: 'data/images/train/a.jpg' -> 'data/labels/train/a.txt'.
    """
    image_file = str(image_file)
    images_part, labels_part = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    head, separator, tail = image_file.rpartition(images_part)
    label_file = head + labels_part + tail if separator else image_file
    return os.path.splitext(label_file)[0] + ".txt"
