"""Accuracy after training yolov8n (or yolov8n-seg) from scratch: ours against the incumbent, scored by one
validator.

    python benchmarks/accuracy.py --data DATA_YAML [--task detect|segment] [--epochs 30] [--imgsz 320]
                                  [--batch 16] [--seed 0] [--peer /work/ul_venv/bin/python] [--project DIR]
                                  [--fraction 1.0]

Trains ``yolov8n.yaml`` (``--task segment``: ``yolov8n-seg.yaml``, box and mask mAP) from scratch with yolo8 and then, with ``--peer``, with the incumbent in its own
interpreter (YOLO_OFFLINE=1, 2 threads, 2 workers, CPU, amp off, plots off), one after the other, never
at once. Both best.pt files are then scored by the same yolo8 validator (COCO-exact mAP), so the ratio
does not depend on the two projects' different AP interpolations; each side's own final validation
(its trainer's last evaluation of best.pt) is printed as well. Run directories go under ``--project``
(default: a new directory under the system temp dir, kept) and are printed. The last line is the ratio
ours / theirs of mAP50-95 (>= 1 means we match or beat the incumbent), or our mAP50-95 without a peer.
``--fraction`` trains on a leading fraction of the training images (both sides), for smoke tests.

Make a dataset to run on with ``python benchmarks/alt_dataset.py OUT_DIR`` (400 train / 100 val, 320 px;
add ``--polygons`` for segmentation).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
MODELS = {"detect": "yolov8n.yaml", "segment": "yolov8n-seg.yaml"}

PEER_SCRIPT = r"""
import json, os, sys, time
os.environ["YOLO_OFFLINE"] = "1"
import ultralytics.utils.torch_utils as torch_utils
torch_utils.NUM_THREADS = 2
from ultralytics import YOLO
settings = json.loads(sys.argv[1])
model = YOLO(sys.argv[2])
started = time.perf_counter()
results = model.train(device="cpu", workers=2, amp=False, plots=False, **settings)
seconds = time.perf_counter() - started
box, seg = getattr(results, "box", None), getattr(results, "seg", None)
print("PEER_RESULT " + json.dumps({
    "best": str(model.trainer.best), "save_dir": str(model.trainer.save_dir), "seconds": seconds,
    "map": None if box is None else float(box.map), "map50": None if box is None else float(box.map50),
    "mask_map": None if seg is None else float(seg.map)}))
"""


@dataclass
class Run:
    """One training run: where its files went, how long it took, and mAPs (own final val, then our validator)."""

    label: str
    save_dir: Path
    best: Path
    seconds: float
    own_map: float | None
    own_map50: float | None
    own_mask_map: float | None = None
    map: float | None = None
    map50: float | None = None
    mask_map: float | None = None


def train_ours(args, project: Path) -> Run:
    from yolo8 import YOLO

    model = YOLO(MODELS[args.task])
    started = time.perf_counter()
    metrics = model.train(data=args.data, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, workers=2,
                          device=args.device, seed=args.seed, fraction=args.fraction, project=str(project),
                          name="yolo8", plots=False)
    seconds = time.perf_counter() - started
    best = Path(model.source)
    mask_map = metrics.seg.map if args.task == "segment" else None
    return Run("yolo8", model.trainer.save_dir, best, seconds, metrics.box.map, metrics.box.map50, mask_map)


def train_peer(args, project: Path) -> Run:
    settings = {"data": args.data, "epochs": args.epochs, "imgsz": args.imgsz, "batch": args.batch,
                "seed": args.seed, "fraction": args.fraction, "project": str(project), "name": "ultralytics"}
    log_file = project / "ultralytics_train.log"
    with open(log_file, "w", encoding="utf-8") as log:
        completed = subprocess.run([args.peer, "-c", PEER_SCRIPT, json.dumps(settings), MODELS[args.task]], stdout=subprocess.PIPE,
                                   stderr=log, text=True, env={**os.environ, "YOLO_OFFLINE": "1"})
        log.write(completed.stdout)
    line = next((line for line in completed.stdout.splitlines() if line.startswith("PEER_RESULT ")), None)
    if completed.returncode != 0 or line is None:
        tail = log_file.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"the peer run ({args.peer}) failed with exit code {completed.returncode}; "
                           f"full log in {log_file}:\n{tail}")
    result = json.loads(line[len("PEER_RESULT "):])
    return Run("ultralytics", Path(result["save_dir"]), Path(result["best"]), result["seconds"], result["map"],
               result["map50"], result["mask_map"])


def score(run: Run, args, project: Path) -> None:
    """Fill run.map / run.map50 with the yolo8 validator's numbers for run.best."""
    from yolo8 import YOLO

    metrics = YOLO(str(run.best)).val(data=args.data, imgsz=args.imgsz, batch=16, device=args.device, plots=False,
                                      project=str(project), name=f"val_{run.label}")
    run.map, run.map50 = metrics.box.map, metrics.box.map50
    if args.task == "segment":
        run.mask_map = metrics.seg.map


def _number(value: float | None) -> str:
    return f"{value:>10.4f}" if value is not None else f"{'n/a':>10}"


def report(runs: list[Run], masks: bool = False) -> str:
    mask_header = f"{'mask 50-95':>11}{'own mask':>10}" if masks else ""
    lines = [f"{'run':<13}{'mAP50-95':>10}{'mAP50':>10}{'own 50-95':>10}{'own 50':>10}{mask_header}{'train s':>10}"
             "  run directory",
             *(f"{run.label:<13}{_number(run.map)}{_number(run.map50)}{_number(run.own_map)}{_number(run.own_map50)}"
               + (f" {_number(run.mask_map)}{_number(run.own_mask_map)}" if masks else "")
               + f"{run.seconds:>10.0f}  {run.save_dir}" for run in runs),
             "(mAP50-95 / mAP50 / mask: yolo8 validator on each best.pt; own: each trainer's final validation)"]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="dataset YAML (e.g. from benchmarks/alt_dataset.py)")
    parser.add_argument("--task", choices=sorted(MODELS), default="detect", help="detect or segment")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="training seed, passed to both")
    parser.add_argument("--device", default="cpu", help="device for both trainings and the scoring")
    parser.add_argument("--fraction", type=float, default=1.0, help="fraction of the training images (smoke tests)")
    parser.add_argument("--peer", default=None, help="python of a venv with ultralytics installed")
    parser.add_argument("--project", default=None, help="parent directory of the run directories")
    args = parser.parse_args(argv)
    args.data = str(Path(args.data).resolve())
    project = Path(args.project or tempfile.mkdtemp(prefix="yolo8_accuracy_")).resolve()
    project.mkdir(parents=True, exist_ok=True)
    print(f"runs under {project}", flush=True)

    runs = [train_ours(args, project)]
    print(f"yolo8 trained in {runs[0].seconds:.0f} s: {runs[0].save_dir}", flush=True)
    if args.peer:
        runs.append(train_peer(args, project))
        print(f"ultralytics trained in {runs[1].seconds:.0f} s: {runs[1].save_dir}", flush=True)
    for run in runs:
        score(run, args, project)

    print()
    print(report(runs, masks=args.task == "segment"))
    if len(runs) == 2:
        ratio = runs[0].map / runs[1].map if runs[1].map else float("nan")
        if args.task == "segment":
            mask_ratio = runs[0].mask_map / runs[1].mask_map if runs[1].mask_map else float("nan")
            print(f"ratio mask mAP50-95 yolo8 / ultralytics (same validator): {mask_ratio:.3f}")
        print(f"ratio mAP50-95 yolo8 / ultralytics (same validator): {ratio:.3f}")
        print(f"{ratio:.3f}")
    else:
        print(f"{runs[0].map:.4f}")


if __name__ == "__main__":
    sys.exit(main())
