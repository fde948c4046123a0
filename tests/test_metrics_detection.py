"""DetectionSummary fields beyond COCO AP: YOLO-style P/R/F1, per-class arrays, curves, input handling."""

import numpy as np
import pytest
import torch

from yolo8.metrics.ap import box_smooth, confidence_curves, interpolated_precision
from yolo8.metrics.detection import DetectionMetrics


def three_detection_image(metrics):
    """Class 0: two gts; detections TP 0.9, FP 0.8, TP 0.3. Class 1: one gt, no detections."""
    metrics.update(
        pred_boxes=[[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]], pred_scores=[0.9, 0.8, 0.3],
        pred_classes=[0, 0, 0], gt_boxes=[[0, 0, 10, 10], [20, 20, 30, 30], [100, 100, 150, 150]],
        gt_classes=[0, 0, 1],
    )


def test_precision_recall_at_best_mean_f1():
    metrics = DetectionMetrics(3, {0: "a", 1: "b", 2: "c"}, f1_smoothing=0.0)
    three_detection_image(metrics)
    summary = metrics.compute()
    # Class 0, F1 by confidence: (0.9, 1] -> 0; (0.8, 0.9] -> P 1, R 1/2; (0.3, 0.8] -> 1/2, 1/2; [0, 0.3] -> 2/3, 1.
    # Class 1 has recall 0 everywhere, so the mean F1 peaks (first) at confidence 0.
    assert summary.best_confidence == 0.0
    np.testing.assert_allclose(summary.precision_per_class[:2], [2 / 3, 1.0])  # no detection: precision 1
    np.testing.assert_allclose(summary.recall_per_class[:2], [1.0, 0.0])
    assert np.isnan(summary.precision_per_class[2])
    assert summary.precision == pytest.approx((2 / 3 + 1) / 2) and summary.recall == pytest.approx(0.5)
    np.testing.assert_array_equal(summary.curve_classes, [0, 1])
    grid = summary.confidence_points
    row = summary.f1_curve[0]
    np.testing.assert_allclose(row[grid <= 0.3], 0.8, rtol=1e-12)
    np.testing.assert_allclose(row[(grid > 0.3) & (grid <= 0.8)], 0.5, rtol=1e-12)
    np.testing.assert_allclose(row[(grid > 0.8) & (grid <= 0.9)], 2 / 3, rtol=1e-12)
    np.testing.assert_allclose(row[grid > 0.9], 0.0)
    # PR curve (interpolated precision) of class 0: 1 up to recall 1/2, then 2/3.
    recall = summary.recall_points
    np.testing.assert_allclose(summary.pr_curve[0][recall <= 0.5], 1.0, atol=1e-12)
    np.testing.assert_allclose(summary.pr_curve[0][recall > 0.5], 2 / 3, atol=1e-12)


def test_per_class_arrays_maps_fill_and_fitness():
    metrics = DetectionMetrics(3, {0: "a", 1: "b", 2: "c"})
    three_detection_image(metrics)
    summary = metrics.compute()
    # Class 0 AP (IoU-independent: exact boxes) = 101-point mean of 1 (r <= .5) and 2/3 (r > .5).
    class0 = (51 * 1 + 50 * 2 / 3) / 101
    np.testing.assert_allclose(summary.ap_per_class[:2], [class0, 0.0], atol=1e-12)
    np.testing.assert_allclose(summary.ap50_per_class[:2], [class0, 0.0], atol=1e-12)
    assert np.isnan(summary.ap_per_class[2]) and np.isnan(summary.ap50_per_class[2])
    assert summary.map == pytest.approx(class0 / 2, abs=1e-12)
    np.testing.assert_allclose(summary.maps, [class0, 0.0, summary.map], atol=1e-12)  # unlabelled class -> map
    assert summary.fitness == pytest.approx(0.1 * summary.map50 + 0.9 * summary.map)
    np.testing.assert_array_equal(summary.instances_per_class, [2, 1, 0])
    np.testing.assert_array_equal(summary.images_per_class, [1, 1, 0])
    assert summary.num_images == 1 and summary.names[1] == "b"
    assert set(summary.as_dict()) >= {"precision", "recall", "map50", "map", "fitness"}


def test_yolov8_attribute_names_read_the_classes_with_labels():
    metrics = DetectionMetrics(3, {0: "a", 1: "b", 2: "c"}, f1_smoothing=0.0)
    three_detection_image(metrics)
    summary = metrics.compute()
    class0 = (51 * 1 + 50 * 2 / 3) / 101  # exact boxes: the same AP at every IoU threshold
    assert summary.mp == summary.precision and summary.mr == summary.recall
    np.testing.assert_array_equal(summary.ap_class_index, [0, 1])  # class 2 has no labels
    np.testing.assert_allclose(summary.p, [2 / 3, 1.0])
    np.testing.assert_allclose(summary.r, [1.0, 0.0])
    np.testing.assert_allclose(summary.ap50, [class0, 0.0], atol=1e-12)
    np.testing.assert_allclose(summary.ap, [class0, 0.0], atol=1e-12)
    assert summary.all_ap.shape == (2, 10)
    np.testing.assert_allclose(summary.all_ap[0], class0, atol=1e-12)
    np.testing.assert_allclose(summary.all_ap.mean(axis=1), summary.ap, atol=1e-12)


def test_torch_numpy_and_update_order_agree():
    rng = np.random.default_rng(0)
    images = []
    for _ in range(6):
        gt = rng.uniform(0, 100, (5, 2))
        gt_boxes = np.concatenate([gt, gt + rng.uniform(5, 60, (5, 2))], axis=1)
        pred_boxes = np.concatenate([gt_boxes + rng.normal(0, 3, (5, 4)), gt_boxes[:3] + 40])
        images.append((pred_boxes, rng.random(8), rng.integers(0, 2, 8), gt_boxes, rng.integers(0, 2, 5)))
    as_numpy, as_torch, reversed_order = (DetectionMetrics(2, {0: "a", 1: "b"}) for _ in range(3))
    for image_id, image in enumerate(images):
        as_numpy.update(*image, image_id=image_id)
        as_torch.update(*(torch.as_tensor(part, dtype=torch.float32 if part.dtype.kind == "f" else None)
                          for part in image), image_id=image_id)
    for image_id in reversed(range(len(images))):
        reversed_order.update(*images[image_id], image_id=image_id)
    a, b, c = as_numpy.compute(), as_torch.compute(), reversed_order.compute()
    assert a.map == c.map and a.precision == c.precision
    np.testing.assert_array_equal(a.coco_precision, c.coco_precision)
    assert a.map == pytest.approx(b.map, abs=1e-6)  # float32 boxes round slightly differently
    assert 0 < a.map < 1


def test_empty_metrics_and_images_without_anything():
    metrics = DetectionMetrics(2, {0: "a", 1: "b"})
    assert metrics.compute().map == 0.0
    metrics.update(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0), torch.zeros(0, 4), torch.zeros(0))
    summary = metrics.compute()
    # without labels the headline mAPs are 0 as in YOLOv8; the area and recall breakdowns stay COCO's -1
    assert (summary.map, summary.map50, summary.map75) == (0.0, 0.0, 0.0)
    assert summary.map_small == -1.0 and summary.ar100 == -1.0
    assert summary.fitness == 0.0 and summary.precision == 0.0
    np.testing.assert_array_equal(summary.maps, [0.0, 0.0])
    assert summary.precision_curve.shape == (0, 1000) and len(metrics) == 1
    metrics.reset()
    assert len(metrics) == 0


def test_update_rejects_bad_inputs_with_named_fields():
    metrics = DetectionMetrics(2, {0: "a", 1: "b"})
    with pytest.raises(ValueError, match="pred_classes"):
        metrics.update([[0, 0, 1, 1]], [0.5], [2], [], [])
    with pytest.raises(ValueError, match="pred_boxes"):
        metrics.update([[0, 0, 1]], [0.5], [0], [], [])
    with pytest.raises(ValueError, match="gt_iscrowd"):
        metrics.update([], [], [], [[0, 0, 1, 1]], [0], gt_iscrowd=[True, False])


def test_interpolated_precision_envelope_and_unreached_recall():
    true_positive = np.array([[False, True, False, True]])
    precision, recall = interpolated_precision(true_positive, ~true_positive, 4, np.array([0.0, 0.25, 0.5, 0.75]))
    # precision after each detection: 0, 1/2, 1/3, 1/2 -> envelope 1/2 everywhere; recall reaches 1/2 only.
    np.testing.assert_allclose(precision, [[0.5, 0.5, 0.5, 0.0]], atol=1e-12)
    assert recall[0] == 0.5


def test_confidence_curves_and_smoothing():
    precision, recall = confidence_curves(np.array([0.9, 0.5]), np.array([True, False]), 2, np.array([0.0, 0.5, 0.6, 1.0]))
    np.testing.assert_allclose(precision, [0.5, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(recall, [0.5, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(box_smooth(np.array([0.0, 0, 3, 0, 0]), 0.6), [0, 1, 1, 1, 0])


def test_unsortable_image_ids_are_reported():
    metrics = DetectionMetrics(1, {0: "a"})
    metrics.update([], [], [], [[0, 0, 5, 5]], [0], image_id=1)
    metrics.update([], [], [], [[0, 0, 5, 5]], [0], image_id="b")
    with pytest.raises(ValueError, match="image_id"):
        metrics.compute()
