"""Reading Ultralytics .pt checkpoints without running code from them (yolo8.checkpoints.ultralytics_checkpoint).

Fixtures (tests/fixtures/README.md): ``ul_yolov8n*_rand.pt``, the incumbent's own fp16 checkpoints of random
yolov8n det/seg/cls models, with their reference state_dict layouts (``*_state_dict_keys.json``) and the
sha256 of every detection weight (``yolov8n_rand_state_dict_fp16_sha256.json``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickletools
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from yolo8.checkpoints.safe_pickle import PlaceholderObject, RestrictedPickleModule, UnsafeCheckpointError
from yolo8.checkpoints.ultralytics_checkpoint import (
    CheckpointFormatError,
    is_ultralytics_checkpoint,
    read_ultralytics_checkpoint,
)

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = {  # stem -> (task, number of classes, stride, BatchNorm eps)
    "yolov8n_rand": ("detect", 80, [8.0, 16.0, 32.0], 1e-3),
    "yolov8n-seg_rand": ("segment", 80, [8.0, 16.0, 32.0], 1e-3),
    "yolov8n-cls_rand": ("classify", 1000, [1.0], 1e-5),
}


def fixture_pt(stem: str) -> Path:
    return FIXTURES / f"ul_{stem}.pt"


@pytest.fixture(scope="module")
def incumbent_checkpoints():
    """Each fixture checkpoint read once per module: stem -> ForeignCheckpoint (tests only read it)."""
    return {stem: read_ultralytics_checkpoint(fixture_pt(stem)) for stem in MODELS}


# ------------------------------------------------------------------------------------------ real files


@pytest.mark.parametrize("stem", list(MODELS))
def test_extracts_incumbent_checkpoint(stem, incumbent_checkpoints):
    task, num_classes, stride, eps = MODELS[stem]
    checkpoint = incumbent_checkpoints[stem]
    reference = json.loads((FIXTURES / f"{stem}_state_dict_keys.json").read_text())
    ours = [{"key": k, "shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")}
            for k, v in checkpoint.state_dict.items()]
    assert ours == reference  # same keys, same order, same shapes, float32 / int64
    assert checkpoint.task == task
    assert checkpoint.names == {i: str(i) for i in range(num_classes)}
    assert checkpoint.stride == stride
    assert checkpoint.source_format == "ultralytics" and checkpoint.weights_from == "model"
    assert checkpoint.model_yaml["nc"] == num_classes and checkpoint.model_yaml["scale"] == "n"
    assert checkpoint.train_args["task"] == task
    assert checkpoint.metadata["version"] == "8.4.190"
    bn_paths = [k[: -len(".running_var")] for k in checkpoint.state_dict if k.endswith(".running_var")]
    assert list(checkpoint.batchnorm_eps) == bn_paths
    assert set(checkpoint.batchnorm_eps.values()) == {eps}
    assert is_ultralytics_checkpoint(fixture_pt(stem))


def test_detection_values_equal_reference_state_dict_exactly(incumbent_checkpoints):
    """The extraction is exact: tests/test_nn_parity.py and tests/test_detection_loss.py take their weights from it."""
    checkpoint = incumbent_checkpoints["yolov8n_rand"]
    reference = json.loads((FIXTURES / "yolov8n_rand_state_dict_fp16_sha256.json").read_text())
    assert list(reference) == list(checkpoint.state_dict)
    for key, tensor in checkpoint.state_dict.items():
        # the file's fp16 values widened to float32 narrow back to fp16 bit for bit
        array = tensor.half().numpy() if tensor.is_floating_point() else tensor.numpy()
        assert str(array.dtype) == reference[key]["dtype"], key
        assert hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest() == reference[key]["sha256"], key


# ------------------------------------------------------------------------------------- malicious files


class SystemCall:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class EvalCall:
    def __init__(self, expression: str):
        self.expression = expression

    def __reduce__(self):
        return eval, (self.expression,)


def creates(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


def test_payload_control_plain_torch_load_would_run_it(tmp_path):
    """Guards the tests below: the same payload does run under an unrestricted load."""
    marker, path = tmp_path / "ran", tmp_path / "evil.pt"
    torch.save({"model": EvalCall(creates(marker))}, path)
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("protocol", [2, 4])
def test_os_system_payload_is_refused(tmp_path, protocol):
    marker, path = tmp_path / "ran", tmp_path / "evil.pt"
    torch.save({"model": SystemCall(f"touch {marker}"), "ema": None}, path, pickle_protocol=protocol)
    with pytest.raises(UnsafeCheckpointError) as error:
        read_ultralytics_checkpoint(path)
    assert f"'{os.system.__module__}.system'" in str(error.value) and str(path) in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4])
def test_eval_payload_is_refused(tmp_path, protocol):
    marker, path = tmp_path / "ran", tmp_path / "evil.pt"
    torch.save({"model": EvalCall(creates(marker)), "train_args": {}}, path, pickle_protocol=protocol)
    with pytest.raises(UnsafeCheckpointError, match=r"tried to load 'builtins\.eval'"):
        read_ultralytics_checkpoint(path)
    assert not marker.exists()


def splice_value(stream: bytes, key: str, payload: bytes, occurrence: int = 0) -> bytes:
    """Replace the one-byte value (None/True/False) stored under dict ``key`` with ``payload``."""
    found, seen_key = 0, False
    for opcode, argument, position in pickletools.genops(stream):
        if opcode.name in ("BINUNICODE", "SHORT_BINUNICODE") and argument == key:
            seen_key, found = found == occurrence, found + 1
        elif seen_key and opcode.name not in ("BINPUT", "LONG_BINPUT", "MEMOIZE"):
            assert opcode.name in ("NONE", "NEWTRUE", "NEWFALSE"), opcode.name
            return stream[:position] + payload + stream[position + 1:]
    raise AssertionError(f"key {key} not found")


def rewrite_pickle(source: Path, target: Path, edit) -> None:
    """Copy a torch zip checkpoint, passing its data.pkl through ``edit``."""
    with zipfile.ZipFile(source) as archive_in, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive_out:
        for info in archive_in.infolist():
            data = archive_in.read(info)
            archive_out.writestr(info.filename, edit(data) if info.filename.endswith("data.pkl") else data)


def unicode(text: str) -> bytes:
    data = text.encode("utf-8")
    return b"X" + len(data).to_bytes(4, "little") + data


def test_payloads_hidden_in_a_valid_ultralytics_checkpoint_are_refused(tmp_path):
    marker = tmp_path / "ran"
    system_call = b"c" + f"{os.system.__module__}\nsystem\n".encode() + unicode(f"touch {marker}") + b"\x85R"
    eval_call = unicode("builtins") + unicode("eval") + b"\x93" + unicode(creates(marker)) + b"\x85R"
    untouched = tmp_path / "untouched.pt"
    rewrite_pickle(fixture_pt("yolov8n-cls_rand"), untouched, lambda data: data)
    assert read_ultralytics_checkpoint(untouched).task == "classify"  # the rewritten zip itself is fine

    cases = {"top.pt": ("modelopt", 0, system_call, f"{os.system.__module__}.system"),
             "deep.pt": ("inplace", 0, eval_call, "builtins.eval")}  # inside model.0's activation
    for name, (key, occurrence, payload, global_name) in cases.items():
        path = tmp_path / name
        rewrite_pickle(fixture_pt("yolov8n-cls_rand"), path, lambda data: splice_value(data, key, payload, occurrence))
        with pytest.raises(UnsafeCheckpointError) as error:
            read_ultralytics_checkpoint(path)
        assert f"'{global_name}'" in str(error.value) and str(path) in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize("module_name, name", [
    ("builtins", "eval"), ("builtins", "exec"), ("builtins", "getattr"), ("builtins", "__import__"),
    ("__builtin__", "open"), ("os", "system"), ("posix", "system"), ("nt", "system"), ("subprocess", "Popen"),
    ("importlib", "import_module"), ("functools", "partial"), ("copyreg", "_reconstructor_x"),
    ("torch", "load"), ("torch.serialization", "load"), ("torch._utils", "_rebuild_from_type_v2"),
    ("ultralytics", "Evil extra"), ("numpy", "load"), ("torch.nn.functional", "silu"), ("", "x"),
])
def test_dangerous_globals_are_refused(module_name, name):
    with pytest.raises(UnsafeCheckpointError, match="which yolo8 does not allow"):
        RestrictedPickleModule("f.pt").resolve_global(module_name, name)


def test_placeholders_and_data_globals_resolve():
    restricted = RestrictedPickleModule("f.pt")
    conv = restricted.resolve_global("ultralytics.nn.modules.conv", "Conv")
    assert issubclass(conv, PlaceholderObject) and conv.qualified_name == "ultralytics.nn.modules.conv.Conv"
    assert restricted.resolve_global("ultralytics.nn.modules.conv", "Conv") is conv
    assert issubclass(restricted.resolve_global("torch.nn.modules.activation", "SiLU"), PlaceholderObject)
    assert restricted.resolve_global("torch", "float16") is torch.float16
    assert restricted.resolve_global("__builtin__", "set") is set


def test_copyreg_reconstructor_only_builds_placeholders_on_object():
    good = (b"ccopy_reg\n_reconstructor\n(cultralytics.nn.tasks\nDetectionModel\nc__builtin__\nobject\nNtR"
            b"(dVtraining\nI00\nsb.")
    obj = RestrictedPickleModule("f.pt").load(io.BytesIO(good))
    assert obj.qualified_name == "ultralytics.nn.tasks.DetectionModel" and obj.attributes == {"training": False}
    for bad in (good.replace(b"__builtin__\nobject", b"__builtin__\nlist"),
                good.replace(b"cultralytics.nn.tasks\nDetectionModel", b"c__builtin__\ndict")):
        with pytest.raises(UnsafeCheckpointError, match="_reconstructor"):
            RestrictedPickleModule("f.pt").load(io.BytesIO(bad))


def test_build_cannot_patch_allowed_callables_or_placeholder_classes():
    restricted = RestrictedPickleModule("f.pt")
    patch_function = b"ctorch._utils\n_rebuild_tensor_v2\n(dV__defaults__\n(tsb."
    with pytest.raises(UnsafeCheckpointError, match="set attributes"):
        restricted.load(io.BytesIO(patch_function))
    patch_class = b"cultralytics.x\nThing\n(dV__setstate__\nNsb."
    with pytest.raises(TypeError):
        restricted.load(io.BytesIO(patch_class))
    assert restricted.placeholders["ultralytics.x.Thing"].__setstate__ is PlaceholderObject.__setstate__


def test_placeholder_construction_runs_nothing():
    cls = RestrictedPickleModule("f.pt").placeholder_class("ultralytics.Thing")
    obj = cls("rm -rf /", shell=True)
    obj.__setstate__({"forward": "x"})
    assert obj.construct_args == ("rm -rf /",) and obj.attributes == {"forward": "x"}
    with pytest.raises(AttributeError):
        obj.forward_hook = print  # __slots__: the file cannot attach attributes of its own


# ------------------------------------------------------------------------------------ malformed files


def test_malformed_files_raise_errors_naming_the_file(tmp_path):
    original = fixture_pt("yolov8n-cls_rand").read_bytes()
    cases = {"truncated.pt": original[: len(original) // 2], "garbage.pt": b"\x00not a checkpoint" * 50,
             "empty.pt": b""}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    rewrite_pickle(fixture_pt("yolov8n-cls_rand"), tmp_path / "cut_pickle.pt", lambda data: data[: len(data) // 2])
    for name in [*cases, "cut_pickle.pt"]:
        with pytest.raises(CheckpointFormatError, match=re.escape(str(tmp_path / name))):
            read_ultralytics_checkpoint(tmp_path / name)
        assert not is_ultralytics_checkpoint(tmp_path / name) or name == "cut_pickle.pt"
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        read_ultralytics_checkpoint(tmp_path / "missing.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointFormatError, match="holds a list"):
        read_ultralytics_checkpoint(tmp_path / "list.pt")


# ------------------------------------------------------------------- module trees and plain state_dicts


def small_model(seed: int) -> nn.Module:
    """A torch module tree shaped like a YOLO checkpoint: no-bias convs, BatchNorm, a non-persistent buffer."""
    torch.manual_seed(seed)
    model = nn.Module()
    model.model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4, eps=1e-3), nn.SiLU(),
                                nn.Sequential(nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2)))
    model.model[1].register_buffer("scratch", torch.ones(3), persistent=False)
    model.model[1].running_mean.normal_()
    model.yaml = {"nc": 2, "head": [[[-1], 1, "Detect", ["nc"]]]}
    model.names = ["cat", "dog"]
    model.stride = torch.tensor([8.0, 16.0, 32.0])
    return model.half()


@pytest.mark.parametrize("legacy_format", [False, True])
def test_module_tree_walk_equals_state_dict_and_prefers_ema(tmp_path, legacy_format):
    model, ema = small_model(0), small_model(1)
    path = tmp_path / "tree.pt"
    train_args = {"epochs": 3, "best": np.float64(0.25), "scores": np.arange(3), "save_dir": Path("runs/a")}
    torch.save({"model": model, "ema": ema, "train_args": train_args}, path,
               _use_new_zipfile_serialization=not legacy_format)
    checkpoint = read_ultralytics_checkpoint(path)
    expected = ema.state_dict()
    assert list(checkpoint.state_dict) == list(expected)
    for key, value in expected.items():
        assert torch.equal(checkpoint.state_dict[key], value.float() if value.is_floating_point() else value), key
    assert checkpoint.weights_from == "ema" and checkpoint.task == "detect"
    assert checkpoint.names == {0: "cat", 1: "dog"} and checkpoint.stride == [8.0, 16.0, 32.0]
    assert checkpoint.batchnorm_eps == {"model.1": 1e-3, "model.3.1": 1e-5}
    assert checkpoint.train_args == {"epochs": 3, "best": 0.25, "scores": [0, 1, 2], "save_dir": "runs/a"}
    assert not is_ultralytics_checkpoint(path)


@pytest.mark.parametrize("wrap", [None, "model", "state_dict"])
def test_plain_state_dict_files(tmp_path, wrap):
    state_dict = small_model(0).state_dict()
    path = tmp_path / "weights.pt"
    torch.save(state_dict if wrap is None else {wrap: state_dict}, path)
    checkpoint = read_ultralytics_checkpoint(path)
    assert checkpoint.source_format == "state_dict" and checkpoint.weights_from == (wrap or "")
    assert list(checkpoint.state_dict) == list(state_dict)
    assert all(v.dtype in (torch.float32, torch.int64) for v in checkpoint.state_dict.values())
    assert torch.equal(checkpoint.state_dict["model.1.running_mean"], state_dict["model.1.running_mean"].float())
