"""Seconds to evaluate COCO bbox AP: ours (DetectionMetrics) against pycocotools' COCOeval.

    python benchmarks/eval.py [--images 5000] [--dets 100] [--seed 0]

Generates realistic random results: ~7 ground truths per 640-px image (Poisson), 80 classes, 1 % crowd;
100 detections per image, about three jittered copies of each ground truth (mostly the right class,
higher scores) and the rest random false positives. Times ours (the per-image ``update`` calls and
``compute``) and pycocotools (``evaluate`` + ``accumulate``; building the COCO objects is not
counted), checks that the six AP numbers agree, and prints both times (wall and process CPU) and the
ratio pycocotools / ours. The last line is the CPU-time ratio alone (steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from yolo8.metrics.detection import DetectionMetrics  # noqa: E402

NUM_CLASSES = 80
IMAGE_SIZE = 640.0


def make_image(rng, num_dets: int):
    """One image's (pred_boxes, pred_scores, pred_classes, gt_boxes, gt_classes, gt_iscrowd), xyxy pixels."""
    num_gt = max(int(rng.poisson(7)), 1)
    centre = rng.uniform(0, IMAGE_SIZE, (num_gt, 2))
    size = np.exp(rng.uniform(np.log(8), np.log(400), (num_gt, 2)))
    gt_boxes = np.clip(np.concatenate([centre - size / 2, centre + size / 2], axis=1), 0, IMAGE_SIZE)
    gt_classes = rng.integers(0, NUM_CLASSES, num_gt)
    crowd = rng.random(num_gt) < 0.01

    num_jittered = min(3 * num_gt, num_dets)
    source = rng.integers(0, num_gt, num_jittered)
    width_height = np.tile(gt_boxes[source, 2:] - gt_boxes[source, :2], 2)  # (J, 4)
    jittered = gt_boxes[source] + rng.normal(0, 0.08, (num_jittered, 4)) * width_height
    jittered_classes = np.where(rng.random(num_jittered) < 0.9, gt_classes[source],
                                rng.integers(0, NUM_CLASSES, num_jittered))
    num_random = num_dets - num_jittered
    centre = rng.uniform(0, IMAGE_SIZE, (num_random, 2))
    size = np.exp(rng.uniform(np.log(8), np.log(400), (num_random, 2)))
    random_boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    pred_boxes = np.clip(np.concatenate([jittered, random_boxes]), 0, IMAGE_SIZE)
    pred_boxes[:, 2:] = np.maximum(pred_boxes[:, 2:], pred_boxes[:, :2] + 1)
    pred_scores = np.concatenate([rng.uniform(0.3, 1.0, num_jittered), rng.uniform(0.001, 0.6, num_random)])
    pred_classes = np.concatenate([jittered_classes, rng.integers(0, NUM_CLASSES, num_random)])
    return pred_boxes, pred_scores.round(4), pred_classes, gt_boxes, gt_classes, crowd


def clocks():
    """(wall seconds, CPU seconds of this process): CPU time is steadier on a shared machine."""
    return np.array([time.perf_counter(), time.process_time()])


def time_ours(images):
    metrics = DetectionMetrics(NUM_CLASSES, {k: str(k) for k in range(NUM_CLASSES)})
    start = clocks()
    for image_id, image in enumerate(images):
        metrics.update(*image, image_id=image_id)
    updated = clocks()
    summary = metrics.compute()
    done = clocks()
    return summary, updated - start, done - updated


def time_pycocotools(images):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    annotations, detections = [], []
    for image_id, (pred_boxes, pred_scores, pred_classes, gt_boxes, gt_classes, crowd) in enumerate(images):
        for box, cls, is_crowd in zip(gt_boxes.tolist(), gt_classes.tolist(), crowd.tolist()):
            width, height = box[2] - box[0], box[3] - box[1]
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id, category_id=cls,
                                    bbox=[box[0], box[1], width, height], area=width * height, iscrowd=int(is_crowd)))
        for box, score, cls in zip(pred_boxes.tolist(), pred_scores.tolist(), pred_classes.tolist()):
            detections.append(dict(image_id=image_id, category_id=cls, score=score,
                                   bbox=[box[0], box[1], box[2] - box[0], box[3] - box[1]]))
    ground_truth = COCO()
    ground_truth.dataset = dict(images=[dict(id=i) for i in range(len(images))], annotations=annotations,
                                categories=[dict(id=k) for k in range(NUM_CLASSES)])
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth.createIndex()
        evaluator = COCOeval(ground_truth, ground_truth.loadRes(detections), "bbox")
        start = clocks()
        evaluator.evaluate()
        evaluator.accumulate()
        elapsed = clocks() - start
        evaluator.summarize()
    return evaluator.stats[:6], elapsed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--dets", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    images = [make_image(rng, args.dets) for _ in range(args.images)]
    print(f"{args.images} images, {sum(len(i[0]) for i in images)} detections, "
          f"{sum(len(i[3]) for i in images)} ground truths, {NUM_CLASSES} classes")

    summary, update_seconds, compute_seconds = time_ours(images)
    ours = np.array([summary.map, summary.map50, summary.map75, summary.map_small, summary.map_medium,
                     summary.map_large])
    total = update_seconds + compute_seconds
    print(f"ours: update {update_seconds[0]:.2f} s + compute {compute_seconds[0]:.2f} s = {total[0]:.2f} s wall, "
          f"{total[1]:.2f} s CPU   AP {np.round(ours, 4).tolist()}")
    reference, peer_seconds = time_pycocotools(images)
    print(f"pycocotools evaluate+accumulate: {peer_seconds[0]:.2f} s wall, {peer_seconds[1]:.2f} s CPU   "
          f"AP {np.round(reference, 4).tolist()}")
    print(f"max |AP difference|: {np.abs(ours - reference).max():.2e}")
    wall_ratio, cpu_ratio = peer_seconds / total
    print(f"speed-up (pycocotools / ours, ours including update): {wall_ratio:.1f}x wall, {cpu_ratio:.1f}x CPU")
    print(f"{cpu_ratio:.2f}")


if __name__ == "__main__":
    main()
