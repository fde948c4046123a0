"""The concerns around the training loop, one hook each: warm-up, close-mosaic, the time budget, evaluation,
best fitness and early stopping, results.csv, checkpoints and the first batches' pictures.

The loop (:meth:`yolo8.train.trainer.Trainer.train`) calls every hook's methods in list order: ``plan_epochs``
before it decides whether another epoch runs, ``before_epoch`` once it does (after ``on_train_epoch_start``),
``before_step`` / ``after_step`` around each batch, ``after_epoch`` after the scheduler step and
``on_train_epoch_end`` (rank 0 only; then ``on_fit_epoch_end``). A hook that owns state a resumed run must get
back gives it a ``state_dict`` (saved in last.pt under its class name) and a ``load_state_dict``.
"""

from __future__ import annotations

import logging

import numpy as np

from yolo8.runtime.backend import TorchBackend
from yolo8.train.ema import unwrap
from yolo8.train.optim import Warmup, lr_factor
from yolo8.train.resume import capture_rng_state
from yolo8.train.time_budget import epochs_within

LOGGER = logging.getLogger("yolo8")
PLOTTED_TRAIN_BATCHES = 3


class Hook:
    """One concern of a training run; every method does nothing unless a hook needs it."""

    def plan_epochs(self, trainer, epoch: int) -> None: ...

    def before_epoch(self, trainer) -> None: ...

    def before_step(self, trainer, iteration: int) -> None: ...

    def after_step(self, trainer, index: int, batch) -> None: ...

    def after_epoch(self, trainer) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


class TimeBudget(Hook):
    """``time=`` (hours): before every epoch after this session's first, re-plan ``trainer.epochs`` to what fits
    the time left at this session's pace (whole epochs, validation included), and fix this epoch's learning rate
    to the new plan. Rank 0 decides."""

    def __init__(self, hours: float):
        self.hours = hours

    def plan_epochs(self, trainer, epoch: int) -> None:
        if epoch == trainer.start_epoch:
            return
        planned = None
        if trainer.dist.is_main:
            spent = trainer.clock.seconds
            seconds_per_epoch = trainer.clock.session_seconds / (epoch - trainer.start_epoch)
            planned = epochs_within(self.hours * 3600, spent, epoch, seconds_per_epoch)
            if planned != trainer.epochs:
                LOGGER.info("time=%g h: %.0f s used, %.1f s per epoch -> %d epochs in all", self.hours, spent,
                            seconds_per_epoch, planned)
        trainer.epochs = trainer.dist.share_from_main(planned)
        # the scheduler set this epoch's lr from the previous plan; warm-up reads the plan itself
        factor = lr_factor(epoch, trainer.epochs, trainer.config.lrf, trainer.config.cos_lr)
        for group, initial_lr in zip(trainer.optimizer.param_groups, trainer.scheduler.base_lrs):
            group["lr"] = initial_lr * factor


class CloseMosaic(Hook):
    """Mosaic off for the last ``close_mosaic`` epochs, once the number of epochs is known."""

    def __init__(self, close_mosaic: int):
        self.close_mosaic = close_mosaic

    def before_epoch(self, trainer) -> None:
        dataset = trainer.train_loader.dataset
        # datasets without mosaic (classification folders) have nothing to close
        if trainer.plan_known(trainer.epoch) and closes_mosaic(trainer.epoch, trainer.epochs, self.close_mosaic) \
                and getattr(dataset, "mosaic_enabled", False):
            LOGGER.info("Closing dataloader mosaic")
            dataset.close_mosaic()


def closes_mosaic(epoch: int, epochs: int, close_mosaic: int) -> bool:
    """Whether mosaic is off in ``epoch``: the last ``close_mosaic`` epochs, as YOLOv8 counts them.

    YOLOv8 switches at epoch ``epochs - close_mosaic``; a run shorter than that window never switches.
    """
    switch_epoch = epochs - close_mosaic
    return close_mosaic > 0 and switch_epoch >= 0 and epoch >= switch_epoch


class WarmupHook(Hook):
    """During warm-up, each batch's learning rates and momentum (:class:`~yolo8.train.optim.Warmup`) and the
    number of batches whose gradients accumulate into a step, growing from 1 to ``nbs / batch``."""

    def __init__(self, warmup: Warmup, nbs: int, batch: int):
        self.warmup, self.nbs, self.batch = warmup, nbs, batch

    def before_step(self, trainer, iteration: int) -> None:
        if 0 < self.warmup.iterations and iteration <= self.warmup.iterations:
            config = trainer.config
            self.warmup.apply(trainer.optimizer, iteration, lr_factor(trainer.epoch, trainer.epochs, config.lrf,
                                                                      config.cos_lr))
            trainer.accumulate = max(1, round(float(np.interp(iteration, [0, self.warmup.iterations],
                                                              [1, self.nbs / self.batch]))))


class TrainBatchPlots(Hook):
    """train_batch0..2.jpg: the first batches of the run's first epoch, with their labels."""

    def after_step(self, trainer, index: int, batch) -> None:
        if trainer.dist.is_main and trainer.epoch == trainer.start_epoch and index < PLOTTED_TRAIN_BATCHES:
            trainer.task.plot_training_batch(batch.to("cpu"), trainer.save_dir / f"train_batch{index}.jpg",
                                             trainer.names)


class Evaluation(Hook):
    """Validate the EMA weights after every epoch (``val=True``) or after the last one; sets ``trainer.metrics``.
    Draws nothing: the run's final validation of best.pt draws the val pictures and curves once."""

    def __init__(self, every_epoch: bool):
        self.every_epoch = every_epoch

    def after_epoch(self, trainer) -> None:
        if self.every_epoch or trainer.epoch + 1 >= trainer.epochs:
            trainer.metrics = trainer.validator(TorchBackend(trainer.ema.ema, trainer.device, prepare=False),
                                                plots=False)


class BestFitness(Hook):
    """Judges the epoch: its fitness (the validation's, else the training loss's negative) against the best so far.
    Sets ``trainer.improved`` and ``trainer.best_fitness`` (saved in last.pt by the trainer)."""

    def after_epoch(self, trainer) -> None:
        fitness = trainer.metrics.fitness if trainer.metrics is not None else -float(trainer.loss_items.sum())
        trainer.improved = trainer.best_fitness is None or fitness >= trainer.best_fitness
        if trainer.improved:
            trainer.best_fitness = fitness


class EarlyStopping(Hook):
    """Stops the run after ``patience`` epochs without improvement: sets ``trainer.stop`` and ``trainer.stop_reason``
    (the loop logs it after the epoch's checkpoints and callbacks). Runs before the checkpoint hook, so last.pt
    holds this epoch's count and a resumed run carries on counting."""

    def __init__(self, patience: int):
        self.patience = patience
        self.patience_left = patience

    def after_epoch(self, trainer) -> None:
        self.patience_left = self.patience if trainer.improved else self.patience_left - 1
        trainer.stop = self.patience_left <= 0
        if trainer.stop:
            trainer.stop_reason = (f"Stopping early: no improvement in the last {self.patience} epochs "
                                   f"(patience={self.patience}); best is {trainer.weights_dir / 'best.pt'}")

    def state_dict(self) -> dict:
        return {"patience_left": self.patience_left}

    def load_state_dict(self, state: dict) -> None:
        self.patience_left = state.get("patience_left", self.patience)


class ResultsCsv(Hook):
    """One results.csv row per epoch: seconds so far, the epoch's mean losses, the metrics, learning rates."""

    def __init__(self, results_log):
        self.results_log = results_log

    def after_epoch(self, trainer) -> None:
        trainer.train_seconds = trainer.clock.seconds
        self.results_log.append(trainer.epoch, trainer.train_seconds, trainer.loss_items, trainer.metrics,
                                trainer.epoch_learning_rates)


class Checkpoints(Hook):
    """last.pt every epoch (the EMA weights, with the state a resumed run needs), best.pt when fitness improved,
    and epochN.pt every ``save_period`` epochs; then the ``on_model_save`` callbacks."""

    def __init__(self, save_period: int):
        self.save_period = save_period

    def after_epoch(self, trainer) -> None:
        from yolo8.checkpoints.native import model_to_checkpoint, save_checkpoint

        epoch, train_args = trainer.epoch, trainer.config.to_dict()
        state = {
            "model": {k: v.detach().cpu().contiguous() for k, v in unwrap(trainer.model).state_dict().items()},
            "optimizer": trainer.optimizer.state_dict(), "scheduler": trainer.scheduler.state_dict(),
            "ema_updates": trainer.ema.updates, "epoch": epoch, "epochs": trainer.epochs,
            "best_fitness": trainer.best_fitness, "train_seconds": trainer.train_seconds, "rng": capture_rng_state(),
            "hooks": {type(hook).__name__: hook.state_dict() for hook in trainer.hooks if hook.state_dict()},
        }
        common = {"epoch": epoch, "best_fitness": trainer.best_fitness,
                  "metrics": trainer.metrics.results_dict if trainer.metrics is not None else {}}
        weights = trainer.weights_dir
        save_checkpoint(model_to_checkpoint(trainer.ema.ema, train_args, train_state=state, **common), weights / "last.pt")
        if trainer.improved:
            save_checkpoint(model_to_checkpoint(trainer.ema.ema, train_args, **common), weights / "best.pt")
        if self.save_period > 0 and (epoch + 1) % self.save_period == 0:
            save_checkpoint(model_to_checkpoint(trainer.ema.ema, train_args, **common), weights / f"epoch{epoch + 1}.pt")
        trainer.callbacks.run("on_model_save", trainer)
