"""Model building from YAML: parameter counts, FLOPs, state_dict layout, YAML resolution and errors."""

import json
from pathlib import Path

import pytest
import torch
import yaml

from yolo8.nn.graph import SHIPPED_MODEL_DIR, guess_scale, make_divisible, resolve_model_yaml
from yolo8.nn.model import build_model
from yolo8.nn.profile import count_flops, count_parameters

FIXTURES = Path(__file__).parent / "fixtures"

PUBLISHED_PARAMETERS = {
    "yolov8n.yaml": 3_157_200,
    "yolov8s.yaml": 11_166_560,
    "yolov8m.yaml": 25_902_640,
    "yolov8l.yaml": 43_691_520,
    "yolov8x.yaml": 68_229_648,
    "yolov5nu.yaml": 2_654_816,
    "yolov8n-seg.yaml": 3_409_968,
    "yolov8s-seg.yaml": 11_821_056,
    "yolov8n-cls.yaml": 2_719_288,
}


@pytest.fixture(scope="module")
def shipped_n_models():
    """yolov8n / -seg / -cls built once for the tests that only read them (counts, FLOPs, layout, BN)."""
    return {name: build_model(f"{name}.yaml") for name in ("yolov8n", "yolov8n-seg", "yolov8n-cls")}


@pytest.mark.parametrize("name", PUBLISHED_PARAMETERS)
def test_parameter_count_matches_published(name, shipped_n_models):
    stem = name.removesuffix(".yaml")
    model = shipped_n_models[stem] if stem in shipped_n_models else build_model(name)  # s/m/l/x: build only, no forward
    assert count_parameters(model) == PUBLISHED_PARAMETERS[name]


@pytest.mark.parametrize("name, task, num_classes, strides", [
    ("yolov8n.yaml", "detect", 80, [8.0, 16.0, 32.0]),
    ("yolov8n-seg.yaml", "segment", 80, [8.0, 16.0, 32.0]),
    ("yolov8n-cls.yaml", "classify", 1000, [32.0]),
    ("yolov5nu.yaml", "detect", 80, [8.0, 16.0, 32.0]),
])
def test_task_strides_and_default_names(name, task, num_classes, strides):
    model = build_model(name)
    assert model.task == task
    assert model.num_classes == num_classes
    assert model.stride.tolist() == strides
    assert "stride" not in model.state_dict()
    assert model.names == {i: str(i) for i in range(num_classes)}
    assert model.training


def test_gflops_of_yolov8n_within_two_percent_of_published(shipped_n_models):
    model = shipped_n_models["yolov8n"]
    layers, parameters, gflops = model.info(imgsz=640, verbose=False)
    assert parameters == 3_157_200
    assert abs(gflops - 8.7) / 8.7 < 0.02
    assert gflops == pytest.approx(8.7439872, rel=1e-9)  # exact conv multiply-adds x 2


def test_scaled_flop_count_equals_direct_count(shipped_n_models):
    model = shipped_n_models["yolov8n"]
    direct = count_flops(model, (128, 192))
    scaled = count_flops(model, (128, 192), scale_from=64)
    assert scaled == pytest.approx(direct, rel=1e-12)


def test_classify_flops_count_linear_once(shipped_n_models):
    model = shipped_n_models["yolov8n-cls"]
    linear_gflops = 2 * 1280 * 1000 / 1e9
    small, large = count_flops(model, 64), count_flops(model, 128)
    # conv part grows 4x with 2x side, the linear part stays
    assert large - linear_gflops == pytest.approx(4 * (small - linear_gflops), rel=1e-9)


def test_info_prints_layer_table_and_summary(capsys, shipped_n_models):
    layers, parameters, gflops = shipped_n_models["yolov8n"].info(imgsz=640)
    printed = capsys.readouterr().out
    assert "3,157,200 parameters" in printed and "8.7 GFLOPs" in printed and f"{layers} layers" in printed
    assert "Detect" in printed and "C2f" in printed and "[15, 18, 21]" in printed
    assert len(printed.splitlines()) == 1 + 23 + 1  # header, 23 layers, summary


@pytest.mark.parametrize("name", ["yolov8n", "yolov8n-seg", "yolov8n-cls"])
def test_state_dict_layout_matches_yolov8_checkpoints(name, shipped_n_models):
    expected = json.loads((FIXTURES / f"{name}_rand_state_dict_keys.json").read_text())
    ours = [{"key": key, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
            for key, t in shipped_n_models[name].state_dict().items()]
    assert ours == expected


def test_batchnorm_settings_per_task(shipped_n_models):
    detect_bn = shipped_n_models["yolov8n"].model[0].bn
    classify_bn = shipped_n_models["yolov8n-cls"].model[0].bn
    assert (detect_bn.eps, detect_bn.momentum) == (1e-3, 0.03)
    assert (classify_bn.eps, classify_bn.momentum) == (1e-5, 0.1)


def test_detect_bias_priors():
    model = build_model("yolov8n.yaml", num_classes=3)
    head = model.model[-1]
    for level, stride in enumerate([8, 16, 32]):
        assert torch.all(head.cv2[level][-1].bias == 2.0)
        expected = torch.log(torch.tensor(5 / 3 / (640 / stride) ** 2))
        assert torch.allclose(head.cv3[level][-1].bias, expected.expand(3))
    assert torch.equal(head.dfl.conv.weight.flatten(), torch.arange(16.0))
    assert not head.dfl.conv.weight.requires_grad


def test_num_classes_override_and_channels():
    model = build_model("yolov8s.yaml", num_classes=7, channels=1)
    assert model.num_classes == 7 and model.yaml["nc"] == 7 and model.yaml["scale"] == "s"
    assert model.model[0].conv.in_channels == 1
    assert model.model[-1].cv3[0][-1].out_channels == 7


def test_make_divisible_and_scale_guess():
    assert [make_divisible(v) for v in (16, 16.5, 24, 0.25 * 64)] == [16, 24, 24, 16]
    assert guess_scale("yolov8s-seg.yaml") == "s" and guess_scale("yolov5nu.yaml") == "n"
    assert guess_scale("path/to/yolov8x-cls.yaml") == "x" and guess_scale("yolov8.yaml") is None


@pytest.mark.parametrize("name, file, scale", [
    ("yolov8m.yaml", "yolov8.yaml", "m"), ("yolov8l-seg.yaml", "yolov8-seg.yaml", "l"),
    ("yolov8x-cls.yaml", "yolov8-cls.yaml", "x"), ("yolov5nu.yaml", "yolov5u.yaml", "n"),
    ("yolov5s.yaml", "yolov5u.yaml", "s"), ("yolov8.yaml", "yolov8.yaml", "n"),
])
def test_resolve_shipped_names(name, file, scale):
    resolved = resolve_model_yaml(name)
    assert resolved["scale"] == scale
    shipped = yaml.safe_load((SHIPPED_MODEL_DIR / file).read_text())
    assert resolved["backbone"] == shipped["backbone"] and resolved["head"] == shipped["head"]


def test_path_on_disk_is_read_as_is_with_scale_from_its_name(tmp_path):
    data = yaml.safe_load((SHIPPED_MODEL_DIR / "yolov8.yaml").read_text())
    data["nc"] = 5
    path = tmp_path / "custom-yolov8s.yaml"
    path.write_text(yaml.safe_dump(data))
    model = build_model(path)
    assert model.yaml["scale"] == "s" and model.num_classes == 5 and model.yaml["yaml_file"] == str(path)
    assert model.model[0].conv.out_channels == 32


def test_old_style_multiples_and_none_args_load(tmp_path):
    text = (SHIPPED_MODEL_DIR / "yolov8.yaml").read_text()
    data = yaml.safe_load(text)
    del data["scales"]
    data.update(depth_multiple=0.33, width_multiple=0.25)
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(data))
    assert count_parameters(build_model(path)) == PUBLISHED_PARAMETERS["yolov8n.yaml"]
    assert "None" in text  # the shipped file spells Upsample args the YOLOv8 way


def test_dict_config_round_trips_through_model_yaml(shipped_n_models):
    model = shipped_n_models["yolov8n-seg"]
    again = build_model(model.yaml)
    assert again.yaml["scale"] == "n"
    assert count_parameters(again) == PUBLISHED_PARAMETERS["yolov8n-seg.yaml"]


def test_unknown_module_error_names_file_layer_and_valid_modules(tmp_path):
    data = yaml.safe_load((SHIPPED_MODEL_DIR / "yolov8.yaml").read_text())
    data["head"][3] = [-1, 1, "C2fAttn", [256]]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError) as error:
        build_model(path)
    message = str(error.value)
    assert str(path) in message and "layer 13" in message and "'C2fAttn'" in message
    assert "C2f" in message and "Detect" in message and "SPPF" in message


def test_unknown_name_lists_shipped_configs():
    with pytest.raises(FileNotFoundError, match="yolov8.yaml"):
        resolve_model_yaml("yolov9q.yaml")


ALL_BLOCKS_YAML = {
    "nc": 2,
    "depth_multiple": 1.0,
    "width_multiple": 0.5,
    "backbone": [
        [-1, 1, "Conv", [32, 3, 2]],  # 0
        [-1, 2, "Bottleneck", [32]],  # 1: no internal repeat argument -> Sequential of 2
        [-1, 2, "C3", [64]],  # 2
        [-1, 1, "Conv", [64, 3, 2]],  # 3
        [-1, 1, "SPP", [64, [3, 5]]],  # 4
        [-1, 1, "SimSPPF", [64, 3]],  # 5
    ],
    "head": [
        [-1, 1, "Upsample", ["None", 2, "nearest"]],  # 6
        [[-1, 2], 1, "Concat", [1]],  # 7
        [-1, 1, "C2f", [32, True]],  # 8
        [[8, -4], 1, "Detect", ["nc"]],  # 9: -4 = layer 5
    ],
}


def test_every_registered_block_builds_from_yaml():
    model = build_model(ALL_BLOCKS_YAML)
    specs = {spec.index: spec for spec in model.layers}
    assert isinstance(model.model[1], torch.nn.Sequential) and len(model.model[1]) == 2
    assert specs[0].out_channels == 16 and specs[1].out_channels == 16 and specs[2].args[:3] == [16, 32, 2]
    assert specs[7].out_channels == 32 + 32
    assert isinstance(model.model[5].cv1.act, torch.nn.ReLU) and isinstance(model.model[4].cv1.act, torch.nn.SiLU)
    assert model.stride.tolist() == [2.0, 4.0]
    levels = model(torch.rand(1, 3, 32, 32))
    assert [tuple(level.shape) for level in levels] == [(1, 64 + 2, 16, 16), (1, 66, 8, 8)]


def test_unsupported_activation_key_is_an_error():
    data = dict(ALL_BLOCKS_YAML, activation="nn.ReLU()")
    with pytest.raises(ValueError, match="'activation'"):
        build_model(data)


def test_layer_reading_a_later_layer_is_an_error():
    data = dict(ALL_BLOCKS_YAML, head=ALL_BLOCKS_YAML["head"][:-1] + [[[8, 12], 1, "Detect", ["nc"]]])
    with pytest.raises(ValueError, match=r"layer 9 reads from \[8, 12\]"):
        build_model(data)
