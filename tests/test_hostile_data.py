"""Hostile but realistic data (issue 13): elongated images, damaged caches, symlink loops, BOMs, bad YAML."""

import logging
import os
import time

import cv2
import numpy as np
import pytest

from yolo8.data.dataset_config import (
    DatasetConfigError,
    image_files_from,
    load_dataset_config,
)
from yolo8.data.label_scan import scan_labels
from yolo8.data.labels import parse_label_text
from yolo8.data.transforms.letterbox import letterbox, resize_long_side
from yolo8.ops.letterbox import boxes_from_letterbox, boxes_to_letterbox

# ---------------------------------------------------------------- 1. elongated images


@pytest.mark.parametrize("shape", [(1, 2000, 3), (10000, 50, 3), (50, 10000, 3), (2000, 1, 3)])
@pytest.mark.parametrize("size", [640, 64])
@pytest.mark.parametrize("auto", [True, False])
def test_letterbox_of_elongated_image_keeps_every_side_at_least_one_pixel(shape, size, auto):
    image = np.full(shape, 128, np.uint8)
    out, info = letterbox(image, (size, size), auto=auto, scaleup=True, stride=32)
    height, width = out.shape[:2]
    assert height % 32 == 0 and width % 32 == 0 and 0 < height <= size and 0 < width <= size
    if not auto:
        assert (height, width) == (size, size)
    # the info is the exact mapping: ratio = new / old per axis, and the resized content fits the output
    new_width, new_height = round(shape[1] * info.ratio[0]), round(shape[0] * info.ratio[1])
    assert new_width >= 1 and new_height >= 1
    assert info.ratio == pytest.approx((new_width / shape[1], new_height / shape[0]))
    assert info.pad[0] + new_width <= width and info.pad[1] + new_height <= height
    # the image content sits where the info says (not the pad value 114)
    assert out[int(info.pad[1]), int(info.pad[0])].tolist() == [128, 128, 128]
    # boxes round-trip through the letterbox frame
    h0, w0 = shape[:2]
    boxes = np.array([[0.0, 0.0, w0, h0], [w0 * 0.25, h0 * 0.25, w0 * 0.5, h0 * 0.75]], np.float32)
    back = boxes_from_letterbox(boxes_to_letterbox(boxes, info), info, (h0, w0))
    np.testing.assert_allclose(back, boxes, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("shape", [(1, 2000, 3), (10000, 50, 3)])
def test_resize_long_side_of_elongated_image(shape):
    out, info = resize_long_side(np.zeros(shape, np.uint8), 64)
    assert max(out.shape[:2]) == 64 and min(out.shape[:2]) == 1
    assert info.ratio == pytest.approx((out.shape[1] / shape[1], out.shape[0] / shape[0]))


# ---------------------------------------------------------------- 2. damaged label cache


def _dataset(root, count=3, label_text="0 0.5 0.5 0.2 0.4\n"):
    image_dir, label_dir = root / "images" / "train", root / "labels" / "train"
    image_dir.mkdir(parents=True)
    label_dir.mkdir(parents=True)
    for index in range(count):
        cv2.imwrite(str(image_dir / f"im{index}.jpg"), np.full((24, 32, 3), 120, np.uint8))
        (label_dir / f"im{index}.txt").write_text(label_text)
    return image_dir


@pytest.mark.parametrize("damage", ["half", "garbage", "empty"])
def test_damaged_default_cache_is_rebuilt_with_one_warning(tmp_path, caplog, damage):
    image_dir = _dataset(tmp_path)
    files = image_files_from(image_dir, tmp_path)
    first = scan_labels(files, num_classes=1)
    cache_file = tmp_path / "labels" / "train.yolo8.cache"
    assert first.cache_file == cache_file and cache_file.is_file()
    data = cache_file.read_bytes()
    cache_file.write_bytes(
        {"half": data[: len(data) // 2], "garbage": os.urandom(len(data)), "empty": b""}[damage]
    )
    with caplog.at_level(logging.INFO, logger="yolo8"):
        result = scan_labels(files, num_classes=1)
    assert not result.from_cache and result.found == 3
    notes = [r.getMessage() for r in caplog.records if r.name == "yolo8" and r.levelno == logging.WARNING]
    assert len(notes) == 1 and str(cache_file) in notes[0] and "rebuilding" in notes[0]
    assert "\n" not in notes[0]
    # the rebuilt cache is good again
    assert scan_labels(files, num_classes=1).from_cache


# ---------------------------------------------------------------- 3. symlink loops


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
@pytest.mark.parametrize("loops", [1, 2])
def test_symlink_loops_list_each_real_image_once(tmp_path, loops):
    image_dir = _dataset(tmp_path, count=4)
    sub = image_dir / "sub"
    sub.mkdir()
    cv2.imwrite(str(sub / "deep.jpg"), np.full((24, 32, 3), 120, np.uint8))
    os.symlink(".", image_dir / "loop")
    if loops == 2:  # two self-loops alone made the walk exponential (a hang); plus a loop via the parent
        os.symlink(".", image_dir / "loop2")
        os.symlink("..", sub / "up")
    start = time.monotonic()
    files = image_files_from(image_dir, tmp_path)
    assert time.monotonic() - start < 5
    expected = sorted([str(image_dir / f"im{index}.jpg") for index in range(4)] + [str(sub / "deep.jpg")])
    assert files == expected


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_linked_folder_outside_is_followed_once(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cv2.imwrite(str(elsewhere / "x.jpg"), np.full((24, 32, 3), 120, np.uint8))
    image_dir = tmp_path / "images" / "train"
    image_dir.mkdir(parents=True)
    os.symlink(elsewhere, image_dir / "a")
    os.symlink(elsewhere, image_dir / "b")
    os.symlink(elsewhere / "x.jpg", image_dir / "same.jpg")
    files = image_files_from(image_dir, tmp_path)
    assert len(files) == 1 and os.path.realpath(files[0]) == str((elsewhere / "x.jpg").resolve())


# ---------------------------------------------------------------- 4. UTF-8 byte-order mark


def test_label_file_with_utf8_bom_is_accepted(tmp_path):
    image_dir = _dataset(tmp_path, count=2)
    label = tmp_path / "labels" / "train" / "im0.txt"
    label.write_bytes(b"\xef\xbb\xbf0 0.5 0.5 0.2 0.4\n0 0.25 0.25 0.1 0.1\n")
    result = scan_labels(image_files_from(image_dir, tmp_path), num_classes=1, use_cache=False)
    assert result.found == 2 and result.corrupt == 0 and result.warnings == []
    assert len(result.labels[0].classes) == 2
    classes, boxes, _, _ = parse_label_text("\ufeff0 0.5 0.5 0.2 0.4\n", 1)
    assert classes.tolist() == [0] and boxes.shape == (1, 4)


# ---------------------------------------------------------------- 5. YAML syntax errors


def test_dataset_yaml_syntax_error_is_one_clear_line(tmp_path):
    yaml_file = tmp_path / "bad.yaml"
    yaml_file.write_text("path: .\ntrain: images/train\nval: [images/val\nnames: [a]\n")
    with pytest.raises(DatasetConfigError) as info:
        load_dataset_config(yaml_file)
    message = str(info.value)
    assert str(yaml_file) in message and "line " in message and "column " in message
    assert "\n" not in message and info.value.__cause__ is None and info.value.__suppress_context__


def test_dataset_yaml_tab_indentation_names_line(tmp_path):
    yaml_file = tmp_path / "tabs.yaml"
    yaml_file.write_text("train: a\nnames:\n\t0: cat\n")
    with pytest.raises(DatasetConfigError, match=r"tabs\.yaml.*line 3, column 1"):
        load_dataset_config(yaml_file)


# ---------------------------------------------------------------- 6. data= a directory


def _yaml_text(name="x"):
    return f"train: images/train\nval: images/train\nnames: [{name}]\n"


def test_directory_with_data_yaml_is_used(tmp_path):
    _dataset(tmp_path)
    (tmp_path / "data.yaml").write_text(_yaml_text("cat"))
    (tmp_path / "other.yaml").write_text(_yaml_text("dog"))
    config = load_dataset_config(tmp_path)
    assert config.names == {0: "cat"} and config.yaml_file == (tmp_path / "data.yaml").resolve()


def test_directory_with_one_dataset_yaml_is_used(tmp_path):
    _dataset(tmp_path)
    (tmp_path / "hyp.yaml").write_text("lr0: 0.01\n")
    (tmp_path / "pets.yml").write_text(_yaml_text("dog"))
    config = load_dataset_config(tmp_path)
    assert config.names == {0: "dog"} and config.root == tmp_path.resolve()


def test_directory_without_dataset_yaml_says_what_is_needed(tmp_path):
    _dataset(tmp_path)
    (tmp_path / "hyp.yaml").write_text("lr0: 0.01\n")
    with pytest.raises(DatasetConfigError) as info:
        load_dataset_config(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "directory" in message
    assert all(key in message for key in ("'path'", "'train'", "'val'", "'names'"))


def test_directory_with_several_dataset_yamls_asks_for_one(tmp_path):
    _dataset(tmp_path)
    (tmp_path / "a.yaml").write_text(_yaml_text())
    (tmp_path / "b.yaml").write_text(_yaml_text())
    with pytest.raises(DatasetConfigError, match=r"a\.yaml, b\.yaml"):
        load_dataset_config(tmp_path)
