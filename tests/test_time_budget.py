"""time= (hours): the epoch plan from the pace so far, a run that follows it, and a resume that keeps it.

The clock is replaced by one that advances 100 s per finished epoch, so plans are exact and do not
depend on how fast this machine trains.
"""

import pytest

import yolo8.train.time_budget as time_budget
from tests.test_train_e2e import TRAIN_SETTINGS, read_results
from yolo8 import YOLO
from yolo8.checkpoints.native import load_checkpoint
from yolo8.nn.model import build_model
from yolo8.train.time_budget import TrainingClock, epochs_within

EPOCH_SECONDS = 100.0


def test_epochs_within_a_time_budget():
    # 100 s budget, 30 s spent over 3 epochs at 10 s each: 7 more fit whole
    assert epochs_within(100, 30, 3, 10.0) == 10
    assert epochs_within(100, 30, 3, 10.5) == 9  # 70 s left: 6 epochs of 10.5 s, a 7th would overrun
    assert epochs_within(100, 95, 9, 10.0) == 9  # the next epoch would overrun: stop now
    assert epochs_within(100, 130, 12, 10.0) == 12  # already over: stop now, never fewer than done
    assert epochs_within(100, 0, 1, 0.0) > 10**6  # an epoch too short for the clock does not divide by zero


def test_training_clock_adds_earlier_sessions(monkeypatch):
    readings = iter([50.0, 80.0, 90.0])
    monkeypatch.setattr(time_budget, "now", lambda: next(readings))
    clock = TrainingClock(seconds_before=200.0)  # started at 50
    assert clock.session_seconds == 30.0 and clock.seconds == 240.0


class EpochClock:
    """A clock that reads 100 s per epoch trained: advanced by the on_train_epoch_end callback."""

    def __init__(self):
        self.seconds = 0.0

    def tick(self, trainer):
        self.seconds += EPOCH_SECONDS


def test_budget_sets_the_epochs_and_a_resumed_run_keeps_the_plan(shapes_dataset, tiny_model_yaml, tmp_path,
                                                                   monkeypatch):
    clock = EpochClock()
    monkeypatch.setattr(time_budget, "now", lambda: clock.seconds)
    budget_hours = 450 / 3600  # 4 epochs of 100 s fit, a 5th would overrun

    class Interrupt(Exception):
        pass

    planned = []

    def interrupt_after_two(trainer):
        planned.append(trainer.epochs)
        if trainer.epoch + 1 == 2:
            raise Interrupt

    model = YOLO(build_model(tiny_model_yaml))
    model.add_callback("on_train_epoch_end", clock.tick)
    model.add_callback("on_fit_epoch_end", interrupt_after_two)
    # epochs=1 is overridden by the budget, as in YOLOv8
    with pytest.raises(Interrupt):
        model.train(data=str(shapes_dataset), epochs=1, time=budget_hours, project=str(tmp_path), name="run",
                    **TRAIN_SETTINGS)
    assert planned == [1, 4]  # epoch 1 runs under the initial plan; before epoch 2: 100 s each, 350 s left
    last = tmp_path / "run" / "weights" / "last.pt"
    state = load_checkpoint(last)["train_state"]
    assert state["epochs"] == 4 and state["train_seconds"] == 2 * EPOCH_SECONDS

    resumed = YOLO(last)
    resumed.add_callback("on_train_epoch_end", clock.tick)
    resumed.train(resume=str(last))
    rows = read_results(tmp_path / "run")
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3, 4]
    assert [float(row["time"]) for row in rows] == [100, 200, 300, 400]  # the resumed session adds to the time
    with pytest.raises(ValueError, match="already finished all 4 epochs"):
        YOLO(last).train(resume=str(last))


def test_a_spent_budget_stops_after_the_first_epoch(shapes_dataset, tiny_model_yaml, tmp_path, monkeypatch):
    clock = EpochClock()
    monkeypatch.setattr(time_budget, "now", lambda: clock.seconds)
    model = YOLO(build_model(tiny_model_yaml))
    model.add_callback("on_train_epoch_end", clock.tick)
    model.train(data=str(shapes_dataset), epochs=5, time=50 / 3600, project=str(tmp_path), name="run",
                **TRAIN_SETTINGS)
    assert [int(row["epoch"]) for row in read_results(tmp_path / "run")] == [1]
    assert load_checkpoint(tmp_path / "run" / "weights" / "last.pt")["train_state"]["epochs"] == 5  # never re-planned


def test_a_classifier_follows_the_budget_too(tmp_path, monkeypatch):
    from tests.test_classify_train import TRAIN, tiny_classifier_yaml, write_colour_folders

    clock = EpochClock()
    monkeypatch.setattr(time_budget, "now", lambda: clock.seconds)
    model = YOLO(build_model(tiny_classifier_yaml()))
    model.add_callback("on_train_epoch_end", clock.tick)
    model.train(data=str(write_colour_folders(tmp_path / "colours", per_class=3)), project=str(tmp_path), name="run",
                **{**TRAIN, "epochs": 10, "time": 250 / 3600})  # 2 epochs of 100 s fit, a 3rd would overrun
    assert [int(row["epoch"]) for row in read_results(tmp_path / "run")] == [1, 2]
