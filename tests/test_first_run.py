"""pretrained= as YOLOv8 reads it, shipped model names, the defaults of commands without model=, the samples'
object count and the closing line of a resumed run."""

import logging
import os
from pathlib import Path

import pytest
import torch

from yolo8 import api
from yolo8.checkpoints import load as load_module
from yolo8.checkpoints.load import load_model, shipped_weights
from yolo8.checkpoints.native import model_to_checkpoint, save_checkpoint
from yolo8.config import Config
from yolo8.data.synthetic import found_sample_objects, sample_scene
from yolo8.nn.model import build_model
from yolo8.train.model_setup import apply_pretrained
from yolo8.train.trainer import epochs_completed


def _weights_equal(first, second) -> bool:
    a, b = first.state_dict(), second.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


@pytest.fixture
def trained_checkpoint(tiny_model_yaml, tmp_path):
    torch.manual_seed(1)
    model = build_model(tiny_model_yaml)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.5)  # unlike any fresh initialisation
    return model, save_checkpoint(model_to_checkpoint(model), tmp_path / "trained.pt")


def test_pretrained_parses_booleans_and_paths():
    assert Config({"pretrained": "false"}, mode="train").pretrained is False
    assert Config({"pretrained": "True"}, mode="train").pretrained is True
    assert Config({"pretrained": "runs/x/best.pt"}, mode="train").pretrained == "runs/x/best.pt"
    assert Config({}, mode="train").pretrained is True


def test_pretrained_false_trains_the_checkpoints_architecture_from_fresh_weights(trained_checkpoint):
    model, path = trained_checkpoint
    fresh = apply_pretrained(model, str(path), False)
    assert fresh is not model and fresh.yaml == model.yaml and fresh.names == model.names
    assert not _weights_equal(fresh, model)
    assert apply_pretrained(model, str(path), True) is model  # true: the checkpoint's own weights


def test_pretrained_path_transfers_its_weights(trained_checkpoint, tiny_model_yaml):
    trained, path = trained_checkpoint
    torch.manual_seed(2)
    model = apply_pretrained(build_model(tiny_model_yaml), "yolov8n.yaml", str(path))
    assert _weights_equal(model, trained)
    with pytest.raises(ValueError, match="pretrained=missing.pt"):
        apply_pretrained(build_model(tiny_model_yaml), "yolov8n.yaml", "missing.pt")


def test_shipped_model_names_resolve_from_any_directory(trained_checkpoint, tmp_path, monkeypatch):
    model, path = trained_checkpoint
    shipped_dir = tmp_path / "shipped"
    shipped_dir.mkdir()
    os.replace(path, shipped_dir / "tiny-builtin.pt")
    monkeypatch.setattr(load_module, "SHIPPED_WEIGHTS_DIR", shipped_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded, _ = load_model("tiny-builtin.pt")
    assert _weights_equal(loaded, model)
    assert shipped_weights("sub/tiny-builtin.pt") is None  # a path with folders is the user's file
    with pytest.raises(FileNotFoundError, match="tiny-builtin.pt"):  # the error lists what is shipped
        load_model("other.pt")


def test_commands_without_model_use_the_shipped_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(load_module, "SHIPPED_WEIGHTS_DIR", tmp_path)
    (tmp_path / "yolov8n-builtin.pt").write_bytes(b"")  # only its presence matters here
    train = Config({}, mode="train")
    assert api.default_training_model(train) == "yolov8n-builtin.pt"
    assert api.default_training_model(Config({"pretrained": False}, mode="train")) == "yolov8n.yaml"
    assert api.default_training_model(Config({"pretrained": "a.pt"}, mode="train")) == "yolov8n.yaml"
    assert api.shipped_model(Config({}, mode="predict")) == "yolov8n-builtin.pt"
    assert api.default_training_model(Config({}, mode="train", task="classify")) == "yolov8n-cls.yaml"
    with pytest.raises(ValueError, match="needs model="):  # nothing shipped for this task
        api.shipped_model(Config({}, mode="val", task="classify"))


def test_found_sample_objects_counts_each_object_once():
    objects = sample_scene("shapes1.jpg").objects
    boxes = torch.tensor([item.box for item in objects], dtype=torch.float32)
    classes = torch.tensor([item.class_id for item in objects])
    assert found_sample_objects("shapes1.jpg", boxes, classes) == (8, 8)
    assert found_sample_objects("shapes1.jpg", boxes[:3], classes[:3]) == (3, 8)
    assert found_sample_objects("shapes1.jpg", boxes[:1].repeat(5, 1), classes[:1].repeat(5)) == (1, 8)
    assert found_sample_objects("shapes1.jpg", boxes, (classes + 1) % 8) == (0, 8)  # wrong classes find nothing
    shifted = boxes + (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2) * 0.6  # moved by 60 % of (w, h): IoU 0.09
    assert found_sample_objects("shapes1.jpg", shifted, classes) == (0, 8)
    assert found_sample_objects("shapes1.jpg", torch.zeros(0, 4), torch.zeros(0)) == (0, 8)


def test_closing_line_counts_the_whole_run():
    assert epochs_completed(15, 0) == "15 epochs completed"
    assert epochs_completed(15, 8) == "15 epochs completed (7 in this session)"
    assert epochs_completed(1, 0) == "1 epoch completed"


def test_resumed_run_reports_all_its_epochs(shapes_dataset, tiny_model_yaml, tmp_path, caplog):
    from tests.conftest import train_interrupted_after
    from yolo8 import YOLO

    settings = dict(imgsz=64, batch=4, nbs=4, workers=0, warmup_epochs=0, mosaic=0.0, close_mosaic=0, plots=False,
                    val=False)
    train_interrupted_after(YOLO(build_model(tiny_model_yaml)), 1, data=str(shapes_dataset), epochs=3,
                            project=str(tmp_path), name="run", **settings)
    last = tmp_path / "run" / "weights" / "last.pt"
    logging.getLogger("yolo8").addHandler(caplog.handler)
    YOLO(last).train(resume=str(last))
    assert "3 epochs completed (2 in this session)" in caplog.text


@pytest.mark.parametrize("pretrained", [True, False])
def test_training_with_pretrained_false_starts_from_fresh_weights(pretrained, trained_checkpoint, shapes_dataset,
                                                                  tmp_path):
    from yolo8 import YOLO

    trained, path = trained_checkpoint
    model = YOLO(path)
    # a vanishing lr0: the weights stay where training started (Adam moves each by ~lr0 a step)
    model.train(data=str(shapes_dataset), epochs=1, imgsz=64, batch=8, workers=0, mosaic=0.0, close_mosaic=0,
                warmup_epochs=0, lr0=1e-9, val=False, plots=False, project=str(tmp_path), name="run",
                pretrained=pretrained)
    started_from_checkpoint = torch.allclose(model.model.model[0].conv.weight.float(),
                                             trained.model[0].conv.weight, atol=1e-3)
    assert started_from_checkpoint is pretrained


def test_classifier_samples_are_crops_of_the_sample_objects(tmp_path, monkeypatch):
    from yolo8.data.crops import sample_crop_class, sample_crops
    from yolo8.data.synthetic import CLASS_NAMES
    from yolo8.tasks import task_spec

    monkeypatch.setenv("YOLO8_HOME", str(tmp_path))
    crops = sample_crops()
    objects = [item for name in ("shapes1.jpg", "shapes2.jpg") for item in sample_scene(name).objects
               if min(item.box[2] - item.box[0], item.box[3] - item.box[1]) >= 8]
    assert [sample_crop_class(path) for path in crops] == [CLASS_NAMES[item.class_id] for item in objects]
    assert all(path.is_file() and path.parent.parent == tmp_path / "samples" for path in crops)
    first = crops[0].stat().st_mtime_ns
    assert sample_crops() == crops and crops[0].stat().st_mtime_ns == first  # written once
    assert task_spec("classify").sample_source() == [str(path) for path in crops]
    assert [Path(p).name for p in task_spec("detect").sample_source()] == ["shapes1.jpg", "shapes2.jpg"]


def test_yolo_accepts_the_task_it_already_has(trained_checkpoint):
    from yolo8 import YOLO

    _, path = trained_checkpoint
    assert YOLO(path, task="detect").task == "detect"  # YOLOv8 users' habit
    with pytest.raises(ValueError, match="is a 'detect' model, not 'segment'"):
        YOLO(path, task="segment")


def test_the_main_job_fine_tunes_shipped_weights_in_fewer_gentler_epochs():
    from yolo8.config import BUILTIN_DATASET_DEFAULTS, BUILTIN_FINETUNE_DEFAULTS
    from yolo8.train.trainer import Trainer

    finetune = Trainer(Config({}, mode="train"), model_source="yolov8n-builtin.pt").config
    assert finetune.epochs == BUILTIN_FINETUNE_DEFAULTS["epochs"] < BUILTIN_DATASET_DEFAULTS["epochs"]
    assert finetune.lr0 < BUILTIN_DATASET_DEFAULTS["lr0"] and finetune.imgsz == BUILTIN_DATASET_DEFAULTS["imgsz"]
    scratch = Trainer(Config({}, mode="train"), model_source="yolov8n.yaml").config
    assert scratch.epochs == BUILTIN_DATASET_DEFAULTS["epochs"] and scratch.lr0 == BUILTIN_DATASET_DEFAULTS["lr0"]
    assert Trainer(Config({"epochs": 3}, mode="train"), model_source="yolov8n-builtin.pt").config.epochs == 3


def test_pretrained_detector_weights_start_a_segmenter(tiny_model_yaml, tiny_segment_yaml, tmp_path):
    detector = build_model(tiny_model_yaml)
    with torch.no_grad():
        for parameter in detector.parameters():
            parameter.add_(0.5)
    path = save_checkpoint(model_to_checkpoint(detector), tmp_path / "detector.pt")
    started = apply_pretrained(build_model(tiny_segment_yaml), "yolov8n-seg.yaml", str(path))
    assert started.task == "segment"
    assert torch.equal(started.state_dict()["model.0.conv.weight"], detector.state_dict()["model.0.conv.weight"])
