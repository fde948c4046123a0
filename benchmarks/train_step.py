"""Seconds per training epoch and per validation pass: yolov8n (or yolov8n-seg) from scratch, 320 px, batch 16,
on the CPU, and the peak memory of the training process.

    python benchmarks/train_step.py [--task detect|segment] [--data DATA_YAML] [--epochs 3] [--rounds 2]
                                    [--imgsz 320] [--batch 16] [--peer /path/to/ultralytics/venv/bin/python]
                                    [--set KEY=VALUE ...]

Data defaults to the built-in dataset at 400 train / 100 val images (the size of the issue's benchmark); its
labels are polygons, so it serves both tasks. Peak memory is the largest resident set of the training process
(``ru_maxrss``) over its run, and of its largest DataLoader worker; each side runs in a fresh interpreter.
Epoch times are medians over the epochs after the first of every run (the first pays for start-up). With
``--peer``, the incumbent trains the same setting in its own interpreter, forced to use 2 threads and 2
workers as we do, and the ratio ours / theirs is printed last (< 1 means we are faster). Runs alternate,
ours then theirs, ``--rounds`` times, so a machine that drifts slower or faster during the benchmark
weighs on both sides more evenly (one round of each moved the ratio by ±0.07 on a shared VM). Every run
starts a fresh interpreter; leaving out its first epoch keeps start-up out of the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # time this checkout's yolo8
MODELS = {"detect": "yolov8n.yaml", "segment": "yolov8n-seg.yaml"}

MEMORY_REPORT = r"""
import resource
marks["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
marks["worker_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest ended child
print("TIMES " + json.dumps(marks))
"""

PEER_SCRIPT = r"""
import json, os, sys, time
os.environ["YOLO_OFFLINE"] = "1"
import ultralytics.utils.torch_utils as torch_utils
torch_utils.NUM_THREADS = 2
from ultralytics import YOLO
data, epochs, project, imgsz, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
model_yaml = sys.argv[6]
marks = {"train": [], "val": []}
started = {}
model = YOLO(model_yaml)
model.add_callback("on_train_epoch_start", lambda t: started.__setitem__("train", time.perf_counter()))
model.add_callback("on_train_epoch_end", lambda t: marks["train"].append(time.perf_counter() - started["train"]))
model.add_callback("on_val_start", lambda v: started.__setitem__("val", time.perf_counter()))
model.add_callback("on_val_end", lambda v: marks["val"].append(time.perf_counter() - started["val"]))
model.train(data=data, epochs=epochs, imgsz=imgsz, batch=batch, workers=2, device="cpu", project=project, name="bench",
            plots=False, amp=False, verbose=False)
""" + MEMORY_REPORT

OURS_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[8])  # this checkout's yolo8
from yolo8 import YOLO
data, epochs, project, imgsz, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
model_yaml, overrides = sys.argv[6], json.loads(sys.argv[7])
marks, started = {"train": [], "val": []}, {}
model = YOLO(model_yaml)
model.add_callback("on_train_epoch_start", lambda t: started.__setitem__("train", time.perf_counter()))
model.add_callback("on_train_epoch_end", lambda t: marks["train"].append(time.perf_counter() - started["train"]))
model.add_callback("on_val_start", lambda v: started.__setitem__("val", time.perf_counter()))
model.add_callback("on_val_end", lambda v: marks["val"].append(time.perf_counter() - started["val"]))
model.train(data=data, epochs=epochs, imgsz=imgsz, batch=batch, workers=2, project=project, name="bench",
            plots=False, **overrides)
""" + MEMORY_REPORT


def run_script(python: str, script: str, arguments: list[str], who: str) -> dict:
    """Run a training script in a fresh ``python``; its TIMES line as a dict."""
    result = subprocess.run([python, "-c", script, *arguments], capture_output=True, text=True, check=False)
    line = next((line for line in result.stdout.splitlines() if line.startswith("TIMES ")), None)
    if line is None:
        raise RuntimeError(f"the {who} run failed:\n{result.stderr[-2000:]}")
    return json.loads(line[len("TIMES "):])


def time_ours(data: str, epochs: int, project: str, imgsz: int, batch: int, model_yaml: str,
              overrides: dict | None = None) -> dict:
    return run_script(sys.executable, OURS_SCRIPT, [data, str(epochs), project, str(imgsz), str(batch), model_yaml,
                                                    json.dumps(overrides or {}), str(ROOT)], "yolo8")


def time_peer(python: str, data: str, epochs: int, project: str, imgsz: int, batch: int, model_yaml: str) -> dict:
    return run_script(python, PEER_SCRIPT, [data, str(epochs), project, str(imgsz), str(batch), model_yaml], "peer")


def peak_memory(runs: list[dict]) -> str:
    """The largest peak over the runs: ``main 1234 MB, worker 456 MB``."""
    return (f"peak memory: main {max(run['peak_mb'] for run in runs):.0f} MB, "
            f"worker {max(run['worker_peak_mb'] for run in runs):.0f} MB")


def pooled(runs: list[dict], phase: str) -> float:
    """Median of ``phase`` times over every run's epochs after its first (or its only one)."""
    return statistics.median([value for run in runs for value in (run[phase][1:] or run[phase])])


def epoch_lists(runs: list[dict]) -> str:
    """Every run's training epoch times, for the printout: ``epochs 19.8, 20.2; epochs 21.7, 21.2``."""
    return "; ".join("epochs " + ", ".join(f"{t:.1f}" for t in run["train"]) for run in runs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(MODELS), default="detect", help="detect (yolov8n) or segment (yolov8n-seg)")
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
                                       MODELS[args.task], overrides))
            if args.peer:
                peer_runs.append(time_peer(args.peer, args.data, args.epochs, f"{project}/peer{round_index}",
                                           args.imgsz, args.batch, MODELS[args.task]))
    ours_train, ours_val = pooled(ours_runs, "train"), pooled(ours_runs, "val")
    print(f"yolo8 {args.task}: {peak_memory(ours_runs)}")
    print(f"yolo8:        {ours_train:.2f} s/epoch train + {ours_val:.2f} s val ({epoch_lists(ours_runs)})")
    if not args.peer:
        print(f"{ours_train:.2f}")
        return
    peer_train, peer_val = pooled(peer_runs, "train"), pooled(peer_runs, "val")
    print(f"ultralytics {args.task}: {peak_memory(peer_runs)}")
    print(f"ultralytics:  {peer_train:.2f} s/epoch train + {peer_val:.2f} s val ({epoch_lists(peer_runs)})")
    print(f"ratio train {ours_train / peer_train:.3f}, val {ours_val / peer_val:.3f} (yolo8 / ultralytics)")
    print(f"{ours_train / peer_train:.3f}")


if __name__ == "__main__":
    sys.exit(main())
