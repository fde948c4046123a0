"""Inference latency: a fused yolov8n as predict runs it, batch 1, forward only, on the CPU with 2 threads.

    python benchmarks/predict.py [--imgsz 640] [--runs 30] [--peer /path/to/ultralytics/venv/bin/python]

Prints the median milliseconds per forward of ours and, with ``--peer``, the incumbent's model measured the
same way in its own interpreter within this run, then the ratio ours / theirs (< 1 means we are faster) alone
on the last line. Runs alternate between the two interpreters so background load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

TIMER = r"""
import json, os, statistics, sys, time
import torch
torch.set_num_threads(2)
imgsz, runs, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if kind == "ours":
    from yolo8.runtime.backend import inference_copy
    from yolo8.nn.model import build_model
    model = inference_copy(build_model("yolov8n.yaml"), torch.device("cpu"))  # what predict runs
else:
    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics.nn.tasks import DetectionModel
    model = DetectionModel("yolov8n.yaml", verbose=False).fuse(verbose=False).eval()
image = torch.rand(1, 3, imgsz, imgsz)
times = []
with torch.inference_mode():
    for _ in range(5):
        model(image)
    for _ in range(runs):
        started = time.perf_counter()
        model(image)
        times.append((time.perf_counter() - started) * 1000)
print("MS " + json.dumps(times))
"""


def measure(python: str, kind: str, imgsz: int, runs: int) -> list[float]:
    result = subprocess.run([python, "-c", TIMER, str(imgsz), str(runs), kind], capture_output=True, text=True)
    line = next((line for line in result.stdout.splitlines() if line.startswith("MS ")), None)
    if line is None:
        raise RuntimeError(f"{kind} timing failed:\n{result.stderr[-2000:]}")
    return json.loads(line[3:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--runs", type=int, default=30, help="timed forwards per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of ours and the peer")
    parser.add_argument("--peer", default=None, help="python of a venv with ultralytics installed")
    args = parser.parse_args()
    ours, theirs = [], []
    for _ in range(args.rounds):
        ours += measure(sys.executable, "ours", args.imgsz, args.runs)
        if args.peer:
            theirs += measure(args.peer, "ultralytics", args.imgsz, args.runs)
    print(f"yolo8:       {statistics.median(ours):.1f} ms per image (median of {len(ours)}, fused yolov8n, "
          f"{args.imgsz} px, batch 1, 2 threads)")
    if theirs:
        print(f"ultralytics: {statistics.median(theirs):.1f} ms per image (median of {len(theirs)})")
        print(f"{statistics.median(ours) / statistics.median(theirs):.3f}")
    else:
        print(f"{statistics.median(ours):.1f}")


if __name__ == "__main__":
    main()
