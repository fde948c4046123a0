"""Classification training, ours and (with --peer) the incumbent's, side by side on held-out crop sets.

    PYTHONPATH=. python benchmarks/train_classify.py [--peer /path/to/ultralytics/venv/bin/python]
        [--sets builtin,alt] [--epochs 30] [--imgsz 64] [--batch 64] [--workers 2] [--seed 0] [--out DIR]
        [--train-scenes 360] [--val-scenes 96]

For each set, crops (longer side 64 px, ImageNet folder layout) are made once under ``--out``:

* ``builtin``: the built-in scene generator with another seed and size than the shipped set (seed 7, 360 train /
  96 val scenes -> 1,931 / 518 crops of 8 shape classes), so neither side has seen these images;
* ``alt``: ``benchmarks/alt_dataset.py`` (glyphs, arrows, ...; 8 classes, seed 1; 400 / 100 scenes at the
  default scene counts -> 2,330 / 593 crops), drawn independently of ours.

Each side trains ``yolov8n-cls.yaml`` from scratch in its own process (2 threads, the same workers), timing
every training epoch (``on_train_epoch_start`` -> ``on_train_epoch_end``: batches only, not validation).
Printed per set: top-1 / top-5 of the final validation, the median s/epoch of each side and ours / theirs.
The last line is the figure alone: with --peer the largest ours/theirs s/epoch ratio over the sets, else our
mean top-1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def make_sets(out: Path, names: list[str], train_scenes: int = 360, val_scenes: int = 96) -> dict[str, Path]:
    """Crop folders for the named sets under ``out`` (made once per scene count)."""
    sys.path.insert(0, str(HERE.parent))
    from yolo8.data.crops import write_object_crops
    from yolo8.data.synthetic import builtin_dataset

    sets, counts = {}, f"{train_scenes}x{val_scenes}"
    for name in names:
        if name == "builtin":
            scenes = builtin_dataset(out / f"builtin-scenes-{counts}", train_images=train_scenes,
                                     val_images=val_scenes, seed=7)
        elif name == "alt":
            sys.path.insert(0, str(HERE))
            from alt_dataset import generate

            scenes = out / f"alt-scenes-{counts}" / "data.yaml"
            if not scenes.is_file():
                scenes = generate(out / f"alt-scenes-{counts}", train=round(train_scenes * 10 / 9),
                                  val=round(val_scenes * 25 / 24), size=320, classes=8, seed=1)
        else:
            raise SystemExit(f"unknown set '{name}'; use builtin, alt")
        sets[name] = write_object_crops(scenes, out / f"{name}-crops-{counts}", longest_side=64)
    return sets


def run_side(side: str, data: Path, args) -> dict:
    """Train one side in its own process; returns {top1, top5, epoch_seconds}."""
    python = sys.executable if side == "ours" else args.peer
    with tempfile.TemporaryDirectory() as project:
        command = [python, str(Path(__file__).resolve()), "--worker", side, "--data", str(data), "--project", project,
                   "--epochs", str(args.epochs), "--imgsz", str(args.imgsz), "--batch", str(args.batch),
                   "--workers", str(args.workers), "--seed", str(args.seed)]
        environment = {**os.environ, "YOLO_OFFLINE": "1", "PYTHONPATH": str(HERE.parent) if side == "ours" else ""}
        completed = subprocess.run(command, capture_output=True, text=True, env=environment)
        if completed.returncode:
            raise SystemExit(f"{side} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
        line = [row for row in completed.stdout.splitlines() if row.startswith("RESULT ")][-1]
        return json.loads(line[len("RESULT "):])


def worker(args) -> None:
    """Inside the side's process: train and print ``RESULT {json}``."""
    times, started = [], []
    settings = dict(data=args.data, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, workers=args.workers,
                    seed=args.seed, project=args.project, name="train", plots=False)
    if args.worker == "peer":
        import ultralytics.utils.torch_utils as torch_utils
        from ultralytics import YOLO

        torch_utils.NUM_THREADS = 2  # the same two cores as ours
        model = YOLO("yolov8n-cls.yaml")
        settings["verbose"] = False
    else:
        from yolo8 import YOLO

        model = YOLO("yolov8n-cls.yaml")
    model.add_callback("on_train_epoch_start", lambda trainer: started.append(time.perf_counter()))
    model.add_callback("on_train_epoch_end", lambda trainer: times.append(time.perf_counter() - started[-1]))
    metrics = model.train(**settings)
    print("RESULT " + json.dumps({"top1": float(metrics.top1), "top5": float(metrics.top5), "epoch_seconds": times}))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", help="python of an environment with the incumbent (ultralytics) installed")
    parser.add_argument("--sets", default="builtin,alt")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--imgsz", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "yolo8-classify-bench"))
    parser.add_argument("--train-scenes", type=int, default=360, help="scenes cropped for train (alt: x 10/9)")
    parser.add_argument("--val-scenes", type=int, default=96, help="scenes cropped for val (alt: x 25/24)")
    parser.add_argument("--worker", choices=("ours", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--project", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    sets = make_sets(Path(args.out), [name.strip() for name in args.sets.split(",") if name.strip()],
                     args.train_scenes, args.val_scenes)
    sides = ["ours"] + (["peer"] if args.peer else [])
    print(f"yolov8n-cls.yaml from scratch, {args.epochs} epochs, imgsz {args.imgsz}, batch {args.batch}, "
          f"workers {args.workers}, seed {args.seed}")
    print(f"{'set':<9}{'side':<6}{'train':>7}{'val':>6}{'top1':>8}{'top5':>8}{'s/epoch':>9}")
    top1s, ratios = [], []
    for name, root in sets.items():
        counts = json.loads((root / "crops.json").read_text())["crops"]
        results = {side: run_side(side, root, args) for side in sides}
        for side, result in results.items():
            print(f"{name:<9}{side:<6}{counts['train']:>7}{counts['val']:>6}{result['top1']:>8.3f}"
                  f"{result['top5']:>8.3f}{median(result['epoch_seconds']):>9.2f}")
        top1s.append(results["ours"]["top1"])
        if args.peer:
            ratio = median(results["ours"]["epoch_seconds"]) / median(results["peer"]["epoch_seconds"])
            ratios.append(ratio)
            print(f"{name:<9}ours/peer s/epoch {ratio:.2f}; top-1 {results['ours']['top1'] - results['peer']['top1']:+.3f}")
    print(f"{max(ratios):.3f}" if ratios else f"{sum(top1s) / len(top1s):.3f}")


if __name__ == "__main__":
    main()
