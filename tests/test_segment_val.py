"""Segmentation validation: polygon rasterisation, mask AP against pycocotools' COCOeval (segm), the
validator end to end with a stub segmenter that reproduces the ground-truth masks, the fixture
YOLOv8n-seg checkpoint and the CLI."""

import contextlib
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from yolo8.config import Config
from yolo8.metrics.segmentation import MaskMetrics, mask_iou, polygon_to_mask, polygons_to_masks

mask_api = pytest.importorskip("pycocotools.mask")
coco_module = pytest.importorskip("pycocotools.coco")
cocoeval_module = pytest.importorskip("pycocotools.cocoeval")

FIXTURES = Path(__file__).parent / "fixtures"
SEG_CHECKPOINT = FIXTURES / "ul_yolov8n-seg_rand.pt"


def encode(mask):
    rle = mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def cocoeval_segm(images, num_classes):
    """images: dicts with pred_masks (N, H, W), pred_scores, pred_classes, gt_masks (M, H, W), gt_classes, image_id."""
    annotations, results = [], []
    for image in images:
        for mask, cls in zip(image["gt_masks"], image["gt_classes"]):
            annotations.append(dict(id=len(annotations) + 1, image_id=image["image_id"], category_id=int(cls),
                                    segmentation=encode(mask), area=float(mask.sum()), iscrowd=0,
                                    bbox=[0.0, 0.0, 1.0, 1.0]))
        for mask, score, cls in zip(image["pred_masks"], image["pred_scores"], image["pred_classes"]):
            results.append(dict(image_id=image["image_id"], category_id=int(cls), segmentation=encode(mask),
                                score=float(score)))
    height, width = images[0]["gt_masks"].shape[1:]
    truth = coco_module.COCO()
    truth.dataset = dict(images=[dict(id=image["image_id"], height=height, width=width) for image in images],
                         annotations=annotations, categories=[dict(id=k) for k in range(num_classes)])
    with contextlib.redirect_stdout(io.StringIO()):
        truth.createIndex()
        evaluator = cocoeval_module.COCOeval(truth, truth.loadRes(results), "segm")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def random_blob(rng, height, width):
    """A random polygon's mask, sometimes an ellipse: small and medium COCO areas."""
    if rng.random() < 0.3:
        mask = np.zeros((height, width), np.uint8)
        centre = tuple(int(v) for v in rng.integers(4, (width - 4, height - 4)))
        axes = tuple(int(v) for v in rng.integers(2, 30, 2))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        return mask.astype(bool)
    count = int(rng.integers(3, 8))
    centre = rng.uniform((4, 4), (width - 4, height - 4))
    angles = np.sort(rng.uniform(0, 2 * np.pi, count))
    radius = rng.uniform(1, 30, count)
    points = np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], 1)
    return polygon_to_mask(points, height, width)


def perturbed(rng, mask):
    """A prediction near ``mask``: shifted by up to 2 pixels and grown or shrunk a little."""
    shifted = np.roll(mask, tuple(int(v) for v in rng.integers(-2, 3, 2)), axis=(0, 1))
    kernel = np.ones((3, 3), np.uint8)
    operation = rng.integers(3)
    if operation == 1:
        shifted = cv2.dilate(shifted.astype(np.uint8), kernel).astype(bool)
    elif operation == 2:
        shifted = cv2.erode(shifted.astype(np.uint8), kernel).astype(bool)
    return shifted


def random_case(seed, num_images=4, num_classes=3, height=96, width=128):
    rng = np.random.default_rng(seed)
    images = []
    for image_id in range(num_images):
        gt_count = int(rng.integers(0, 6))
        gt_masks = np.stack([random_blob(rng, height, width) for _ in range(gt_count)]) if gt_count else \
            np.zeros((0, height, width), bool)
        gt_masks = gt_masks[gt_masks.reshape(len(gt_masks), height * width).any(1)]
        gt_classes = rng.integers(0, num_classes, len(gt_masks))
        preds, classes = [], []
        for mask, cls in zip(gt_masks, gt_classes):
            for _ in range(int(rng.integers(0, 3))):
                preds.append(perturbed(rng, mask))
                classes.append(cls if rng.random() < 0.8 else rng.integers(num_classes))
        for _ in range(int(rng.integers(0, 4))):  # false positives
            preds.append(random_blob(rng, height, width))
            classes.append(rng.integers(num_classes))
        keep = [i for i, mask in enumerate(preds) if mask.any()]  # COCO results need a non-empty mask
        pred_masks = np.stack([preds[i] for i in keep]) if keep else np.zeros((0, height, width), bool)
        scores = np.round(rng.uniform(0.05, 1.0, len(keep)), 2)  # rounded: some equal scores
        images.append(dict(pred_masks=pred_masks, pred_scores=scores,
                           pred_classes=np.array([classes[i] for i in keep], np.int64),
                           gt_masks=gt_masks, gt_classes=gt_classes, image_id=image_id + 1))
    return images


def ours(images, num_classes):
    metrics = MaskMetrics(num_classes, {k: str(k) for k in range(num_classes)})
    for image in images:
        pred, truth = torch.from_numpy(image["pred_masks"]), torch.from_numpy(image["gt_masks"])
        metrics.update(mask_iou(pred, truth), pred.flatten(1).sum(1), image["pred_scores"], image["pred_classes"],
                       truth.flatten(1).sum(1), image["gt_classes"], image_id=image["image_id"])
    return metrics


def test_polygon_rasterisation_takes_pixel_centres():
    square = polygon_to_mask(np.array([[2, 3], [6, 3], [6, 8], [2, 8]]), 10, 10)
    expected = np.zeros((10, 10), bool)
    expected[3:8, 2:6] = True
    np.testing.assert_array_equal(square, expected)
    shifted = polygon_to_mask(np.array([[2.6, 3.4], [6.6, 3.4], [6.6, 8.4], [2.6, 8.4]]), 10, 10)
    np.testing.assert_array_equal(shifted, np.roll(expected, 1, axis=1))  # centres 3.5 .. 6.5 inside
    triangle = polygon_to_mask(np.array([[0, 0], [4, 0], [0, 4]]), 4, 4)
    # centre (c + .5, r + .5) inside when c + r + 1 < 4; centres on the hypotenuse are on a right edge: out
    np.testing.assert_array_equal(triangle, np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], bool))
    clipped = polygons_to_masks([np.array([[-5.0, -5.0], [3.0, -5.0], [3.0, 2.0], [-5.0, 2.0]])], 4, 4)
    assert clipped.shape == (1, 4, 4) and clipped.sum() == 6


def test_polygon_rasterisation_close_to_pycocotools():
    rng = np.random.default_rng(1)
    differing = total = 0
    for _ in range(40):
        count = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0, 2 * np.pi, count))
        radius = rng.uniform(3, 12, count)
        points = np.stack([25 + radius * np.cos(angles), 20 + radius * np.sin(angles)], 1)
        mask = polygon_to_mask(points, 40, 50)
        reference = mask_api.decode(mask_api.frPyObjects([points.ravel().tolist()], 40, 50))[:, :, 0].astype(bool)
        differing += int((mask != reference).sum())
        total += int(reference.sum())
    assert differing / total < 0.04  # boundary pixels only: COCO scan-converts at 5x and rounds


def test_mask_iou_matrix():
    a = torch.zeros(2, 4, 4, dtype=torch.bool)
    a[0, :2, :2] = True  # 4 pixels
    b = torch.zeros(3, 4, 4, dtype=torch.bool)
    b[0, :2, :] = True  # 8 pixels, 4 shared with a[0]
    b[1] = True
    iou = mask_iou(a, b)
    assert iou.dtype == torch.float64 and iou.shape == (2, 3)
    np.testing.assert_allclose(iou.numpy(), [[0.5, 0.25, 0.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("seed", range(6))
def test_mask_ap_equals_cocoeval_segm(seed):
    images = random_case(seed)
    evaluator = cocoeval_segm(images, 3)
    summary = ours(images, 3).compute()
    expected = evaluator.stats
    got = [summary.map, summary.map50, summary.map75, summary.map_small, summary.map_medium, summary.map_large]
    np.testing.assert_allclose(got, expected[:6], atol=1e-4)
    precision = evaluator.eval["precision"][:, :, :, :, 2]  # (T, R, K, A) at maxDets 100
    np.testing.assert_allclose(summary.coco_precision, precision, atol=1e-4)
