"""COCO crowd regions: kept by the converter in labels/<split>.crowd.json, ignored by validation as COCOeval does."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.test_coco_json import NoisyOracle, cocoeval_stats, image_key
from yolo8.config import Config
from yolo8.data.build import evaluation_loader
from yolo8.data.coco import convert_coco_split
from yolo8.data.crowd import CrowdRegions, crowd_annotations, crowd_file_for, read_crowd_file, write_crowd_file
from yolo8.data.dataset_config import load_dataset_config
from yolo8.ops.letterbox import boxes_to_letterbox
from yolo8.val.validator import validate_model

pytest.importorskip("pycocotools.cocoeval")

IMAGE_SIZE = 96
IMAGES = [(101, "000000000101.jpg", 96, 64), (102, "000000000102.jpg", 80, 80), (103, "000000000103.jpg", 112, 72)]
CATEGORIES = [{"id": 3, "name": "car"}, {"id": 1, "name": "person"}]
GROUND_TRUTH = [  # (image id, category id, ltwh box, iscrowd)
    (101, 1, [4, 6, 20, 30], 0), (101, 3, [50, 34, 30, 20], 0), (101, 1, [30, 2, 60, 30], 1),
    (101, 1, [62, 8, 14, 18], 0),  # a person inside the crowd region
    (102, 1, [10, 10, 25, 40], 0), (102, 3, [40, 50, 30, 20], 0),
    (103, 1, [0, 0, 50, 60], 1), (103, 3, [60, 20, 40, 30], 0), (103, 1, [70, 45, 14, 20], 0),
]
DETECTIONS = [  # (image id, category id, ltwh box, score): near-matches, a wrong class, misses, crowd hits
    (101, 1, [5, 7, 19, 28], 0.62), (101, 3, [52, 33, 29, 21], 0.71), (101, 1, [61, 9, 15, 17], 0.44),
    (101, 1, [33, 4, 12, 14], 0.93), (101, 1, [47, 16, 10, 12], 0.88),  # inside the crowd region
    (101, 3, [6, 40, 20, 15], 0.35),  # background
    (102, 1, [12, 12, 22, 37], 0.57), (102, 3, [10, 12, 24, 38], 0.49), (102, 3, [44, 52, 30, 20], 0.22),
    (102, 1, [50, 5, 20, 20], 0.81),  # background, scored high
    (103, 1, [4, 5, 15, 20], 0.91), (103, 1, [25, 30, 18, 22], 0.86), (103, 1, [8, 38, 12, 15], 0.77),  # crowd
    (103, 3, [62, 21, 37, 29], 0.66), (103, 1, [72, 44, 12, 19], 0.28), (103, 3, [90, 60, 20, 10], 0.15),
]


def write_crowd_coco(root: Path) -> Path:
    """The hand-written COCO file above (area = box w * h) and its noise pictures; returns the JSON."""
    rng = np.random.default_rng(0)
    (root / "images" / "val2017").mkdir(parents=True)
    (root / "annotations").mkdir()
    for _, file_name, width, height in IMAGES:
        cv2.imwrite(str(root / "images" / "val2017" / file_name), rng.integers(0, 255, (height, width, 3), np.uint8))
    annotations = [{"id": index + 1, "image_id": image_id, "category_id": category_id, "bbox": box,
                    "area": float(box[2] * box[3]), "iscrowd": crowd}
                   for index, (image_id, category_id, box, crowd) in enumerate(GROUND_TRUTH)]
    data = {"images": [{"id": i, "file_name": f, "width": w, "height": h} for i, f, w, h in IMAGES],
            "annotations": annotations, "categories": CATEGORIES}
    json_file = root / "annotations" / "instances_val2017.json"
    json_file.write_text(json.dumps(data))
    return json_file


def stub_outputs(loader, class_of: dict) -> dict:
    """Letterboxed image digest -> decoded (4 + nc, A): the DETECTIONS above mapped into each letterboxed image."""
    outputs = {}
    for batch in loader:
        for i, path in enumerate(batch.paths):
            rows = [row for row in DETECTIONS if row[0] == int(Path(path).stem)]
            ltwh = np.array([row[2] for row in rows], np.float64)  # (N, 4)
            xyxy = boxes_to_letterbox(np.concatenate((ltwh[:, :2], ltwh[:, :2] + ltwh[:, 2:]), 1), batch.letterbox[i])
            decoded = torch.zeros(4 + len(class_of), len(rows) + 2)
            decoded[:2, :len(rows)] = torch.tensor((xyxy[:, :2] + xyxy[:, 2:]) / 2).T  # (N, 2) -> (2, N)
            decoded[2:4, :len(rows)] = torch.tensor(xyxy[:, 2:] - xyxy[:, :2]).T
            for anchor, (_, category_id, _, score) in enumerate(rows):
                decoded[4 + class_of[category_id], anchor] = score
            outputs[image_key(batch.images[i])] = decoded
    return outputs


def run_val(data_yaml: Path, tmp_path: Path, name: str):
    config = Config(dict(data=str(data_yaml), imgsz=IMAGE_SIZE, batch=2, workers=0, plots=False, save_json=True,
                         project=str(tmp_path / "runs"), name=name), mode="val")
    loader = evaluation_loader(load_dataset_config(data_yaml), config, "val", IMAGE_SIZE, 2, 32, 0)
    model = NoisyOracle(stub_outputs(loader, {1: 0, 3: 1}), num_classes=2)
    return validate_model(model, config)


def coco_values(box) -> list:
    return [box.map, box.map50, box.map75, box.map_small, box.map_medium, box.map_large]


def test_crowd_regions_are_ignored_like_cocoeval(tmp_path):
    json_file = write_crowd_coco(tmp_path / "coco")
    conversion = convert_coco_split(json_file, output_dir=tmp_path / "yolo")
    assert conversion.crowd_kept == 2 and conversion.crowd_file == tmp_path / "yolo" / "labels" / "val2017.crowd.json"
    assert json.loads(conversion.crowd_file.read_text()) == {
        "000000000101": [[0, 0.3125, 0.03125, 0.9375, 0.5]],
        "000000000103": [[0, 0.0, 0.0, round(50 / 112, 6), round(60 / 72, 6)]]}

    with_crowd = run_val(conversion.yaml_file, tmp_path, "crowd")
    ours = coco_values(with_crowd.box)
    # pycocotools on the ORIGINAL COCO file, crowd annotations included, and our predictions.json
    np.testing.assert_allclose(cocoeval_stats(json_file, with_crowd.save_dir / "predictions.json")[:6], ours, atol=1e-4)
    # our ground_truth.json carries the crowd regions (iscrowd=1, area = box area) and re-scores the same
    written = json.loads((with_crowd.save_dir / "ground_truth.json").read_text())
    crowd_rows = sorted((a["image_id"], a["category_id"], a["bbox"], a["area"])
                        for a in written["annotations"] if a["iscrowd"] == 1)
    assert crowd_rows == [(101, 1, [30.0, 2.0, 60.0, 30.0], 1800.0), (103, 1, [0.0, 0.0, 50.0, 60.0], 3000.0)]
    np.testing.assert_allclose(cocoeval_stats(with_crowd.save_dir / "ground_truth.json",
                                              with_crowd.save_dir / "predictions.json")[:6], ours, atol=1e-4)
    # crowd regions are not instances
    assert with_crowd.box.instances_per_class.tolist() == [4, 3]  # person, car

    conversion.crowd_file.unlink()
    without_crowd = run_val(conversion.yaml_file, tmp_path, "no_crowd")
    assert without_crowd.box.instances_per_class.tolist() == [4, 3]
    # the five detections on crowd regions now count as false positives: a lower score
    assert with_crowd.box.map50 - without_crowd.box.map50 > 0.05 and with_crowd.box.map - without_crowd.box.map > 0.03
    # ... which is what pycocotools gives when the crowd annotations are deleted from the COCO file
    original = json.loads(json_file.read_text())
    original["annotations"] = [a for a in original["annotations"] if not a["iscrowd"]]
    (tmp_path / "no_crowd.json").write_text(json.dumps(original))
    np.testing.assert_allclose(cocoeval_stats(tmp_path / "no_crowd.json", without_crowd.save_dir / "predictions.json")
                               [:6], coco_values(without_crowd.box), atol=1e-4)


def test_crowd_file_lookup_and_round_trip(tmp_path):
    assert crowd_file_for("d/images/val2017/sub/a.b.jpg") == (Path("d/labels/val2017.crowd.json"), "sub/a.b")
    assert crowd_file_for("/x/images/val/./7.png") == (Path("/x/labels/val.crowd.json"), "7")
    assert crowd_file_for("d/images/a.jpg") is None and crowd_file_for("d/pictures/val/a.jpg") is None

    crowd_file = tmp_path / "labels" / "val.crowd.json"
    crowd_file.parent.mkdir()
    write_crowd_file(crowd_file, {"a": [[1, 0.1, 0.2, 0.5, 0.60000004]], "sub/b": []})
    regions = read_crowd_file(crowd_file, num_classes=2)
    np.testing.assert_array_equal(regions["a"], [[1, 0.1, 0.2, 0.5, 0.6]])
    assert regions["sub/b"].shape == (0, 5)

    lookup = CrowdRegions(num_classes=2)
    classes, boxes = lookup(tmp_path / "images" / "val" / "a.jpg", (50, 100))  # (height, width)
    np.testing.assert_array_equal(classes, [1])
    np.testing.assert_allclose(boxes, [[10.0, 10.0, 50.0, 30.0]])
    assert lookup(tmp_path / "images" / "val" / "c.jpg", (50, 100))[1].shape == (0, 4)
    assert lookup(tmp_path / "images" / "train" / "a.jpg", (50, 100))[1].shape == (0, 4)  # no train sidecar
    assert lookup.files == [crowd_file]
    assert CrowdRegions(2, single_class=True)(tmp_path / "images" / "val" / "a.jpg", (50, 100))[0].tolist() == [0]

    rows = crowd_annotations(5, "a", boxes, classes, [3, 9])
    assert rows == [{"id": 5, "image_id": "a", "category_id": 9, "bbox": [10.0, 10.0, 40.0, 20.0], "area": 800.0,
                     "iscrowd": 1}]


@pytest.mark.parametrize("content, message", [
    ("{nope", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"a": [[0, 1, 2, 3]]}', "entry 'a' must be a list of \\[cls, x1, y1, x2, y2\\]"),
    ('{"a": [[2, 0, 0, 1, 1]]}', "entry 'a' has class ids \\[2.0\\], not integers in \\[0, 2\\)"),
])
def test_bad_crowd_files_name_the_file_and_entry(tmp_path, content, message):
    crowd_file = tmp_path / "val.crowd.json"
    crowd_file.write_text(content)
    with pytest.raises(ValueError, match=f"crowd regions '.*val.crowd.json': {message}"):
        read_crowd_file(crowd_file, num_classes=2)


def test_conversion_without_crowd_removes_a_stale_sidecar(tmp_path):
    json_file = write_crowd_coco(tmp_path / "coco")
    first = convert_coco_split(json_file, output_dir=tmp_path / "yolo")
    assert first.crowd_file.is_file()
    data = json.loads(json_file.read_text())
    data["annotations"] = [a for a in data["annotations"] if not a["iscrowd"]]
    data["annotations"].append({"id": 99, "image_id": 102, "category_id": 1, "bbox": [90, 5, 4, 4], "iscrowd": 1})
    json_file.write_text(json.dumps(data))  # the only crowd box lies outside the 80 x 80 image
    second = convert_coco_split(json_file, output_dir=tmp_path / "yolo")
    assert (second.crowd_kept, second.crowd_file, second.invalid_skipped) == (0, None, 1)
    assert not first.crowd_file.exists() and "crowd regions kept" not in second.summary()
