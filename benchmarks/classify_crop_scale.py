"""The area range of the classification training crop as a function of ``scale``, ours and (with --peer) the
incumbent's, measured as a black box on a coordinate-coded image.

    PYTHONPATH=. python benchmarks/classify_crop_scale.py [--peer /path/to/ultralytics/venv/bin/python]
        [--scales 0.2,0.5,0.9] [--samples 400]

The image is 512 x 512 with red = x / 2 and green = y / 2, so the range of red and green values in a training
sample says which part of the image it shows: area = (red range / 256) x (green range / 256). Everything else
(flip, colour, auto-augment, erasing) is switched off. Ours samples :class:`ClassificationAugment`; the incumbent
trains for zero steps on a folder of that image and samples its training dataset in ``on_train_start``.
Prints per scale the 1st-percentile and the largest area for each side; the last line is the figure alone:
our 1st-percentile area at the last scale.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def coordinate_image() -> np.ndarray:
    levels = (np.arange(512) // 2).astype(np.uint8)
    image = np.zeros((512, 512, 3), np.uint8)
    image[..., 2], image[..., 1] = levels[None, :], levels[:, None]  # BGR: red = x, green = y
    return image


def areas_of(samples) -> list[float]:
    """RGB samples (3, H, W), values in [0, 1] or [0, 255] -> the area fraction each shows."""
    areas = []
    for sample in samples:
        sample = np.asarray(sample, np.float64)
        unit = 255.0 if sample.max() > 1.5 else 1.0
        red, green = sample[0] * 255 / unit, sample[1] * 255 / unit
        areas.append((red.max() - red.min() + 1) / 256 * (green.max() - green.min() + 1) / 256)
    return areas


def ours(scale: float, samples: int) -> list[float]:
    import torch

    from yolo8.data.transforms.classify import ClassificationAugment

    torch.manual_seed(0)
    augment = ClassificationAugment(128, scale=scale, fliplr=0, hsv_h=0, hsv_s=0, hsv_v=0, auto_augment=None,
                                    erasing=0)
    rng, image = np.random.default_rng(0), coordinate_image()
    return areas_of(augment(image, rng).numpy() for _ in range(samples))


def peer(scale: float, samples: int, folder: str) -> list[float]:
    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics import YOLO

    found = []

    def grab(trainer):
        dataset = trainer.train_loader.dataset
        found.extend(areas_of(dataset[k % len(dataset)]["img"].float().numpy() for k in range(samples)))
        raise KeyboardInterrupt  # sampled: no need to train

    model = YOLO("yolov8n-cls.yaml")
    model.add_callback("on_train_start", grab)
    try:
        model.train(data=folder, epochs=1, imgsz=128, batch=8, workers=0, scale=scale, fliplr=0.0, hsv_h=0, hsv_s=0,
                    hsv_v=0, erasing=0.0, auto_augment=None, plots=False, val=False, verbose=False,
                    project=str(Path(folder) / "runs"), exist_ok=True)
    except KeyboardInterrupt:
        pass
    return found


def write_folder(root: Path) -> None:
    import cv2

    for split in ("train", "val"):
        for name in ("a", "b"):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for index in range(2):
                cv2.imwrite(str(root / split / name / f"{index}.png"), coordinate_image())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer")
    parser.add_argument("--scales", default="0.2,0.5,0.9")
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scales = [float(value) for value in args.scales.split(",")]
    if args.worker:
        print(json.dumps({str(scale): peer(scale, args.samples, args.worker) for scale in scales}))
        return
    peer_areas = {}
    if args.peer:
        with tempfile.TemporaryDirectory() as folder:
            write_folder(Path(folder))
            command = [args.peer, str(Path(__file__).resolve()), "--worker", folder, "--scales", args.scales,
                       "--samples", str(args.samples)]
            completed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
            if completed.returncode:
                raise SystemExit(f"peer failed:\n{completed.stderr[-3000:]}")
            peer_areas = json.loads(completed.stdout.strip().splitlines()[-1])
    print(f"{'scale':>6}{'ours p1':>9}{'ours max':>9}" + (f"{'peer p1':>9}{'peer max':>9}" if args.peer else ""))
    low = None
    for scale in scales:
        areas = ours(scale, args.samples)
        low = float(np.percentile(areas, 1))
        row = f"{scale:>6.2f}{low:>9.3f}{max(areas):>9.3f}"
        if args.peer:
            theirs = peer_areas[str(scale)]
            row += f"{np.percentile(theirs, 1):>9.3f}{max(theirs):>9.3f}"
        print(row)
    print(f"{low:.3f}")


if __name__ == "__main__":
    sys.exit(main())
