"""The built-in synthetic dataset: format, labels that match the pixels, determinism, cache handling."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from yolo8.data.synthetic import (
    CLASS_NAMES,
    builtin,
    builtin_dataset,
    default_root,
    render_scene,
    sample_images,
    sample_scene,
)
from yolo8.data.synthetic.builtin import label_rows
from yolo8.data.synthetic.outline import polygon_from_mask
from yolo8.data.synthetic.shapes import rasterize_shape


def _scenes(count: int, width: int = 160, height: int = 128, seed: int = 7):
    return [render_scene(np.random.default_rng([seed, k]), width, height, keep_background=True) for k in range(count)]


@pytest.fixture(scope="module")
def scenes():
    return _scenes(120)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    return builtin_dataset(tmp_path_factory.mktemp("builtin") / "data", train_images=8, val_images=4, image_size=96)


def _read_rows(label_file: Path) -> list[np.ndarray]:
    return [np.array(line.split(), np.float64) for line in label_file.read_text().splitlines()]


def test_yaml_and_layout(tiny_dataset):
    root = tiny_dataset.parent
    data = yaml.safe_load(tiny_dataset.read_text())
    assert data["path"] == str(root)
    assert (data["train"], data["val"]) == ("images/train", "images/val")
    assert data["names"] == list(CLASS_NAMES) and data["nc"] == len(CLASS_NAMES) == 8
    for split, count in (("train", 8), ("val", 4)):
        images = sorted((root / "images" / split).glob("*.jpg"))
        labels = sorted((root / "labels" / split).glob("*.txt"))
        assert len(images) == count
        assert [p.stem for p in images] == [p.stem for p in labels]
        for image_file in images:
            height, width = cv2.imread(str(image_file)).shape[:2]
            assert max(height, width) == 96


def test_label_rows_are_polygons_within_unit_square(tiny_dataset):
    rows = [row for f in tiny_dataset.parent.glob("labels/*/*.txt") for row in _read_rows(f)]
    assert len(rows) > 10
    for row in rows:
        assert row[0] == int(row[0]) and 0 <= row[0] < len(CLASS_NAMES)
        assert len(row) % 2 == 1 and len(row) >= 7  # class + at least 3 points
        assert row[1:].min() >= 0 and row[1:].max() <= 1


def test_generation_is_deterministic(tmp_path, tiny_dataset):
    again = builtin_dataset(tmp_path / "again", train_images=8, val_images=4, image_size=96)
    first = sorted(p.relative_to(tiny_dataset.parent) for p in tiny_dataset.parent.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again.parent) for p in again.parent.rglob("*") if p.is_file())
    assert first == second
    for relative in first:
        if relative.name != "data.yaml":  # data.yaml holds its own absolute path
            assert (tiny_dataset.parent / relative).read_bytes() == (again.parent / relative).read_bytes(), relative


def test_label_box_matches_visible_mask_and_sits_on_drawn_pixels(scenes):
    objects = 0
    for scene in scenes:
        height, width = scene.image.shape[:2]
        for item, row in zip(scene.objects, label_rows(scene)):
            objects += 1
            points = np.array(row.split()[1:], np.float64).reshape(-1, 2) * [width, height]
            x1, y1, x2, y2 = item.box
            np.testing.assert_allclose(
                [points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max()],
                [x1, y1, x2, y2], atol=1e-3)
            mask = item.mask
            assert mask.shape == (y2 - y1, x2 - x1)
            assert mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any()  # tight
            drawn = scene.image[y1:y2, x1:x2][mask].astype(np.float64)
            before = scene.background[y1:y2, x1:x2][mask].astype(np.float64)
            assert np.abs(drawn - before).sum(axis=1).mean() > 30, (item.class_id, item.box)
    assert objects > 300


def test_empty_image_rate_sizes_and_borders(scenes):
    empty = sum(not scene.objects for scene in scenes)
    assert 3 <= empty <= 18  # EMPTY_PROBABILITY = 7 % of 120 -> about 8
    sides = np.array([max(o.box[2] - o.box[0], o.box[3] - o.box[1]) for s in scenes for o in s.objects])
    assert sides.min() <= 8 and sides.max() >= 0.4 * 128  # from a few pixels to about half the image
    assert np.mean(sides < 16) > 0.2 and np.mean(sides > 40) > 0.1
    cut = sum(o.box[0] == 0 or o.box[1] == 0 or o.box[2] == 160 or o.box[3] == 128 for s in scenes for o in s.objects)
    assert cut > 10
    classes = np.bincount([o.class_id for s in scenes for o in s.objects], minlength=len(CLASS_NAMES))
    assert classes.min() > 0.5 * classes.mean()


def test_objects_occlude_each_other(scenes):
    """Later objects overlap earlier ones, and the earlier masks lose exactly the covered pixels."""
    overlapping = 0
    for scene in scenes:
        for i, first in enumerate(scene.objects):
            for second in scene.objects[i + 1 :]:
                x1, y1 = max(first.box[0], second.box[0]), max(first.box[1], second.box[1])
                x2, y2 = min(first.box[2], second.box[2]), min(first.box[3], second.box[3])
                if x1 < x2 and y1 < y2:
                    overlapping += 1
                    a = first.mask[y1 - first.box[1] : y2 - first.box[1], x1 - first.box[0] : x2 - first.box[0]]
                    b = second.mask[y1 - second.box[1] : y2 - second.box[1], x1 - second.box[0] : x2 - second.box[0]]
                    assert not (a & b).any()  # a pixel belongs to one visible object at most
    assert overlapping > 20


def test_classes_are_not_separable_by_colour(scenes):
    colours, classes = [], []
    for scene in scenes:
        for item in scene.objects:
            x1, y1, x2, y2 = item.box
            colours.append(scene.image[y1:y2, x1:x2][item.mask].mean(axis=0))
            classes.append(item.class_id)
    colours, classes = np.array(colours), np.array(classes)
    half = len(classes) // 2
    means = np.stack([colours[:half][classes[:half] == c].mean(axis=0) for c in range(len(CLASS_NAMES))])
    predicted = np.argmin(((colours[half:, None, :] - means[None]) ** 2).sum(-1), axis=1)  # (N, 1, 3) - (1, C, 3)
    assert (predicted == classes[half:]).mean() < 0.25  # chance is 1/8


def test_polygon_from_mask_box_and_area():
    mask = np.zeros((20, 30), np.uint8)
    mask[3:9, 5:17] = 1
    polygon = polygon_from_mask(mask)
    np.testing.assert_allclose(polygon.min(axis=0), [5, 3])
    np.testing.assert_allclose(polygon.max(axis=0), [17, 9])
    dot = np.zeros((5, 5), bool)
    dot[2, 3] = True
    np.testing.assert_allclose(polygon_from_mask(dot), [[3, 2], [4, 2], [4, 3], [3, 3]])
    disk = rasterize_shape(0, 40.0, np.random.default_rng(0))
    area = cv2.contourArea(polygon_from_mask(disk).astype(np.float32))
    assert abs(area - disk.sum()) < 0.03 * disk.sum()


def test_shapes_have_expected_topology():
    rng = np.random.default_rng(1)
    for class_id, name in enumerate(CLASS_NAMES):
        mask = rasterize_shape(class_id, 60.0, rng)
        assert 40 <= max(mask.shape) <= 75, name
        contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        holes = int((hierarchy[0][:, 3] >= 0).sum())
        assert len(contours) - holes == 1, name  # one piece
        assert holes == (1 if name == "ring" else 0), name


def test_cache_reuse_regeneration_and_refusal(tmp_path, monkeypatch):
    root = tmp_path / "cached"
    data_yaml = builtin_dataset(root, train_images=2, val_images=1, image_size=64)
    marker_time = (root / builtin.MARKER_NAME).stat().st_mtime_ns

    def must_not_run(*args, **kwargs):
        raise AssertionError("regenerated a dataset that was already complete")

    monkeypatch.setattr(builtin, "write_split", must_not_run)
    assert builtin_dataset(root, train_images=2, val_images=1, image_size=64) == data_yaml
    monkeypatch.undo()
    builtin_dataset(root, train_images=3, val_images=1, image_size=64)  # other parameters: regenerated
    assert len(list((root / "images" / "train").glob("*.jpg"))) == 3
    assert (root / builtin.MARKER_NAME).stat().st_mtime_ns >= marker_time
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cached"]  # no partial or stale directory left

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="foreign"):
        builtin_dataset(foreign, train_images=2, val_images=1, image_size=64)
    assert (foreign / "keep.txt").read_text() == "user data"


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    def fail(root, split, *args):
        (root / "images" / split).mkdir(parents=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(builtin, "write_split", fail)
    with pytest.raises(KeyboardInterrupt):
        builtin_dataset(tmp_path / "data", train_images=2, val_images=1, image_size=64)
    assert list(tmp_path.iterdir()) == []


def test_default_root_follows_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("YOLO8_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_root(256, 64, 320, 0) == tmp_path / "xdg" / "yolo8" / "datasets" / "builtin-v1"
    monkeypatch.setenv("YOLO8_HOME", str(tmp_path / "home"))
    assert default_root(256, 64, 320, 0) == tmp_path / "home" / "datasets" / "builtin-v1"
    assert default_root(400, 100, 320, 0) == tmp_path / "home" / "datasets" / "builtin-v1-400x100-320px-seed0"
    with pytest.raises(ValueError, match="train_images"):
        builtin_dataset(tmp_path / "x", train_images=0)


def test_sample_images_match_the_generator():
    paths = sample_images()
    assert [p.name for p in paths] == ["shapes1.jpg", "shapes2.jpg"]
    for path, shape in zip(paths, [(320, 320, 3), (320, 480, 3)]):
        assert path.stat().st_size < 60_000
        image = cv2.imread(str(path))
        assert image.shape == shape
        scene = sample_scene(path.name)
        assert len(scene.objects) >= 5
        encoded = cv2.imencode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, builtin.JPEG_QUALITY])[1]
        regenerated = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        assert np.abs(image.astype(np.float64) - regenerated).mean() < 1  # same pixels up to the JPEG codec
