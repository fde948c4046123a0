"""COCO instances JSON -> YOLO dataset: exact label rows, the YAML and its id mapping, split merging, CLI, errors."""

import contextlib
import io
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from yolo8.cli import run
from yolo8.data.build import split_labels
from yolo8.data.coco import CocoFormatError, coco_category_ids, convert_coco, convert_coco_split, merge_polygon_parts
from yolo8.data.dataset_config import load_dataset_config
from yolo8.metrics.coco_json import ground_truth_from_labels

pycocotools_coco = pytest.importorskip("pycocotools.coco")

IMAGES = [  # (id, file_name, width, height)
    (1, "000000000001.jpg", 100, 50),
    (2, "street.jpg", 200, 100),
    (3, "000000000003.jpg", 60, 40),  # no annotations
]
CATEGORIES = [{"id": 7, "name": "zebra"}, {"id": 1, "name": "person"}, {"id": 3, "name": "car"}]
ANNOTATIONS = [
    {"id": 10, "image_id": 1, "category_id": 1, "bbox": [10, 5, 20, 10], "area": 200, "iscrowd": 0},
    {"id": 11, "image_id": 1, "category_id": 7, "bbox": [0, 0, 50, 25], "area": 900, "iscrowd": 1,
     "segmentation": {"counts": [0, 25, 25, 1200], "size": [50, 100]}},
    {"id": 12, "image_id": 2, "category_id": 3, "bbox": [10, 10, 60, 20], "area": 800, "iscrowd": 0,
     "segmentation": [[10, 10, 30, 10, 30, 30, 10, 30], [50, 10, 70, 10, 70, 30, 50, 30]]},
    {"id": 13, "image_id": 2, "category_id": 7, "bbox": [5, 5, 0, 10], "area": 0, "iscrowd": 0},
    {"id": 14, "image_id": 2, "category_id": 1, "bbox": [190, 90, 20, 20], "area": 400, "iscrowd": 0,
     "segmentation": []},
]


def write_coco(root: Path, name="instances_val2017.json", annotations=ANNOTATIONS, images=IMAGES) -> Path:
    """COCO layout: root/annotations/<name> and root/images/<split>/<file_name> (small noise pictures)."""
    split = name[len("instances_"):-len(".json")]
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for _, file_name, width, height in images:
        cv2.imwrite(str(root / "images" / split / file_name), rng.integers(0, 255, (height, width, 3), np.uint8))
    data = {"images": [{"id": i, "file_name": f, "width": w, "height": h} for i, f, w, h in images],
            "annotations": annotations, "categories": CATEGORIES}
    json_file = root / "annotations" / name
    json_file.write_text(json.dumps(data))
    return json_file


def test_labels_yaml_and_summary_are_exact(tmp_path):
    json_file = write_coco(tmp_path / "coco")
    result = convert_coco_split(json_file, output_dir=tmp_path / "out")
    labels = tmp_path / "out" / "labels" / "val2017"
    assert (labels / "000000000001.txt").read_text() == "0 0.200000 0.200000 0.200000 0.200000\n"
    # two squares joined at their closest corners (30,10)-(50,10); pixels / (200, 100); then the box clipped
    polygon = [30, 10, 50, 10, 70, 10, 70, 30, 50, 30, 50, 10, 30, 10, 30, 30, 10, 30, 10, 10]
    polygon_row = "1 " + " ".join(f"{v / (200 if k % 2 == 0 else 100):.6f}" for k, v in enumerate(polygon))
    assert (labels / "street.txt").read_text() == polygon_row + "\n0 0.975000 0.950000 0.050000 0.100000\n"
    assert (labels / "000000000003.txt").read_text() == ""
    assert (result.images, result.empty_images, result.boxes, result.polygons) == (3, 1, 2, 1)
    assert (result.crowd_kept, result.invalid_skipped) == (1, 1)
    # crowd annotation 11 (zebra = class 2, [0, 0, 50, 25] in 100 x 50) goes to the sidecar, not the labels
    crowd_file = tmp_path / "out" / "labels" / "val2017.crowd.json"
    assert result.crowd_file == crowd_file
    assert json.loads(crowd_file.read_text()) == {"000000000001": [[2, 0.0, 0.0, 0.5, 0.5]]}
    summary = result.summary()
    assert f"1 crowd regions kept in {crowd_file}" in summary and "annotation 13 (street.jpg)" in summary
    assert result.yaml_file == tmp_path / "out" / "data.yaml"

    raw = yaml.safe_load(result.yaml_file.read_text())
    assert raw == {"path": ".", "train": "images/val2017", "val": "images/val2017",
                   "names": {0: "person", 1: "car", 2: "zebra"}, "coco_category_ids": [1, 3, 7]}
    data = load_dataset_config(result.yaml_file)
    assert data.root == (tmp_path / "out").resolve() and data.names == {0: "person", 1: "car", 2: "zebra"}
    assert coco_category_ids(data) == [1, 3, 7]
    image = tmp_path / "out" / "images" / "val2017" / "street.jpg"
    assert image.is_symlink() and image.resolve() == (tmp_path / "coco" / "images" / "val2017" / "street.jpg")


def test_second_split_fills_its_entry_and_copy_flag(tmp_path):
    write_coco(tmp_path / "coco")
    train_json = write_coco(tmp_path / "coco", "instances_train2017.json", annotations=ANNOTATIONS[:1],
                            images=IMAGES[:1])
    first = convert_coco(tmp_path / "coco" / "annotations" / "instances_val2017.json")  # default out: coco/yolo
    assert first == tmp_path / "coco" / "yolo" / "data.yaml"
    assert convert_coco(train_json, copy_images=True, segments=False) == first
    raw = yaml.safe_load(first.read_text())
    assert (raw["train"], raw["val"]) == ("images/train2017", "images/val2017")
    copied = tmp_path / "coco" / "yolo" / "images" / "train2017" / "000000000001.jpg"
    assert copied.is_file() and not copied.is_symlink()
    data = load_dataset_config(first)
    assert len(split_labels(data, "train")) == 1 and len(split_labels(data, "val")) == 3


def test_boxes_only_when_segments_false(tmp_path):
    json_file = write_coco(tmp_path / "coco")
    convert_coco(json_file, output_dir=tmp_path / "out", segments=False)
    assert (tmp_path / "out" / "labels" / "val2017" / "street.txt").read_text() == (
        "1 0.200000 0.200000 0.300000 0.200000\n0 0.975000 0.950000 0.050000 0.100000\n")


def shoelace(points):
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_merged_polygon_keeps_every_vertex_and_the_area():
    rng = np.random.default_rng(1)
    parts = [center + np.array([[0, 0], [3, 0], [3, 2], [0, 2]], float) * scale
             for center, scale in zip(rng.uniform(0, 50, (3, 2)), (1.0, 2.0, 0.5))]
    merged = merge_polygon_parts(parts)
    for part in parts:  # every vertex is on the walk
        assert all(np.isclose(merged, vertex).all(1).any() for vertex in part)
    # the zero-width bridges are walked there and back, so they add no area
    assert shoelace(merged) == pytest.approx(sum(shoelace(part) for part in parts))
    # each part is walked round once and its link vertices are visited twice; the closing point is dropped
    assert len(merged) == sum(len(part) + 2 for part in parts) - 2


def test_round_trip_through_ground_truth_json(tmp_path):
    json_file = write_coco(tmp_path / "coco")
    data = load_dataset_config(convert_coco(json_file, output_dir=tmp_path / "out"))
    ground_truth = ground_truth_from_labels(split_labels(data, "val"), data.names, coco_category_ids(data))
    (tmp_path / "gt.json").write_text(json.dumps(ground_truth))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = pycocotools_coco.COCO(str(tmp_path / "gt.json"))
    assert sorted(coco.getImgIds(), key=str) == [1, 3, "street"]
    assert [c["id"] for c in coco.loadCats(coco.getCatIds())] == [1, 3, 7]
    got = sorted((a["image_id"] == 1, a["category_id"], a["bbox"]) for a in coco.loadAnns(coco.getAnnIds()))
    # annotation 10, 12 (its polygon's extent), 14 (clipped to the image); empty 13 left out, crowd 11 is
    # not in the YOLO labels (it lives in the crowd sidecar)
    expected = sorted([(True, 1, [10, 5, 20, 10]), (False, 3, [10, 10, 60, 20]), (False, 1, [190, 90, 10, 10])])
    assert [row[:2] for row in got] == [row[:2] for row in expected]
    np.testing.assert_allclose([row[2] for row in got], [row[2] for row in expected], atol=1e-3)
    assert all(a["iscrowd"] == 0 and a["area"] == pytest.approx(a["bbox"][2] * a["bbox"][3])
               for a in coco.loadAnns(coco.getAnnIds()))


def test_cli_end_to_end(tmp_path, capsys):
    json_file = write_coco(tmp_path / "coco")
    out = tmp_path / "cli_out"
    assert run(["convert", "coco", str(json_file), f"images={tmp_path / 'coco' / 'images' / 'val2017'}",
                f"out={out}", "copy=True"]) == 0
    printed = capsys.readouterr().out
    assert "3 images (1 without labels)" in printed and "1 crowd regions kept in" in printed
    assert "val2017.crowd.json (iscrowd=1" in printed
    assert "zero or negative box width or height" in printed
    assert (out / "labels" / "val2017" / "000000000001.txt").read_text().startswith("0 0.2")
    assert not (out / "images" / "val2017" / "street.jpg").is_symlink()
    assert load_dataset_config(out / "data.yaml").num_classes == 3

    assert run(["convert", "coco", str(json_file), "imgs=x"]) == 2
    assert "Did you mean 'images'?" in capsys.readouterr().err
    assert run(["convert", "coco"]) == 2
    assert "exactly one annotations JSON" in capsys.readouterr().err
    assert run(["convert", "coco", str(json_file), "copy=maybe"]) == 2
    assert run(["convert", "coco", str(tmp_path / "nope.json")]) == 1
    assert "nope.json" in capsys.readouterr().err


def test_errors_name_the_file_and_the_entry(tmp_path):
    bad = tmp_path / "instances_bad.json"
    bad.write_text("{not json")
    with pytest.raises(CocoFormatError, match="instances_bad.json: not valid JSON"):
        convert_coco(bad, tmp_path, tmp_path / "o")
    bad.write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(CocoFormatError, match="instances_bad.json: missing key 'categories'"):
        convert_coco(bad, tmp_path, tmp_path / "o")
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "categories": CATEGORIES}))
    with pytest.raises(CocoFormatError, match=r"'images' entry 1 lacks key\(s\) \['width', 'height'\]"):
        convert_coco(bad, tmp_path, tmp_path / "o")

    json_file = write_coco(tmp_path / "coco")
    data = json.loads(json_file.read_text())
    data["annotations"][0]["category_id"] = 2
    bad.write_text(json.dumps(data))
    with pytest.raises(CocoFormatError, match=r"annotation 10 has category_id 2, which is not in 'categories'"):
        convert_coco(bad, tmp_path / "coco" / "images" / "val2017", tmp_path / "o")
    os.remove(tmp_path / "coco" / "images" / "val2017" / "street.jpg")
    with pytest.raises(FileNotFoundError, match=r"1 image file\(s\) missing, e.g. .*street.jpg; pass images=DIR"):
        convert_coco(json_file, output_dir=tmp_path / "o")
    with pytest.raises(FileNotFoundError, match="could not find the images of split 'val2017'.*pass images=DIR"):
        convert_coco(json_file.rename(tmp_path / "instances_val2017.json"), output_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists()  # nothing written before the checks pass
    data["images"][0]["width"] = 0
    bad.write_text(json.dumps(data))
    with pytest.raises(CocoFormatError, match="image 1: width and height must be positive numbers, got 0 x 50"):
        convert_coco(bad, tmp_path, tmp_path / "o")


def test_output_into_the_coco_folder_keeps_the_images(tmp_path):
    json_file = write_coco(tmp_path / "coco")
    image = tmp_path / "coco" / "images" / "val2017" / "street.jpg"
    before = image.read_bytes()
    for _ in range(2):
        convert_coco(json_file, output_dir=tmp_path / "coco")
    assert not image.is_symlink() and image.read_bytes() == before
    assert (tmp_path / "coco" / "labels" / "val2017" / "street.txt").is_file()


def test_category_ids_key_is_checked(tmp_path):
    json_file = write_coco(tmp_path / "coco")
    yaml_file = convert_coco(json_file, output_dir=tmp_path / "out")
    yaml_file.write_text(yaml_file.read_text().replace("[1, 3, 7]", "[1, 3]"))
    with pytest.raises(ValueError, match="'coco_category_ids' must list 3 distinct integer ids"):
        coco_category_ids(load_dataset_config(yaml_file))
    other = write_coco(tmp_path / "other", annotations=[])
    (tmp_path / "out" / "data.yaml").write_text("path: .\ntrain: images/val2017\nval: images/val2017\nnames: [a]\n")
    with pytest.raises(CocoFormatError, match="already describes a dataset with other categories"):
        convert_coco(other, output_dir=tmp_path / "out")
