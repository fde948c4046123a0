"""Training hooks, each on its own: no model or loop needed."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from yolo8.train.hooks import BestFitness, CloseMosaic, EarlyStopping, closes_mosaic


@pytest.mark.parametrize("epochs, close, closed", [
    (20, 10, list(range(10, 20))),  # YOLOv8: the last 10 of 20
    (5, 10, []),                    # a run shorter than the window never switches
    (10, 10, list(range(0, 10))),   # exactly the window: off from the first epoch
    (20, 0, []),                    # close_mosaic=0: never
])
def test_closes_mosaic_counts_as_yolov8(epochs, close, closed):
    assert [epoch for epoch in range(epochs) if closes_mosaic(epoch, epochs, close)] == closed


def fake_trainer(**values):
    defaults = dict(metrics=None, loss_items=np.array([1.0, 2.0]), best_fitness=None, improved=False, stop=False,
                    stop_reason="", weights_dir=Path("runs/weights"), epoch=0, start_epoch=0, epochs=10,
                    plan_known=lambda epoch: True)
    return SimpleNamespace(**{**defaults, **values})


def test_patience_stops_the_run_and_its_count_resumes():
    judge, stopper, trainer = BestFitness(), EarlyStopping(patience=2), fake_trainer()
    history = []
    for fitness in (0.1, 0.3, 0.2, 0.25):
        trainer.metrics = SimpleNamespace(fitness=fitness)
        judge.after_epoch(trainer)
        stopper.after_epoch(trainer)
        history.append((trainer.improved, trainer.stop))
    assert history == [(True, False), (True, False), (False, False), (False, True)]
    assert trainer.best_fitness == 0.3
    assert trainer.stop_reason.startswith("Stopping early: no improvement in the last 2 epochs (patience=2)")
    resumed = EarlyStopping(patience=2)
    resumed.load_state_dict({"patience_left": 1})  # one epoch without improvement before the interruption
    trainer.improved = False
    resumed.after_epoch(trainer)
    assert trainer.stop and resumed.state_dict() == {"patience_left": 0}


def test_without_validation_fitness_is_the_negative_training_loss():
    hook, trainer = BestFitness(), fake_trainer()
    hook.after_epoch(trainer)
    assert trainer.best_fitness == -3.0 and trainer.improved


def test_close_mosaic_hook_waits_for_a_known_plan():
    closed = []
    dataset = SimpleNamespace(mosaic_enabled=True, close_mosaic=lambda: closed.append(True))
    trainer = fake_trainer(epoch=8, epochs=10, train_loader=SimpleNamespace(dataset=dataset),
                           plan_known=lambda epoch: False)
    CloseMosaic(3).before_epoch(trainer)
    assert closed == []  # a time budget's first epoch: no plan to count back from
    trainer.plan_known = lambda epoch: True
    CloseMosaic(3).before_epoch(trainer)
    assert closed == [True]
