"""Native checkpoints: atomic save, safe load, round trip, clear errors."""

import os
from pathlib import Path

import pytest
import torch

from yolo8.checkpoints.native import (
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    model_to_checkpoint,
    save_checkpoint,
)
from yolo8.nn.model import build_model

FIXTURES = Path(__file__).parent / "fixtures"


class _CodePayload:
    """Unpickling this runs a shell command: the attack a weights-only loader must refuse."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _eval_output(model, images):
    model.eval()
    with torch.no_grad():
        return model(images)[0]


@pytest.mark.parametrize("name, num_classes", [("yolov8n", 3), ("yolov8n-seg", 2), ("yolov8n-cls", 4)])
def test_round_trip_gives_identical_outputs(tmp_path, name, num_classes):
    torch.manual_seed(0)
    model = build_model(f"{name}.yaml", num_classes=num_classes)
    model.train()(torch.rand(2, 3, 64, 64))  # move BN running stats away from their init
    model.names = {i: f"class_{i}" for i in range(num_classes)}
    path = save_checkpoint(model_to_checkpoint(model, train_args={"epochs": 3, "imgsz": 64}, epoch=2), tmp_path / "a" / "best.pt")
    assert sorted(os.listdir(tmp_path / "a")) == ["best.pt"]  # no temporary left behind

    checkpoint = load_checkpoint(path)
    assert checkpoint["format"] == "yolo8" and checkpoint["version"] == 1 and checkpoint["task"] == model.task
    assert checkpoint["epoch"] == 2 and checkpoint["train_args"] == {"epochs": 3, "imgsz": 64}
    assert checkpoint["stride"] == model.stride.tolist()
    restored = model_from_checkpoint(checkpoint)
    assert restored.names == model.names and restored.task == model.task and restored.num_classes == num_classes
    for key, tensor in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], tensor), key
    images = torch.rand(1, 3, 64, 96)
    expected, actual = _eval_output(model, images), _eval_output(restored, images)
    if name == "yolov8n-seg":
        assert torch.equal(expected[1], actual[1])
        expected, actual = expected[0], actual[0]
    assert torch.equal(expected, actual)


def test_fused_and_half_models_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model("yolov8n.yaml", num_classes=2).eval().fuse().half()
    restored = model_from_checkpoint(load_checkpoint(save_checkpoint(model_to_checkpoint(model), tmp_path / "f.pt")))
    assert restored.is_fused and next(restored.parameters()).dtype == torch.float16
    for key, tensor in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], tensor), key


def test_save_replaces_existing_file_atomically(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint({"format": "yolo8", "value": 1}, path)
    save_checkpoint({"format": "yolo8", "value": 2}, path)
    assert torch.load(path, weights_only=True)["value"] == 2
    assert os.listdir(tmp_path) == ["last.pt"]


def test_failed_save_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint({"format": "yolo8", "value": 1}, path)
    with pytest.raises(Exception):
        save_checkpoint({"format": "yolo8", "bad": lambda: None}, path)  # lambdas cannot be pickled
    assert torch.load(path, weights_only=True)["value"] == 1
    assert os.listdir(tmp_path) == ["last.pt"]


def test_code_payload_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    torch.save({"format": "yolo8", "payload": _CodePayload(marker)}, path)
    with pytest.raises(CheckpointError, match="refused to load") as error:
        load_checkpoint(path)
    assert str(path) in str(error.value) and "system" in str(error.value)
    assert not marker.exists()


def test_ultralytics_checkpoint_points_to_converter():
    """The incumbent's own .pt pickles its model classes; it is refused with a pointer to the converter."""
    path = FIXTURES / "ul_yolov8n_rand.pt"
    with pytest.raises(CheckpointError, match="Ultralytics checkpoint") as error:
        load_checkpoint(path)
    assert f"yolo8 convert model={path}" in str(error.value) and str(path) in str(error.value)


def test_not_a_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.pt: not a"):
        load_checkpoint(text)
    foreign = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="plain.pt: not a yolo8 checkpoint"):
        load_checkpoint(foreign)
    newer = tmp_path / "newer.pt"
    torch.save({"format": "yolo8", "version": 99}, newer)
    with pytest.raises(CheckpointError, match="upgrade yolo8"):
        load_checkpoint(newer)
