"""Dataset YAML loading, image listing and the images/ -> labels/ convention."""

import os
from pathlib import Path

import pytest
import yaml

from yolo8.data.dataset_config import (
    DatasetConfigError,
    image_files_from,
    label_file_for,
    load_dataset_config,
)


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def _dataset(root: Path) -> Path:
    """root/images/{train,val}/… with a nested folder and non-image files."""
    for name in ["b.jpg", "a.PNG", "sub/c.jpeg", "notes.txt", "d.gif"]:
        _touch(root / "images" / "train" / name)
    _touch(root / "images" / "val" / "v.webp")
    return root


def _write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_list_names_and_relative_path_against_yaml_dir(tmp_path):
    _dataset(tmp_path / "data" / "toy")
    yaml_file = _write_yaml(
        tmp_path / "data" / "toy.yaml",
        {"path": "toy", "train": "images/train", "val": "images/val", "names": ["cat", "dog"]},
    )
    config = load_dataset_config(yaml_file)
    root = (tmp_path / "data" / "toy").resolve()
    assert config.root == root
    assert config.train == [str(root / "images/train")]
    assert config.val == [str(root / "images/val")]
    assert config.test is None
    assert config.names == {0: "cat", 1: "dog"} and config.num_classes == 2
    assert config.yaml_file == yaml_file.resolve()
    assert image_files_from(config.train, config.root) == [
        str(root / "images/train/a.PNG"),
        str(root / "images/train/b.jpg"),
        str(root / "images/train/sub/c.jpeg"),
    ]


def test_relative_path_falls_back_to_cwd(tmp_path, monkeypatch):
    _dataset(tmp_path / "work" / "datasets" / "toy")
    (tmp_path / "configs").mkdir()
    yaml_file = _write_yaml(
        tmp_path / "configs" / "toy.yaml",
        {"path": "datasets/toy", "train": "images/train", "val": "images/val", "names": {0: "a"}},
    )
    monkeypatch.chdir(tmp_path / "work")
    config = load_dataset_config(yaml_file)
    assert config.root == (tmp_path / "work" / "datasets" / "toy").resolve()


def test_no_path_key_means_yaml_directory_and_dict_names(tmp_path):
    _dataset(tmp_path)
    yaml_file = tmp_path / "d.yaml"
    yaml_file.write_text("train: images/train\nval: images/val\nnames:\n  0: person\n  1: car\n  2: bus\nnc: 3\n")
    config = load_dataset_config(yaml_file)
    assert config.root == tmp_path.resolve()
    assert config.names == {0: "person", 1: "car", 2: "bus"} and config.num_classes == 3


def test_dict_source_with_string_keys_and_absolute_path(tmp_path):
    _dataset(tmp_path)
    config = load_dataset_config(
        {"path": str(tmp_path), "train": "images/train", "val": "images/val", "names": {"1": "b", "0": "a"}}
    )
    assert config.names == {0: "a", 1: "b"} and config.yaml_file is None


def test_nc_only_gives_generic_names(tmp_path):
    _dataset(tmp_path)
    config = load_dataset_config({"path": str(tmp_path), "train": "images/train", "val": "images/val", "nc": 2})
    assert config.names == {0: "class0", 1: "class1"}


def test_list_of_directories_and_txt_list(tmp_path):
    root = _dataset(tmp_path)
    _touch(root / "images" / "extra" / "e.jpg")
    (root / "train.txt").write_text("./images/train/b.jpg\nimages/val/v.webp\n\n" + str(root / "images/extra/e.jpg") + "\n")
    config = load_dataset_config(
        {"path": str(root), "train": ["images/train", "images/extra"], "val": "train.txt", "names": ["x"]}
    )
    assert image_files_from(config.train, config.root) == sorted(
        str(root / p) for p in ["images/train/a.PNG", "images/train/b.jpg", "images/train/sub/c.jpeg", "images/extra/e.jpg"]
    )
    assert image_files_from(config.val, config.root) == [
        str(root / "images/extra/e.jpg"),
        str(root / "images/train/b.jpg"),
        str(root / "images/val/v.webp"),
    ]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"train": None}, r"missing key 'train'"),
        ({"val": None}, r"missing key 'val'"),
        ({"names": None}, r"missing key 'names'"),
        ({"nc": 3}, r"'nc: 3' disagrees with 'names', which has 2 entries"),
        ({"train": "images/nope"}, r"'train: images/nope' points to .*nope, which does not exist"),
        ({"names": {0: "a", 2: "b"}}, r"ids must be 0..1 with no gaps"),
        ({"nc": "two"}, r"'nc' must be a positive integer"),
    ],
)
def test_clear_errors_name_yaml_and_key(tmp_path, change, message):
    _dataset(tmp_path)
    data = {"train": "images/train", "val": "images/val", "names": ["a", "b"], **change}
    data = {key: value for key, value in data.items() if value is not None}
    yaml_file = _write_yaml(tmp_path / "bad.yaml", data)
    with pytest.raises(DatasetConfigError, match=message) as info:
        load_dataset_config(yaml_file)
    assert "bad.yaml" in str(info.value)


def test_missing_yaml_and_optional_split(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.yaml"):
        load_dataset_config(tmp_path / "nothere.yaml")
    _dataset(tmp_path)
    config = load_dataset_config(
        {"path": str(tmp_path), "train": "images/nope", "val": "images/val", "names": ["a"]},
        required_splits=("val",),
    )
    assert config.train == [str(tmp_path / "images/nope")]
    with pytest.raises(FileNotFoundError, match="images/nope"):
        image_files_from(config.train, config.root)


def test_no_images_is_an_error(tmp_path):
    _touch(tmp_path / "images" / "notes.txt")
    (tmp_path / "images" / "notes.txt").write_text("")
    with pytest.raises(FileNotFoundError, match="no images found"):
        image_files_from("images", tmp_path)


def test_label_file_for():
    sep = os.sep
    assert label_file_for(f"{sep}d{sep}images{sep}train{sep}a.jpg") == f"{sep}d{sep}labels{sep}train{sep}a.txt"
    # only the last images/ component is replaced; dots in folders are kept
    assert (
        label_file_for(f"{sep}images{sep}v1.2{sep}images{sep}x.y.PNG")
        == f"{sep}images{sep}v1.2{sep}labels{sep}x.y.txt"
    )
    assert label_file_for(f"{sep}d{sep}pics{sep}a.jpg") == f"{sep}d{sep}pics{sep}a.txt"
