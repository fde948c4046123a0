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


def fixed_detector(per_pass: dict[int, list[list[float]]]):
    """A stand-in network returning given rows (x1, y1, x2, y2, conf, cls in that pass's own pixels) per pass:
    0 is the whole image, k the k-th tile (1-based)."""

    def run(frames: list[Frame]):
        return [(frame, Results(frame.image, frame.path, {0: "a", 1: "b"},
                                boxes=np.asarray(per_pass.get(k, []), np.float32).reshape(-1, 6)), (1, 3, 64, 64))
                for k, frame in enumerate(frames)]

    return run


def blank(width=640, height=320):
    return Frame("big.jpg", np.full((height, width, 3), 255, np.uint8), "image", 0, 1)


def test_two_objects_of_one_pass_stay_two_and_a_tile_piece_joins_the_best_fitting_one():
    # 640 x 320 with 320 px tiles, no overlap: tile 1 is x 0-320, tile 2 is x 320-640
    big, small = [100, 50, 300, 250, 0.9, 0], [150, 100, 180, 130, 0.8, 0]  # small lies inside big
    run = fixed_detector({0: [big, small]})
    _, merged, _ = Slicer([320], overlap=0.0)(blank(), run)
    np.testing.assert_allclose(merged.boxes.data, [big, small], rtol=1e-6)
    # tile 1 sees a piece of big and the small object again: each joins its own whole-image detection
    run = fixed_detector({0: [big, small], 1: [[100, 50, 290, 250, 0.7, 0], [151, 101, 182, 131, 0.85, 0]]})
    _, merged, _ = Slicer([320], overlap=0.0)(blank(), run)
    assert merged.boxes.data[:, :4].tolist() == [[100, 50, 300, 250], [150, 100, 182, 131]]
    # without pass indices every detection is its own pass: the small object is swallowed by the big one
    assert len(greedy_merge(np.array([big, small], np.float32))[0]) == 1


def test_slicer_merge_follows_agnostic_nms():
    # one object: class 0 in the whole image, class 1 (0.8) in tile 2 at x 320-640
    run = fixed_detector({0: [[400, 40, 460, 100, 0.9, 0]], 2: [[80, 40, 142, 100, 0.8, 1]]})
    _, per_class, _ = Slicer([320], overlap=0.0)(blank(), run)
    assert per_class.boxes.data[:, [0, 2, 5]].tolist() == [[400, 460, 0], [400, 462, 1]]
    _, agnostic, _ = Slicer([320], overlap=0.0, agnostic=True)(blank(), run)
    assert agnostic.boxes.data[:, [0, 1, 2, 3, 5]].tolist() == [[400, 40, 462, 100, 0]]  # the confident one's class


def test_slicer_keeps_max_det_most_confident():
    rows = [[10 + 40 * k, 10, 40 + 40 * k, 40, conf, 0] for k, conf in enumerate([0.3, 0.9, 0.5, 0.7])]
    _, merged, _ = Slicer([320], overlap=0.0, max_det=2)(blank(), fixed_detector({0: rows}))
    assert merged.boxes.data[:, 4].tolist() == [pytest.approx(0.9), pytest.approx(0.7)]
    _, merged, _ = Slicer([320], overlap=0.0)(blank(), fixed_detector({0: rows}))
    assert len(merged.boxes) == 4


@pytest.mark.parametrize("model", ["yolov8n.yaml", "yolov8n-seg.yaml"])
def test_predict_and_track_accept_slice_for_detect_and_segment(model):
    from yolo8 import YOLO

    yolo = YOLO(model)
    image = np.random.default_rng(0).integers(0, 255, (150, 200, 3), dtype=np.uint8)
    result = yolo.predict(image, imgsz=64, slice=[96, 64], slice_overlap=0.25, conf=0.001, verbose=False)[0]
    assert result.boxes.data.shape[1] == 6
    if yolo.task == "detect":  # (a fresh segment head's masks are empty, and empty masks are dropped)
        check_max_det_reaches_the_merge(yolo, image)
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


def check_max_det_reaches_the_merge(yolo, image):
    loose = yolo.predict(image, imgsz=64, slice=[96, 64], conf=1e-6, verbose=False)[0]  # a fresh head scores ~1e-4
    capped = yolo.predict(image, imgsz=64, slice=[96, 64], conf=1e-6, max_det=2, verbose=False)[0]
    assert len(loose.boxes) > 2 and len(capped.boxes) == 2
