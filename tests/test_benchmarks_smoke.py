"""Every script in benchmarks/ runs to the end on tiny generated data and prints its figure (no --peer).

Each script runs as the lead runs it, ``python benchmarks/X.py ...`` in a fresh interpreter, with its smallest
settings; the figures are meaningless at this size, only that they are printed and are numbers is checked.
lockstep.py is exercised by tests/test_lockstep.py (its training replayed against the recorded incumbent run),
and alt_dataset.py's generator by tests/test_benchmark_alt_dataset.py; here alt_dataset.py's command line makes
the data accuracy.py trains on.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_shapes_dataset

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run(name: str, *arguments: str, cwd: Path) -> list[str]:
    """Run benchmarks/<name>.py with ``arguments`` in ``cwd``; the lines it printed, after checking it exited 0."""
    command = [sys.executable, str(BENCHMARKS / f"{name}.py"), *arguments]
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600, check=False)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stderr[-3000:]}"
    lines = result.stdout.strip().splitlines()
    assert lines, f"{name}.py printed nothing"
    return lines


def figure(lines: list[str]) -> float:
    """The number alone on the last line, as every benchmark prints its figure."""
    value = float(lines[-1])
    assert math.isfinite(value), lines[-1]
    return value


@pytest.fixture(scope="module")
def shapes_yaml(tmp_path_factory) -> Path:
    return write_shapes_dataset(tmp_path_factory.mktemp("bench_shapes"), images=24, size=64)


def test_dataloader(shapes_yaml, tmp_path):
    lines = run("dataloader", "--data", str(shapes_yaml), "--imgsz", "64", "--batch", "4", "--workers", "2",
                "--epochs", "1", cwd=tmp_path)
    assert figure(lines) > 0  # images/s, steady state
    assert any(line.startswith("CPU ") and "ms/image" in line for line in lines)


def test_train_step(shapes_yaml, tmp_path):
    lines = run("train_step", "--data", str(shapes_yaml), "--imgsz", "64", "--batch", "8", "--epochs", "1",
                "--rounds", "1", cwd=tmp_path)
    assert figure(lines) > 0  # s/epoch
    assert lines[-2].startswith("yolo8:") and "s/epoch train" in lines[-2]


def test_accuracy_on_alt_dataset(tmp_path):
    printed = run("alt_dataset", str(tmp_path / "alt"), "--train", "8", "--val", "4", "--size", "64", "--classes", "3",
                  cwd=tmp_path)
    data_yaml = Path(printed[-1])
    assert data_yaml.is_file() and len(list((tmp_path / "alt" / "images" / "train").iterdir())) == 8
    lines = run("accuracy", "--data", str(data_yaml), "--epochs", "1", "--imgsz", "64", "--batch", "8",
                "--project", str(tmp_path / "runs"), cwd=tmp_path)
    assert 0 <= figure(lines) <= 1  # mAP50-95 of our run: ~0 after one epoch, a number all the same
    assert any(line.startswith("yolo8 ") for line in lines)  # the report's row
    assert (tmp_path / "runs" / "yolo8" / "weights" / "best.pt").is_file()


def test_eval(tmp_path):
    lines = run("eval", "--images", "20", "--dets", "10", cwd=tmp_path)
    assert figure(lines) > 0  # CPU-time ratio pycocotools / ours
    difference = next(line for line in lines if line.startswith("max |AP difference|:"))
    assert float(difference.split(":")[1]) < 1e-4  # the script's own check: the same six AP numbers


@pytest.mark.parametrize("mode, imgsz", [("forward", "64"), ("call", "160")])
def test_predict(mode, imgsz, tmp_path):
    lines = run("predict", "--mode", mode, "--imgsz", imgsz, "--runs", "2", "--rounds", "1", "--warmup", "1",
                cwd=tmp_path)
    assert figure(lines) > 0  # our median ms per forward / per call
    assert lines[0].startswith("yolo8:") and "median of 2" in lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing written where it ran


def test_augmentation_stats(tmp_path):
    lines = run("augmentation_stats", "--repeats", "1", cwd=tmp_path)
    header = next(index for index, line in enumerate(lines) if line.startswith("statistic"))
    rows = {line[:34].strip(): float(line[34:]) for line in lines[header + 1:]}  # one column: yolo8
    assert len(rows) == 11 and all(math.isfinite(value) for value in rows.values()), rows
    assert rows["colour: value mean"] > 0 and rows["single: boxes per sample"] > 0


def test_export(tmp_path):
    import torch

    from tests.conftest import tiny_yaml
    from yolo8 import YOLO
    from yolo8.nn.model import YOLOModel

    torch.manual_seed(0)
    weights = YOLO(YOLOModel(tiny_yaml("yolov8.yaml"))).save(tmp_path / "tiny.pt")
    lines = run("export", "--model", str(weights), "--imgsz", "64", "--runs", "1", "--warmup", "0", cwd=tmp_path)
    assert figure(lines) > 0  # our ONNX ms (no peer)
    rows = {line.split()[0] for line in lines[1:-1]}
    assert rows == {"torchscript", "onnx", "openvino"}, lines


def test_track(tmp_path):
    lines = run("track", "--videos", "1", "--frames", "20", "--seeds", "1", cwd=tmp_path)
    row = next(line for line in lines if line.startswith("yolo8"))
    idf1, mota = (float(value) for value in row.split()[1:3])
    assert 0 < idf1 <= 1 and mota <= 1  # noisy ground truth tracked: a score, not nothing


def test_slice(tmp_path):
    lines = run("slice", "--epochs", "1", "--train-images", "2", "--val-images", "1", "--image-size", "320",
                "--tile", "160", "--pretrained", "false", "--project", str(tmp_path / "runs"), cwd=tmp_path)
    rows = [line for line in lines if line.startswith(("whole image", "sliced"))]
    assert len(rows) == 3 and all(math.isfinite(float(value)) for row in rows for value in row.split()[-3:])
