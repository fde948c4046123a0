"""Ground-truth masks through the training pipeline: they cover the pixels the augmented image shows for each
object, in both layouts, at any mask_ratio; collate shapes; the overlap layout's area order."""

import cv2
import numpy as np
import pytest
import torch

from yolo8.data.dataset import YOLODataset
from yolo8.data.labels import ImageLabels
from yolo8.data.loader import collate
from yolo8.data.transforms.compose import Augmentation
from yolo8.data.transforms.masks import MaskLayout, overlap_masks, polygon_masks
from yolo8.metrics.segmentation import polygons_to_masks

BACKGROUND = 60
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255)]  # BGR, class = index


def polygon_images(directory, count=4, size=320, seed=0):
    """Images with 2 non-touching filled polygons (a triangle or a hexagon, and a rotated square) in the colour of
    their class; their ImageLabels with the exact outlines. Objects are large (radius 48-64 px, 12-16 px at 1/4):
    at 1/4 a rasteriser's boundary pixels are a small share of their area."""
    rng = np.random.default_rng(seed)
    labels = []
    for index in range(count):
        image = np.full((size, size, 3), BACKGROUND, np.uint8)
        classes, segments = [], []
        for slot, vertices in enumerate((3 + 3 * (index % 2), 4)):
            centre = np.array([size * (0.28 + 0.44 * slot), size * rng.uniform(0.3, 0.7)])
            radius = size * rng.uniform(0.15, 0.2)
            angles = rng.uniform(0, 2 * np.pi) + np.linspace(0, 2 * np.pi, vertices, endpoint=False)
            outline = centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
            class_id = (index + slot) % len(COLOURS)
            cv2.fillPoly(image, [np.round(outline * 16).astype(np.int32)], COLOURS[class_id], lineType=cv2.LINE_AA,
                         shift=4)
            classes.append(class_id)
            segments.append((outline / size).astype(np.float32))
        path = directory / f"{index}.png"
        cv2.imwrite(str(path), image)
        boxes = np.array([np.r_[(s.min(0) + s.max(0)) / 2, s.max(0) - s.min(0)] for s in segments], np.float32)
        labels.append(ImageLabels(str(path), (size, size), np.array(classes), boxes, segments))
    return labels


GEOMETRY = dict(mosaic=1.0, degrees=15.0, translate=0.1, scale=0.1, shear=5.0, perspective=0.0, fliplr=0.5, flipud=0.5)


def dataset(labels, layout, **gains):
    augmentation = Augmentation(**{**Augmentation.none().__dict__, **gains})
    return YOLODataset(labels, 320, bool(gains), augmentation, False, 4, 32, 0.0, False, seed=0, masks=layout)


def per_instance(sample, layout):
    """The sample's masks as (N, h, w) bool, whatever the layout."""
    if layout.overlap:
        return np.stack([sample.masks == k + 1 for k in range(len(sample.classes))]) if len(sample.classes) else \
            np.zeros((0, *sample.masks.shape), bool)
    return sample.masks.astype(bool)


def iou(a, b):
    union = np.logical_or(a, b).sum()
    return np.logical_and(a, b).sum() / union if union else 1.0


@pytest.mark.parametrize("overlap", [True, False])
def test_masks_cover_each_objects_pixels_after_mosaic_affine_and_flips(tmp_path, overlap):
    """Per class, the union of its masks against (a) the pixels of its colour in the augmented image and (b) the
    augmented polygons filled at full resolution, both as coverage >= 1/2 at 1/4 resolution: IoU >= 0.95 over
    each sample (intersections and unions summed over its classes), >= 0.9 for every class.

    The masks are YOLOv8's (fill with boundary pixels, bilinear downsampling): about half a full-resolution pixel
    larger all round than the true outline, which costs a 200-pixel triangle at 1/4 some 0.06 IoU on its own."""
    layout = MaskLayout(4, overlap)
    data = dataset(polygon_images(tmp_path, count=8), layout, **GEOMETRY)
    checked = 0
    for index in range(8):
        sample = data[index]
        image = sample.image.permute(1, 2, 0).numpy()[..., ::-1]  # (3, H, W) RGB -> (H, W, 3) BGR
        height, width = image.shape[:2]
        masks = per_instance(sample, layout)
        assert masks.shape == (len(sample.classes), height // 4, width // 4)
        full = polygons_to_masks([points * np.array([width, height]) for points in sample.segments], height, width)
        sums = np.zeros((2, 2))  # (colour, polygon) x (intersection, union)
        for class_id in np.unique(sample.classes):
            ours = masks[sample.classes == class_id].any(axis=0)
            if ours.sum() < 100:  # slivers cut by the mosaic border: too few pixels for an IoU
                continue
            colour = (np.abs(image.astype(int) - COLOURS[class_id]) <= 60).all(axis=2)
            polygon = full[sample.classes == class_id].any(axis=0)
            for row, truth in enumerate((colour, polygon)):
                seen = cv2.resize(truth.astype(np.float32), (width // 4, height // 4), interpolation=cv2.INTER_AREA)
                seen = seen >= 0.5
                intersection, union = np.logical_and(ours, seen).sum(), np.logical_or(ours, seen).sum()
                assert intersection / union >= 0.9, (index, class_id, row, intersection / union)
                sums[row] += intersection, union
            checked += 1
        assert (sums[:, 0] >= 0.95 * sums[:, 1]).all(), (index, sums[:, 0] / sums[:, 1])
    assert checked >= 10


@pytest.mark.parametrize("ratio", [1, 2, 4, 8])
def test_mask_size_follows_mask_ratio(tmp_path, ratio):
    data = dataset(polygon_images(tmp_path, count=2), MaskLayout(ratio, False))
    sample = data[0]
    assert sample.masks.shape == (2, 320 // ratio, 320 // ratio) and sample.masks.dtype == np.uint8
    assert all(mask.any() for mask in sample.masks)


def test_overlap_layout_orders_by_decreasing_area_and_keeps_small_objects_visible():
    masks = np.zeros((3, 10, 10), np.uint8)
    masks[0, 2:4, 2:4] = 1  # small, inside the large one
    masks[1, :8, :8] = 1  # large
    masks[2, 8:, 8:] = 1  # smallest... area 4, same as the first: ties keep their order
    index_mask, order = overlap_masks(masks)
    assert order.tolist() == [1, 0, 2]
    assert index_mask[3, 3] == 2 and index_mask[0, 0] == 1 and index_mask[9, 9] == 3 and index_mask[9, 0] == 0
    assert index_mask.dtype == np.int16


def test_samples_in_the_overlap_layout_come_by_area_and_collate(tmp_path):
    data = dataset(polygon_images(tmp_path, count=2), MaskLayout(4, True))
    samples = [data[0], data[1]]
    for sample in samples:
        areas = [(sample.masks == k + 1).sum() for k in range(len(sample.classes))]
        assert areas == sorted(areas, reverse=True)
        # the boxes were reordered with the masks: each mask lies inside its own box
        for k, (cx, cy, w, h) in enumerate(sample.boxes):
            rows, columns = np.nonzero(sample.masks == k + 1)
            assert abs(columns.mean() * 4 / 320 - cx) < w / 2 and abs(rows.mean() * 4 / 320 - cy) < h / 2
    batch = collate(samples)
    assert batch.masks.shape == (2, 80, 80) and batch.masks.dtype == torch.int16
    separate = dataset(polygon_images(tmp_path, count=2), MaskLayout(4, False))
    batch = collate([separate[0], separate[1]])
    assert batch.masks.shape == (4, 80, 80) and len(batch.targets) == 4
    assert collate([dataset(polygon_images(tmp_path, count=2), None)[0]]).masks is None


def test_polygon_masks_of_a_rectangle_are_exact():
    """A 16..48 x 8..40 px rectangle at ratio 4 -> exactly pixels 4..11 x 2..9 (edges on block boundaries)."""
    points = np.array([[16, 8], [48, 8], [48, 40], [16, 40]], np.float32)
    masks = polygon_masks(points, np.zeros(4, np.int64), 1, 64, 64, ratio=4)
    expected = np.zeros((16, 16), np.uint8)
    expected[2:10, 4:12] = 1
    assert np.array_equal(masks[0], expected)


def test_polygon_masks_at_sizes_not_multiple_of_the_ratio():
    points = np.array([[0, 0], [30, 0], [30, 30], [0, 30]], np.float32)
    masks = polygon_masks(points, np.zeros(4, np.int64), 2, 50, 70, ratio=4)
    assert masks.shape == (2, 12, 17)
    assert masks[0].sum() > 40 and masks[1].sum() == 0  # the second owner has no vertices: empty


def test_box_rows_among_polygon_rows_are_named():
    from yolo8.data.labels import parse_label_text

    text = "0 0.1 0.1 0.4 0.1 0.4 0.4\n1 0.5 0.5 0.2 0.2\n"
    classes, boxes, segments, warnings = parse_label_text(text, 2, "a.txt")
    assert len(segments) == 2 and segments[1].shape == (4, 2)
    assert warnings == ["a.txt: 1 box row(s) among polygon rows (line(s) 2): their outline is taken to be their box's "
                        "rectangle (a segmentation model learns a rectangular mask for them)"]
