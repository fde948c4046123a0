"""The classification benchmarks run to the end on tiny settings and print their figure (no --peer)."""

import math
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "train_classify.py"


def test_train_classify_prints_both_sets_and_a_figure(tmp_path):
    command = [sys.executable, str(BENCHMARK), "--sets", "builtin,alt", "--train-scenes", "6", "--val-scenes", "3",
               "--epochs", "1", "--imgsz", "32", "--batch", "16", "--workers", "0", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    rows = [line.split() for line in lines if line.startswith(("builtin", "alt"))]
    assert [row[:2] for row in rows] == [["builtin", "ours"], ["alt", "ours"]]
    for row in rows:
        top1, top5, seconds = (float(value) for value in row[4:7])
        assert 0 <= top1 <= top5 <= 1 and seconds > 0
    figure = float(lines[-1])
    assert math.isfinite(figure) and abs(figure - (float(rows[0][4]) + float(rows[1][4])) / 2) <= 0.0015  # mean top-1


def test_classify_crop_scale_prints_the_area_range_of_our_crops():
    script = BENCHMARK.parent / "classify_crop_scale.py"
    result = subprocess.run([sys.executable, str(script), "--scales", "0.5", "--samples", "100"], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    scale, low, high = (float(value) for value in lines[1].split())
    assert scale == 0.5 and 0.47 <= low <= 0.6 and high <= 1.0 and float(lines[-1]) == low
