"""`yolo8 benchmark`: a row per format with its size, accuracy and latency (a smoke run at 64 px; no timing claims)."""

import math

import torch

from tests.conftest import tiny_yaml
from tests.test_export import lively
from yolo8 import YOLO
from yolo8.config import Config
from yolo8.export.benchmark import ROWS, benchmark_formats, format_rows
from yolo8.nn.model import YOLOModel


def test_benchmark_has_a_row_per_format(shapes_dataset, tmp_path):
    torch.manual_seed(0)
    weights = YOLO(lively(YOLOModel(tiny_yaml("yolov8.yaml")))).save(tmp_path / "best.pt")
    model = YOLO(weights)
    config = Config(mode="benchmark", data=str(shapes_dataset), imgsz=64, project=str(tmp_path / "runs"))
    rows = benchmark_formats(model, config, runs=2)  # what model.benchmark(...) runs, with fewer timed calls
    assert [row.format for row in rows] == [name for name, _ in ROWS]
    for row in rows:
        assert not row.error, (row.format, row.error)
        assert row.size_mb > 0 and row.metric == "mAP50-95(B)" and 0 <= row.value <= 1 and math.isfinite(row.ms)
    assert not (tmp_path / "best.onnx").exists()  # the benchmark's exports go to its run directory
    assert "OpenVINO INT8" in format_rows(rows)
