"""The command line: YOLOv8's `TASK MODE key=value` syntax, help listings and argument errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from yolo8.cli import CommandLineError, parse_arguments, run
from yolo8.config import DEFAULTS, OPTIONS, Config, ConfigError
from yolo8.unsupported_settings import UNSUPPORTED_YOLOV8_SETTINGS


def test_parse_task_mode_and_overrides():
    assert parse_arguments(["detect", "train", "epochs=5", "imgsz=320"]) == (
        "detect", "train", {"epochs": "5", "imgsz": "320"})
    assert parse_arguments(["predict", "source=a b.jpg"]) == (None, "predict", {"source": "a b.jpg"})


def test_stray_word_is_an_error_naming_it():
    with pytest.raises(CommandLineError, match="'epochs'"):
        parse_arguments(["train", "epochs"])


def test_unknown_key_suggests_closest(capsys):
    assert run(["train", "epcohs=3"]) == 2
    error = capsys.readouterr().err
    assert "'epcohs' is not a valid yolo8 setting" in error and "Did you mean 'epochs'?" in error


def test_yolov8_setting_we_lack_is_named_as_such_not_as_a_typo(capsys):
    assert run(["predict", "show=True"]) == 2
    error = capsys.readouterr().err
    assert "'show' is a YOLOv8 setting that yolo8 does not support" in error and "save=True" in error
    with pytest.raises(ConfigError, match="'workspace' is a YOLOv8 setting.*a format yolo8 does not write"):
        Config(workspace=4)
    assert not set(UNSUPPORTED_YOLOV8_SETTINGS) & {option.name for option in OPTIONS}  # never both


def test_every_incumbent_setting_is_either_ours_or_refused_with_a_reason():
    listed = (Path(__file__).parent / "fixtures" / "ultralytics_8.4_settings.txt").read_text().splitlines()
    keys = [line for line in listed if line and not line.startswith("#")]
    assert len(keys) > 100
    known = {option.name for option in OPTIONS} | set(UNSUPPORTED_YOLOV8_SETTINGS)
    assert [key for key in keys if key not in known] == []


def test_time_budget_must_be_positive(capsys):
    assert Config(time="0.5").time == 0.5 and Config().time is None
    assert run(["train", "time=0"]) == 2
    error = capsys.readouterr().err
    assert "'time=0' is invalid" in error and "greater than 0" in error


def test_wrong_type_names_the_key(capsys):
    assert run(["train", "batch=sixteen"]) == 2
    error = capsys.readouterr().err
    assert "'batch=sixteen' is invalid" in error and "expected an integer" in error


def test_bad_choice_lists_the_choices(capsys):
    assert run(["train", "optimizer=Adagrad"]) == 2
    assert "expected one of auto, SGD, Adam, AdamW, RMSProp" in capsys.readouterr().err


def test_help_lists_every_setting_with_default(capsys):
    assert run(["help"]) == 0
    out = capsys.readouterr().out
    for option in OPTIONS:
        assert f"  {option.name} " in out
    assert "0.937" in out and "close_mosaic" in out


def test_mode_help_lists_only_that_mode(capsys):
    assert run(["val", "help"]) == 0
    out = capsys.readouterr().out
    assert "  conf " in out and "  iou " in out
    assert "  mosaic " not in out and "  lr0 " not in out


def test_val_without_model_or_shipped_weights_is_a_clear_error(capsys, tmp_path, monkeypatch):
    from yolo8.checkpoints import load

    monkeypatch.setattr(load, "SHIPPED_WEIGHTS_DIR", tmp_path)  # a package without its built-in weights
    assert run(["val"]) == 1
    assert "needs model=" in capsys.readouterr().err


def test_predict_with_missing_weights_never_downloads(capsys, tmp_path):
    assert run(["predict", f"model={tmp_path / 'yolov8n.pt'}"]) == 1
    assert "never downloads" in capsys.readouterr().err


def test_config_types_and_merge():
    config = Config({"epochs": "7", "imgsz": "320,256", "cache": "true", "classes": "0,2", "conf": "None"})
    assert (config.epochs, config.imgsz, config.cache, config.classes) == (7, [320, 256], "ram", [0, 2])
    # conf=None means the mode's default, from the settings table: train (its validation) and val 0.001, predict 0.25
    assert (config.conf, Config({"conf": "None"}, mode="predict").conf, Config(mode="val").conf) == (0.001, 0.25, 0.001)
    assert Config({"conf": 0.5}, mode="predict").conf == 0.5
    assert config.lr0 == DEFAULTS["lr0"] == 0.01
    assert config.merge(epochs=3).epochs == 3 and config.epochs == 7
    assert config.overrides.keys() == {"epochs", "imgsz", "cache", "classes", "conf"}
    assert config.with_defaults({"epochs": 1, "batch": 4}).epochs == 7
    assert config.with_defaults({"epochs": 1, "batch": 4}).batch == 4
    with pytest.raises(ConfigError, match="'fliplr=yes please' is invalid"):
        Config(fliplr="yes please")


def test_yolov8_defaults():
    """The recipe's published defaults, kept in the one table."""
    expected = {"epochs": 100, "batch": 16, "imgsz": 640, "lr0": 0.01, "lrf": 0.01, "momentum": 0.937,
                "weight_decay": 0.0005, "warmup_epochs": 3.0, "warmup_momentum": 0.8, "warmup_bias_lr": 0.1,
                "box": 7.5, "cls": 0.5, "dfl": 1.5, "nbs": 64, "hsv_h": 0.015, "hsv_s": 0.7, "hsv_v": 0.4,
                "degrees": 0.0, "translate": 0.1, "scale": 0.5, "shear": 0.0, "perspective": 0.0, "flipud": 0.0,
                "fliplr": 0.5, "mosaic": 1.0, "mixup": 0.0, "close_mosaic": 10, "iou": 0.7, "max_det": 300,
                "patience": 100, "optimizer": "auto"}
    assert {key: DEFAULTS[key] for key in expected} == expected


def test_console_script_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "yolo8.cli", "version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip()


def test_warnings_are_one_line_on_the_command_line():
    import warnings

    from yolo8.cli import one_line_warning
    from yolo8.data.sources import SourceWarning

    text = one_line_warning(SourceWarning("skipped 1 of 2 source file(s)"), SourceWarning, "sources.py", 80)
    assert text == "yolo8: warning: skipped 1 of 2 source file(s) (SourceWarning)\n"
    assert warnings.formatwarning is not one_line_warning  # only the command line sets it, for its own process
