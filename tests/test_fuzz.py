"""Property-based fuzzing (Hypothesis) of everything that reads user input as text.

Each fuzzer states one property: any input either parses, or raises the module's own error type
(a ValueError subclass) whose message names the source (the file, the layer or the key) - never
another exception, never a hang.

* label parser: ``parse_label_text`` on arbitrary and row-shaped text, and ``scan_image`` on
  arbitrary label-file bytes (a bad file is reported as "corrupt" with a warning naming it);
* dataset YAML: ``load_dataset_config`` on arbitrary and key-shaped YAML text in a tmp file;
* model YAML: ``build_model`` on yolov8.yaml at a tiny scale with mutated rows, keys and text;
* settings: ``Config`` on arbitrary key/value pairs;
* CLI: ``parse_arguments`` on arbitrary token lists.

CI runs a bounded, derandomized number of examples (the "yolo8-ci" profile: the whole file in
well under a minute on 2 cores, the same examples on every run). To search longer by hand, pick
the "yolo8-long" profile, which also draws fresh random examples on every run::

    YOLO8_FUZZ_PROFILE=yolo8-long YOLO8_FUZZ_EXAMPLES=20000 python -m pytest -q tests/test_fuzz.py

The profiles are applied per test (``settings(parent=...)``), never loaded globally, so other test
files are not affected.
"""

from __future__ import annotations

import os
import string

import cv2
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, configuration, given, settings
from hypothesis import strategies as st

from yolo8.cli import HELP_WORDS, CommandLineError, parse_arguments
from yolo8.config import MODES, OPTIONS, Config, ConfigError
from yolo8.data.dataset_config import DatasetConfig, DatasetConfigError, load_dataset_config
from yolo8.data.label_scan import STATUSES, scan_image
from yolo8.data.labels import LabelError, parse_label_text
from yolo8.nn.graph import MODULES, SHIPPED_MODEL_DIR, ModelConfigError
from yolo8.nn.model import YOLOModel, build_model

settings.register_profile(
    "yolo8-ci", max_examples=100, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "yolo8-long", max_examples=int(os.environ.get("YOLO8_FUZZ_EXAMPLES", "5000")), deadline=None,
    derandomize=False, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PROFILE = settings.get_profile(os.environ.get("YOLO8_FUZZ_PROFILE", "yolo8-ci"))


@pytest.fixture(scope="module", autouse=True)
def hypothesis_home_in_tmp(tmp_path_factory):
    """Hypothesis caches (constants, unicode data, failure patches) go to a tmp dir, not ./.hypothesis."""
    previous = configuration.storage_directory(intent_to_write=False).home_directory
    configuration.set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    configuration.set_hypothesis_home_dir(previous)


def fuzz(weight: float = 1.0) -> settings:
    """The chosen profile with ``weight`` x its max_examples (slow properties take a smaller share)."""
    return settings(PROFILE, max_examples=max(1, int(PROFILE.max_examples * weight)))


# ---------------------------------------------------------------- label parser
NUMBER_TEXT = st.one_of(
    st.integers(-3, 5).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-0.1, 1.1).map(lambda x: f"{x:.4f}"),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "0x1", "1_0", "٣", "1.5", "-0", "+1", "1e-400", "", "\ufeff0"]),
    st.text(max_size=4),
)
ROW_TEXT = st.lists(NUMBER_TEXT, max_size=11).map(" ".join)
SEPARATORS = st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\t\n"])
LABEL_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(st.tuples(ROW_TEXT, SEPARATORS), max_size=8).map(lambda rows: "".join(r + s for r, s in rows)),
    st.lists(ROW_TEXT, max_size=8).map(lambda rows: "\ufeff" + "\n".join(rows)),
)


@fuzz(3)
@given(text=LABEL_TEXT, num_classes=st.integers(1, 4))
def test_label_text_parses_or_raises_label_error(text, num_classes):
    try:
        classes, boxes, segments, warnings = parse_label_text(text, num_classes, "fuzz/labels/x.txt")
    except LabelError as error:
        assert "fuzz/labels/x.txt" in str(error)
        return
    count = len(classes)
    assert classes.dtype == np.int64 and boxes.shape == (count, 4) and boxes.dtype == np.float32
    assert ((classes >= 0) & (classes < num_classes)).all()
    assert np.isfinite(boxes).all() and (boxes >= 0).all() and (boxes <= 1).all()
    assert segments == [] or len(segments) == count
    assert all(isinstance(message, str) and "fuzz/labels/x.txt" in message for message in warnings)


@pytest.fixture(scope="module")
def scan_root(tmp_path_factory):
    """images/x.png (32x32) and its labels/ directory; the label file is rewritten by each example."""
    root = tmp_path_factory.mktemp("fuzz_scan")
    (root / "images").mkdir()
    (root / "labels").mkdir()
    cv2.imwrite(str(root / "images" / "x.png"), np.full((32, 32, 3), 100, np.uint8))
    return root


LABEL_BYTES = st.one_of(
    st.binary(max_size=200),
    LABEL_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")),
    LABEL_TEXT.map(lambda text: b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")),
    st.text(max_size=80).map(lambda text: text.encode("utf-16")),
)


@fuzz(2)
@given(data=LABEL_BYTES)
def test_scan_image_reports_bad_label_files_as_corrupt(scan_root, data):
    label_file = scan_root / "labels" / "x.txt"
    label_file.write_bytes(data)
    scan = scan_image(str(scan_root / "images" / "x.png"), 3)
    assert scan.status in STATUSES and scan.status != "missing"
    if scan.status == "corrupt":
        assert scan.labels is None and any(str(label_file) in message for message in scan.warnings)
    else:
        assert scan.labels is not None and scan.labels.boxes.shape == (len(scan.labels.classes), 4)


# ---------------------------------------------------------------- dataset YAML
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["images", "images/train", ".", "..", "~", "/", "a\x00b", "missing/dir"]),
)
YAML_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.integers(-2, 4), st.text(max_size=6)), inner, max_size=4)),
    max_leaves=10)
DATASET_KEYS = st.sampled_from(["path", "train", "val", "test", "names", "nc", "download"])
YAML_SNIPPETS = st.sampled_from([
    "names: [a, b]\n", "nc: 2\n", "train: images\n", "val: images\n", "path: .\n", "date: 2001-02-30\n",
    "t: 2001-13-01 10:00:00\n", "names: {0: a, 2: b}\n", "? [a, b]\n: c\n", "&a x: *a\n", "<<: 5\n",
    "x: !!binary '@@'\n", "x: !!python/object:os.system {}\n", "nc: 1e999\n", "names: !!set {a, b}\n",
    "\t- tab\n", "x: [\n", "%YAML 9.9\n---\n", "---\n---\n", "nc: 0x10\n", "nc: 1_000\n", "val: !!float nan\n",
])
DATASET_TEXT = st.one_of(
    st.text(max_size=200),
    st.dictionaries(DATASET_KEYS, YAML_VALUES, max_size=6).map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    st.lists(YAML_SNIPPETS, min_size=1, max_size=6).map("".join),
)


@fuzz(3)
@given(text=DATASET_TEXT)
def test_dataset_yaml_loads_or_raises_naming_the_file(tmp_path, text):
    (tmp_path / "images").mkdir(exist_ok=True)
    yaml_file = tmp_path / "fuzz-data.yaml"
    yaml_file.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        config = load_dataset_config(yaml_file)
    except (DatasetConfigError, ValueError) as error:
        assert "fuzz-data.yaml" in str(error), f"{type(error).__name__} without the file name: {error}"
        return
    assert isinstance(config, DatasetConfig) and config.num_classes == len(config.names) >= 1
    assert list(config.names) == list(range(config.num_classes))


# ---------------------------------------------------------------- model YAML
TINY_SCALES = {"t": [0.33, 0.125, 1024]}
BASE_MODEL = yaml.safe_load((SHIPPED_MODEL_DIR / "yolov8.yaml").read_text(encoding="utf-8"))
BASE_MODEL.update(nc=2, scales=TINY_SCALES)
BASE_ROWS = BASE_MODEL["backbone"] + BASE_MODEL["head"]
SMALL = st.one_of(st.integers(-3, 8), st.sampled_from([0, 16, 64, 1024, 10**12, -10**12]))
ARG_VALUES = st.one_of(
    SMALL, st.floats(-2, 4), st.sampled_from([float("nan"), float("inf"), None, True, False, "nc", "None",
                                              "nearest", "bilinear", "x", [], [1], [5, 9, 13], {}, {"a": 1}]))
FIELD_VALUES = st.one_of(ARG_VALUES, st.sampled_from(list(MODULES)), st.lists(SMALL, max_size=4),
                         st.lists(ARG_VALUES, max_size=8))


@st.composite
def mutated_model(draw):
    """yolov8.yaml at scale t, nc 2, with 1-3 mutations of rows, fields, args or top-level keys."""
    data = {key: value for key, value in BASE_MODEL.items()}
    rows = [list(row) for row in BASE_ROWS]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["field", "arg", "args_len", "row", "drop", "dup", "top"]))
        index = draw(st.integers(0, len(rows) - 1)) if rows else 0
        if kind == "field" and rows and isinstance(rows[index], list) and len(rows[index]) == 4:
            rows[index][draw(st.integers(0, 3))] = draw(FIELD_VALUES)
        elif kind == "arg" and rows and isinstance(rows[index], list) and len(rows[index]) == 4 \
                and isinstance(rows[index][3], list):
            args = list(rows[index][3]) or [None]
            args[draw(st.integers(0, len(args) - 1))] = draw(ARG_VALUES)
            rows[index][3] = args
        elif kind == "args_len" and rows and isinstance(rows[index], list) and len(rows[index]) == 4:
            rows[index][3] = draw(st.lists(ARG_VALUES, max_size=8))
        elif kind == "row" and rows:
            rows[index] = draw(st.one_of(ARG_VALUES, st.lists(FIELD_VALUES, max_size=6)))
        elif kind == "drop" and rows:
            del rows[index]
        elif kind == "dup" and rows:
            rows.insert(index, list(rows[index]) if isinstance(rows[index], list) else rows[index])
        elif kind == "top":
            key = draw(st.sampled_from(["nc", "scales", "scale", "backbone", "head", "depth_multiple", "activation"]))
            value = draw(st.one_of(ARG_VALUES, st.just({"t": [0.33, 0.125]}), st.just({"t": "x"}),
                                   st.just({"t": [0, 0, 0]}), st.just({"t": [0.33, -1, 1024]}),
                                   st.just({(1, 2): [0.33, 0.125, 1024]}), st.just(["t"])))
            data[key] = value
    cut = min(10, len(rows))
    for key, part in (("backbone", rows[:cut]), ("head", rows[cut:])):
        if data[key] is BASE_MODEL[key]:  # not replaced by a "top" mutation
            data[key] = part
    return yaml.safe_dump(data, sort_keys=False)


def _mutate_text(text: str, position: int, replacement: str) -> str:
    position %= max(1, len(text))
    return text[:position] + replacement + text[position + len(replacement):]


MODEL_TEXT = st.one_of(
    mutated_model(),
    st.builds(_mutate_text, mutated_model(), st.integers(0, 10**6), st.text(string.printable, min_size=1, max_size=3)),
)


@fuzz(1.2)
@given(text=MODEL_TEXT)
def test_model_yaml_builds_or_raises_model_config_error(tmp_path, text):
    model_file = tmp_path / "fuzz-model.yaml"
    model_file.write_text(text, encoding="utf-8")
    try:
        model = build_model(str(model_file))
    except ModelConfigError as error:
        assert "fuzz-model.yaml" in str(error), f"ModelConfigError without the file name: {error}"
        return
    assert isinstance(model, YOLOModel)


# ---------------------------------------------------------------- settings
OPTION_NAMES = [option.name for option in OPTIONS]
SETTING_VALUES = st.one_of(
    st.text(max_size=12), st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
    st.sampled_from(["", "none", "True", "-1", "0", "1e999", "nan", "[640, 480]", "1,2,,3", "ram", "cpu", "1" * 5000]),
    st.lists(st.one_of(st.integers(-2, 700), st.text(max_size=3), st.floats()), max_size=3),
)


@fuzz(3)
@given(overrides=st.dictionaries(st.one_of(st.sampled_from(OPTION_NAMES), st.text(max_size=10)), SETTING_VALUES,
                                 max_size=5))
def test_config_parses_or_raises_config_error_naming_the_key(overrides):
    try:
        config = Config(overrides)
    except ConfigError as error:
        assert any(f"'{key}" in str(error) for key in overrides), f"ConfigError names no key: {error}"
        return
    assert set(config.overrides) == set(overrides)


# ---------------------------------------------------------------- CLI
TOKENS = st.one_of(
    st.text(max_size=12),
    st.sampled_from([*MODES, *HELP_WORDS, "detect", "segment", "classify", "version", "--version", "=", "==", "-=x",
                     "--epochs=3", " =1", "k=", "k= v ", "\x00=1"]),
    st.tuples(st.text(max_size=6), st.text(max_size=6)).map("=".join),
)


@fuzz(3)
@given(argv=st.lists(TOKENS, max_size=8))
def test_parse_arguments_splits_or_raises_command_line_error(argv):
    try:
        task, mode, overrides = parse_arguments(argv)
    except CommandLineError as error:
        assert any(token in str(error) for token in argv), f"CommandLineError names no token: {error}"
        return
    assert mode is None or mode in (*MODES, "version")
    assert all(key and isinstance(value, str) for key, value in overrides.items())
    assert task is None or task in argv
