"""Hostile input and output (issue 13 §6): unreadable predict files, damaged videos, checkpoint mode, disk full."""

import errno
import os
import warnings

import cv2
import numpy as np
import pytest
import torch

from tests.test_predictor import RedBoxModel
from yolo8.checkpoints import native
from yolo8.checkpoints.native import DiskFullError, current_umask, load_checkpoint, save_checkpoint
from yolo8.config import Config
from yolo8.data.sources import SourceReadError, SourceWarning, load_source
from yolo8.predict.predictor import Predictor


def write_image(path, value=120):
    cv2.imwrite(str(path), np.full((24, 32, 3), value, np.uint8))
    return path


def write_video(path, frames=10, size=(32, 24)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    assert writer.isOpened()
    for index in range(frames):
        writer.write(np.full((size[1], size[0], 3), index * 20, np.uint8))
    writer.release()
    return path


def read_all(source):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = list(source)
    return frames, [str(warning.message) for warning in caught if issubclass(warning.category, SourceWarning)]


# -- 1. one unreadable file does not stop the run; nothing readable is an error

def test_corrupt_image_in_folder_is_skipped_with_warning(tmp_path):
    write_image(tmp_path / "a.jpg")
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    write_image(tmp_path / "c.jpg")
    frames, messages = read_all(load_source(str(tmp_path)))
    assert [os.path.basename(frame.path) for frame in frames] == ["a.jpg", "c.jpg"]
    assert any("b.jpg" in message and message.startswith("skipped '") for message in messages)
    assert any("skipped 1 of 3" in message and "b.jpg" in message for message in messages)


def test_predictor_goes_on_past_an_unreadable_file(tmp_path):
    write_image(tmp_path / "a.jpg")
    (tmp_path / "b.png").write_bytes(b"garbage")
    with pytest.warns(SourceWarning, match="b.png"):
        results = Predictor(RedBoxModel(), Config(mode="predict", verbose=False))(str(tmp_path))
    assert [os.path.basename(result.path) for result in results] == ["a.jpg"]


def test_nothing_readable_is_a_clear_error(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"not an image")
    (tmp_path / "b.jpg").write_bytes(b"")
    with pytest.warns(SourceWarning), pytest.raises(SourceReadError, match="nothing could be read") as error:
        list(load_source(str(tmp_path)))
    assert isinstance(error.value, OSError)  # the CLI turns OSError into one line and exit 1
    assert "a.jpg" in str(error.value) and "b.jpg" in str(error.value)


def test_many_skips_are_summarised_not_sprayed(tmp_path):
    write_image(tmp_path / "good.jpg")
    for index in range(15):
        (tmp_path / f"bad{index:02d}.jpg").write_bytes(b"x")
    frames, messages = read_all(load_source(str(tmp_path)))
    assert len(frames) == 1
    assert len(messages) == 11  # ten per-file warnings, then one summary
    assert "skipped 15 of 16" in messages[-1]


# -- 2. damaged videos

def test_bit_rotted_video_alone_is_an_error(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.warns(SourceWarning, match="clip.mp4"), pytest.raises(SourceReadError, match="clip.mp4"):
        list(load_source(str(video)))


def test_bit_rotted_video_beside_good_images_is_skipped(tmp_path):
    write_image(tmp_path / "a.jpg")
    (tmp_path / "b.mp4").write_bytes(b"\x00garbage" * 100)
    frames, messages = read_all(load_source(str(tmp_path)))
    assert len(frames) == 1
    assert any("b.mp4" in message for message in messages)


def test_predict_on_bit_rotted_video_raises_instead_of_empty_success(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x13\x37" * 2000)
    config = Config(mode="predict", verbose=False, save=True, project=str(tmp_path / "runs"))
    with pytest.warns(SourceWarning), pytest.raises(OSError, match="nothing could be read"):
        Predictor(RedBoxModel(), config)(str(video))


def test_truncated_video_warns_with_counts(tmp_path):
    data = write_video(tmp_path / "full.avi").read_bytes()
    truncated = tmp_path / "cut.avi"
    truncated.write_bytes(data[: int(len(data) * 0.9)])  # drops the last frames (the header still says 10)
    frames, messages = read_all(load_source(str(truncated)))
    assert 0 < len(frames) < 10
    assert any("cut.avi" in message and f"read {len(frames)} of the 10 frames" in message for message in messages)


def test_complete_video_gives_no_warning(tmp_path):
    frames, messages = read_all(load_source(str(write_video(tmp_path / "ok.avi"))))
    assert len(frames) == 10 and messages == []


# -- 3. checkpoint permissions follow the umask

@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_checkpoint_mode_follows_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        path = save_checkpoint({"x": torch.zeros(2)}, tmp_path / "last.pt")
    finally:
        os.umask(previous)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~umask


def test_current_umask_leaves_umask_unchanged():
    previous = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert current_umask() == 0o027
    finally:
        os.umask(previous)


# -- 4. disk full while saving a checkpoint

@pytest.mark.parametrize("failure", [
    OSError(errno.ENOSPC, "No space left on device"),
    RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file "
                 "data/0: file write failed: No space left on device"),
])
def test_disk_full_keeps_previous_checkpoint_and_says_so(tmp_path, monkeypatch, failure):
    path = tmp_path / "weights" / "last.pt"
    save_checkpoint({"format": "yolo8", "task": "detect", "model_yaml": {}, "state_dict": {}, "epoch": 1}, path)
    before = path.read_bytes()

    def full_disk(obj, file, *args, **kwargs):
        file.write(b"partial bytes")
        raise failure

    monkeypatch.setattr(native.torch, "save", full_disk)
    with pytest.raises(DiskFullError) as error:
        save_checkpoint({"epoch": 2}, path)
    message = str(error.value)
    assert "disk is full" in message and str(path) in message and "project=" in message
    assert "\n" not in message
    assert error.value.errno == errno.ENOSPC and isinstance(error.value, OSError)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]  # temporary file removed
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1


def test_other_write_errors_are_not_called_disk_full(tmp_path, monkeypatch):
    def broken(obj, file, *args, **kwargs):
        raise RuntimeError("something else")

    monkeypatch.setattr(native.torch, "save", broken)
    with pytest.raises(RuntimeError, match="something else"):
        save_checkpoint({}, tmp_path / "x.pt")
    assert list(tmp_path.iterdir()) == []
