"""COCO bbox AP of DetectionMetrics against pycocotools' COCOeval (the oracle) and hand-computed values."""

import contextlib
import io

import numpy as np
import pytest
import torch

from yolo8.metrics.detection import DetectionMetrics

coco_module = pytest.importorskip("pycocotools.coco")
cocoeval_module = pytest.importorskip("pycocotools.cocoeval")


def ltwh(box):
    return [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]


def pycocotools_eval(images, num_classes):
    """images: list of dicts (pred_boxes, pred_scores, pred_classes, gt_boxes, gt_classes, gt_iscrowd, image_id)."""
    gt_annotations, detections = [], []
    for image in images:
        for box, cls, crowd in zip(image["gt_boxes"], image["gt_classes"], image["gt_iscrowd"]):
            width, height = box[2] - box[0], box[3] - box[1]
            gt_annotations.append(dict(id=len(gt_annotations) + 1, image_id=image["image_id"], category_id=int(cls),
                                       bbox=ltwh(box), area=float(width * height), iscrowd=int(crowd)))
        for box, score, cls in zip(image["pred_boxes"], image["pred_scores"], image["pred_classes"]):
            detections.append(dict(image_id=image["image_id"], category_id=int(cls), bbox=ltwh(box), score=float(score)))
    ground_truth = coco_module.COCO()
    ground_truth.dataset = dict(images=[dict(id=image["image_id"]) for image in images], annotations=gt_annotations,
                                categories=[dict(id=k) for k in range(num_classes)])
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth.createIndex()
        evaluator = cocoeval_module.COCOeval(ground_truth, ground_truth.loadRes(detections), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def ours(images, num_classes, as_torch=False):
    metrics = DetectionMetrics(num_classes, {k: str(k) for k in range(num_classes)})
    convert = torch.as_tensor if as_torch else np.asarray
    for image in images:
        metrics.update(*(convert(image[key]) for key in ("pred_boxes", "pred_scores", "pred_classes", "gt_boxes",
                                                         "gt_classes", "gt_iscrowd")), image_id=image["image_id"])
    return metrics.compute()


def assert_agrees(images, num_classes, as_torch=False):
    reference = pycocotools_eval(images, num_classes)
    summary = ours(images, num_classes, as_torch)
    np.testing.assert_allclose(twelve_stats(summary), reference.stats, atol=1e-4)
    # The whole precision table (T, R, K, A) at maxDets 100, not only its means.
    np.testing.assert_allclose(summary.coco_precision, reference.eval["precision"][..., -1], atol=1e-9)
    return summary, reference


def twelve_stats(summary):
    """COCOeval.stats order: AP, AP50, AP75, AP small / medium / large, AR1, AR10, AR100, AR small / medium / large."""
    return [summary.map, summary.map50, summary.map75, summary.map_small, summary.map_medium, summary.map_large,
            summary.ar1, summary.ar10, summary.ar100, summary.ar_small, summary.ar_medium, summary.ar_large]


def assert_recall_table_agrees(images, num_classes):
    """The whole recall table per detection limit: ours (M, T, K, A) against COCOeval's (T, K, A, M)."""
    reference = pycocotools_eval(images, num_classes)
    metrics = DetectionMetrics(num_classes, {k: str(k) for k in range(num_classes)})
    for image in images:
        metrics.update(*(image[key] for key in ("pred_boxes", "pred_scores", "pred_classes", "gt_boxes",
                                                "gt_classes", "gt_iscrowd")), image_id=image["image_id"])
    tables = metrics.coco_tables()
    assert tables.max_dets_values == (1, 10, 100)
    np.testing.assert_allclose(tables.recall_at_max_dets, reference.eval["recall"].transpose(3, 0, 1, 2), atol=1e-12)
    np.testing.assert_array_equal(tables.recall_at_max_dets[-1], tables.recall)


def random_boxes(rng, count, size_range=(2.0, 200.0), canvas=300.0):
    corner = rng.uniform(0, canvas, (count, 2))
    size = np.exp(rng.uniform(np.log(size_range[0]), np.log(size_range[1]), (count, 2)))
    return np.concatenate([corner, corner + size], axis=1)


def random_image(rng, image_id, num_classes, max_gt, max_dets, crowd_rate=0.1, score_decimals=2):
    num_gt = int(rng.integers(0, max_gt + 1))
    gt_boxes = random_boxes(rng, num_gt)
    gt_classes = rng.integers(0, num_classes, num_gt)
    num_dets = int(rng.integers(0, max_dets + 1))
    source = rng.integers(0, max(num_gt, 1), num_dets)
    from_gt = (rng.random(num_dets) < 0.7) & (num_gt > 0)
    jittered = gt_boxes[source] + rng.normal(0, 5, (num_dets, 4)) if num_gt else np.zeros((num_dets, 4))
    pred_boxes = np.where(from_gt[:, None], jittered, random_boxes(rng, num_dets))
    pred_boxes[:, 2:] = np.maximum(pred_boxes[:, 2:], pred_boxes[:, :2] + 0.5)
    pred_classes = np.where(from_gt, gt_classes[source] if num_gt else 0, rng.integers(0, num_classes, num_dets))
    return dict(pred_boxes=pred_boxes, pred_scores=np.round(rng.random(num_dets), score_decimals),
                pred_classes=pred_classes, gt_boxes=gt_boxes, gt_classes=gt_classes,
                gt_iscrowd=rng.random(num_gt) < crowd_rate, image_id=image_id)


@pytest.mark.parametrize("seed", range(30))
def test_random_cases_match_pycocotools(seed):
    rng = np.random.default_rng(seed)
    num_classes = int(rng.integers(1, 6))
    max_dets = int(rng.choice([3, 30, 160]))  # 160 exceeds maxDets=100 in a single (image, class)
    images = [random_image(rng, image_id, num_classes, 6, max_dets, score_decimals=int(rng.choice([1, 2, 6])))
              for image_id in range(int(rng.integers(1, 10)))]
    if sum(len(image["pred_scores"]) for image in images) == 0:  # loadRes cannot take an empty list
        images[0] = random_image(rng, 0, num_classes, 6, 5)
        images[0]["pred_boxes"], images[0]["pred_scores"] = random_boxes(rng, 1), np.array([0.5])
        images[0]["pred_classes"] = np.array([0])
    assert_agrees(images, num_classes, as_torch=seed % 2 == 0)
    if seed % 5 == 0:
        assert_recall_table_agrees(images, num_classes)


def image(pred_boxes, pred_scores, pred_classes, gt_boxes, gt_classes, gt_iscrowd=None, image_id=0):
    gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    return dict(pred_boxes=np.asarray(pred_boxes, np.float64).reshape(-1, 4), pred_scores=np.asarray(pred_scores, float),
                pred_classes=np.asarray(pred_classes, int), gt_boxes=gt_boxes, gt_classes=np.asarray(gt_classes, int),
                gt_iscrowd=np.zeros(len(gt_boxes), bool) if gt_iscrowd is None else np.asarray(gt_iscrowd, bool),
                image_id=image_id)


def test_crafted_edge_cases_match_pycocotools():
    rng = np.random.default_rng(123)
    big = [0, 0, 400, 400]
    images = [
        image([], [], [], [], [], image_id=5),  # empty image
        image([], [], [], [[10, 10, 50, 50], [60, 60, 70, 70]], [0, 1], image_id=3),  # gts, no detections
        image([[10, 10, 50, 50]], [0.9], [2], [], [], image_id=7),  # detections, no gt (class 2 never labelled)
        # Duplicated gts and detections, tied scores, integer boxes with IoU exactly 0.5 and 0.75.
        image([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 5], [0, 0, 75, 10], [0, 0, 75, 10]],
              [0.5, 0.5, 0.5, 0.7, 0.7], [0, 0, 0, 1, 1],
              [[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 100, 10]], [0, 0, 1], image_id=1),
        # A crowd region absorbing many detections, plus a normal gt inside it.
        image(np.concatenate([random_boxes(rng, 20, (5, 60), 300), [[100, 100, 140, 140]]]),
              np.concatenate([rng.random(20), [0.55]]), [3] * 21,
              [big, [100, 100, 140, 140]], [3, 3], [True, False], image_id=2),
        # Areas exactly at the range borders (32² and 96²), tiny and large boxes.
        image([[0, 0, 32, 32], [100, 100, 196, 196], [0, 0, 2, 2], [0, 0, 300, 300]], [0.3, 0.6, 0.2, 0.8], [1, 1, 1, 1],
              [[0, 0, 32, 32], [100, 100, 196, 196], [0, 0, 2, 3], [0, 0, 290, 300]], [1, 1, 1, 1], image_id=4),
        # Equal scores across images are broken by image id order.
        image([[0, 0, 20, 20]], [0.5], [4], [[0, 0, 20, 20]], [4], image_id=0),
        image([[50, 50, 90, 90]], [0.5], [4], [[0, 0, 20, 20]], [4], image_id=6),
    ]
    summary, reference = assert_agrees(images, num_classes=6)
    assert_recall_table_agrees(images, num_classes=6)
    assert summary.ap_per_class[5] != summary.ap_per_class[5]  # class 5: no gt and no detections -> NaN
    assert reference.eval["precision"][0, 0, 5, 0, -1] == -1


def test_more_than_max_dets_drops_low_scored_true_positive():
    false_positives = [[200 + i, 200, 210 + i, 210] for i in range(100)]
    images = [image(false_positives + [[0, 0, 10, 10]], [0.9] * 100 + [0.1], [0] * 101, [[0, 0, 10, 10]], [0])]
    summary, _ = assert_agrees(images, num_classes=1)
    assert summary.map == 0.0


def test_one_perfect_detection_scores_one():
    summary = ours([image([[5, 5, 50, 60]], [0.8], [0], [[5, 5, 50, 60]], [0])], num_classes=1)
    # COCO divides by (tp + fp + machine epsilon), so a perfect score is 1 - 2.2e-16.
    values = (summary.map, summary.map50, summary.map75, summary.map_medium)
    assert values == pytest.approx((1.0, 1.0, 1.0, 1.0), abs=1e-12)
    assert summary.map_small == -1.0 and summary.map_large == -1.0


def test_detection_at_iou_072_matches_five_of_ten_thresholds():
    summary = ours([image([[0, 0, 100, 72]], [0.8], [0], [[0, 0, 100, 100]], [0])], num_classes=1)
    assert summary.map50 == pytest.approx(1.0, abs=1e-12) and summary.map75 == 0.0
    assert summary.map == pytest.approx(0.5, abs=1e-12)
    np.testing.assert_allclose(summary.coco_precision[:, :, 0, 0].mean(axis=1), [1] * 5 + [0] * 5, atol=1e-12)


def test_higher_scored_false_positive_halves_precision():
    summary = ours([image([[50, 50, 60, 60], [0, 0, 10, 10]], [0.9, 0.8], [0, 0], [[0, 0, 10, 10]], [0])], 1)
    assert summary.map50 == pytest.approx(0.5, abs=1e-12)


def test_crowd_only_class_is_excluded_and_its_detections_ignored():
    crowd_only = image([[0, 0, 10, 10], [2, 2, 8, 8]], [0.9, 0.8], [0, 0], [[0, 0, 100, 100]], [0], [True])
    summary = ours([crowd_only], 1)
    assert summary.map == 0.0 and summary.fitness == 0.0  # no counted label: YOLOv8's 0, not COCO's -1
    assert summary.map_small == -1.0 and summary.ar100 == -1.0
    labelled = image([[0, 0, 10, 10], [200, 200, 220, 220]], [0.9, 0.8], [0, 0],
                     [[0, 0, 100, 100], [200, 200, 220, 220]], [0, 0], [True, False])
    assert ours([labelled], 1).map == pytest.approx(1.0, abs=1e-12)  # the detection inside the crowd is neither TP nor FP


def test_average_recall_by_detection_limit_hand_computed():
    # Two ground truths of class 0 (medium, 40x40). Detections by score: a miss, one exact hit, eleven
    # misses, then the second exact hit (rank 13). AR1 = 0 (the top detection misses), AR10 = 1/2
    # (first hit at rank 1), AR100 = 1 (second hit at rank 13 < 100).
    truths = [[0, 0, 40, 40], [100, 100, 140, 140]]
    misses = [[200 + 3 * i, 200, 240 + 3 * i, 240] for i in range(12)]
    boxes = [misses[0], truths[0]] + misses[1:] + [truths[1]]
    scores = np.linspace(0.99, 0.5, len(boxes))
    images = [image(boxes, scores, [0] * len(boxes), truths, [0, 0])]
    summary, _ = assert_agrees(images, num_classes=1)
    assert (summary.ar1, summary.ar10, summary.ar100) == (0.0, 0.5, 1.0)
    assert (summary.ar_small, summary.ar_medium, summary.ar_large) == (-1.0, 1.0, -1.0)
    assert summary.as_dict()["ar10"] == 0.5


def test_average_recall_averages_over_thresholds_and_classes():
    # Class 0: one detection at IoU 0.72 (found at thresholds 0.50..0.70: 5 of 10) -> 0.5.
    # Class 1: two ground truths, one found exactly -> 0.5 at every threshold; class 2 has no ground truth.
    images = [image([[0, 0, 100, 72], [300, 300, 340, 340], [500, 500, 510, 510]], [0.9, 0.8, 0.7], [0, 1, 2],
                    [[0, 0, 100, 100], [300, 300, 340, 340], [400, 0, 410, 10]], [0, 1, 1])]
    summary, _ = assert_agrees(images, num_classes=3)
    assert summary.ar100 == pytest.approx(0.5, abs=1e-12) and summary.ar1 == pytest.approx(0.5, abs=1e-12)
    # small: only class 1's 10x10 ground truth (missed) -> 0; medium: class 1's found 40x40 -> 1; large: class 0 -> 0.5.
    assert (summary.ar_small, summary.ar_medium) == (0.0, 1.0)
    assert summary.ar_large == pytest.approx(0.5, abs=1e-12)


def test_validator_table_prints_average_recall_line():
    from yolo8.tasks.detect import format_table

    truths = [[0, 0, 40, 40], [100, 100, 140, 140]]
    boxes = [[200, 200, 240, 240], truths[0], truths[1]]
    summary = ours([image(boxes, [0.9, 0.8, 0.7], [0, 0, 0], truths, [0, 0])], num_classes=1)
    lines = format_table(summary, per_class=True).splitlines()
    assert lines[-1] == "COCO AR1 0.0000  AR10 1.0000  AR100 1.0000  small -1.0000  medium 1.0000  large -1.0000"
    assert lines[-2].startswith("COCO mAP50-95 ")
