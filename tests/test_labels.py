"""Label parsing, the label scan (each kind of bad file), its logging and its cache."""

import logging
import os

import cv2
import numpy as np
import pytest

from yolo8.data import label_scan
from yolo8.data.label_cache import CACHE_VERSION, cache_key, default_cache_file
from yolo8.data.label_scan import scan_labels
from yolo8.data.labels import LabelError, parse_label_text

# ---------------------------------------------------------------- parse_label_text


def test_boxes_parse_exactly():
    classes, boxes, segments, warnings = parse_label_text("0 0.5 0.5 0.2 0.4\n\n2 0.25 0.75 0.5 0.5\n", 3)
    np.testing.assert_array_equal(classes, [0, 2])
    assert classes.dtype == np.int64 and boxes.dtype == np.float32 and boxes.shape == (2, 4)
    np.testing.assert_allclose(boxes, [[0.5, 0.5, 0.2, 0.4], [0.25, 0.75, 0.5, 0.5]], atol=1e-7)
    assert segments == [] and warnings == []


def test_polygon_rows_give_segments_and_their_bounding_boxes():
    text = "1 0.1 0.2 0.5 0.2 0.3 0.6\n0 0.6 0.6 0.9 0.6 0.9 0.9 0.6 0.9\n"
    classes, boxes, segments, _ = parse_label_text(text, 2)
    np.testing.assert_array_equal(classes, [1, 0])
    assert [s.shape for s in segments] == [(3, 2), (4, 2)]
    np.testing.assert_allclose(segments[0], [[0.1, 0.2], [0.5, 0.2], [0.3, 0.6]], atol=1e-7)
    # box = polygon bounding box, xywh: x 0.1..0.5, y 0.2..0.6 ; x 0.6..0.9, y 0.6..0.9
    np.testing.assert_allclose(boxes, [[0.3, 0.4, 0.4, 0.4], [0.75, 0.75, 0.3, 0.3]], atol=1e-6)


def test_mixed_file_box_rows_become_rectangles():
    classes, boxes, segments, _ = parse_label_text("0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.3 0.1 0.2 0.3\n", 2)
    np.testing.assert_allclose(segments[0], [[0.4, 0.3], [0.6, 0.3], [0.6, 0.7], [0.4, 0.7]], atol=1e-6)
    np.testing.assert_allclose(boxes, [[0.5, 0.5, 0.2, 0.4], [0.2, 0.2, 0.2, 0.2]], atol=1e-6)
    assert len(segments) == len(classes) == 2


def test_duplicates_removed_and_tiny_overshoot_clipped():
    text = "0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n1 1.0004 0.5 0.1 0.1\n0 0.50 0.5 0.2 0.2\n"
    classes, boxes, _, warnings = parse_label_text(text, 2, "x.txt")
    np.testing.assert_array_equal(classes, [0, 1])
    assert boxes[1, 0] == 1.0
    assert warnings == ["x.txt: removed 2 duplicate row(s) (line(s) 2, 4)"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("0 0.5 0.5 0.2\n", r"x.txt line 1: 4 values"),
        ("0 0.5 0.5 0.2 0.2\n0 0.1 0.1 0.2 0.2 0.3\n", r"x.txt line 2: 6 values"),
        ("0 0.1 0.1 0.2 0.2 0.3 0.3 0.4\n", r"line 1: 8 values"),
        ("0 0.5 abc 0.2 0.2\n", r"line 1: non-numeric value 'abc'"),
        ("3 0.5 0.5 0.2 0.2\n", r"class id 3 outside 0..2 \(the dataset has nc=3\)"),
        ("-1 0.5 0.5 0.2 0.2\n", r"class id -1 outside 0..2"),
        ("1.5 0.5 0.5 0.2 0.2\n", r"class id 1.5 is not an integer"),
        ("0 0.5 1.2 0.2 0.2\n", r"coordinate 1.2 outside \[0, 1\]"),
        ("0 0.5 -0.1 0.2 0.2\n", r"coordinate -0.1 outside \[0, 1\]"),
        ("0 0.5 nan 0.2 0.2\n", r"non-finite"),
    ],
)
def test_bad_rows_raise_naming_file_and_line(text, message):
    with pytest.raises(LabelError, match=message):
        parse_label_text(text, 3, "x.txt")


def test_integer_valued_float_class_is_accepted():
    classes, _, _, _ = parse_label_text("2.0 0.5 0.5 0.2 0.2\n", 3)
    np.testing.assert_array_equal(classes, [2])


# ---------------------------------------------------------------- scan_labels

LABELS = {
    "good": "0 0.5 0.5 0.2 0.4\n1 0.25 0.25 0.1 0.1\n",
    "poly": "1 0.1 0.2 0.5 0.2 0.3 0.6\n",
    "dup": "0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n",
    "empty": "\n  \n",
    "missing": None,
    "badcls": "0 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.2 0.2\n",
    "negcls": "-1 0.5 0.5 0.2 0.2\n",
    "fraccls": "0.5 0.5 0.5 0.2 0.2\n",
    "text": "0 0.5 0.5 wide 0.2\n",
    "columns": "0 0.5 0.5 0.2\n",
    "outside": "0 0.5 1.5 0.2 0.2\n",
    "shortpoly": "0 0.1 0.1 0.2 0.2 0.3\n",
    "corrupt": "0 0.5 0.5 0.2 0.2\n",  # image bytes are garbage
    "tiny": "0 0.5 0.5 0.2 0.2\n",  # image is 32x8
    "truncated": "0 0.5 0.5 0.2 0.2\n",  # JPEG without its end marker, still decodes
}
KEPT = ["dup", "empty", "good", "missing", "poly", "truncated"]


def _make_dataset(root, names=LABELS):
    image_dir, label_dir = root / "images" / "train", root / "labels" / "train"
    image_dir.mkdir(parents=True)
    label_dir.mkdir(parents=True)
    pixels = np.full((24, 32, 3), 120, np.uint8)
    files = []
    for name, text in names.items():
        path = image_dir / f"{name}.jpg"
        if name == "corrupt":
            path.write_bytes(b"\xff\xd8 not really a jpeg" * 5)
        elif name == "tiny":
            cv2.imwrite(str(path), pixels[:8, :40])
        else:
            cv2.imwrite(str(path), pixels)
        if name == "truncated":
            path.write_bytes(path.read_bytes()[:-2])
        if text is not None:
            (label_dir / f"{name}.txt").write_text(text)
        files.append(str(path))
    return sorted(files)


def test_scan_counts_warnings_and_kept_images(tmp_path, caplog):
    files = _make_dataset(tmp_path)
    with caplog.at_level(logging.INFO, logger="yolo8"):
        result = scan_labels(files, num_classes=2, prefix="train")
    assert (result.found, result.missing, result.empty, result.corrupt) == (4, 1, 1, 9)
    assert [os.path.basename(item.image_file)[:-4] for item in result.labels] == KEPT
    by_name = {os.path.basename(item.image_file)[:-4]: item for item in result.labels}
    assert by_name["good"].shape == (24, 32)
    np.testing.assert_allclose(by_name["good"].boxes, [[0.5, 0.5, 0.2, 0.4], [0.25, 0.25, 0.1, 0.1]], atol=1e-7)
    np.testing.assert_array_equal(by_name["good"].classes, [0, 1])
    assert by_name["missing"].classes.shape == (0,) and by_name["missing"].boxes.shape == (0, 4)
    assert by_name["empty"].classes.shape == (0,)
    assert len(by_name["dup"].classes) == 1
    assert len(by_name["poly"].segments) == 1
    np.testing.assert_allclose(by_name["poly"].boxes, [[0.3, 0.4, 0.4, 0.4]], atol=1e-6)

    def warning_for(name):
        matches = [w for w in result.warnings if f"{os.sep}{name}." in w]
        assert len(matches) == 1, (name, result.warnings)
        return matches[0]

    assert "class id 5 outside 0..1 (the dataset has nc=2)" in warning_for("badcls")
    assert "line 2" in warning_for("badcls")
    assert "class id -1" in warning_for("negcls")
    assert "is not an integer" in warning_for("fraccls")
    assert "non-numeric value 'wide'" in warning_for("text")
    assert "4 values" in warning_for("columns")
    assert "6 values" in warning_for("shortpoly")
    assert "outside [0, 1]" in warning_for("outside")
    assert "cannot open the image" in warning_for("corrupt")
    assert "32x8 pixels, smaller than 10" in warning_for("tiny")
    assert "no end-of-image marker" in warning_for("truncated")
    assert "duplicate" in warning_for("dup")
    assert len(result.warnings) == 11  # 9 skipped + duplicate + truncated

    records = [r for r in caplog.records if r.name == "yolo8"]
    assert records[0].getMessage() == "train: found 4, missing 1, empty 1, corrupt 9"
    assert [r.getMessage() for r in records[1:]] == result.warnings


def test_warning_log_is_capped(tmp_path, caplog):
    files = _make_dataset(tmp_path, {f"bad{i:02d}": "7 0.5 0.5 0.1 0.1\n" for i in range(25)})
    with caplog.at_level(logging.INFO, logger="yolo8"):
        result = scan_labels(files, num_classes=2, use_cache=False)
    assert result.corrupt == 25 and len(result.warnings) == 25 and result.labels == []
    messages = [r.getMessage() for r in caplog.records if r.name == "yolo8"]
    assert messages[0].endswith("found 0, missing 0, empty 0, corrupt 25")
    assert len(messages) == 1 + 20 + 1 and messages[-1] == "… and 5 more label-scan warnings"


def test_cache_written_reused_and_invalidated(tmp_path, monkeypatch):
    files = _make_dataset(tmp_path)
    first = scan_labels(files, num_classes=2)
    cache_file = tmp_path / "labels" / "train.yolo8.cache"
    assert first.cache_file == cache_file == default_cache_file(files) and cache_file.is_file()
    assert not first.from_cache
    with np.load(cache_file, allow_pickle=False) as archive:  # loads without pickle
        assert str(archive["version"]) == CACHE_VERSION

    calls = []
    real_scan_image = label_scan.scan_image

    def counting_scan_image(image_file, num_classes):
        calls.append(image_file)
        return real_scan_image(image_file, num_classes)

    def failing_scan_image(image_file, num_classes):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(label_scan, "scan_image", failing_scan_image)
    second = scan_labels(files, num_classes=2)
    assert second.from_cache and second.cache_file == cache_file
    assert (second.found, second.missing, second.empty, second.corrupt) == (4, 1, 1, 9)
    assert second.warnings == first.warnings
    assert len(second.labels) == len(first.labels)
    for a, b in zip(first.labels, second.labels):
        assert a.image_file == b.image_file and a.shape == b.shape
        np.testing.assert_array_equal(a.classes, b.classes)
        np.testing.assert_array_equal(a.boxes, b.boxes)
        assert len(a.segments) == len(b.segments)
        for sa, sb in zip(a.segments, b.segments):
            np.testing.assert_array_equal(sa, sb)

    # a different class count is a different scan
    monkeypatch.setattr(label_scan, "scan_image", counting_scan_image)
    scan_labels(files, num_classes=3)
    assert len(calls) == len(files)

    # touching one label file (mtime only) invalidates the cache
    scan_labels(files, num_classes=2)
    calls.clear()
    label = tmp_path / "labels" / "train" / "good.txt"
    status = label.stat()
    os.utime(label, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    scan_labels(files, num_classes=2)
    assert len(calls) == len(files)

    # editing a label changes the result; the next run reuses the new cache
    label.write_text("1 0.5 0.5 0.2 0.2\n")
    calls.clear()
    third = scan_labels(files, num_classes=2)
    assert len(calls) == len(files) and not third.from_cache
    good = next(item for item in third.labels if item.image_file.endswith("good.jpg"))
    np.testing.assert_array_equal(good.classes, [1])
    calls.clear()
    assert scan_labels(files, num_classes=2).from_cache and calls == []

    # creating a missing label file invalidates too
    (tmp_path / "labels" / "train" / "missing.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    fourth = scan_labels(files, num_classes=2)
    assert not fourth.from_cache and fourth.missing == 0 and fourth.found == 5


def test_corrupt_or_foreign_cache_is_rebuilt(tmp_path):
    files = _make_dataset(tmp_path, {"good": LABELS["good"]})
    cache_file = tmp_path / "elsewhere.cache"
    cache_file.write_bytes(b"garbage, e.g. a pickle written by another tool")
    result = scan_labels(files, num_classes=2, cache_file=cache_file)
    assert not result.from_cache and result.found == 1
    assert scan_labels(files, num_classes=2, cache_file=cache_file).from_cache


def test_unwritable_cache_location_is_a_warning(tmp_path):
    files = _make_dataset(tmp_path, {"good": LABELS["good"]})
    cache_file = tmp_path / "no" / "such" / "dir" / "x.cache"
    result = scan_labels(files, num_classes=2, cache_file=cache_file)
    assert result.found == 1 and result.cache_file is None
    assert len(result.warnings) == 1 and "label cache not saved" in result.warnings[0]
    assert str(cache_file) in result.warnings[0]
    assert not cache_file.exists()


def test_cache_key_depends_on_paths_and_sizes(tmp_path):
    files = _make_dataset(tmp_path, {"good": LABELS["good"], "poly": LABELS["poly"]})
    key = cache_key(files, 2)
    assert key == cache_key(list(files), 2)
    assert key != cache_key(files[:1], 2)
    assert key != cache_key(files, 5)
    with open(tmp_path / "labels" / "train" / "good.txt", "a") as file:
        file.write(" ")
    status = os.stat(tmp_path / "labels" / "train" / "good.txt")
    assert key != cache_key(files, 2)  # size changed even if mtime resolution were coarse
    assert status.st_size > 0


def test_exif_rotated_image_shape_in_scan(tmp_path):
    from PIL import Image

    files = _make_dataset(tmp_path, {"rotated": LABELS["good"]})
    exif = Image.Exif()
    exif[274] = 6
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(files[0], exif=exif)
    result = scan_labels(files, num_classes=2, use_cache=False)
    assert result.labels[0].shape == (32, 24)


def test_empty_image_list_is_an_error():
    with pytest.raises(ValueError, match="no image files"):
        scan_labels([], num_classes=1)


def test_binary_label_file_is_skipped(tmp_path):
    files = _make_dataset(tmp_path, {"binary": "", "good": LABELS["good"]})
    (tmp_path / "labels" / "train" / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    result = scan_labels(files, num_classes=2, use_cache=False)
    assert (result.found, result.corrupt) == (1, 1)
    assert "binary.txt: skipped" in result.warnings[0] and "not UTF-8" in result.warnings[0]


def test_cached_run_logs_its_summary(tmp_path, caplog):
    files = _make_dataset(tmp_path, {"good": LABELS["good"], "missing": None})
    scan_labels(files, num_classes=2, prefix="val")
    with caplog.at_level(logging.INFO, logger="yolo8"):
        scan_labels(files, num_classes=2, prefix="val")
    messages = [r.getMessage() for r in caplog.records if r.name == "yolo8"]
    assert messages == [f"val: found 1, missing 1, empty 0, corrupt 0 (cache {tmp_path / 'labels' / 'train.yolo8.cache'})"]
