"""Sliced inference on small objects: mAP and time per image with and without slicing.

    python benchmarks/slice.py [--weights best.pt] [--epochs 30] [--pretrained yolov8n-builtin.pt|false]
                               [--train-images 64] [--val-images 16]
                               [--image-size 960] [--tile 320] [--overlap 0.2]

Builds the small-object dataset (:mod:`yolo8.data.synthetic.small_objects`: large images with shapes of 6-20 px;
training images are ``--tile`` px tiles, validation images whole), trains yolov8n on the tiles at ``imgsz=tile``
(from ``--pretrained``, by default the shipped built-in weights: the same shapes at another scale; unless
``--weights`` is given), then predicts every validation image three ways with ``conf=0.001``:

* whole image at ``imgsz=tile`` (objects shrink to 2-7 px: mostly missed),
* whole image at ``imgsz=image-size`` (full resolution, one large forward),
* sliced: ``slice=tile slice_overlap=overlap`` at ``imgsz=tile`` (tiles at the trained scale, plus the whole image),

and prints mAP50, mAP50-95 (yolo8's COCO-style evaluator) and milliseconds per image for each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPOSITORY = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, REPOSITORY)

from yolo8 import YOLO  # noqa: E402
from yolo8.checkpoints.load import shipped_weights  # noqa: E402
from yolo8.data.imageio import read_image  # noqa: E402
from yolo8.data.synthetic.small_objects import small_object_dataset  # noqa: E402
from yolo8.metrics.detection import DetectionMetrics  # noqa: E402


def ground_truth(label_file: Path, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """YOLO label rows -> (M, 4) xyxy pixels, (M,) classes."""
    rows = np.loadtxt(label_file, ndmin=2) if label_file.stat().st_size else np.zeros((0, 5))
    cx, cy, w, h = rows[:, 1] * width, rows[:, 2] * height, rows[:, 3] * width, rows[:, 4] * height
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1), rows[:, 0].astype(int)


def evaluate(model: YOLO, images: list[Path], names: dict, **settings) -> tuple[float, float, float]:
    metrics, elapsed = DetectionMetrics(len(names), names), 0.0
    model.predict(read_image(str(images[0])), verbose=False, **settings)  # warm-up
    for path in images:
        image = read_image(str(path))
        start = time.perf_counter()
        result = model.predict(image, verbose=False, conf=0.001, max_det=300, **settings)[0]
        elapsed += time.perf_counter() - start
        boxes, classes = ground_truth(path.parent.parent.parent / "labels" / "val" / f"{path.stem}.txt",
                                      *image.shape[:2])
        data = result.boxes.data.cpu().numpy()
        metrics.update(data[:, :4], data[:, 4], data[:, 5].astype(int), boxes, classes)
    summary = metrics.compute()
    return summary.map50, summary.map, 1e3 * elapsed / len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--pretrained", default="yolov8n-builtin.pt",
                        help="weights the tile training starts from (a path, a shipped name, or 'false': scratch)")
    parser.add_argument("--train-images", type=int, default=64)
    parser.add_argument("--val-images", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=960)
    parser.add_argument("--tile", type=int, default=320)
    parser.add_argument("--overlap", type=float, default=0.2)
    parser.add_argument("--project", default="runs/benchmarks/slice")
    args = parser.parse_args()
    data = small_object_dataset(train_images=args.train_images, val_images=args.val_images,
                                image_size=args.image_size, tile=args.tile)
    names = {int(k): v for k, v in yaml.safe_load(data.read_text())["names"].items()}
    if args.weights:
        model = YOLO(args.weights)
    else:
        model = YOLO("yolov8n.yaml")
        pretrained = False if args.pretrained.lower() == "false" else str(shipped_weights(args.pretrained) or
                                                                            args.pretrained)
        model.train(data=str(data), imgsz=args.tile, epochs=args.epochs, project=args.project, name="train",
                    exist_ok=True, plots=False, verbose=False, pretrained=pretrained)
    images = sorted((data.parent / "images" / "val").glob("*.png"))
    rows = {
        f"whole image, imgsz={args.tile}": evaluate(model, images, names, imgsz=args.tile),
        f"whole image, imgsz={args.image_size}": evaluate(model, images, names, imgsz=args.image_size),
        f"sliced {args.tile} px, overlap {args.overlap}, imgsz={args.tile}":
            evaluate(model, images, names, imgsz=args.tile, slice=[args.tile], slice_overlap=args.overlap),
    }
    print(f"{'':44s} {'mAP50':>7s} {'mAP50-95':>9s} {'ms/image':>9s}")
    for name, (map50, map_, ms) in rows.items():
        print(f"{name:44s} {map50:7.3f} {map_:9.3f} {ms:9.1f}")


if __name__ == "__main__":
    main()
