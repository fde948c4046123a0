"""Results / Boxes / Masks / Probs views, saving round trips, JSON, and the drawing they use."""

import json

import cv2
import numpy as np
import pytest
import torch

from yolo8.plotting import (
    PALETTE_BGR,
    class_colour,
    default_line_width,
    draw_detections,
    draw_masks,
    draw_text_lines,
    text_colour_for,
)
from yolo8.results import Boxes, Masks, Probs, Results

NAMES = {0: "circle", 1: "star", 2: "cross"}
# image is 100 high, 200 wide
DATA = torch.tensor(
    [
        [10.0, 20.0, 50.0, 60.0, 0.9, 0.0],
        [100.0, 10.0, 180.0, 90.0, 0.5, 2.0],
        [60.0, 30.0, 70.0, 50.0, 0.75, 0.0],
    ]
)


def make_results(data=DATA):
    image = np.full((100, 200, 3), 40, np.uint8)
    image[20:60, 10:50] = (0, 0, 255)
    speed = {"preprocess": 1.0, "inference": 2.0, "postprocess": 0.5}
    return Results(image, "scene.png", NAMES, boxes=data, speed=speed)


def test_box_views_are_consistent():
    boxes = make_results().boxes
    torch.testing.assert_close(boxes.xyxy, DATA[:, :4])
    torch.testing.assert_close(boxes.conf, DATA[:, 4])
    torch.testing.assert_close(boxes.cls, DATA[:, 5])
    torch.testing.assert_close(boxes.xywh[0], torch.tensor([30.0, 40.0, 40.0, 40.0]))
    scale = torch.tensor([200.0, 100.0, 200.0, 100.0])
    torch.testing.assert_close(boxes.xyxyn, DATA[:, :4] / scale)
    torch.testing.assert_close(boxes.xywhn, boxes.xywh / scale)
    # xywh -> xyxy round trip
    xywh = boxes.xywh
    torch.testing.assert_close(torch.cat((xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2), 1), boxes.xyxy)


def test_len_indexing_and_conversions():
    results = make_results()
    assert len(results) == 3 and len(results.boxes) == 3
    assert results.orig_shape == (100, 200) and results.path == "scene.png" and results.names == NAMES
    assert results.speed == {"preprocess": 1.0, "inference": 2.0, "postprocess": 0.5}
    one = results[1]
    assert len(one) == 1 and one.boxes.cls.tolist() == [2.0]
    assert len(results[results.boxes.conf > 0.6]) == 2
    as_numpy = results.numpy()
    assert isinstance(as_numpy.boxes.data, np.ndarray)
    np.testing.assert_allclose(as_numpy.boxes.xywhn, results.boxes.xywhn.numpy())
    assert isinstance(results.cpu().boxes.data, torch.Tensor)
    assert results.numpy().boxes.to(torch.float64).data.dtype == torch.float64
    with pytest.raises(ValueError, match=r"\(n, 6\)"):
        Boxes(torch.zeros(2, 5), (10, 10))


def test_empty_results():
    for results in (make_results(torch.zeros(0, 6)), make_results(None)):
        assert len(results) == 0
        assert results.counts_text() == "(no detections)"
        assert results.summary() == [] and json.loads(results.to_json()) == []
        np.testing.assert_array_equal(results.plot(), results.orig_img)


def test_counts_text_pluralises_in_class_order():
    assert make_results().counts_text() == "2 circles, 1 cross"
    assert make_results(DATA[1:2]).counts_text() == "1 cross"
    assert make_results(torch.cat((DATA[1:2], DATA[1:2]))).counts_text() == "2 crosses"


def test_yolov8_names_for_untracked_detection_results():
    results = make_results()
    assert results.verbose() == "2 circles, 1 cross"
    assert results.keypoints is None and results.obb is None
    assert results.boxes.id is None and results.boxes.is_track is False
    assert results[0].boxes.id is None and results.numpy().boxes.is_track is False


def test_save_txt_round_trip(tmp_path):
    results = make_results()
    path = results.save_txt(tmp_path / "scene.txt", save_conf=True)
    rows = np.loadtxt(path, ndmin=2)
    assert rows.shape == (3, 6)
    np.testing.assert_array_equal(rows[:, 0], [0, 2, 0])
    np.testing.assert_allclose(rows[:, 1:5], results.boxes.xywhn.numpy(), atol=1e-6)
    np.testing.assert_allclose(rows[:, 5], [0.9, 0.5, 0.75], atol=1e-6)
    # without confidences: 5 columns; box back to pixels equals the original xyxy
    rows = np.loadtxt(results.save_txt(tmp_path / "plain.txt"), ndmin=2)
    assert rows.shape == (3, 5)
    cx, cy, w, h = rows[:, 1] * 200, rows[:, 2] * 100, rows[:, 3] * 200, rows[:, 4] * 100
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    np.testing.assert_allclose(xyxy, DATA[:, :4].numpy(), atol=1e-3)
    assert (tmp_path / "empty.txt").exists() is False
    make_results(None).save_txt(tmp_path / "empty.txt")
    assert (tmp_path / "empty.txt").read_text() == ""


def test_to_json_and_summary():
    records = json.loads(make_results().to_json())
    box = {"x1": 10.0, "y1": 20.0, "x2": 50.0, "y2": 60.0}
    assert records[0] == {"name": "circle", "class": 0, "confidence": 0.9, "box": box}
    assert [r["name"] for r in records] == ["circle", "cross", "circle"]
    normalised = make_results().summary(normalize=True)
    assert normalised[1]["box"] == {"x1": 0.5, "y1": 0.1, "x2": 0.9, "y2": 0.9}


def test_save_crop(tmp_path):
    written = make_results().save_crop(tmp_path / "crops", "scene.png")
    assert sorted(p.split("crops/")[1] for p in written) == ["circle/scene.jpg", "circle/scene2.jpg", "cross/scene.jpg"]
    crop = cv2.imread(str(tmp_path / "crops" / "circle" / "scene.jpg"))
    assert crop.shape == (40, 40, 3)
    assert np.abs(crop.astype(int) - [0, 0, 255]).max() < 10  # the red square, JPEG-compressed


def test_plot_draws_palette_colours_and_save(tmp_path):
    results = make_results()
    canvas = results.plot(line_width=2, labels=False, conf=False)
    assert canvas.shape == results.orig_img.shape and canvas is not results.orig_img
    # the left edge of the cross box (x=100) carries the class-2 colour; the original is untouched
    assert tuple(canvas[70, 100]) == class_colour(2)
    assert tuple(results.orig_img[70, 100]) == (40, 40, 40)
    np.testing.assert_array_equal(results.plot(boxes=False), results.orig_img)
    path = results.save(tmp_path / "out.png", line_width=2, labels=False, conf=False)
    np.testing.assert_array_equal(cv2.imread(path), canvas)


def test_labels_stay_inside_the_image():
    image = np.zeros((60, 80, 3), np.uint8)
    # a box touching the top-right corner: the label cannot go above it nor past the right edge
    box = np.array([[70.0, 0.0, 80.0, 20.0]])
    canvas = draw_detections(image, box, np.array([1]), np.array([0.5]), NAMES, line_width=2)
    tag = (canvas == np.array(class_colour(1), np.uint8)).all(axis=2)
    columns = np.nonzero(tag.any(axis=0))[0]
    assert columns.min() < 70  # shifted left so the text fits
    assert columns.max() == 79


def test_palette_and_helpers():
    assert len(PALETTE_BGR) == 20 and class_colour(0) == (180, 119, 31) and class_colour(20) == class_colour(0)
    assert text_colour_for((255, 255, 255)) == (0, 0, 0) and text_colour_for((0, 0, 0)) == (255, 255, 255)
    assert default_line_width((640, 640, 3)) == 2 and default_line_width((1080, 1920, 3)) == 4


def make_segment_results():
    """Two detections on the 100 x 200 image with rectangular masks (the second smaller than its box)."""
    masks = torch.zeros(2, 100, 200, dtype=torch.bool)
    masks[0, 20:60, 10:50] = True
    masks[1, 30:50, 120:160] = True
    image = np.full((100, 200, 3), 40, np.uint8)
    return Results(image, "scene.png", NAMES, boxes=DATA[:2], masks=masks, speed={"inference": 1.0})


def test_masks_views_indexing_and_conversions():
    results = make_segment_results()
    assert len(results) == 2 and len(results.masks) == 2 and results.masks.shape == (2, 100, 200)
    assert sorted(map(tuple, results.masks.xy[1].tolist())) == [(120, 30), (120, 49), (159, 30), (159, 49)]
    np.testing.assert_allclose(results.masks.xyn[1], results.masks.xy[1] / np.array([200, 100]))
    second = results[1]
    assert second.boxes.cls.tolist() == [2.0] and torch.equal(second.masks.data[0], results.masks.data[1])
    kept = results[results.boxes.conf > 0.6]
    assert len(kept) == 1 and kept.masks.shape == (1, 100, 200)
    as_numpy = results.numpy()
    assert isinstance(as_numpy.masks.data, np.ndarray) and as_numpy.masks.data.dtype == bool
    assert isinstance(as_numpy.cpu().masks.data, np.ndarray)
    assert isinstance(as_numpy.to("cpu").masks.data, torch.Tensor)
    assert isinstance(results.cpu().masks.data, torch.Tensor)
    with pytest.raises(ValueError, match="one mask per box"):
        Results(results.orig_img, "x.png", NAMES, boxes=DATA, masks=results.masks.data)
    with pytest.raises(ValueError, match="original image"):
        Masks(torch.zeros(1, 50, 100, dtype=torch.bool), (100, 200))


def test_segment_save_txt_summary_and_plot(tmp_path):
    results = make_segment_results()
    written = results.save_txt(tmp_path / "seg.txt", save_conf=True)
    rows = [line.split() for line in (tmp_path / "seg.txt").read_text().splitlines()]
    assert [row[0] for row in rows] == ["0", "2"] and [len(row) for row in rows] == [10, 10]
    polygon = np.array(rows[1][1:9], dtype=float).reshape(4, 2) * [200, 100]
    assert sorted(map(tuple, polygon.round(3).tolist())) == [(120, 30), (120, 49), (159, 30), (159, 49)]
    assert float(rows[1][9]) == pytest.approx(0.5)
    assert written == str(tmp_path / "seg.txt")
    record = results.summary()[1]
    assert record["box"] == {"x1": 100.0, "y1": 10.0, "x2": 180.0, "y2": 90.0}
    assert sorted(zip(record["segments"]["x"], record["segments"]["y"])) == [(120, 30), (120, 49), (159, 30), (159, 49)]
    normalised = json.loads(results.to_json(normalize=True))[1]["segments"]
    assert sorted(normalised["x"]) == [0.6, 0.6, 0.795, 0.795] and sorted(normalised["y"]) == [0.3, 0.3, 0.49, 0.49]
    canvas = results.plot(boxes=False)
    colour = np.array(class_colour(2), float)
    # inside the second mask: half the grey, half the class colour; outside any mask: untouched
    np.testing.assert_array_equal(canvas[40, 140], np.round(40 * 0.5 + colour * 0.5).astype(np.uint8))
    np.testing.assert_array_equal(canvas[80, 140], [40, 40, 40])
    np.testing.assert_array_equal(results.plot(boxes=False, masks=False), results.orig_img)


def test_draw_masks_puts_the_most_confident_on_top():
    image = np.zeros((4, 4, 3), np.uint8)
    masks = np.ones((2, 4, 4), bool)
    canvas = draw_masks(image, masks, np.array([0, 1]), np.array([0.9, 0.1]), alpha=1.0)
    assert tuple(canvas[0, 0]) == class_colour(0)
    with pytest.raises(ValueError, match="do not match the image"):
        draw_masks(image, np.ones((1, 3, 4), bool), np.array([0]))


def make_classify_results():
    probs = torch.tensor([0.05, 0.5, 0.1, 0.2, 0.03, 0.12])
    names = {i: f"c{i}" for i in range(6)}
    image = np.full((64, 96, 3), 40, np.uint8)
    return Results(image, "photo.jpg", names, probs=probs)


def test_probs_and_classification_results(tmp_path):
    results = make_classify_results()
    probs = results.probs
    assert probs.top1 == 1 and probs.top5 == [1, 3, 5, 2, 0]
    assert probs.top1conf.item() == pytest.approx(0.5)
    torch.testing.assert_close(probs.top5conf, torch.tensor([0.5, 0.2, 0.12, 0.1, 0.05]))
    assert len(results) == 6 and results.boxes is None and results.masks is None  # len is the class count
    assert results.counts_text() == "c1 0.50, c3 0.20, c5 0.12, c2 0.10, c0 0.05"
    assert results.summary()[0] == {"name": "c1", "class": 1, "confidence": 0.5}
    assert [r["class"] for r in json.loads(results.to_json())] == [1, 3, 5, 2, 0]
    results.save_txt(tmp_path / "cls.txt")
    assert (tmp_path / "cls.txt").read_text() == "0.50 c1\n0.20 c3\n0.12 c5\n0.10 c2\n0.05 c0\n"
    assert results.save_crop(tmp_path / "crops", "photo.jpg") == []
    canvas = results.plot()
    assert canvas.shape == (64, 96, 3) and (canvas == 255).any()  # white text tags at the top-left
    np.testing.assert_array_equal(results.plot(probs=False), results.orig_img)
    as_numpy = results.numpy()
    assert isinstance(as_numpy.probs.data, np.ndarray) and as_numpy.probs.top5 == probs.top5
    assert isinstance(as_numpy.to(torch.float64).probs.data, torch.Tensor)
    assert results[0].probs is not None and "top1=1" in repr(results)
    assert Probs(np.array([0.3, 0.7])).top5 == [1, 0]
    with pytest.raises(ValueError, match=r"\(nc,\)"):
        Probs(torch.zeros(2, 3))


def test_draw_text_lines_stacks_tags():
    canvas = draw_text_lines(np.zeros((60, 80, 3), np.uint8), ["a 0.50", "b 0.20"], line_width=2)
    white_rows = np.nonzero((canvas == 255).all(axis=2).any(axis=1))[0]
    assert white_rows.min() == 4 and white_rows.max() > 20  # two tags, one under the other
