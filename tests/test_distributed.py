"""DDP through torchrun: two CPU processes (gloo) train one model; rank 0 validates and writes the run."""

import csv
import os
import subprocess
import sys

import pytest
import yaml

from tests.conftest import TINY_SCALE
from yolo8.checkpoints.native import load_checkpoint
from yolo8.nn.graph import resolve_model_yaml


@pytest.mark.parametrize("task", ["detect", "segment", "classify"])
def test_torchrun_two_processes_train_one_run(shapes_dataset, shapes_segment_dataset, tmp_path, task):
    if task == "classify":
        from tests.test_classify_train import tiny_classifier_yaml, write_colour_folders

        dataset, model_yaml = write_colour_folders(tmp_path / "colours", per_class=8), tiny_classifier_yaml()
    else:
        dataset, model_name = (shapes_dataset, "yolov8.yaml") if task == "detect" else \
            (shapes_segment_dataset, "yolov8-seg.yaml")
        model_yaml = resolve_model_yaml(model_name)
        model_yaml.update(scales={"t": TINY_SCALE}, scale="t", nc=2)
    model_file = tmp_path / "tiny.yaml"
    model_file.write_text(yaml.safe_dump({k: v for k, v in model_yaml.items() if k != "yaml_file"}))
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "yolo8.cli", task, "train", f"model={model_file}", f"data={dataset}", "epochs=2", "imgsz=64",
        "batch=8", "workers=0", "plots=False", "device=cpu", f"project={tmp_path}", "name=ddp",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = tmp_path / "ddp"
    assert not (tmp_path / "ddp2").exists(), "the second rank must not create a run directory of its own"
    with open(run / "results.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert ("train/seg_loss" in rows[0]) == (task == "segment")
    assert ("metrics/accuracy_top1" in rows[0]) == (task == "classify")
    checkpoint = load_checkpoint(run / "weights" / "last.pt")
    assert checkpoint["train_state"]["epoch"] == 1
    assert not any(name.startswith("module.") for name in checkpoint["state_dict"])

