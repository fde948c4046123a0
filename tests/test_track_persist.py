"""track(persist=True): the tracker state of one call carries into the next; without it each call starts fresh."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def model():
    from yolo8 import YOLO

    return YOLO("yolov8n.yaml")  # random weights: only the tracker bookkeeping is under test


def frames_seen(model) -> list[int]:
    """Frames each stream's tracker of the model's kept session has stepped through."""
    return [tracker.frame for tracker in model._tracking[1].trackers.values()]


def test_persist_continues_the_same_tracker_and_a_plain_call_starts_fresh(model):
    image = np.zeros((32, 32, 3), np.uint8)
    track = lambda **kwargs: model.track(image, imgsz=32, verbose=False, tracker="bytetrack.yaml", **kwargs)
    track()
    first = model._tracking[1]
    assert frames_seen(model) == [1]
    track(persist=True)
    track(persist=True)
    assert model._tracking[1] is first and frames_seen(model) == [3]  # one tracker, three frames
    track()  # no persist: a new session from frame 1
    assert model._tracking[1] is not first and frames_seen(model) == [1]
    kept = model._tracking[1]
    model.track(image, imgsz=32, verbose=False, tracker="botsort.yaml", persist=True)
    assert model._tracking[1] is not kept and model._tracking[0] == "botsort.yaml"  # another tracker: fresh
    assert frames_seen(model) == [1]
    model.reset_tracker()
    assert model._tracking[1].trackers == {}
    model.track(image, imgsz=32, verbose=False, tracker="botsort.yaml", persist=True)
    assert frames_seen(model) == [1]
