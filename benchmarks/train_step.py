"""Seconds per training epoch and per validation pass: yolov8n from scratch, 320 px, batch 16, on the CPU.

    python benchmarks/train_step.py [--data DATA_YAML] [--epochs 3] [--rounds 2] [--imgsz 320] [--batch 16]
                                    [--peer /path/to/ultralytics/venv/bin/python] [--set KEY=VALUE ...]

Data defaults to the built-in dataset at 400 train / 100 val images (the size of the issue's benchmark).
Epoch times are medians over the epochs after the first of every run (the first pays for start-up). With
``--peer``, the incumbent trains the same setting in its own interpreter, forced to use 2 threads and 2
workers as we do, and the ratio ours / theirs is printed last (< 1 means we are faster). Runs alternate,
ours then theirs, ``--rounds`` times, so a machine that drifts slower or faster during the benchmark
weighs on both sides more evenly (one round of each moved the ratio by ±0.07 on a shared VM). Our runs
share this interpreter while each peer run starts a fresh one; leaving out every run's first epoch keeps
that start-up difference out of the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # time this checkout's yolo8

PEER_SCRIPT = r"""
import json, os, sys, time
os.environ["YOLO_OFFLINE"] = "1"
import ultralytics.utils.torch_utils as torch_utils
torch_utils.NUM_THREADS = 2
from ultralytics import YOLO
data, epochs, project, imgsz, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
marks = {"train": [], "val": []}
started = {}
model = YOLO("yolov8n.yaml")
model.add_callback("on_train_epoch_start", lambda t: started.__setitem__("train", time.perf_counter()))
model.add_callback("on_train_epoch_end", lambda t: marks["train"].append(time.perf_counter() - started["train"]))
model.add_callback("on_val_start", lambda v: started.__setitem__("val", time.perf_counter()))
model.add_callback("on_val_end", lambda v: marks["val"].append(time.perf_counter() - started["val"]))
model.train(data=data, epochs=epochs, imgsz=imgsz, batch=batch, workers=2, device="cpu", project=project, name="bench",
            plots=False, amp=False, verbose=False)
print("TIMES " + json.dumps(marks))
"""


def time_ours(data: str, epochs: int, project: str, imgsz: int, batch: int, overrides: dict | None = None) -> dict:
    from yolo8 import YOLO

    marks, started = {"train": [], "val": []}, {}
    model = YOLO("yolov8n.yaml")
    model.add_callback("on_train_epoch_start", lambda t: started.__setitem__("train", time.perf_counter()))
    model.add_callback("on_train_epoch_end", lambda t: marks["train"].append(time.perf_counter() - started["train"]))
    model.add_callback("on_val_start", lambda v: started.__setitem__("val", time.perf_counter()))
    model.add_callback("on_val_end", lambda v: marks["val"].append(time.perf_counter() - started["val"]))
    model.train(data=data, epochs=epochs, imgsz=imgsz, batch=batch, workers=2, project=project, name="bench",
                plots=False, **(overrides or {}))
    return marks


def time_peer(python: str, data: str, epochs: int, project: str, imgsz: int, batch: int) -> dict:
    result = subprocess.run([python, "-c", PEER_SCRIPT, data, str(epochs), project, str(imgsz), str(batch)],
                            capture_output=True, text=True, check=False)
    line = next((line for line in result.stdout.splitlines() if line.startswith("TIMES ")), None)
    if line is None:
        raise RuntimeError(f"the peer run failed:\n{result.stderr[-2000:]}")
    return json.loads(line[len("TIMES "):])


def pooled(runs: list[dict], phase: str) -> float:
    """Median of ``phase`` times over every run's epochs after its first (or its only one)."""
    return statistics.median([value for run in runs for value in (run[phase][1:] or run[phase])])


def epoch_lists(runs: list[dict]) -> str:
    """Every run's training epoch times, for the printout: ``epochs 19.8, 20.2; epochs 21.7, 21.2``."""
    return "; ".join("epochs " + ", ".join(f"{t:.1f}" for t in run["train"]) for run in runs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="dataset YAML (default: built-in, 400/100 images)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of ours and the peer")
    parser.add_argument("--imgsz", type=int, default=320, help="training and validation image size (both sides)")
    parser.add_argument("--batch", type=int, default=16, help="batch size (both sides)")
    parser.add_argument("--peer", default=None, help="python of a venv with ultralytics installed")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a training setting for our run only, e.g. --set workers=0")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.epochs < 1:
        parser.error("--rounds and --epochs must be at least 1")
    from yolo8.config import Config

    overrides = Config(dict(item.split("=", 1) for item in args.set)).overrides
    if args.data is None:
        from yolo8.data.synthetic import builtin_dataset

        args.data = str(builtin_dataset(train_images=400, val_images=100, image_size=320))
    ours_runs, peer_runs = [], []
    with tempfile.TemporaryDirectory() as project:
        for round_index in range(args.rounds):
            ours_runs.append(time_ours(args.data, args.epochs, f"{project}/ours{round_index}", args.imgsz, args.batch,
                                       overrides))
            if args.peer:
                peer_runs.append(time_peer(args.peer, args.data, args.epochs, f"{project}/peer{round_index}",
                                           args.imgsz, args.batch))
    ours_train, ours_val = pooled(ours_runs, "train"), pooled(ours_runs, "val")
    print(f"yolo8:        {ours_train:.2f} s/epoch train + {ours_val:.2f} s val ({epoch_lists(ours_runs)})")
    if not args.peer:
        print(f"{ours_train:.2f}")
        return
    peer_train, peer_val = pooled(peer_runs, "train"), pooled(peer_runs, "val")
    print(f"ultralytics:  {peer_train:.2f} s/epoch train + {peer_val:.2f} s val ({epoch_lists(peer_runs)})")
    print(f"ratio train {ours_train / peer_train:.3f}, val {ours_val / peer_val:.3f} (yolo8 / ultralytics)")
    print(f"{ours_train / peer_train:.3f}")


if __name__ == "__main__":
    sys.exit(main())
