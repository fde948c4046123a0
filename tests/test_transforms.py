"""Transforms keep labels on the pixels they describe: mosaic, random affine, flips, HSV, mixup, polygons."""

import cv2
import numpy as np
import pytest

from yolo8.data.transforms.annotations import Annotations
from yolo8.data.transforms.compose import Augmentation, colour_and_flips
from yolo8.data.transforms.flip import flip_horizontal, flip_vertical
from yolo8.data.transforms.geometric import box_candidates, random_affine
from yolo8.data.transforms.mixup import mixup
from yolo8.data.transforms.mosaic import mosaic4, mosaic_placements
from yolo8.data.transforms.photometric import hsv_tables, random_hsv
from yolo8.data.transforms.polygons import clip_polygons, polygon_bounds

BACKGROUND = (60, 60, 60)
# 12 BGR colours far from each other, from the background and from the 114 padding
COLOURS = [
    (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255),
    (255, 255, 255), (0, 0, 0), (255, 140, 0), (140, 0, 255), (0, 140, 255), (255, 0, 140),
]
TOLERANCE = 20


def object_images(seed, size=96, objects=3, first_class=0):
    """(size, size) images with ``objects`` filled rectangles of distinct colours, their labels (class = colour)."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size, 3), BACKGROUND, np.uint8)
    boxes, classes = [], []
    columns = np.linspace(4, size - 4, objects + 1).astype(int)
    for index in range(objects):  # one object per vertical band: never touching
        x1 = int(rng.integers(columns[index], columns[index] + 6))
        x2 = int(rng.integers(x1 + 12, columns[index + 1] - 2))
        y1 = int(rng.integers(4, size // 2))
        y2 = int(rng.integers(y1 + 12, size - 4))
        image[y1:y2, x1:x2] = COLOURS[first_class + index]
        boxes.append([x1, y1, x2, y2])
        classes.append(first_class + index)
    boxes = np.array(boxes, np.float32)
    return image, np.array(classes), boxes


def rectangle_polygons(boxes):
    return [np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32) for x1, y1, x2, y2 in boxes]


def annotations_for(classes, boxes, with_segments, size):
    xywh = np.concatenate([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], axis=1) / size
    segments = [polygon / size for polygon in rectangle_polygons(boxes)] if with_segments else []
    return Annotations.from_normalized(classes, xywh, segments, size, size)


def colour_mask(image, class_id):
    return (np.abs(image.astype(int) - COLOURS[class_id]) <= TOLERANCE).all(axis=2)


def check_boxes_on_objects(image, annotations, axis_aligned):
    """Each label's box is the tight box of its colour's pixels; axis-aligned boxes are mostly that colour.

    For rotated objects a corner cut by the image edge is a thin wedge whose tip blends with the
    background over a few pixels, so the box may exceed the matching pixels by a quarter of its side.
    """
    assert len(annotations) > 0
    for class_id, box in zip(annotations.classes, annotations.boxes):
        mask = colour_mask(image, class_id)
        rows, columns = np.nonzero(mask)
        assert len(rows) > 0, f"class {class_id}: labelled but not visible"
        visible = np.array([columns.min(), rows.min(), columns.max() + 1, rows.max() + 1])
        if axis_aligned:
            np.testing.assert_allclose(box, visible, atol=2.5, err_msg=f"class {class_id}")
        else:
            slack = np.maximum(2.5, 0.25 * (box[2:] - box[:2]))  # (x slack, y slack)
            assert (box[:2] <= visible[:2] + 1).all() and (box[2:] >= visible[2:] - 1).all(), f"class {class_id}"
            assert (np.abs(box - visible) <= np.tile(slack, 2)).all(), f"class {class_id}: {box} vs {visible}"
        x1, y1, x2, y2 = np.round(box).astype(int)
        inside = mask[y1 + 1 : y2 - 1, x1 + 1 : x2 - 1]  # without the 1-px ring that bilinear sampling blends
        if axis_aligned:
            assert inside.mean() > 0.9, f"class {class_id}: only {inside.mean():.2f} of the box is the object"
        assert mask[y1:y2, x1:x2].sum() >= 0.97 * mask.sum(), f"class {class_id}: object leaks out of its box"


def mosaic_inputs(with_segments, size=96):
    images, annotations = [], []
    for tile in range(4):
        image, classes, boxes = object_images(seed=tile, size=size, first_class=3 * tile)
        images.append(image)
        annotations.append(annotations_for(classes, boxes, with_segments, size))
    return images, annotations


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("with_segments", [False, True])
def test_mosaic_axis_aligned_keeps_boxes_on_objects(seed, with_segments):
    images, annotations = mosaic_inputs(with_segments)
    rng = np.random.default_rng(seed)
    output, labels = mosaic4(images, annotations, 96, rng, degrees=0, translate=0.1, scale=0.5, shear=0, perspective=0)
    assert output.shape == (96, 96, 3)
    check_boxes_on_objects(output, labels, axis_aligned=True)
    assert labels.has_segments == with_segments


@pytest.mark.parametrize("seed", range(6))
def test_mosaic_rotated_sheared_keeps_boxes_on_objects(seed):
    images, annotations = mosaic_inputs(with_segments=True)
    rng = np.random.default_rng(seed)
    output, labels = mosaic4(images, annotations, 96, rng, degrees=15, translate=0.1, scale=0.3, shear=3, perspective=0)
    check_boxes_on_objects(output, labels, axis_aligned=False)


@pytest.mark.parametrize("seed", range(4))
def test_mosaic_drops_only_invisible_or_sliver_objects(seed):
    images, annotations = mosaic_inputs(with_segments=False)
    rng = np.random.default_rng(seed)
    output, labels = mosaic4(images, annotations, 96, rng, degrees=0, translate=0.1, scale=0.5, shear=0, perspective=0)
    for class_id in set(range(12)) - set(labels.classes.tolist()):
        rows, columns = np.nonzero(colour_mask(output, class_id))
        if len(rows):  # a dropped object is at most a thin sliver or a small remnant
            width, height = columns.max() + 1 - columns.min(), rows.max() + 1 - rows.min()
            assert min(width, height) <= 4 or width * height <= 0.1 * 1.5**2 * 48 * 48


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("with_segments", [False, True])
def test_random_affine_keeps_boxes_on_objects(seed, with_segments):
    image, classes, boxes = object_images(seed=10 + seed, size=96)
    annotations = annotations_for(classes, boxes, with_segments, 96)
    rng = np.random.default_rng(seed)
    degrees, shear = (10, 2) if with_segments else (0, 0)
    out, labels = random_affine(image, annotations, rng, degrees=degrees, translate=0.1, scale=0.3, shear=shear, perspective=0)
    assert out.shape == image.shape
    check_boxes_on_objects(out, labels, axis_aligned=not with_segments)


def test_random_affine_identity_gains_change_nothing():
    image, classes, boxes = object_images(seed=3)
    annotations = annotations_for(classes, boxes, True, 96)
    out, labels = random_affine(image, annotations, np.random.default_rng(0), 0, 0, 0, 0, 0)
    assert out is image and labels is annotations


def test_mosaic_placements_touch_the_centre():
    placements = mosaic_placements([(100, 80)] * 4, size=100, center=(120, 90))
    (crop0, offset0), (crop1, offset1), (crop2, offset2), (crop3, offset3) = placements
    assert crop0 == (0, 10, 80, 100) and offset0 == (40, -10)  # bottom-right corner at the centre, top cut
    assert crop1 == (0, 10, 80, 100) and offset1 == (120, -10)
    assert crop2 == (0, 0, 80, 100) and offset2 == (40, 90)
    assert crop3 == (0, 0, 80, 100) and offset3 == (120, 90)


def test_flips_move_boxes_and_polygons():
    image, classes, boxes = object_images(seed=5)
    annotations = annotations_for(classes, boxes, True, 96)
    for flip in (flip_horizontal, flip_vertical):
        flipped, labels = flip(image, annotations)
        check_boxes_on_objects(np.ascontiguousarray(flipped), labels, axis_aligned=True)
        np.testing.assert_allclose(polygon_bounds(labels.points, labels.owners, len(labels)), labels.boxes)
        twice_image, twice = flip(flipped, labels)
        np.testing.assert_array_equal(twice_image, image)
        np.testing.assert_allclose(twice.boxes, annotations.boxes)
        np.testing.assert_allclose(twice.points, annotations.points)
    _, labels = flip_horizontal(image, annotations)
    np.testing.assert_allclose(labels.boxes[:, [0, 2]], 96 - annotations.boxes[:, [2, 0]])


def test_hsv_changes_colours_not_labels():
    image, classes, boxes = object_images(seed=7)
    annotations = annotations_for(classes, boxes, True, 96)
    gains = Augmentation(**{**Augmentation.none().__dict__, "hsv_h": 0.5, "hsv_s": 0.7, "hsv_v": 0.4})
    out, labels = colour_and_flips(image, annotations, np.random.default_rng(1), gains)
    assert labels is annotations
    assert out.shape == image.shape and not np.array_equal(out, image)
    assert random_hsv(image, np.random.default_rng(0), 0.0, 0.0, 0.0) is image
    # gains of exactly 1 (value only, drawn at 0): a lossless HSV round trip for these saturated colours
    same = random_hsv(image, np.random.default_rng(0), 0.0, 0.0, 1e-12)
    assert np.abs(same.astype(int) - image).max() <= 1


def test_bgr_swaps_red_and_blue_after_the_other_steps():
    image, classes, boxes = object_images(seed=3)
    annotations = annotations_for(classes, boxes, True, 96)
    plain = Augmentation(**{**Augmentation.none().__dict__, "hsv_v": 0.4, "fliplr": 0.5})
    swapped = Augmentation(**{**plain.__dict__, "bgr": 1.0})
    expected, expected_labels = colour_and_flips(image, annotations, np.random.default_rng(5), plain)
    out, labels = colour_and_flips(image, annotations, np.random.default_rng(5), swapped)
    np.testing.assert_array_equal(out, expected[..., ::-1])
    np.testing.assert_array_equal(labels.boxes, expected_labels.boxes)


def test_hsv_tables_values():
    hue, saturation, value = hsv_tables(0.25, 2.0, 0.5)  # a quarter of the hue circle is 45 of OpenCV's 180
    assert [hue[100], saturation[100], value[100]] == [145, 200, 50]
    assert [hue[150], saturation[150], value[150]] == [(150 + 45) % 180, 255, 75]
    assert hsv_tables(-0.25, 1.0, 1.0)[0][10] == 10 - 45 + 180  # wraps below 0 too
    np.testing.assert_array_equal(hsv_tables(0.0, 1.0, 1.0)[0][:180], np.arange(180))


def test_hue_is_shifted_not_scaled_so_red_changes_too():
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 2] = 255  # BGR pure red: hue 0, which any hue gain would leave at 0
    hues = [int(cv2.cvtColor(random_hsv(red, np.random.default_rng(seed), 0.015, 0.0, 0.0), cv2.COLOR_BGR2HSV)[0, 0, 0])
            for seed in range(20)]
    assert len(set(hues)) > 2 and all(hue <= 3 or hue >= 177 for hue in hues)  # within +/- 0.015 x 180 = 2.7


def test_mixup_concatenates_labels_and_blends():
    first, classes, boxes = object_images(seed=1)
    second, classes2, boxes2 = object_images(seed=2, first_class=3)
    a, b = annotations_for(classes, boxes, False, 96), annotations_for(classes2, boxes2, False, 96)
    out, labels = mixup(first, a, second, b, np.random.default_rng(0))
    assert labels.classes.tolist() == [0, 1, 2, 3, 4, 5]
    low, high = np.minimum(first, second), np.maximum(first, second)
    assert ((out >= low) & (out <= high)).all()


def test_clip_polygons_exact():
    diamond = np.array([[5, -5], [15, 5], [5, 15], [-5, 5]], np.float32)
    square = np.array([[2, 2], [4, 2], [4, 4], [2, 4]], np.float32)
    outside = np.array([[20, 20], [30, 20], [30, 30]], np.float32)
    points = np.concatenate([diamond, square, outside])
    owners = np.repeat([0, 1, 2], [4, 4, 3])
    clipped, clipped_owners = clip_polygons(points, owners, (0, 0, 10, 10))
    np.testing.assert_array_equal(np.unique(clipped_owners), [0, 1])
    np.testing.assert_array_equal(clipped[clipped_owners == 1], square)
    np.testing.assert_allclose(polygon_bounds(clipped, clipped_owners, 3), [[0, 0, 10, 10], [2, 2, 4, 4], [0, 0, 0, 0]])
    # the clipped diamond is an octagon with vertices on the square's sides
    assert len(clipped[clipped_owners == 0]) == 8


def test_box_candidates_rule():
    before = np.array([[0, 0, 10, 10]] * 5, np.float32)
    after = np.array([[0, 0, 10, 10], [0, 0, 2, 10], [0, 0, 3, 3], [0, 0, 4, 4], [0, 0, 10, 0.09]], np.float32)
    np.testing.assert_array_equal(box_candidates(before, after), [True, False, False, True, False])


def test_annotations_round_trip_and_select():
    classes = np.array([0, 1, 2])
    boxes = np.array([[0.5, 0.5, 0.2, 0.4], [0.25, 0.75, 0.1, 0.1], [0.1, 0.1, 0.2, 0.2]], np.float32)
    segments = [np.array([[0.4, 0.3], [0.6, 0.3], [0.5, 0.7]], np.float32), np.array([[0.2, 0.7], [0.3, 0.8]], np.float32),
                np.array([[0.0, 0.0], [0.2, 0.0], [0.2, 0.2], [0.0, 0.2]], np.float32)]
    annotations = Annotations.from_normalized(classes, boxes, segments, 200, 100)
    np.testing.assert_allclose(annotations.boxes[0], [80, 30, 120, 70])
    back_classes, back_boxes, back_segments = annotations.to_normalized(200, 100)
    np.testing.assert_allclose(back_boxes, boxes, atol=1e-6)
    for polygon, original in zip(back_segments, segments):
        np.testing.assert_allclose(polygon, original, atol=1e-6)
    kept = annotations.select(np.array([True, False, True]))
    _, _, kept_segments = kept.to_normalized(200, 100)
    assert kept.classes.tolist() == [0, 2] and len(kept_segments) == 2
    np.testing.assert_allclose(kept_segments[1], segments[2], atol=1e-6)
