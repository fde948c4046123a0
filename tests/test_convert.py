"""`yolo8 convert`: an Ultralytics checkpoint becomes a native one that loads with weights_only=True."""

from pathlib import Path

import numpy as np
import torch

from yolo8 import YOLO
from yolo8.cli import run

FIXTURES = Path(__file__).parent / "fixtures"


def test_convert_writes_weights_only_checkpoint_with_same_outputs(tmp_path, capsys):
    source = FIXTURES / "ul_yolov8n_rand.pt"
    out = tmp_path / "converted.pt"
    assert run(["convert", f"model={source}", f"out={out}"]) == 0
    assert "Converted" in capsys.readouterr().out
    checkpoint = torch.load(out, map_location="cpu", weights_only=True)
    assert checkpoint["format"] == "yolo8" and checkpoint["task"] == "detect"
    assert len(checkpoint["state_dict"]) == 355 and len(checkpoint["names"]) == 80
    original, converted = YOLO(source).model.eval(), YOLO(out).model.eval()
    image = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        np.testing.assert_array_equal(original(image)[0].numpy(), converted(image)[0].numpy())


def test_convert_default_destination_and_errors(tmp_path, capsys):
    source = tmp_path / "old.pt"
    source.write_bytes((FIXTURES / "ul_yolov8n-cls_rand.pt").read_bytes())
    assert run(["convert", f"model={source}"]) == 0
    assert (tmp_path / "old_yolo8.pt").is_file()
    assert YOLO(tmp_path / "old_yolo8.pt").task == "classify"
    assert run(["convert", "modle=x.pt"]) == 2
    assert "Did you mean 'model'?" in capsys.readouterr().err
    assert run(["convert", f"model={tmp_path / 'missing.pt'}"]) == 1
    assert "missing.pt" in capsys.readouterr().err
