"""YOLODataset: validation letterbox + inverse, rect batches, training mosaic, RAM cache, mosaic switch."""

import cv2
import numpy as np
import pytest
import torch

from yolo8.data.dataset import YOLODataset
from yolo8.data.labels import ImageLabels
from yolo8.data.transforms.compose import Augmentation
from yolo8.ops.boxes import xywh_to_xyxy
from yolo8.ops.letterbox import boxes_from_letterbox

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255)]


def write_dataset(directory, shapes, with_segments=True):
    """PNG images of the given (h, w) with two coloured rectangles each; their ImageLabels."""
    labels = []
    for index, (height, width) in enumerate(shapes):
        image = np.full((height, width, 3), 60, np.uint8)
        boxes, segments = [], []
        for slot in range(2):
            x1, x2 = int(width * (0.1 + 0.45 * slot)), int(width * (0.4 + 0.45 * slot))
            y1, y2 = int(height * 0.2), int(height * 0.8)
            image[y1:y2, x1:x2] = COLOURS[(index + slot) % len(COLOURS)]
            boxes.append([(x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height])
            segments.append(np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32) / [width, height])
        path = directory / f"{index}.png"
        cv2.imwrite(str(path), image)
        labels.append(
            ImageLabels(str(path), (height, width), np.array([0, 1]), np.array(boxes, np.float32),
                        [s.astype(np.float32) for s in segments] if with_segments else [])
        )
    return labels


def gains(**changes):
    return Augmentation(**{**Augmentation.none().__dict__, **changes})


YOLO_GAINS = gains(mosaic=1.0, translate=0.1, scale=0.5, hsv_h=0.015, hsv_s=0.7, hsv_v=0.4, fliplr=0.5)
SHAPES = [(120, 200), (200, 120), (90, 90), (64, 256), (150, 100), (100, 160)]


def make(labels, augment, rect=False, augmentation=YOLO_GAINS, cache=False, size=96, batch_size=2, pad=0.5):
    return YOLODataset(labels, size, augment, augmentation, rect, batch_size, 32, pad, cache, seed=0)


def test_validation_sample_maps_back_to_the_original(tmp_path):
    labels = write_dataset(tmp_path, SHAPES)
    dataset = make(labels, augment=False)
    for index in range(len(dataset)):
        sample = dataset[index]
        assert sample.image.shape == (3, 96, 96) and sample.image.dtype == torch.uint8
        assert sample.original_shape == labels[index].shape and sample.image_file == labels[index].image_file
        height, width = sample.image.shape[1:]
        boxes = xywh_to_xyxy(sample.boxes) * [width, height, width, height]
        back = boxes_from_letterbox(boxes, sample.letterbox, sample.original_shape)
        original = xywh_to_xyxy(labels[index].boxes) * np.tile(labels[index].shape[::-1], 2)
        np.testing.assert_allclose(back, original, atol=1e-3)
        # RGB: the first object's colour in BGR is reversed
        x1, y1, x2, y2 = boxes[0].round().astype(int)
        centre = sample.image[:, (y1 + y2) // 2, (x1 + x2) // 2].tolist()
        assert centre == list(COLOURS[index % len(COLOURS)][::-1])
        assert len(sample.segments) == 2 and np.allclose(
            np.concatenate([sample.segments[0].min(0), sample.segments[0].max(0)]), xywh_to_xyxy(sample.boxes[0]), atol=1e-6
        )


def test_rect_batches_share_stride_multiple_shapes(tmp_path):
    labels = write_dataset(tmp_path, SHAPES)
    dataset = make(labels, augment=False, rect=True, batch_size=2)
    aspects = [label.shape[0] / label.shape[1] for label in dataset.labels]
    assert aspects == sorted(aspects)
    for index in range(len(dataset)):
        sample = dataset[index]
        expected = tuple(dataset.batch_shapes[index // 2])
        assert sample.image.shape[1:] == expected
        assert expected[0] % 32 == 0 and expected[1] % 32 == 0
    # first batch: h/w 0.25 and 0.6 -> height ceil(0.6 * 96 / 32 + 0.5) = 3 strides, width ceil(3.5) = 4
    assert dataset[0].image.shape[1:] == (96, 128)


@pytest.mark.parametrize("mixup", [0.0, 1.0])
def test_training_mosaic_sample(tmp_path, mixup):
    labels = write_dataset(tmp_path, SHAPES)
    dataset = make(labels, augment=True, augmentation=Augmentation(**{**YOLO_GAINS.__dict__, "mixup": mixup}))
    for index in range(len(dataset)):
        sample = dataset[index]
        assert sample.image.shape == (3, 96, 96) and sample.letterbox is None
        assert sample.boxes.shape[1] == 4 and len(sample.classes) == len(sample.boxes) == len(sample.segments)
        xyxy = xywh_to_xyxy(sample.boxes)
        assert (xyxy >= -1e-6).all() and (xyxy <= 1 + 1e-6).all()
        for polygon, box in zip(sample.segments, xyxy):  # boxes are the bounds of the clipped polygons
            np.testing.assert_allclose(np.concatenate([polygon.min(0), polygon.max(0)]), box, atol=1e-5)


def test_rect_training_keeps_batch_shapes(tmp_path):
    labels = write_dataset(tmp_path, SHAPES)
    dataset = make(labels, augment=True, rect=True, pad=0.0)
    for index in range(len(dataset)):
        sample = dataset[index]
        assert tuple(sample.image.shape[1:]) == tuple(dataset.batch_shapes[index // 2])
        xyxy = xywh_to_xyxy(sample.boxes)
        assert len(xyxy) and (xyxy >= -1e-6).all() and (xyxy <= 1 + 1e-6).all()


def test_same_seed_same_samples_and_ram_cache_matches_disk(tmp_path):
    labels = write_dataset(tmp_path, SHAPES)
    first = make(labels, augment=True)
    first.reseed(3)
    again = make(labels, augment=True)
    again.reseed(3)
    for index in range(len(first)):
        assert (first[index].image == again[index].image).all()
        np.testing.assert_array_equal(first[index].boxes, again[index].boxes)
    plain, cached = make(labels, augment=False), make(labels, augment=False, cache="ram")
    for index in range(len(plain)):
        assert (plain[index].image == cached[index].image).all()


def test_close_mosaic_switches_to_letterbox(tmp_path):
    labels = write_dataset(tmp_path, SHAPES)
    dataset = make(labels, augment=True, augmentation=gains(mosaic=1.0))  # only mosaic, no other randomness
    reference = make(labels, augment=False)
    assert not all((dataset[i].image == reference[i].image).all() for i in range(len(dataset)))
    dataset.close_mosaic()
    assert not dataset.mosaic_enabled
    for index in range(len(dataset)):
        sample, expected = dataset[index], reference[index]
        assert (sample.image == expected.image).all()
        np.testing.assert_allclose(sample.boxes, expected.boxes, atol=1e-6)
    dataset.set_mosaic(True)
    assert dataset.mosaic_enabled


def test_box_only_labels_and_errors(tmp_path):
    labels = write_dataset(tmp_path, SHAPES[:2], with_segments=False)
    sample = make(labels, augment=True)[0]
    assert sample.segments == [] and len(sample.boxes) > 0
    with pytest.raises(ValueError, match="no images"):
        make([], augment=False)
    with pytest.raises(ValueError, match="cache"):
        make(labels, augment=False, cache="disk")
