"""Letterbox: exact inverse, output shapes, padding, load-time resize and rectangular batch shapes."""

import numpy as np
import pytest

from yolo8.data.transforms.letterbox import PAD_VALUE, letterbox, resize_long_side
from yolo8.ops.letterbox import (
    LetterboxInfo,
    boxes_from_letterbox,
    boxes_to_letterbox,
    rect_batch_shapes,
    shape_after_resize,
)

SHAPES = [(480, 640), (640, 480), (333, 517), (100, 100), (37, 301), (320, 320), (1000, 20)]


def random_boxes(shape, count=20, seed=0):
    rng = np.random.default_rng(seed)
    height, width = shape
    xy = rng.uniform(0, 1, (count, 2, 2)) * [width, height]  # (count, 2 corners, xy)
    return np.concatenate([xy.min(axis=1), xy.max(axis=1)], axis=1).astype(np.float64)  # xyxy


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("auto", [False, True])
@pytest.mark.parametrize("scaleup", [False, True])
def test_round_trip_is_exact(shape, auto, scaleup):
    image = np.full((*shape, 3), 7, np.uint8)
    out, info = letterbox(image, (320, 320), auto=auto, scaleup=scaleup, stride=32)
    boxes = random_boxes(shape)
    back = boxes_from_letterbox(boxes_to_letterbox(boxes, info), info, shape)
    np.testing.assert_allclose(back, boxes, rtol=0, atol=1e-9)
    # the image's corners map exactly onto the edges of the resized content
    corners = boxes_to_letterbox(np.array([[0.0, 0.0, shape[1], shape[0]]]), info)[0]
    rows, columns = np.nonzero(out[..., 0] == 7)
    np.testing.assert_allclose(corners, [columns.min(), rows.min(), columns.max() + 1, rows.max() + 1], atol=1e-9)


@pytest.mark.parametrize("shape", SHAPES)
def test_output_shapes(shape):
    image = np.full((*shape, 3), 7, np.uint8)
    square, info = letterbox(image, (320, 320), auto=False, scaleup=True)
    assert square.shape == (320, 320, 3)
    minimal, _ = letterbox(image, (320, 320), auto=True, scaleup=True, stride=32)
    assert minimal.shape[0] % 32 == 0 and minimal.shape[1] % 32 == 0
    assert max(minimal.shape[:2]) == 320
    # the padding is 114, the content is the image's value
    left, top = int(info.pad[0]), int(info.pad[1])
    content_w, content_h = round(shape[1] * info.ratio[0]), round(shape[0] * info.ratio[1])
    assert (square[top : top + content_h, left : left + content_w] == 7).all()
    assert (square == PAD_VALUE).sum() == square.size - content_w * content_h * 3


def test_scaleup_false_never_enlarges():
    image = np.zeros((100, 50, 3), np.uint8)
    out, info = letterbox(image, (320, 320), auto=False, scaleup=False)
    assert info.ratio == (1.0, 1.0) and info.pad == (135.0, 110.0) and out.shape == (320, 320, 3)
    out, info = letterbox(image, (320, 320), auto=True, scaleup=False, stride=32)
    assert out.shape == (128, 64, 3) and info.pad == (7.0, 14.0)


def test_inverse_clips_to_the_original_image():
    info = LetterboxInfo((0.5, 0.5), (10.0, 0.0))
    back = boxes_from_letterbox(np.array([[0.0, -5.0, 400.0, 30.0]]), info, (100, 200))
    np.testing.assert_array_equal(back, [[0.0, 0.0, 200.0, 60.0]])


def test_resize_then_letterbox_composes():
    image = np.zeros((600, 900, 3), np.uint8)
    resized, first = resize_long_side(image, 320)
    assert resized.shape[:2] == shape_after_resize((600, 900), 320) == (213, 320)
    _, second = letterbox(resized, (320, 320), auto=False, scaleup=False)
    boxes = random_boxes((600, 900))
    stepwise = boxes_to_letterbox(boxes_to_letterbox(boxes, first), second)
    np.testing.assert_allclose(boxes_to_letterbox(boxes, first.then(second)), stepwise, atol=1e-9)
    np.testing.assert_allclose(boxes_from_letterbox(stepwise, first.then(second), (600, 900)), boxes, atol=1e-9)


def test_resize_long_side_interpolation_and_identity():
    image = np.zeros((64, 32, 3), np.uint8)
    same, info = resize_long_side(image, 64)
    assert same is image and info.ratio == (1.0, 1.0)
    grown, info = resize_long_side(image, 128)
    assert grown.shape == (128, 64, 3) and info.ratio == (2.0, 2.0)


def test_rect_batch_shapes_follow_yolov8_rule():
    shapes = np.array([[200, 320], [320, 240], [320, 320], [240, 320], [320, 160], [300, 320]])
    order, batch_index, batch_shapes = rect_batch_shapes(shapes, image_size=320, batch_size=2, stride=32, pad=0.5)
    aspect = shapes[:, 0] / shapes[:, 1]
    assert (np.diff(aspect[order]) >= 0).all()
    np.testing.assert_array_equal(batch_index, [0, 0, 1, 1, 2, 2])
    assert (batch_shapes % 32 == 0).all()
    # batch 0: h/w 0.625 and 0.75 -> height ceil(0.75*10+0.5)=8 strides, width ceil(10.5)=11
    # batch 1: 0.9375 and 1 -> square 11x11; batch 2: 1.333 and 2 -> height 11, width ceil(7.5+0.5)=8
    np.testing.assert_array_equal(batch_shapes, [[256, 352], [352, 352], [352, 256]])
    _, _, no_pad = rect_batch_shapes(shapes, 320, 2, 32, 0.0)
    np.testing.assert_array_equal(no_pad, [[256, 320], [320, 320], [320, 256]])
