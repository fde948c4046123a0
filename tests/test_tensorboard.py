"""TensorBoard logging: a short training run writes the losses, metrics and learning rates of every epoch."""

import csv

import pytest
import torch

from yolo8 import YOLO
from yolo8.nn.model import build_model

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def test_training_writes_every_epoch_to_tensorboard(shapes_dataset, tiny_model_yaml, tmp_path):
    torch.manual_seed(0)
    YOLO(build_model(tiny_model_yaml)).train(
        data=str(shapes_dataset), epochs=2, imgsz=64, batch=8, workers=0, mosaic=0.0, close_mosaic=0, plots=False,
        project=str(tmp_path), name="run")
    run = tmp_path / "run"
    events = event_accumulator.EventAccumulator(str(run))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/box_loss", "train/cls_loss", "train/dfl_loss", "metrics/mAP50(B)", "metrics/mAP50-95(B)",
            "lr/pg0", "lr/pg1", "lr/pg2"} <= tags

    with open(run / "results.csv") as file:
        rows = list(csv.DictReader(file))
    for tag in ("train/box_loss", "metrics/mAP50-95(B)"):
        logged = events.Scalars(tag)
        assert [event.step for event in logged] == [1, 2]
        column = next(name for name in rows[0] if name.strip() == tag)
        assert [event.value for event in logged] == pytest.approx([float(row[column]) for row in rows], abs=1e-5)
