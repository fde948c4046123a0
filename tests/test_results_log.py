"""results.csv: one row per epoch under YOLOv8's column names, and old files upgraded when a run resumes."""

import csv

import numpy as np

from yolo8.train.results_log import COLUMNS, ResultsLog


def read_rows(path):
    with open(path, newline="") as file:
        return list(csv.reader(file))


def test_rows_follow_the_header(tmp_path):
    log = ResultsLog(tmp_path / "results.csv")
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
    ResultsLog(path).append(1, 40.0, np.array([1.0, 2.0, 3.0]), None, [0.1, 0.2, 0.3])
    header, old, new = read_rows(path)
    assert tuple(header) == COLUMNS
    assert old[:3] == ["1", "", "0.5"] and new[:3] == ["2", "40", "1"]  # the old row has no time to show
