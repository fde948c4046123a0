"""save_json: predictions.json + ground_truth.json re-scored by pycocotools reproduce the validator's mAP."""

import contextlib
import hashlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from tests.conftest import write_shapes_dataset
from yolo8.config import Config
from yolo8.data.build import evaluation_loader
from yolo8.data.coco import convert_coco
from yolo8.data.dataset_config import load_dataset_config
from yolo8.metrics.coco_json import CocoJsonRecorder, category_id_table, detections_to_coco, image_id_from_path
from yolo8.val.validator import validate_model

pycocotools_coco = pytest.importorskip("pycocotools.coco")
pycocotools_eval = pytest.importorskip("pycocotools.cocoeval")

ANCHORS = 40


def test_image_ids_category_ids_and_rounding():
    assert image_id_from_path("/d/images/val/000000000139.jpg") == 139
    assert image_id_from_path("cat_01.png") == "cat_01" and image_id_from_path("x/²3.jpg") == "²3"
    assert category_id_table(3) == [1, 2, 3] and category_id_table(3, [1, 3, 7]) == [1, 3, 7]
    with pytest.raises(ValueError, match="category_ids has 2 entries for 3 classes"):
        category_id_table(3, [1, 3])
    rows = detections_to_coco(5, np.array([[1.23456, 2.0, 11.0, 7.1234567]]), [0.1234567], [2.0], [1, 3, 7])
    assert rows == [{"image_id": 5, "category_id": 7, "bbox": [1.235, 2.0, 9.765, 5.123], "score": 0.12346}]


def test_recorder_ground_truth_and_duplicate_ids(tmp_path):
    recorder = CocoJsonRecorder({0: "a", 1: "b"})
    recorder.add("img/007.jpg", (40, 60), np.zeros((0, 4)), [], [], np.array([[1.0, 2.0, 11.0, 22.0]]), [1])
    with pytest.raises(ValueError, match="'img/007.jpg' and 'other/7.png' both get COCO image_id 7"):
        recorder.add("other/7.png", (4, 4), np.zeros((0, 4)), [], [], np.zeros((0, 4)), [])
    predictions, ground_truth = recorder.write(tmp_path)
    assert json.loads(predictions.read_text()) == []
    written = json.loads(ground_truth.read_text())
    assert written["images"] == [{"id": 7, "file_name": "007.jpg", "width": 60, "height": 40}]
    assert written["annotations"] == [{"id": 1, "image_id": 7, "category_id": 2, "bbox": [1.0, 2.0, 10.0, 20.0],
                                       "area": 200.0, "iscrowd": 0}]
    assert written["categories"] == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


def image_key(image: torch.Tensor) -> str:
    """A letterboxed (3, H, W) image, uint8 or /255 float -> a digest of its pixels."""
    pixels = image if image.dtype == torch.uint8 else (image * 255).round().to(torch.uint8)
    return hashlib.sha1(pixels.cpu().numpy().tobytes()).hexdigest()


class NoisyOracle(nn.Module):
    """A stub detector: per image, the ground-truth boxes with noise, wrong-class twins and false positives.

    Returns the eval-mode convention ``(decoded (B, 4 + nc, A), raw)``; outputs are looked up by the pixels of
    the letterboxed image, so batch order does not matter.
    """

    def __init__(self, outputs: dict, num_classes: int):
        super().__init__()
        self.outputs, self.num_classes, self.task = outputs, num_classes, "detect"
        self.register_buffer("stride", torch.tensor([8.0, 16.0, 32.0]))

    def fuse(self):
        return self

    def forward(self, images):
        return torch.stack([self.outputs[image_key(image)] for image in images]), None


def noisy_outputs(loader, num_classes: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    outputs = {}
    for batch in loader:
        height, width = batch.images.shape[2:]
        for i in range(len(batch)):
            decoded = torch.zeros(4 + num_classes, ANCHORS)
            rows = batch.targets[batch.targets[:, 0] == i].numpy()
            anchor = 0
            for _, cls, cx, cy, w, h in rows:
                box = np.array([cx * width, cy * height, w * width, h * height])
                for twin_class in (int(cls), int(rng.integers(num_classes))):
                    noisy = box + rng.normal(0, 0.12, 4) * box[[2, 3, 2, 3]]
                    decoded[:4, anchor] = torch.tensor(noisy, dtype=torch.float32)
                    decoded[4 + twin_class, anchor] = float(rng.uniform(0.05, 0.95))
                    anchor += 1
            for _ in range(3):  # false positives anywhere
                x1, y1 = rng.uniform(0, width * 0.7), rng.uniform(0, height * 0.7)
                w, h = rng.uniform(4, width * 0.3), rng.uniform(4, height * 0.3)
                decoded[:4, anchor] = torch.tensor([x1 + w / 2, y1 + h / 2, w, h], dtype=torch.float32)
                decoded[4 + int(rng.integers(num_classes)), anchor] = float(rng.uniform(0.01, 0.6))
                anchor += 1
            outputs[image_key(batch.images[i])] = decoded
    return outputs


def write_coco_dataset(root: Path, images: int = 12, seed: int = 0) -> Path:
    """A COCO instances JSON over noise pictures of varied sizes, categories 1, 3, 7; box area = w * h."""
    rng = np.random.default_rng(seed)
    (root / "images" / "val2017").mkdir(parents=True)
    (root / "annotations").mkdir()
    data = {"images": [], "annotations": [],
            "categories": [{"id": 7, "name": "zebra"}, {"id": 1, "name": "person"}, {"id": 3, "name": "car"}]}
    for index in range(images):
        image_id = 100 + 7 * index
        width, height = int(rng.integers(48, 96)), int(rng.integers(48, 96))
        file_name = f"{image_id:012d}.jpg"
        cv2.imwrite(str(root / "images" / "val2017" / file_name), rng.integers(0, 255, (height, width, 3), np.uint8))
        data["images"].append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        for _ in range(int(rng.integers(0, 5))):
            w, h = float(rng.uniform(6, width / 2)), float(rng.uniform(6, height / 2))
            x, y = float(rng.uniform(0, width - w)), float(rng.uniform(0, height - h))
            data["annotations"].append({"id": len(data["annotations"]) + 1, "image_id": image_id,
                                        "category_id": int(rng.choice([1, 3, 7])), "bbox": [x, y, w, h],
                                        "area": w * h, "iscrowd": 0})
    json_file = root / "annotations" / "instances_val2017.json"
    json_file.write_text(json.dumps(data))
    return json_file


def cocoeval_stats(ground_truth_file, predictions_file) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = pycocotools_coco.COCO(str(ground_truth_file))
        evaluator = pycocotools_eval.COCOeval(ground_truth, ground_truth.loadRes(str(predictions_file)), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


def run_val_with_oracle(data_yaml: Path, tmp_path: Path, num_classes: int):
    config = Config(dict(data=str(data_yaml), imgsz=64, batch=4, workers=0, plots=False, save_json=True,
                         project=str(tmp_path / "runs"), name="val"), mode="val")
    data = load_dataset_config(data_yaml)
    loader = evaluation_loader(data, config, "val", 64, 4, 32, 0)
    model = NoisyOracle(noisy_outputs(loader, num_classes), num_classes)
    return validate_model(model, config)


def assert_pycocotools_agrees(result):
    stats = cocoeval_stats(result.save_dir / "ground_truth.json", result.save_dir / "predictions.json")
    box = result.box
    assert 0.05 < box.map < 0.95 and 0.1 < box.map50 < 1.0  # a real, imperfect score
    np.testing.assert_allclose(stats[:6], [box.map, box.map50, box.map75, box.map_small, box.map_medium,
                                           box.map_large], atol=1e-4)


def test_save_json_rescored_by_pycocotools(tmp_path):
    data_yaml = write_shapes_dataset(tmp_path / "shapes", images=12, size=64)
    result = run_val_with_oracle(data_yaml, tmp_path, num_classes=2)
    assert_pycocotools_agrees(result)
    predictions = json.loads((result.save_dir / "predictions.json").read_text())
    assert {row["category_id"] for row in predictions} == {1, 2}  # class index + 1
    assert {row["image_id"] for row in predictions} <= set(range(12))  # '003.png' -> 3
    assert all(len(row) == 4 and min(row["bbox"][2:]) >= 0 for row in predictions)


def test_converted_dataset_keeps_coco_ids(tmp_path):
    json_file = write_coco_dataset(tmp_path / "coco")
    data_yaml = convert_coco(json_file, output_dir=tmp_path / "yolo")
    result = run_val_with_oracle(data_yaml, tmp_path, num_classes=3)
    assert_pycocotools_agrees(result)
    predictions = json.loads((result.save_dir / "predictions.json").read_text())
    assert {row["category_id"] for row in predictions} == {1, 3, 7}
    original = json.loads(json_file.read_text())
    written = json.loads((result.save_dir / "ground_truth.json").read_text())
    assert written["categories"] == [{"id": 1, "name": "person"}, {"id": 3, "name": "car"},
                                     {"id": 7, "name": "zebra"}]
    assert sorted(image["id"] for image in written["images"]) == sorted(image["id"] for image in original["images"])
    # the predictions score against the ORIGINAL COCO file too (same image and category ids, boxes to 1e-4 px)
    stats = cocoeval_stats(json_file, result.save_dir / "predictions.json")
    np.testing.assert_allclose(stats[:2], [result.box.map, result.box.map50], atol=1e-4)
