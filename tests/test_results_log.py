"""results.csv: one row per epoch under YOLOv8's column names, and old files upgraded when a run resumes."""

import csv

import numpy as np

from yolo8.tasks import TASKS
from yolo8.train.results_log import ResultsLog

DETECT = TASKS["detect"]
COLUMNS = (  # YOLOv8's detection results.csv, as its trainer writes it
    "epoch", "time", "train/box_loss", "train/cls_loss", "train/dfl_loss",
    "metrics/precision(B)", "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)",
    "val/box_loss", "val/cls_loss", "val/dfl_loss", "lr/pg0", "lr/pg1", "lr/pg2",
)


def read_rows(path):
    with open(path, newline="") as file:
        return list(csv.reader(file))


def test_rows_follow_the_header(tmp_path):
    log = ResultsLog(tmp_path / "results.csv", DETECT.loss_names, DETECT.metric_keys)
    log.append(0, 12.5, np.array([1.0, 2.0, 3.0]), None, [0.1, 0.2, 0.3])
    log.append(1, 25.0, np.array([0.5, 1.5, 2.5]), None, [0.1, 0.2, 0.3])
    header, first, second = read_rows(tmp_path / "results.csv")
    assert tuple(header) == COLUMNS and header[:2] == ["epoch", "time"]
    assert first[:5] == ["1", "12.5", "1", "2", "3"] and second[:2] == ["2", "25"]
    assert first[COLUMNS.index("metrics/mAP50(B)")] == "nan"  # no validation that epoch


def test_a_file_without_the_time_column_is_upgraded_before_appending(tmp_path):
    path = tmp_path / "results.csv"
    old_columns = [name for name in COLUMNS if name != "time"]
    path.write_text(",".join(f"{name:>20}" for name in old_columns) + "\n" + ",".join(["1"] + ["0.5"] * 13) + "\n")
    ResultsLog(path, DETECT.loss_names, DETECT.metric_keys).append(1, 40.0, np.array([1.0, 2.0, 3.0]), None, [0.1, 0.2, 0.3])
    header, old, new = read_rows(path)
    assert tuple(header) == COLUMNS
    assert old[:3] == ["1", "", "0.5"] and new[:3] == ["2", "40", "1"]  # the old row has no time to show


def test_segmentation_and_classification_columns_are_yolov8s(tmp_path):
    """Every task's losses and metrics reach results.csv, under the names YOLOv8 gives them."""
    segment, classify = TASKS["segment"], TASKS["classify"]
    log = ResultsLog(tmp_path / "seg.csv", segment.loss_names, segment.metric_keys)
    log.append(0, 1.0, np.array([1.0, 2.0, 3.0, 4.0]), None, [0.1, 0.2, 0.3])
    header, row = read_rows(tmp_path / "seg.csv")
    assert header[2:6] == ["train/box_loss", "train/seg_loss", "train/cls_loss", "train/dfl_loss"]
    assert header[6:14] == [f"metrics/{name}({kind})" for kind in "BM"
                            for name in ("precision", "recall", "mAP50", "mAP50-95")]
    assert header[14:18] == ["val/box_loss", "val/seg_loss", "val/cls_loss", "val/dfl_loss"] and len(row) == len(header)
    log = ResultsLog(tmp_path / "cls.csv", classify.loss_names, classify.metric_keys)
    log.append(0, 1.0, np.array([0.7]), None, [0.1, 0.2, 0.3])
    header, row = read_rows(tmp_path / "cls.csv")
    assert header == ["epoch", "time", "train/loss", "metrics/accuracy_top1", "metrics/accuracy_top5", "val/loss",
                      "lr/pg0", "lr/pg1", "lr/pg2"] and row[2] == "0.7"
