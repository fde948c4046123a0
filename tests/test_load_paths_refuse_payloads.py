"""Every way a user opens a model file refuses a code payload, and nothing in the file runs."""

import pickle

import pytest
import torch

from tests.test_foreign_checkpoint import (
    EvalCall,
    SystemCall,
    creates,
    fixture_pt,
    rewrite_pickle,
    splice_value,
    unicode,
)
from yolo8 import YOLO
from yolo8.cli import run


def payload_files(tmp_path):
    """(path, marker) pairs: a bare pickled payload, and one hidden inside a real Ultralytics checkpoint."""
    marker = tmp_path / "ran"
    bare_system = tmp_path / "bare_system.pt"
    torch.save({"model": SystemCall(f"touch {marker}"), "ema": None}, bare_system)
    bare_eval = tmp_path / "bare_eval.pt"
    torch.save({"model": EvalCall(creates(marker))}, bare_eval)
    hidden = tmp_path / "hidden.pt"
    eval_call = unicode("builtins") + unicode("eval") + b"\x93" + unicode(creates(marker)) + b"\x85R"
    rewrite_pickle(fixture_pt("yolov8n-cls_rand"), hidden, lambda data: splice_value(data, "inplace", eval_call, 0))
    return [bare_system, bare_eval, hidden], marker


def test_python_api_refuses(tmp_path):
    files, marker = payload_files(tmp_path)
    for path in files:
        with pytest.raises((ValueError, pickle.UnpicklingError), match="tried to load|refused"):
            YOLO(path)
    assert not marker.exists()


@pytest.mark.parametrize("mode", ["predict", "val", "train"])
def test_every_cli_mode_refuses(tmp_path, capsys, mode):
    files, marker = payload_files(tmp_path)
    for path in files:
        assert run([mode, f"model={path}", f"project={tmp_path}"]) != 0
        error = capsys.readouterr().err
        assert str(path) in error and ("tried to load" in error or "refused" in error)
    assert not marker.exists()


def test_convert_refuses(tmp_path, capsys):
    files, marker = payload_files(tmp_path)
    for path in files:
        assert run(["convert", f"model={path}"]) == 1
        assert "tried to load" in capsys.readouterr().err
    assert not marker.exists()
