"""Hostile settings and model YAMLs: every bad value raises our own error naming the key or the file and layer."""

from __future__ import annotations

import copy

import pytest
import yaml

from yolo8.cli import run
from yolo8.config import OPTIONS_BY_NAME, Config, ConfigError
from yolo8.nn.graph import ModelConfigError, build_layers, resolve_model_yaml

BAD_VALUES = [
    ("batch", 0), ("batch", -1), ("batch", 0.7), ("batch", -8),
    ("epochs", 0), ("epochs", -1),
    ("imgsz", 0), ("imgsz", -1), ("imgsz", 16), ("imgsz", [640, 0]), ("imgsz", "-640"),
    ("max_det", 0), ("max_det", -1),
    ("fraction", 0), ("fraction", -1), ("fraction", 1.5),
    ("conf", -0.1), ("conf", 1.5), ("iou", -0.1), ("iou", 1.01), ("iou", "nan"),
    ("lr0", 0), ("lr0", -0.01), ("lrf", 0), ("lrf", 1.5),
    ("momentum", 1.0), ("momentum", -0.1), ("weight_decay", -1e-4),
    ("warmup_epochs", -1), ("warmup_momentum", 1.0), ("warmup_bias_lr", -0.1),
    ("patience", 0), ("workers", -1), ("nbs", 0), ("close_mosaic", -1), ("vid_stride", 0),
    ("save_period", 0), ("save_period", -2),
    ("fliplr", 1.1), ("flipud", -0.5), ("mosaic", 2), ("mixup", -0.1), ("bgr", 1.5), ("copy_paste", 3),
    ("hsv_h", 1.5), ("hsv_s", -0.1), ("hsv_v", 2),
    ("degrees", -10), ("translate", 1.0), ("translate", -0.1), ("scale", -0.5), ("shear", -1), ("perspective", -0.001),
    ("box", -1), ("cls", -1), ("dfl", -1),
    ("line_width", 0), ("freeze", -1), ("freeze", "0,-3"), ("classes", "-1"), ("time", 0),
]


@pytest.mark.parametrize("key, value", BAD_VALUES)
def test_out_of_range_setting_names_key_value_range_and_default(key, value):
    with pytest.raises(ConfigError) as error:
        Config({key: value})
    message = str(error.value)
    assert f"'{key}=" in message and str(value) in message
    assert f"default: {OPTIONS_BY_NAME[key].default!r}" in message
    assert "\n" not in message


@pytest.mark.parametrize("key, value", [
    ("batch", 1), ("epochs", 1), ("imgsz", 32), ("imgsz", 65), ("imgsz", [32, 64]), ("max_det", 1),
    ("fraction", 1.0), ("fraction", 0.01), ("conf", 0), ("conf", 1), ("iou", 0), ("iou", 1),
    ("lr0", 1e-6), ("lrf", 1), ("momentum", 0), ("weight_decay", 0), ("warmup_epochs", 0),
    ("patience", 1), ("workers", 0), ("nbs", 1), ("close_mosaic", 0), ("vid_stride", 1),
    ("save_period", -1), ("save_period", 1), ("fliplr", 0), ("fliplr", 1), ("mosaic", 0), ("mosaic", 1),
    ("hsv_h", 0), ("hsv_v", 1), ("degrees", 180), ("translate", 0), ("translate", 0.99), ("scale", 0.9),
    ("box", 0), ("cls", 0), ("dfl", 0), ("line_width", None), ("line_width", 1),
    ("seed", -5), ("seed", 2**31), ("freeze", [0]), ("freeze", [0, 1, 2]), ("classes", [0, 3]),
])
def test_edge_values_pass(key, value):
    assert Config({key: value})[key] == value


def test_every_default_is_in_range():
    Config({name: option.default for name, option in OPTIONS_BY_NAME.items()})


def test_batch_minus_one_says_no_auto_batch():
    with pytest.raises(ConfigError, match="auto-batch"):
        Config(batch=-1)


def test_range_is_stated():
    with pytest.raises(ConfigError, match=r"valid: >= 1"):
        Config(epochs=0)
    with pytest.raises(ConfigError, match=r"valid: \(0, 1\]"):
        Config(fraction=0)


def test_cli_batch_zero_is_one_line_and_exit_2(capsys):
    assert run(["train", "batch=0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("yolo8: error:") and "'batch=0'" in err and "\n" not in err


# ---------------------------------------------------------------- model YAMLs
GOOD_YAML = {
    "nc": 3,
    "backbone": [
        [-1, 1, "Conv", [16, 3, 2]],  # 0
        [-1, 1, "C2f", [16, True]],  # 1
        [-1, 1, "Conv", [32, 3, 2]],  # 2
        [-1, 1, "SPPF", [32, 5]],  # 3
    ],
    "head": [
        [-1, 1, "nn.Upsample", [None, 2, "nearest"]],  # 4
        [[-1, 1], 1, "Concat", [1]],  # 5
        [-1, 1, "C2f", [16]],  # 6
        [[6, 3], 1, "Detect", ["nc"]],  # 7
    ],
}


def _with_row(index: int, row) -> dict:
    data = copy.deepcopy(GOOD_YAML)
    rows = data["backbone"] + data["head"]
    rows[index] = row
    data["backbone"], data["head"] = rows[:4], rows[4:]
    return data


def _build(data: dict, tmp_path, name: str = "bad.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if isinstance(data, dict) else data, encoding="utf-8")
    return build_layers(resolve_model_yaml(str(path)), 3)


def test_good_yaml_builds(tmp_path):
    modules, specs, strides = _build(GOOD_YAML, tmp_path, "good.yaml")
    assert len(modules) == 8 and specs[-1].module_name == "Detect"


BAD_ROWS = [
    (0, [-1, 1, "Conv"], "4 fields"),
    (2, [-1, 1, "Conv", [32, 3, 2], "extra"], "4 fields"),
    (1, "Conv", "4 fields"),
    (0, [-1, 1, "Conv", []], "takes 1 to 7 args"),
    (0, [-1, 1, "Conv", 16], "args must be a list"),
    (3, [-1, 1, "SPPF", [32, 5, 1, 2]], "takes 1 to 2 args"),
    (7, [[6, 3], 1, "Detect", []], "takes 1 args"),
    (7, [[6, 3], 1, "Detect", ["nc", 16]], "takes 1 args"),
    (2, [-1, 1, "Convolution", [32, 3, 2]], "unknown module"),
    (1, [-1, -1, "C2f", [16, True]], "repeats"),
    (1, [-1, 0, "C2f", [16, True]], "repeats"),
    (1, [-1, 1.5, "C2f", [16, True]], "repeats"),
    (1, [-1, "two", "C2f", [16, True]], "repeats"),
    (2, [-1, 1, "Conv", ["wide", 3, 2]], "first arg"),
    (2, [-1, 1, "Conv", [-32, 3, 2]], "first arg"),
    (2, [-1, 1, "Conv", [32, "three", 2]], "cannot be built"),
    (1, ["prev", 1, "C2f", [16, True]], "'from'"),
    (5, [[-1, 9], 1, "Concat", [1]], "not an earlier layer"),
]


@pytest.mark.parametrize("index, row, expected", BAD_ROWS)
def test_bad_model_row_names_file_and_layer(tmp_path, index, row, expected):
    with pytest.raises(ModelConfigError) as error:
        _build(_with_row(index, row), tmp_path)
    message = str(error.value)
    assert "bad.yaml" in message and f"layer {index}" in message and expected in message


@pytest.mark.parametrize("nc", [0, -5, "eighty", 2.5, None, True])
def test_bad_nc_names_file(tmp_path, nc):
    data = dict(copy.deepcopy(GOOD_YAML), nc=nc)
    with pytest.raises(ModelConfigError, match=r"bad\.yaml: 'nc' must be a positive integer"):
        _build(data, tmp_path)


def test_yaml_syntax_error_is_one_line_with_line_and_column(tmp_path):
    text = "nc: 3\nbackbone:\n  - [-1, 1, Conv, [16, 3, 2]\nhead: []\n"
    with pytest.raises(ModelConfigError) as error:
        _build(text, tmp_path)
    message = str(error.value)
    assert "bad.yaml:" in message and "YAML syntax error" in message and "\n" not in message
    assert ":4:" in message or ":3:" in message


def test_dict_model_names_its_source(tmp_path):
    data = _with_row(0, [-1, 1, "Conv", []])
    with pytest.raises(ModelConfigError, match=r"<dict>: layer 0"):
        build_layers(resolve_model_yaml(data), 3)


def test_model_yaml_error_via_cli_is_one_line(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(dict(copy.deepcopy(GOOD_YAML), nc=0)), encoding="utf-8")
    code = run(["predict", f"model={path}", f"source={tmp_path}", f"project={tmp_path}"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "bad.yaml" in err and "'nc'" in err and "Traceback" not in err
