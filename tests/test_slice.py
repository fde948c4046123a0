"""Sliced inference: tile layout, merging, and a detector that misses small objects at whole-image scale."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from yolo8.data.sources import Frame
from yolo8.predict.slicing import Slicer, greedy_merge, tile_windows
from yolo8.results import Results

IMGSZ = 320
MIN_SIDE = 8  # the toy detector sees an object only when it spans this many pixels of its input


def toy_detector(frames: list[Frame]):
    """A stand-in for a network at imgsz 320: finds dark squares on white, but only those at least MIN_SIDE pixels
    wide after the frame is scaled to fit 320; boxes are exact, in the frame's pixels."""
    out = []
    for frame in frames:
        gray = frame.image[..., 0]
        scale = min(1.0, IMGSZ / max(gray.shape))
        count, _, stats, _ = cv2.connectedComponentsWithStats((gray < 128).astype(np.uint8), connectivity=8)
        rows = [[x, y, x + w, y + h, 0.9, 0] for x, y, w, h, _ in stats[1:count] if min(w, h) * scale >= MIN_SIDE]
        boxes = np.asarray(rows, np.float32).reshape(-1, 6)
        out.append((frame, Results(frame.image, frame.path, {0: "square"}, boxes=boxes), (1, 3, IMGSZ, IMGSZ)))
    return out


def canvas_with(squares, size=(1600, 1600)):
    image = np.full((*size, 3), 255, np.uint8)
    for x1, y1, x2, y2 in squares:
        image[y1:y2, x1:x2] = 0
    return Frame("big.jpg", image, "image", 0, 1)


def test_tile_windows_cover_the_image_with_the_last_tile_on_the_border():
    windows = tile_windows(600, 1000, 400, 400, 0.2)
    assert windows == [(0, 0, 400, 400), (320, 0, 720, 400), (600, 0, 1000, 400),
                       (0, 200, 400, 600), (320, 200, 720, 600), (600, 200, 1000, 600)]
    assert tile_windows(300, 300, 320, 320, 0.2) == []  # smaller than a tile: the whole image is enough


def test_slicing_finds_a_small_object_the_whole_image_misses():
    frame = canvas_with([(700, 900, 712, 912)])  # 12 px: 2.4 px once 1600 px is scaled to 320
    whole = toy_detector([frame])[0][1]
    assert len(whole.boxes) == 0
    _, sliced, _ = Slicer([320], overlap=0.2)(frame, toy_detector)
    assert sliced.boxes.data.tolist() == [[700, 900, 712, 912, pytest.approx(0.9), 0]]


def test_a_box_cut_by_a_tile_border_comes_back_whole():
    windows = tile_windows(1600, 1600, 320, 320, 0.2)
    border = windows[1][0]  # x where the second tile starts: inside the first tile, so the first cuts there
    square = (border - 15, 500, border + 15, 530)  # 30 px: too small for the whole-image pass (6 px)
    _, sliced, _ = Slicer([320], overlap=0.2)(canvas_with([square]), toy_detector)
    assert sliced.boxes.data[:, :4].tolist() == [list(square)]


def test_a_large_object_comes_from_the_whole_image_and_absorbs_its_pieces():
    square = (300, 300, 1000, 1000)  # spans many tiles
    _, sliced, _ = Slicer([320], overlap=0.2)(canvas_with([square]), toy_detector)
    assert sliced.boxes.data[:, :4].tolist() == [list(square)]


def test_greedy_merge_unions_same_class_duplicates_and_their_masks():
    boxes = np.array([[0, 0, 10, 10, 0.9, 0], [5, 0, 10, 10, 0.8, 0], [0, 0, 10, 10, 0.7, 1],
                      [50, 50, 60, 60, 0.6, 0]], np.float32)
    masks = np.zeros((4, 64, 64), bool)
    masks[0, 0:10, 0:5] = masks[1, 0:10, 5:10] = True
    merged, merged_masks = greedy_merge(boxes, masks)
    assert merged[:, [0, 1, 2, 3, 5]].tolist() == [[0, 0, 10, 10, 0], [0, 0, 10, 10, 1], [50, 50, 60, 60, 0]]
    assert merged_masks[0, 0:10, 0:10].all() and merged_masks.shape == (3, 64, 64)


@pytest.mark.parametrize("model", ["yolov8n.yaml", "yolov8n-seg.yaml"])
def test_predict_and_track_accept_slice_for_detect_and_segment(model):
    from yolo8 import YOLO

    yolo = YOLO(model)
    image = np.random.default_rng(0).integers(0, 255, (150, 200, 3), dtype=np.uint8)
    result = yolo.predict(image, imgsz=64, slice=[96, 64], slice_overlap=0.25, conf=0.001, verbose=False)[0]
    assert result.boxes.data.shape[1] == 6
    if result.masks is not None:
        assert result.masks.data.shape[1:] == (150, 200) and len(result.masks) == len(result.boxes)
    tracked = yolo.track(image, imgsz=64, slice=[96], conf=0.001, verbose=False, tracker="bytetrack.yaml")[0]
    assert tracked.boxes.is_track


def test_small_object_data_has_small_separate_shapes_and_tiles_keep_whole_ones(tmp_path):
    from yolo8.data.synthetic.small_objects import render_small_objects, small_object_dataset

    image, labels = render_small_objects(np.random.default_rng(0), 400, 30)
    sides = labels[:, 3:5] - labels[:, 1:3]
    assert image.shape == (400, 400, 3) and len(labels) >= 10
    assert sides.max() <= 24 and sides.max(axis=1).min() >= 3  # rotated shapes of 6-20 px
    data = small_object_dataset(tmp_path / "small", train_images=1, val_images=1, image_size=320, tile=160,
                                objects=10)
    assert len(list((data.parent / "images" / "train").glob("*.png"))) == 4  # 2 x 2 tiles
    assert len(list((data.parent / "images" / "val").glob("*.png"))) == 1
