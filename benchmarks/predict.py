"""Inference latency on the CPU with 2 threads: the fused yolov8n forward, or a whole ``model(frame)`` call.

    python benchmarks/predict.py [--mode forward|call] [--imgsz 640] [--runs 30] [--rounds 3] [--warmup 5]
                                 [--peer /path/to/ultralytics/venv/bin/python]

``--mode forward`` (the default) times the model alone: a fused yolov8n as predict runs it, batch 1, one
random ``imgsz`` square tensor, forward only.

``--mode call`` times what a user's detection loop pays per frame::

    model = YOLO("yolov8n.yaml")
    results = model(frame, verbose=False)   # called again and again on one 640x480 uint8 BGR frame

with ``from yolo8 import YOLO`` for ours and ``from ultralytics import YOLO`` for the peer (YOLO_OFFLINE=1, its
``torch_utils.NUM_THREADS`` set to 2), so pre-processing, the forward, NMS, building the Results and whatever
the YOLO object does to its model on each call are all counted. The frame is generated here (noise and filled
shapes, deterministic) and handed to both sides as a PNG. ``--imgsz`` other than 640 is passed as ``imgsz=``
(smoke runs); at 640 the call is exactly the one above, each side's default size.

Each side runs ``--warmup`` untimed calls, then ``--runs`` timed ones, in a fresh interpreter per round.
Prints the median milliseconds per forward (or call) of ours and, with ``--peer``, the incumbent's measured the
same way in its own interpreter within this run, then the ratio ours / theirs (< 1 means we are faster) alone
on the last line (our median alone without ``--peer``). Rounds alternate between the two interpreters so
background load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = str(Path(__file__).resolve().parents[1])

FORWARD_TIMER = r"""
import json, os, statistics, sys, time
import torch
torch.set_num_threads(2)
imgsz, runs, warmup, kind = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if kind == "ours":
    sys.path.insert(0, sys.argv[5])
    from yolo8.runtime.backend import TorchBackend
    from yolo8.nn.model import build_model
    model = TorchBackend(build_model("yolov8n.yaml"), torch.device("cpu"))  # what predict runs
else:
    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics.nn.tasks import DetectionModel
    model = DetectionModel("yolov8n.yaml", verbose=False).fuse(verbose=False).eval()
image = torch.rand(1, 3, imgsz, imgsz)
times = []
with torch.inference_mode():
    for _ in range(warmup):
        model(image)
    for _ in range(runs):
        started = time.perf_counter()
        model(image)
        times.append((time.perf_counter() - started) * 1000)
print("MS " + json.dumps(times))
"""

CALL_TIMER = r"""
import json, os, sys, time
import cv2
import torch
torch.set_num_threads(2)
imgsz, runs, warmup, kind, frame_file = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[6]
if kind == "ours":
    sys.path.insert(0, sys.argv[5])
    from yolo8 import YOLO
else:
    os.environ["YOLO_OFFLINE"] = "1"
    import ultralytics.utils.torch_utils as torch_utils
    torch_utils.NUM_THREADS = 2
    from ultralytics import YOLO
frame = cv2.imread(frame_file)  # (480, 640, 3) uint8 BGR
extra = {} if imgsz == 640 else {"imgsz": imgsz}
model = YOLO("yolov8n.yaml")
times = []
for _ in range(warmup):
    model(frame, verbose=False, **extra)
for _ in range(runs):
    started = time.perf_counter()
    model(frame, verbose=False, **extra)
    times.append((time.perf_counter() - started) * 1000)
print("MS " + json.dumps(times))
"""


def write_frame(path: Path, seed: int = 0) -> Path:
    """A deterministic 640x480 uint8 BGR frame: mid-grey noise with a few filled rectangles and discs."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    frame = rng.integers(60, 190, (480, 640, 3), dtype=np.uint8)  # (H, W, 3) BGR
    for _ in range(6):
        x, y = int(rng.integers(0, 560)), int(rng.integers(0, 400))
        side = int(rng.integers(30, 160))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            cv2.rectangle(frame, (x, y), (x + side, y + side // 2), colour, -1)
        else:
            cv2.circle(frame, (x, y), side // 2, colour, -1)
    cv2.imwrite(str(path), frame)
    return path


def measure(python: str, kind: str, mode: str, imgsz: int, runs: int, warmup: int, frame: Path | None) -> list[float]:
    """Milliseconds of each timed forward (mode "forward") or call (mode "call") in a fresh ``python``."""
    timer = FORWARD_TIMER if mode == "forward" else CALL_TIMER
    command = [python, "-c", timer, str(imgsz), str(runs), str(warmup), kind, REPOSITORY, str(frame)]
    environment = {**os.environ, "YOLO_OFFLINE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    line = next((line for line in result.stdout.splitlines() if line.startswith("MS ")), None)
    if line is None:
        raise RuntimeError(f"{kind} timing ({mode}) failed:\n{result.stderr[-2000:]}")
    return json.loads(line[3:])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", default="forward", choices=["forward", "call"],
                        help="forward: the fused model alone; call: YOLO('yolov8n.yaml')(frame, verbose=False)")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--runs", type=int, default=30, help="timed forwards or calls per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of ours and the peer")
    parser.add_argument("--warmup", type=int, default=5, help="untimed forwards or calls before each round's timing")
    parser.add_argument("--peer", default=None, help="python of a venv with ultralytics installed")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--runs and --rounds must be at least 1, --warmup at least 0")
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as folder:
        frame = write_frame(Path(folder) / "frame.png") if args.mode == "call" else None
        for _ in range(args.rounds):
            ours += measure(sys.executable, "ours", args.mode, args.imgsz, args.runs, args.warmup, frame)
            if args.peer:
                theirs += measure(args.peer, "ultralytics", args.mode, args.imgsz, args.runs, args.warmup, frame)
    if args.mode == "forward":
        unit, what = "image", f"fused yolov8n, {args.imgsz} px, batch 1, 2 threads"
    else:
        unit = "call"
        what = f"YOLO('yolov8n.yaml')(frame, verbose=False), 640x480 BGR frame, imgsz {args.imgsz}, 2 threads"
    print(f"yolo8:       {statistics.median(ours):.1f} ms per {unit} (median of {len(ours)}, {what})")
    if theirs:
        print(f"ultralytics: {statistics.median(theirs):.1f} ms per {unit} (median of {len(theirs)})")
        print(f"{statistics.median(ours) / statistics.median(theirs):.3f}")
    else:
        print(f"{statistics.median(ours):.1f}")


if __name__ == "__main__":
    main()
