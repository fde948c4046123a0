"""Augmented training samples compared as distributions: ours against the incumbent's, black box.

    python benchmarks/augmentation_stats.py [--repeats 300] [--peer /work/ul_venv/bin/python]

Writes two small datasets: 8 plain-colour 64 px images with one centred box (colour statistics), and 8
images of different shapes and sizes with one box each (geometry through letterbox, warp and mosaic).
Each trainer's own training dataset then hands out ``repeats`` samples of every image, once without
mosaic and once with it (defaults otherwise), read from an ``on_train_start`` callback before any
training. The table gives, per side: the spread of the hue and the mean saturation and value at the
image centre (plain colours, single-image path), and boxes per sample, mean box width, the share of
thin boxes (shorter side under 4 px) and the mean pixel value (shapes, both paths).

Where the two columns differ by more than sampling noise, the augmentation differs. This is how the
hue was found to be shifted, not scaled, by the incumbent: a hue spread of 1.6 against our 0.5.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLOURS_BGR = [(40, 80, 200), (200, 120, 30), (60, 180, 90), (128, 128, 128), (10, 10, 240), (90, 30, 160),
               (30, 200, 200), (160, 40, 40)]
SHAPES = [(64, 40), (40, 64), (48, 32), (32, 48), (64, 64), (24, 64), (64, 24), (56, 56)]  # (height, width)

SAMPLER = r"""
import json, os, sys
import numpy as np
peer = sys.argv[1] == "peer"
jobs, repeats = json.loads(sys.argv[2]), int(sys.argv[3])  # jobs: [[data_yaml, mosaic, out_json], ...]
if peer:
    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics import YOLO
else:
    sys.path.insert(0, sys.argv[4])
    from yolo8 import YOLO

class Sampled(Exception):
    pass

def sampler(out):
    def sample(trainer):
        dataset, samples = trainer.train_loader.dataset, []
        for _ in range(repeats):
            for index in range(len(dataset)):
                item = dataset[index]
                image = np.asarray(item["img"] if peer else item.image)  # (3, H, W) uint8 RGB
                boxes = np.asarray(item["bboxes"] if peer else item.boxes).reshape(-1, 4)  # normalised xywh
                name = os.path.basename(item["im_file"] if peer else str(item.image_file))
                samples.append({"file": name, "centre": image[:, image.shape[1] // 2, image.shape[2] // 2].tolist(),
                                "mean": float(image.mean()), "size": image.shape[2], "boxes": boxes.tolist()})
        with open(out, "w") as file:
            json.dump(samples, file)
        raise Sampled
    return sample

for data, mosaic, out in jobs:  # one interpreter for all: start-up is most of a smoke run's time
    model = YOLO("yolov8n.yaml")
    model.add_callback("on_train_start", sampler(out))
    try:
        model.train(data=data, epochs=1, imgsz=64, batch=8, workers=0, device="cpu", mosaic=mosaic, plots=False,
                    project=os.path.dirname(out), name="run", exist_ok=True, **({"amp": False} if peer else {}))
    except Sampled:
        pass
"""


def write_dataset(root: Path, images: list[np.ndarray], boxes: list[tuple[float, float, float, float]]) -> Path:
    """A one-class YOLO dataset (train = val) of ``images`` with one normalised xywh box each; returns data.yaml."""
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for index, (image, box) in enumerate(zip(images, boxes)):
            cv2.imwrite(str(root / "images" / split / f"{index}.png"), image)
            (root / "labels" / split / f"{index}.txt").write_text("0 " + " ".join(f"{v:.6f}" for v in box) + "\n")
    data_yaml = root / "data.yaml"
    data_yaml.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: object\n")
    return data_yaml


def colour_dataset(root: Path) -> Path:
    images = [np.full((64, 64, 3), colour, np.uint8) for colour in COLOURS_BGR]
    return write_dataset(root, images, [(0.5, 0.5, 0.5, 0.5)] * len(images))


def shape_dataset(root: Path) -> Path:
    images = []
    for height, width in SHAPES:
        image = np.full((height, width, 3), 200, np.uint8)
        image[height // 4: height * 3 // 4, width // 4: width * 3 // 4] = (30, 60, 90)
        images.append(image)
    boxes = [((w // 4 + w * 3 // 4) / 2 / w, (h // 4 + h * 3 // 4) / 2 / h, (w * 3 // 4 - w // 4) / w,
              (h * 3 // 4 - h // 4) / h) for h, w in SHAPES]
    return write_dataset(root, images, boxes)


def draw_samples(python: str, side: str, jobs: list[tuple[Path, float, Path]], repeats: int) -> list[list[dict]]:
    """Samples of each job (data YAML, mosaic probability, output JSON) drawn by ``side``'s trainer in one
    ``python`` process; one list of samples per job."""
    repository = str(Path(__file__).resolve().parents[1])
    encoded = json.dumps([[str(data), mosaic, str(out)] for data, mosaic, out in jobs])
    finished = subprocess.run([python, "-c", SAMPLER, side, encoded, str(repeats), repository],
                              capture_output=True, text=True, check=False)
    missing = [out for _, _, out in jobs if not out.exists()]
    if finished.returncode or missing:
        raise RuntimeError(f"{side} sampler failed (exit {finished.returncode}, no {missing}):\n"
                           f"{finished.stderr[-2000:]}")
    return [json.loads(out.read_text()) for _, _, out in jobs]


def colour_statistics(samples: list[dict]) -> dict:
    """Hue spread (mean over colours of the std of OpenCV hue), mean saturation and value at the centre."""
    by_file: dict[str, list] = {}
    for sample in samples:
        by_file.setdefault(sample["file"], []).append(sample["centre"])
    spreads, saturations, values = [], [], []
    for centres in by_file.values():
        rgb = np.array(centres, np.uint8)[:, None, :]  # (N, 1, 3)
        hsv = cv2.cvtColor(np.ascontiguousarray(rgb[..., ::-1]), cv2.COLOR_BGR2HSV)[:, 0].astype(float)
        if hsv[:, 1].mean() > 20:  # grey has no hue to spread
            hue = np.unwrap(hsv[:, 0] * np.pi / 90) * 90 / np.pi  # hue wraps at 180
            spreads.append(hue.std())
        saturations.append(hsv[:, 1].mean())
        values.append(hsv[:, 2].mean())
    return {"hue spread": np.mean(spreads), "saturation mean": np.mean(saturations), "value mean": np.mean(values)}


def geometry_statistics(samples: list[dict]) -> dict:
    counts = np.array([len(sample["boxes"]) for sample in samples])
    boxes = np.array([box for sample in samples for box in sample["boxes"]]).reshape(-1, 4)
    size = samples[0]["size"]
    widths, heights = boxes[:, 2] * size, boxes[:, 3] * size
    return {"boxes per sample": counts.mean(), "box width px": widths.mean(),
            "thin boxes (<4 px) %": 100 * np.mean(np.minimum(widths, heights) < 4),
            "pixel mean": np.mean([sample["mean"] for sample in samples])}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=300, help="samples drawn per image and path")
    parser.add_argument("--peer", default=None, help="python of a venv with ultralytics installed")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="yolo8-augstats-"))
    colours, shapes = colour_dataset(folder / "colours"), shape_dataset(folder / "shapes")
    sides = [("yolo8", sys.executable, "ours")] + ([("incumbent", args.peer, "peer")] if args.peer else [])
    rows: dict[str, list[float]] = {}
    for label, python, side in sides:
        paths = (("single", 0.0), ("mosaic", 1.0))
        jobs = [(colours, 0.0, folder / f"{side}_colours.json"),
                *((shapes, mosaic, folder / f"{side}_{path}.json") for path, mosaic in paths)]
        single, *geometry = draw_samples(python, side, jobs, args.repeats)
        for name, value in colour_statistics(single).items():
            rows.setdefault(f"colour: {name}", []).append(value)
        for (path, _), samples in zip(paths, geometry):
            for name, value in geometry_statistics(samples).items():
                rows.setdefault(f"{path}: {name}", []).append(value)
    print(f"{len(COLOURS_BGR) * args.repeats} samples per path and side; files under {folder}")
    print(f"{'statistic':34s}" + "".join(f"{label:>12s}" for label, _, _ in sides))
    for name, values in rows.items():
        print(f"{name:34s}" + "".join(f"{value:12.3f}" for value in values))


if __name__ == "__main__":
    main()
