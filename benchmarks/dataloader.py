"""Images per second of the training data pipeline (mosaic on, YOLOv8's default gains).

    python benchmarks/dataloader.py [--data DATA_YAML | --random] [--imgsz 320] [--batch 16] [--workers 2]
        [--epochs 4] [--cache ram] [--peer /work/ul_venv/bin/python]

Without --data it uses the built-in dataset (``yolo8.data.synthetic.builtin_dataset``); ``--random``
uses 400 random 320-px JPEGs with a few boxes each, written to a temporary directory. Our loader is the
one ``yolo8 train`` builds (``yolo8.data.build.training_loader`` with the default settings), so the
benchmark follows the library's gains and dataset options as they change.
Prints the CPU time per image summed over all processes (robust to other load on the machine),
the rate including each epoch's start-up, the steady-state rate (first batches of each epoch
excluded) and, last, the steady-state number alone. ``--peer`` runs the same measurement on
ultralytics' pipeline in that interpreter, as a black box (its source is never read or imported here).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from yolo8.config import Config  # noqa: E402
from yolo8.data.build import training_loader  # noqa: E402
from yolo8.data.dataset_config import load_dataset_config  # noqa: E402

WARMUP_BATCHES = 3


def write_random_dataset(directory: Path, count: int = 400, size: int = 320) -> Path:
    """Write ``count`` random ``size``-px JPEGs (blocky noise, compressing like photos) with 2-6 boxes
    each in the YOLO layout under ``directory``; returns the dataset YAML."""
    rng = np.random.default_rng(0)
    images, labels = directory / "images" / "train", directory / "labels" / "train"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    for index in range(count):
        coarse = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
        cv2.imwrite(str(images / f"{index:04d}.jpg"), cv2.resize(coarse, (size, size), interpolation=cv2.INTER_LINEAR))
        count_boxes = int(rng.integers(2, 7))
        rows = np.concatenate(
            [rng.integers(0, 3, (count_boxes, 1)), rng.uniform(0.2, 0.8, (count_boxes, 2)), rng.uniform(0.05, 0.3, (count_boxes, 2))],
            axis=1,
        )
        lines = [f"{int(row[0])} " + " ".join(f"{value:.6f}" for value in row[1:]) for row in rows]
        (labels / f"{index:04d}.txt").write_text("\n".join(lines) + "\n")
    yaml_file = directory / "data.yaml"
    yaml_file.write_text(f"path: {directory}\ntrain: images/train\nval: images/train\nnames: [a, b, c]\n")
    return yaml_file


def builtin_yaml() -> str:
    from yolo8.data.synthetic import builtin_dataset

    return str(builtin_dataset())


def cpu_seconds() -> float:
    """CPU time of this process plus its finished (joined) child processes."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(loader, epochs: int) -> tuple[float, float]:
    """(images/s including start-up, images/s after the first WARMUP_BATCHES of each epoch)."""
    if len(loader) < WARMUP_BATCHES + 2:
        raise SystemExit(f"{len(loader)} batches per epoch: the steady-state rate needs at least "
                         f"{WARMUP_BATCHES + 2}; use more images or a smaller --batch")
    total_images = total_time = steady_images = steady_time = 0
    for _ in range(epochs):
        start = time.perf_counter()
        for batch_number, batch in enumerate(loader):
            if batch_number == WARMUP_BATCHES:
                steady_start = time.perf_counter()
                steady_count = 0
            if batch_number >= WARMUP_BATCHES:
                steady_count += len(batch)
            total_images += len(batch)
        end = time.perf_counter()
        total_time += end - start
        steady_images += steady_count - len(batch)  # the clock stops after the last batch arrives
        steady_time += end - steady_start
    return total_images / total_time, steady_images / steady_time


PEER_SCRIPT = """
import sys, time
from ultralytics.utils import torch_utils
torch_utils.NUM_THREADS = 2
from ultralytics.cfg import get_cfg
from ultralytics.data.build import build_yolo_dataset, build_dataloader
from ultralytics.data.utils import check_det_dataset
data, imgsz, batch, workers, epochs, warmup = sys.argv[1], *map(int, sys.argv[2:7])
cfg = get_cfg(overrides={"data": data, "imgsz": imgsz, "batch": batch, "workers": workers})
info = check_det_dataset(data)
dataset = build_yolo_dataset(cfg, info["train"], batch, info, mode="train")
loader = build_dataloader(dataset, batch, workers, shuffle=True)
import gc, resource
def cpu_seconds():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
cpu_start = cpu_seconds()
total = total_time = steady = steady_time = 0
for _ in range(epochs):
    start = time.perf_counter()
    for number, batch_dict in enumerate(loader):
        size = len(batch_dict["img"])
        if number == warmup:
            steady_start, count = time.perf_counter(), 0
        if number >= warmup:
            count += size
        total += size
    end = time.perf_counter()
    total_time += end - start
    steady += count - size
    steady_time += end - steady_start
del loader
gc.collect()
time.sleep(0.5)  # let the workers exit so their CPU time is counted
print(f"CPU {(cpu_seconds() - cpu_start) / total * 1e3:.2f} ms/image, "
      f"including start-up {total / total_time:.0f} images/s, steady {steady / steady_time:.0f}")
"""


def measure_peer(data: str, args) -> str:
    """Run the same measurement on ultralytics' pipeline in its own interpreter (never imported here)."""
    import os
    import subprocess

    command = [args.peer, "-c", PEER_SCRIPT, data, str(args.imgsz), str(args.batch), str(args.workers),
               str(args.epochs), str(WARMUP_BATCHES)]
    environment = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_VERBOSE": "False"}
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if result.returncode:
        raise SystemExit(f"the peer run failed:\n{result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="dataset YAML (default: the built-in dataset)")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--cache", default="false", choices=["false", "ram"])
    parser.add_argument("--random", action="store_true", help="use 400 random 320-px JPEGs with boxes only")
    parser.add_argument("--peer", default=None, help="python of an ultralytics install to time as a black box")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as temporary:
        if args.random:
            data = str(write_random_dataset(Path(temporary)))
        else:
            data = args.data or builtin_yaml()
        if args.peer:
            peer = measure_peer(data, args)  # before our run: its CPU time must not count in ours
        settings = Config(mode="train", data=data, imgsz=args.imgsz, batch=args.batch, workers=args.workers,
                          cache=args.cache == "ram" and "ram")  # what `yolo8 train` reads; its default gains
        loader = training_loader(load_dataset_config(data), settings, args.imgsz, args.batch, stride=32,
                                 workers=args.workers)
        dataset = loader.dataset
        cpu_start = cpu_seconds()
        with_startup, steady = measure(loader, args.epochs)
        workers = loader.num_workers
        del loader  # joins the persistent workers so their CPU time is counted
        import gc

        gc.collect()
        time.sleep(0.5)
        cpu_per_image = (cpu_seconds() - cpu_start) / (len(dataset) * args.epochs) * 1e3
    if args.peer:
        print(f"ultralytics (black box, {args.peer}): {peer}")
        print(f"ratio ours / ultralytics (steady state): {steady / float(peer.split()[-1]):.2f}")
    print(f"data: {data} ({len(dataset)} images), imgsz {args.imgsz}, batch {args.batch}, "
          f"workers {workers}, epochs {args.epochs}")
    print(f"CPU {cpu_per_image:.2f} ms/image, all processes (load-independent cost; the peer's line has the same)")
    print(f"images/s including epoch start-up: {with_startup:.0f}")
    print(f"images/s steady state: {steady:.0f}")
    print(f"{steady:.0f}")


if __name__ == "__main__":
    main()
