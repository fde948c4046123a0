"""Classification validation: exact top-1/top-5 metrics, the ImageNet-style folder dataset, and `yolo8 val` end to end."""

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from yolo8.config import Config
from yolo8.data.classification import (
    ClassificationDataError,
    build_classification_loader,
    load_classification_split,
)
from yolo8.data.transforms.classify import classification_input
from yolo8.metrics.classification import ClassificationMetrics, format_classification_table, ranked_classes
from yolo8.predict.predictor import image_to_tensor
from yolo8.runtime.callbacks import Callbacks
from yolo8.tasks.classify import PLOT_MAX_CLASSES, save_confusion_matrix
from yolo8.val.validator import validate_model

FIXTURES = Path(__file__).parent / "fixtures"
COLOURS_BGR = {"a_red": (0, 0, 230), "b_green": (0, 230, 0), "c_blue": (230, 0, 0)}  # class 0, 1, 2 by sorted name


def write_colour_dataset(root: Path, per_class: int = 3, size: int = 32, splits=("train", "val")) -> Path:
    """ImageNet-style folders of solid-colour images with a little noise: root/<split>/<class>/<i>.png."""
    rng = np.random.default_rng(0)
    for split in splits:
        for name, colour in COLOURS_BGR.items():
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for index in range(per_class):
                image = np.clip(np.array(colour, np.int16) + rng.integers(0, 20, (size, size + 8, 3)), 0, 255)
                cv2.imwrite(str(root / split / name / f"{index}.png"), image.astype(np.uint8))
    return root


class ColourClassifier(nn.Module):
    """Stub classifier: logits = 10 x mean of each RGB channel, so a red image is class 0, green 1, blue 2."""

    task = "classify"
    num_classes = 3

    def __init__(self):
        super().__init__()
        self.register_buffer("stride", torch.tensor([32.0]))
        self.scale = nn.Parameter(torch.tensor(10.0))

    def fuse(self):
        return self

    def forward(self, images):
        logits = self.scale * images.mean(dim=(2, 3))  # (B, 3, H, W) -> (B, 3)
        return logits.softmax(1), logits


# ------------------------------------------------------------------ metrics
def test_metrics_exact_on_hand_made_probabilities():
    scores = torch.tensor([
        [0.50, 0.20, 0.10, 0.08, 0.06, 0.04, 0.02],  # label 0: top-1 hit
        [0.50, 0.20, 0.10, 0.08, 0.06, 0.04, 0.02],  # label 4: 5th best -> top-5 hit only
        [0.50, 0.20, 0.10, 0.08, 0.06, 0.04, 0.02],  # label 5: 6th best -> miss
        [0.01, 0.02, 0.03, 0.04, 0.05, 0.05, 0.80],  # label 6: hit
    ])
    labels = torch.tensor([0, 4, 5, 6])
    logits = torch.log(scores)
    metrics = ClassificationMetrics(7)
    metrics.update(scores[:2], labels[:2], logits[:2])
    metrics.update(scores[2:], labels[2:], logits[2:])
    summary = metrics.compute()
    assert summary.num_images == 4
    assert summary.top1 == 0.5 and summary.top5 == 0.75 and summary.fitness == 0.625
    expected = np.zeros((7, 7), np.int64)
    expected[0, 0] = expected[0, 4] = expected[0, 5] = expected[6, 6] = 1  # [predicted, true]
    np.testing.assert_array_equal(summary.confusion_matrix, expected)
    np.testing.assert_array_equal(summary.images_per_class, [1, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(summary.per_class_accuracy[[0, 4, 5, 6]], [1.0, 0.0, 0.0, 1.0])
    assert np.isnan(summary.per_class_accuracy[1:4]).all()
    expected_loss = -(np.log(0.5) + np.log(0.06) + np.log(0.04) + np.log(0.8)) / 4  # log-probs are log-softmax
    assert summary.loss == pytest.approx(expected_loss, rel=1e-6)


def test_ties_rank_the_lower_class_id_first_and_top5_covers_all_of_few_classes():
    scores = torch.tensor([[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [1 / 3, 1 / 3, 1 / 3]])
    assert ranked_classes(scores).tolist() == [[0, 1, 2], [1, 2, 0], [0, 1, 2]]
    metrics = ClassificationMetrics(3, {0: "a", 1: "b", 2: "c"})
    metrics.update(scores, torch.tensor([1, 1, 2]))
    summary = metrics.compute()
    assert summary.top1 == pytest.approx(1 / 3) and summary.top5 == 1.0  # k = nc = 3
    assert summary.loss is None
    table = format_classification_table(summary, per_class=True).splitlines()
    assert table[0].split() == ["classes", "top1_acc", "top5_acc"]
    assert table[1].split() == ["all", "0.333", "1"]
    assert table[3].split() == ["b", "2", "0.5"] and table[4].split() == ["c", "1", "0"]


def test_metrics_reject_out_of_range_labels():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ClassificationMetrics(3).update(torch.rand(2, 3), torch.tensor([0, 3]))


# ------------------------------------------------------------------ dataset
def test_folder_dataset_scan_names_and_labels(tmp_path):
    root = write_colour_dataset(tmp_path / "colours", per_class=2)
    split = load_classification_split(root, "val")
    assert split.names == {0: "a_red", 1: "b_green", 2: "c_blue"}
    assert split.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert [Path(p).relative_to(root).as_posix() for p in split.image_files[:2]] == ["val/a_red/0.png", "val/a_red/1.png"]


def test_yaml_source_gives_names_and_test_stands_in_for_val(tmp_path):
    root = write_colour_dataset(tmp_path / "colours", per_class=1, splits=("train", "test"))
    (tmp_path / "data.yaml").write_text("path: colours\ntrain: train\ntest: test\nnames: [red, green, blue]\n")
    split = load_classification_split(tmp_path / "data.yaml", "val")
    assert split.directory == (root / "test").resolve()
    assert split.names == {0: "red", 1: "green", 2: "blue"}
    (tmp_path / "bad.yaml").write_text("path: colours\ntrain: train\nval: test\nnames: [red, green]\n")
    with pytest.raises(ClassificationDataError, match="2 names but .* has 3 class folders"):
        load_classification_split(tmp_path / "bad.yaml", "val")


def test_dataset_errors_name_the_directory(tmp_path):
    root = write_colour_dataset(tmp_path / "colours", per_class=1, splits=("train",))
    with pytest.raises(ClassificationDataError, match=r"no 'val' split.*colours/val"):
        load_classification_split(root, "val")
    with pytest.raises(ClassificationDataError, match="not found"):
        load_classification_split(tmp_path / "missing", "val")
    (root / "val" / "a_red").mkdir(parents=True)
    with pytest.raises(ClassificationDataError, match=r"class folder '.*val/a_red' holds no images"):
        load_classification_split(root, "val")
    (root / "val" / "zebra").mkdir()
    cv2.imwrite(str(root / "val" / "zebra" / "z.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ClassificationDataError, match=r"\['zebra'\]"):
        load_classification_split(root, "val")


def test_loader_prepares_images_exactly_as_predict(tmp_path):
    root = write_colour_dataset(tmp_path / "colours", per_class=2)
    split = load_classification_split(root, "val")
    batches = list(build_classification_loader(split, 24, batch_size=4, workers=0))
    assert [len(b) for b in batches] == [4, 2]
    batch = batches[0]
    assert batch.images.shape == (4, 3, 24, 24) and batch.images.dtype == torch.uint8
    assert batch.labels.tolist() == [0, 0, 1, 1]
    predict_input = image_to_tensor(classification_input(cv2.imread(batch.paths[2]), 24))
    torch.testing.assert_close(batch.images[2].float() / 255, predict_input, rtol=0, atol=0)


# ------------------------------------------------------------------ validation
def test_stub_classifier_gives_exact_accuracy_and_skips_corrupt_images(tmp_path, caplog):
    root = write_colour_dataset(tmp_path / "colours", per_class=3)
    # a blue picture filed under red: the stub calls it blue -> one top-1 miss out of 9 readable images
    cv2.imwrite(str(root / "val" / "a_red" / "9.png"), np.full((32, 40, 3), (230, 0, 0), np.uint8))
    (root / "val" / "b_green" / "broken.jpg").write_bytes(b"not an image")
    config = Config(mode="val", task="classify", data=str(root), imgsz=32, batch=4, workers=0,
                    project=str(tmp_path / "runs"), name="val")
    seen = []
    callbacks = Callbacks()
    callbacks.add("on_val_end", lambda validator: seen.append(validator.result.top1))
    with caplog.at_level(logging.INFO, logger="yolo8"):
        result = validate_model(ColourClassifier(), config, callbacks)
    assert seen == [result.top1]
    assert result.summary.num_images == 10
    assert result.top1 == pytest.approx(9 / 10) and result.top5 == 1.0 and result.fitness == pytest.approx(0.95)
    np.testing.assert_array_equal(result.confusion_matrix, [[3, 0, 0], [0, 3, 0], [1, 0, 3]])
    np.testing.assert_allclose(result.summary.per_class_accuracy, [0.75, 1.0, 1.0])
    assert result.results_dict["metrics/accuracy_top1"] == pytest.approx(0.9)
    assert set(result.speed) == {"preprocess", "inference", "postprocess"}
    assert "1 unreadable image(s) skipped" in caplog.text and "broken.jpg" in caplog.text
    assert "top1_acc" in caplog.text
    for name in ("confusion_matrix.png", "confusion_matrix_normalized.png", "val_batch0_labels.jpg",
                 "val_batch0_pred.jpg"):
        assert (result.save_dir / name).is_file(), name


def test_many_classes_write_the_confusion_matrix_as_csv(tmp_path):
    classes = PLOT_MAX_CLASSES + 1
    metrics = ClassificationMetrics(classes, {i: f"n{i:05d}" for i in range(classes)})
    metrics.update(torch.eye(classes)[[3, 3, 7]], torch.tensor([3, 5, 7]))
    (written,) = save_confusion_matrix(metrics.compute(), tmp_path)
    rows = written.read_text().splitlines()
    assert written.name == "confusion_matrix.csv" and len(rows) == classes + 1
    assert rows[0].split(",")[:3] == ["predicted \\ true", "n00000", "n00001"]
    assert rows[4].split(",")[0] == "n00003" and rows[4].split(",")[1:].count("0") == classes - 2
    assert rows[4].split(",")[4] == "1" and rows[4].split(",")[6] == "1"  # predicted 3: true 3 and true 5


def test_ultralytics_fixture_class_count_mismatch_is_named(tmp_path):
    from yolo8 import YOLO

    root = write_colour_dataset(tmp_path / "colours", per_class=1)
    model = YOLO(FIXTURES / "ul_yolov8n-cls_rand.pt")
    with pytest.raises(ClassificationDataError, match=r"has 3 classes .*train.* but the model predicts 1000"):
        model.val(data=str(root), imgsz=32, workers=0, project=str(tmp_path / "runs"))


def test_cli_val_on_a_tiny_native_classifier(tmp_path, capsys):
    from yolo8.checkpoints.native import model_to_checkpoint, save_checkpoint
    from yolo8.cli import run
    from yolo8.nn.graph import resolve_model_yaml
    from yolo8.nn.model import build_model

    torch.manual_seed(0)
    cfg = resolve_model_yaml("yolov8-cls.yaml")
    cfg["scales"], cfg["scale"] = {"t": [0.33, 0.125, 1024]}, "t"
    model = build_model(cfg, num_classes=3)
    weights = save_checkpoint(model_to_checkpoint(model), tmp_path / "cls.pt")
    root = write_colour_dataset(tmp_path / "colours", per_class=2)
    code = run(["val", f"model={weights}", f"data={root}", "imgsz=32", "batch=4", "workers=0",
                f"project={tmp_path / 'runs'}", "name=val", "plots=False"])
    output = capsys.readouterr()
    assert code == 0, output.err
    lines = output.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["classes", "top1_acc", "top5_acc"])
    row = lines[header + 1].split()
    assert row[0] == "all" and row[2] == "1"  # nc = 3 < 5: the label is always among the top 3
    assert 0.0 <= float(row[1]) <= 1.0
    assert (tmp_path / "runs" / "val").is_dir() and f"Results saved to {tmp_path / 'runs' / 'val'}" in output.out
    # the same checkpoint through the API gives the same top-1 and fills the result fields
    from yolo8 import YOLO

    result = YOLO(weights).val(data=str(root), imgsz=32, batch=4, workers=0, project=str(tmp_path / "runs"),
                               plots=False)
    assert f"{result.top1:.3g}" == row[1] and result.save_dir == tmp_path / "runs" / "val2"
    assert result.summary.loss is not None and result.summary.loss > 0
