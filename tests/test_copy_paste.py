"""Copy-paste: mirrored copies of objects pasted into free space, pixels and labels together."""

import cv2
import numpy as np
import pytest

from tests.test_dataset import COLOURS, SHAPES, gains, make, write_dataset
from yolo8.data.dataset import CopyPasteWithoutPolygonsWarning
from yolo8.data.labels import ImageLabels
from yolo8.data.transforms.annotations import Annotations
from yolo8.data.transforms.copy_paste import copy_paste, covered_fraction
from yolo8.ops.boxes import xywh_to_xyxy

RED, BLUE, GREY = (0, 0, 255), (255, 0, 0), 100


def square(x1, y1, x2, y2):
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)


def scene(objects):
    """A 100 x 200 grey image with filled rectangles ((x1, y1, x2, y2), colour) and their polygon labels."""
    image = np.full((100, 200, 3), GREY, np.uint8)
    for (x1, y1, x2, y2), colour in objects:
        image[y1:y2, x1:x2] = colour
    boxes = np.array([box for box, _ in objects], np.float32)
    points = np.concatenate([square(*box) for box, _ in objects])
    owners = np.repeat(np.arange(len(objects)), 4)
    return image, Annotations(np.arange(len(objects)), boxes, points, owners, has_segments=True)


def test_covered_fraction():
    boxes = np.array([[0, 0, 10, 10], [5, 5, 25, 15], [30, 30, 40, 40], [3, 3, 3, 8]], np.float32)
    covered = covered_fraction(np.array([0, 0, 10, 10], np.float32), boxes)
    np.testing.assert_allclose(covered, [1.0, 25 / 200, 0.0, 0.0])


def test_object_is_mirrored_into_free_space():
    image, annotations = scene([((10, 20, 40, 60), RED)])
    pasted_image, pasted = copy_paste(image, annotations, 1.0, np.random.default_rng(0))
    assert len(pasted) == 2 and pasted.has_segments
    np.testing.assert_array_equal(pasted.classes, [0, 0])
    np.testing.assert_array_equal(pasted.boxes[1], [160, 20, 190, 60])  # x -> 200 - x
    np.testing.assert_array_equal(pasted.points[pasted.owners == 1], square(190, 20, 160, 60))
    assert (pasted_image[20:60, 160:190] == RED).all()
    np.testing.assert_array_equal(pasted_image[:, :160], image[:, :160])  # nothing else changed
    assert (pasted_image[:, 191:] == GREY).all() and (image == scene([((10, 20, 40, 60), RED)])[0]).all()


def test_copy_that_would_bury_an_object_is_skipped():
    # The big red object's mirror would cover all of the small blue one; the blue one's mirror covers only
    # 400 / 6400 of the red one, which is allowed.
    image, annotations = scene([((10, 10, 90, 90), RED), ((130, 20, 150, 40), BLUE)])
    pasted_image, pasted = copy_paste(image, annotations, 1.0, np.random.default_rng(0))
    assert len(pasted) == 3
    np.testing.assert_array_equal(pasted.classes, [0, 1, 1])
    np.testing.assert_array_equal(pasted.boxes[2], [50, 20, 70, 40])
    assert (pasted_image[20:40, 50:70] == BLUE).all()
    assert (pasted_image[41:90, 10:90] == RED).all()  # row 40 carries the copy's 1 px rim of background
    assert (pasted_image[20:40, 130:150] == BLUE).all()
    assert (pasted_image[:, 110:130] == GREY).all()


def test_centred_object_and_boxes_only_labels_are_left_alone():
    image, annotations = scene([((90, 30, 110, 70), RED)])  # its own mirror would cover it entirely
    result_image, result = copy_paste(image, annotations, 1.0, np.random.default_rng(0))
    assert result is annotations and result_image is image
    boxes_only = Annotations(annotations.classes, annotations.boxes, np.zeros((0, 2), np.float32),
                             np.zeros(0, np.int64), has_segments=False)
    image, annotations = scene([((10, 20, 40, 60), RED)])
    assert copy_paste(image, boxes_only, 1.0, np.random.default_rng(0))[1] is boxes_only


def test_object_whose_polygon_was_clipped_away_is_not_pasted():
    image, annotations = scene([((10, 20, 40, 60), RED), ((50, 20, 60, 30), BLUE)])
    emptied = annotations.select(np.array([True, True]))
    emptied = Annotations(emptied.classes, emptied.boxes, emptied.points[:4], emptied.owners[:4], True)
    pasted_image, pasted = copy_paste(image, emptied, 1.0, np.random.default_rng(0))
    assert pasted.classes.tolist() == [0, 1, 0]
    assert (pasted_image[20:30, 140:150] == GREY).all()


def test_fraction_sets_how_many_objects_are_tried():
    objects = [((x, 10, x + 8, 18), RED) for x in range(2, 90, 11)]  # 8 objects, all on the left half
    image, annotations = scene(objects)
    for fraction, expected in ((0.0, 8), (0.25, 10), (0.5, 12), (1.0, 16)):
        assert len(copy_paste(image, annotations, fraction, np.random.default_rng(1))[1]) == expected


def write_one_object_dataset(directory, count=3, size=(80, 120)):
    """Images with one rectangle in the left third, labelled with its polygon."""
    labels = []
    height, width = size
    for index in range(count):
        image = np.full((height, width, 3), 60, np.uint8)
        image[20:60, 12:36] = COLOURS[index]
        path = directory / f"{index}.png"
        cv2.imwrite(str(path), image)
        polygon = square(12, 20, 36, 60) / [width, height]
        box = [24 / width, 40 / height, 24 / width, 40 / height]
        labels.append(ImageLabels(str(path), size, np.array([index]), np.array([box], np.float32),
                                  [polygon.astype(np.float32)]))
    return labels


def test_dataset_pastes_until_mosaic_closes(tmp_path):
    dataset = make(write_one_object_dataset(tmp_path), augment=True, augmentation=gains(copy_paste=1.0))
    sample = dataset[1]
    assert sample.classes.tolist() == [1, 1] and len(sample.segments) == 2
    original, pasted = xywh_to_xyxy(sample.boxes)
    np.testing.assert_allclose(pasted[[2, 0]], 1 - original[[0, 2]], atol=1e-6)  # mirrored about the centre
    np.testing.assert_allclose(sample.segments[1][:, 0], 1 - sample.segments[0][:, 0], atol=1e-6)
    dataset.close_mosaic()
    assert dataset[1].classes.tolist() == [1]


def test_boxes_only_dataset_warns_that_copy_paste_does_nothing(tmp_path):
    labels = write_dataset(tmp_path, SHAPES[:2], with_segments=False)
    with pytest.warns(CopyPasteWithoutPolygonsWarning, match="boxes only"):
        dataset = make(labels, augment=True, augmentation=gains(copy_paste=0.5))
    assert len(dataset[0].classes) == 2
