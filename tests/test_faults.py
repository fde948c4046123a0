"""Fault injection (issue 13): kill -9 mid-epoch then resume, disk full during a checkpoint, unreadable images
appearing mid-run, read-only output and dataset folders. Tiny model, 64 px, a few images, workers=0."""

import csv
import errno
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import write_shapes_dataset
from yolo8 import YOLO
from yolo8.checkpoints import native
from yolo8.checkpoints.native import DiskFullError, load_checkpoint
from yolo8.nn.model import build_model

SETTINGS = dict(imgsz=64, batch=4, nbs=4, workers=0, warmup_epochs=0, mosaic=0.0, close_mosaic=0, plots=False,
                val=False, verbose=False)
REPO = Path(__file__).resolve().parents[1]


def epochs_in(run_dir):
    with open(run_dir / "results.csv") as file:
        return [int(row["epoch"]) for row in csv.DictReader(file)]


@pytest.fixture
def small_dataset(tmp_path):
    return write_shapes_dataset(tmp_path / "data", images=8)


# ---------------------------------------------------------------- kill -9 inside epoch 2, then resume

CHILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from yolo8 import YOLO
    from yolo8.checkpoints import native

    model_yaml, data, project, point, marker = sys.argv[1:6]

    def hold():  # tell the parent where we are, then wait for the SIGKILL
        Path(marker).write_text(point)
        time.sleep(120)

    model = YOLO(model_yaml)
    if point.startswith("batch"):
        wanted = int(point[5:])
        seen = {"n": 0}
        def on_batch(trainer):
            if trainer.epoch == 1:
                if seen["n"] == wanted:
                    hold()
                seen["n"] += 1
        model.add_callback("on_train_batch_end", on_batch)
    elif point == "after_results":  # results.csv has epoch 2, last.pt still epoch 1
        real_save = native.torch.save
        def save(obj, file, *args, **kwargs):
            if obj.get("train_state", {}).get("epoch") == 1:
                file.write(b"half a checkpoint")
                hold()
            return real_save(obj, file, *args, **kwargs)
        native.torch.save = save
    model.train(data=data, epochs=3, project=project, name="run", imgsz=64, batch=4, nbs=4, workers=0,
                warmup_epochs=0, mosaic=0.0, close_mosaic=0, plots=False, val=False)
""")


# a batch of epoch 2 picked at random (seeded: a failure reproduces), and the gap between logging epoch 2 and saving it
@pytest.mark.parametrize("point", [f"batch{random.Random(13).randrange(2)}", "after_results"])
def test_kill_9_inside_an_epoch_then_resume(small_dataset, tiny_model_yaml, tmp_path, point):
    model_yaml = tmp_path / "tiny.yaml"
    model_yaml.write_text(yaml.safe_dump(tiny_model_yaml))
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(model_yaml), str(small_dataset), str(tmp_path),
                              point, str(marker)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the child never reached the kill point"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    run_dir = tmp_path / "run"
    last = run_dir / "weights" / "last.pt"
    assert load_checkpoint(last)["train_state"]["epoch"] == 0  # epoch 1 saved, epoch 2 never was
    YOLO(last).train(resume=str(last))
    assert load_checkpoint(last)["train_state"]["epoch"] == 2
    assert YOLO(run_dir / "weights" / "best.pt").names == {0: "square", 1: "disc"}
    assert epochs_in(run_dir) == [1, 2, 3]


# ---------------------------------------------------------------- disk full during a checkpoint write

def fill_disk_on_second_save(monkeypatch):
    real_save = native.torch.save

    def save(obj, file, *args, **kwargs):
        if obj.get("train_state", {}).get("epoch") == 1:
            file.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, file, *args, **kwargs)

    monkeypatch.setattr(native.torch, "save", save)


def test_disk_full_at_the_second_epoch_stops_with_one_clear_error(small_dataset, tiny_model_yaml, tmp_path,
                                                                 monkeypatch):
    fill_disk_on_second_save(monkeypatch)
    with pytest.raises(DiskFullError) as error:
        YOLO(build_model(tiny_model_yaml)).train(data=str(small_dataset), epochs=3, project=str(tmp_path),
                                                  name="run", **SETTINGS)
    last = tmp_path / "run" / "weights" / "last.pt"
    message = str(error.value)
    assert str(last) in message and "disk is full" in message and "\n" not in message
    monkeypatch.undo()
    assert load_checkpoint(last)["train_state"]["epoch"] == 0  # the previous last.pt, intact
    assert sorted(p.name for p in last.parent.iterdir() if p.name.endswith(".tmp")) == []


def test_disk_full_on_the_command_line_is_one_line_and_exit_1(small_dataset, tiny_model_yaml, tmp_path,
                                                              monkeypatch, capsys):
    from yolo8.cli import run

    model_yaml = tmp_path / "tiny.yaml"
    model_yaml.write_text(yaml.safe_dump(tiny_model_yaml))
    fill_disk_on_second_save(monkeypatch)
    argv = ["train", f"model={model_yaml}", f"data={small_dataset}", "epochs=2", f"project={tmp_path}", "name=run"]
    argv += [f"{key}={value}" for key, value in SETTINGS.items()]
    assert run(argv) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("yolo8: error")]
    assert len(errors) == 1 and "disk is full" in errors[0] and "Traceback" not in err, err
    assert str(tmp_path / "run" / "weights" / "last.pt") in errors[0]


# ---------------------------------------------------------------- truncated / corrupt label caches
# covered by tests/test_hostile_data.py::test_damaged_default_cache_is_rebuilt_with_one_warning


# ---------------------------------------------------------------- an image turns unreadable mid-run

def test_image_turning_to_garbage_mid_run_is_skipped_with_a_named_warning(small_dataset, tiny_model_yaml,
                                                                          tmp_path, caplog):
    victim = small_dataset.parent / "images" / "train" / "003.png"

    def spoil(trainer):  # after the label scan, before the first read (images read once stay in a buffer)
        victim.write_bytes(b"\x89PNG garbage, not an image")

    model = YOLO(build_model(tiny_model_yaml))
    model.add_callback("on_train_start", spoil)
    with caplog.at_level("WARNING", logger="yolo8"):
        model.train(data=str(small_dataset), epochs=2, project=str(tmp_path), name="run", **SETTINGS)
    assert epochs_in(tmp_path / "run") == [1, 2]
    named = [record.getMessage() for record in caplog.records if str(victim) in record.getMessage()]
    assert len(named) == 1, named  # one warning naming the file, not one per epoch or per worker


def test_every_image_unreadable_mid_run_is_a_clear_error(small_dataset, tiny_model_yaml, tmp_path):
    from yolo8.data.imageio import ImageReadError

    def spoil(trainer):
        for image in (small_dataset.parent / "images" / "train").iterdir():
            image.write_bytes(b"")

    model = YOLO(build_model(tiny_model_yaml))
    model.add_callback("on_train_start", spoil)
    with pytest.raises(OSError) as error:
        model.train(data=str(small_dataset), epochs=2, project=str(tmp_path), name="run", **SETTINGS)
    assert isinstance(error.value, ImageReadError) or "images" in str(error.value)
    assert "\n" not in str(error.value)


# ---------------------------------------------------------------- read-only output and dataset folders

def test_read_only_project_folder_is_a_clear_error(small_dataset, tiny_model_yaml, tmp_path, monkeypatch,
                                                    capsys):
    from yolo8.cli import run

    project = tmp_path / "readonly"
    project.mkdir()
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):  # chmod 0555 does not stop root: refuse like a read-only folder would
        if self != project and project in self.parents:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    model_yaml = tmp_path / "tiny.yaml"
    model_yaml.write_text(yaml.safe_dump(tiny_model_yaml))
    argv = ["train", f"model={model_yaml}", f"data={small_dataset}", "epochs=1", f"project={project}", "name=run"]
    argv += [f"{key}={value}" for key, value in SETTINGS.items()]
    assert run(argv) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("yolo8: error")]
    assert "Traceback" not in err, err
    assert len(errors) == 1 and str(project) in errors[0] and "Permission denied" in errors[0], errors


def test_read_only_labels_folder_trains_with_a_cache_warning(small_dataset, tiny_model_yaml, tmp_path,
                                                              monkeypatch, caplog):
    labels = small_dataset.parent / "labels"
    real_open = open

    def guarded_open(file, mode="r", *args, **kwargs):  # the labels folder refuses writes, even to root
        if any(flag in mode for flag in "wax") and Path(file).resolve().is_relative_to(labels.resolve()):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    with caplog.at_level("WARNING", logger="yolo8"):
        YOLO(build_model(tiny_model_yaml)).train(data=str(small_dataset), epochs=1, project=str(tmp_path),
                                                  name="run", **SETTINGS)
    assert epochs_in(tmp_path / "run") == [1]
    assert not list(labels.glob("*.cache"))
    notes = [record.getMessage() for record in caplog.records if "label cache not saved" in record.getMessage()]
    assert notes and all("Permission denied" in note for note in notes)
