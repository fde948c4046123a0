"""benchmarks/alt_dataset.py: deterministic output, valid YOLO box labels, a data.yaml yolo8 loads, tight boxes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import load_benchmark
from yolo8.data.dataset_config import load_dataset_config

alt_dataset = load_benchmark("alt_dataset")


def _files(root: Path, kind: str, suffix: str) -> list[Path]:
    return sorted((root / kind).glob(f"*/*{suffix}"))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    first = alt_dataset.generate(tmp_path_factory.mktemp("alt_a"), train=6, val=2, size=64, seed=3)
    second = alt_dataset.generate(tmp_path_factory.mktemp("alt_b"), train=6, val=2, size=64, seed=3)
    return first, second


def test_layout_and_same_seed_gives_identical_output(generated):
    first, second = (path.parent for path in generated)
    for root in (first, second):
        assert [p.relative_to(root).as_posix() for p in _files(root, "images", ".jpg")] == [
            f"images/{split}/{index:06d}.jpg" for split, count in (("train", 6), ("val", 2)) for index in range(count)]
        assert [p.stem for p in _files(root, "labels", ".txt")] == [p.stem for p in _files(root, "images", ".jpg")]
    for a, b in zip(_files(first, "labels", ".txt"), _files(second, "labels", ".txt")):
        assert a.read_bytes() == b.read_bytes(), a.name
    for a, b in zip(_files(first, "images", ".jpg"), _files(second, "images", ".jpg")):
        image_a, image_b = cv2.imread(str(a)), cv2.imread(str(b))
        assert max(image_a.shape[:2]) == 64
        np.testing.assert_array_equal(image_a, image_b)


def test_another_seed_gives_other_images(tmp_path, generated):
    other = alt_dataset.generate(tmp_path, train=6, val=2, size=64, seed=4).parent
    reference = generated[0].parent
    pairs = zip(_files(reference, "images", ".jpg"), _files(other, "images", ".jpg"))
    assert not all(np.array_equal(cv2.imread(str(a)), cv2.imread(str(b))) for a, b in pairs)


def test_labels_are_valid_boxes(generated):
    rows = [line.split() for f in _files(generated[0].parent, "labels", ".txt") for line in f.read_text().splitlines()]
    assert len(rows) >= 8  # about 6 objects per image on average
    values = np.array(rows, np.float64)
    assert values.shape[1] == 5
    assert np.all(values[:, 0] == np.round(values[:, 0])) and values[:, 0].min() >= 0 and values[:, 0].max() < 7
    assert values[:, 1:].min() >= 0 and values[:, 1:].max() <= 1
    assert np.all(values[:, 3:] > 0)
    centre, half = values[:, 1:3], values[:, 3:5] / 2
    assert np.all(centre - half >= -1e-6) and np.all(centre + half <= 1 + 1e-6)


def test_yaml_loads_through_yolo8(generated, tmp_path):
    config = load_dataset_config(generated[0])
    assert config.num_classes == 7
    assert config.names == dict(enumerate(alt_dataset.CLASS_POOL[:7]))
    assert config.root == generated[0].parent
    five = load_dataset_config(alt_dataset.generate(tmp_path, train=1, val=1, size=64, classes=5))
    assert five.names == {0: "glyph_A", 1: "arrow", 2: "hatched_rect", 3: "glyph_7", 4: "target"}


@pytest.mark.parametrize("name", alt_dataset.CLASS_POOL)
def test_object_mask_is_tight_and_sized(name):
    rng = np.random.default_rng(0)
    for longest in (9.0, 40.0, 120.0):
        alpha = alt_dataset.object_alpha(name, longest, rng)
        assert max(alpha.shape) == round(longest)
        solid = alpha > 0.5
        # the drawn shape reaches (within a pixel of resampling) every edge of its array, i.e. of its box
        assert solid[:2].any() and solid[-2:].any() and solid[:, :2].any() and solid[:, -2:].any()


def test_label_text_normalises_pixel_boxes():
    text = alt_dataset.label_text([(2, 10, 20, 30, 60), (0, 0, 0, 64, 32)], height=80, width=64)
    assert text == "2 0.312500 0.500000 0.312500 0.500000\n0 0.500000 0.200000 1.000000 0.400000\n"


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="classes=11"):
        alt_dataset.generate(tmp_path, classes=11)
    with pytest.raises(ValueError, match="size=16"):
        alt_dataset.generate(tmp_path, size=16)


def test_polygon_labels_outline_the_same_objects(generated, tmp_path):
    """--polygons: the same images; every row a polygon inside the object's box row, at least 3 points."""
    from yolo8.data.labels import parse_label_text

    boxes_root = generated[0].parent
    polygons_root = alt_dataset.generate(tmp_path, train=6, val=2, size=64, seed=3, polygons=True).parent
    for box_file, polygon_file in zip(_files(boxes_root, "labels", ".txt"), _files(polygons_root, "labels", ".txt")):
        box_classes, boxes, _, _ = parse_label_text(box_file.read_text(), 7)
        classes, polygon_boxes, segments, _ = parse_label_text(polygon_file.read_text(), 7)
        if not len(box_classes):
            continue
        assert len(segments) == len(classes) and all(len(points) >= 3 for points in segments)
        assert classes.tolist() == box_classes.tolist()  # every object keeps a visible part, in the same order
        for cls, box in zip(classes, polygon_boxes):  # each outline lies within some box of its class
            inside = [(abs(box[:2] - other[:2]) <= (other[2:] - box[2:]) / 2 + 1.5 / 64).all()
                      for other_cls, other in zip(box_classes, boxes) if other_cls == cls]
            assert any(inside), (polygon_file.name, box)
    for a, b in zip(_files(boxes_root, "images", ".jpg"), _files(polygons_root, "images", ".jpg")):
        assert a.read_bytes() == b.read_bytes()
