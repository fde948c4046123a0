"""The training loop: a short loop over epochs and batches; warm-up, close-mosaic, the time budget, evaluation,
best fitness and early stop, results.csv and checkpoints are hooks around it (:mod:`yolo8.train.hooks`)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from yolo8.config import Config
from yolo8.runtime.backend import TorchBackend
from yolo8.runtime.callbacks import Callbacks
from yolo8.tasks import task_of, task_spec
from yolo8.tasks.common import image_size_setting, say_if_rounded
from yolo8.train.ema import ModelEMA, unwrap
from yolo8.train.hooks import (
    BestFitness,
    Checkpoints,
    CloseMosaic,
    EarlyStopping,
    Evaluation,
    Hook,
    ResultsCsv,
    TimeBudget,
    TrainBatchPlots,
    WarmupHook,
)
from yolo8.train.multi_scale import random_training_size, resize_batch
from yolo8.train.optim import (
    Warmup,
    build_optimizer,
    lr_factor,
    optimizer_state_fits,
    resolve_optimizer,
    warmup_iterations,
)
from yolo8.train.results_log import ResultsLog, progress_header, progress_line
from yolo8.train.resume import find_resume_checkpoint, load_resume_checkpoint, restore_rng_state, resumed_settings
from yolo8.train.time_budget import TrainingClock

LOGGER = logging.getLogger("yolo8")
GRADIENT_CLIP_NORM = 10.0


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a training run; the message says where its last checkpoint is and how to resume.

    A KeyboardInterrupt still, so scripts that catch Ctrl-C keep working."""


class Trainer:
    """Trains a model as YOLOv8 does; the task table gives its loss, validation and results columns.
    ``train()`` returns the path of best.pt.

    Attributes users' callbacks read: ``config``, ``epoch``, ``epochs``, ``model``, ``ema``, ``save_dir``, ``task``,
    ``loss_items`` (mean of each of ``task.loss_names`` over the epoch so far), ``metrics`` (last validation),
    ``best_fitness``.
    With ``time`` set, ``epochs`` is re-planned before every epoch after the first to what fits the time left.
    """

    def __init__(self, config: Config, model: nn.Module | None = None, model_source: str | None = None,
                 callbacks: Callbacks | None = None):
        self.model = model
        self.model_source = model_source or config.model or task_spec(config.task).default_model
        self.callbacks = (callbacks or Callbacks()).copy()
        self.resume_checkpoint = None
        self.resume_changes: dict = {}  # settings a resumed run changed (device, workers, batch, epochs, ...)
        if config.resume:
            path = find_resume_checkpoint(config.resume, Path(config.project or task_spec(config.task).run_dir))
            self.resume_checkpoint = load_resume_checkpoint(path, epochs=config.overrides.get("epochs"))
            settings, self.resume_changes = resumed_settings(self.resume_checkpoint["train_args"], config.overrides,
                                                             path)
            config = Config(settings)
            self.save_dir = path.parent.parent
        elif config.data is None:
            spec = task_spec(config.task)
            finetuning = spec.builtin_weights is not None and str(self.model_source) == spec.builtin_weights
            config = config.with_defaults({**spec.builtin_defaults, **(spec.finetune_defaults if finetuning else {})})
        self.config = config
        self.metrics = None
        self.final_metrics = None
        self.best_fitness = None
        self.epoch = 0
        self.task = None  # the model's TaskSpec, once the model is set up
        self.loss_items = np.zeros(0)
        self.train_seconds = 0.0  # spent in the epoch loop, over all sessions of a resumed run
        self.progress_bar = None  # the epoch's tqdm bar (rank 0)
        self.hooks: list[Hook] = []
        self.epoch_learning_rates: list[float] = []  # each parameter group's lr during the last epoch
        self.improved = self.stop = False  # set after each epoch by the BestFitness and EarlyStopping hooks
        self.stop_reason = ""

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        from yolo8.runtime.device import select_device
        from yolo8.runtime.run_dir import increment_run_dir
        from yolo8.train.model_setup import prepare_model
        from yolo8.val.validator import Validator

        config = self.config
        self.device = select_device(config.device) if not self.dist.enabled else self.dist.device
        self.data = task_spec(config.task).resolve_training_data(config)
        self.config = config = config.merge(data=str(self.data.yaml_file))
        self.model = prepare_model(self.model, self.model_source, self.data, config, self.resume_checkpoint)
        self.task = task = task_of(self.model)
        if self.resume_checkpoint is None:
            save_dir = None
            if self.dist.is_main:
                save_dir = increment_run_dir(config.project or task.run_dir, config.name or "train",
                                             config.exist_ok, mkdir=True)
            self.save_dir = self.dist.share_from_main(save_dir)
        self.weights_dir = self.save_dir / "weights"
        # channels-last weights: oneDNN's convolutions train ~20% faster on CPU (yolov8n, 320 px, batch 16)
        self.model.to(self.device, memory_format=torch.channels_last)
        self.epochs = config.epochs
        self.batch_size = max(config.batch // self.dist.world_size, 1)
        self.stride = stride = max(int(self.model.stride.max()), 32)
        say_if_rounded(config.imgsz, stride)
        self.image_size = image_size_setting(config.imgsz, stride)
        self.train_loader = task.training_loader(self.data, config, self.image_size, self.batch_size, stride,
                                                 config.workers, self.dist.rank)
        self.loss = task.build_loss(unwrap(self.model), config)
        self.validator = None
        if self.dist.is_main:
            from yolo8.train.tensorboard import attach_tensorboard

            attach_tensorboard(self.callbacks, task.loss_names)
            self.weights_dir.mkdir(parents=True, exist_ok=True)
            val_loader = task.validation_loader(self.data, config, self.image_size, self.batch_size * 2, stride,
                                                config.workers)
            self.validator = Validator(task, val_loader, self.data.names, config, self.device, self.save_dir,
                                       loss=self.loss, callbacks=self.callbacks)
        self.accumulate = max(round(config.nbs / config.batch), 1)
        weight_decay = config.weight_decay * config.batch * self.accumulate / config.nbs
        iterations = math.ceil(len(self.train_loader.dataset) / max(config.batch, config.nbs)) * self.epochs
        self.optimizer_choice = resolve_optimizer(config.optimizer, config.lr0, config.momentum, config.warmup_bias_lr,
                                                  iterations, unwrap(self.model).num_classes)
        self.optimizer = build_optimizer(self.model, self.optimizer_choice, weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda epoch: lr_factor(epoch, self.epochs, config.lrf, config.cos_lr))
        # a time budget's epochs are not known before the first epoch: its warm-up is not capped by them
        warmup_epochs_cap = self.epochs if config.time is None else None
        warmup = Warmup(warmup_iterations(config.warmup_epochs, len(self.train_loader), warmup_epochs_cap),
                        self.optimizer_choice.warmup_bias_lr, config.warmup_momentum, self.optimizer_choice.momentum)
        self.ema = ModelEMA(self.model) if self.dist.is_main else None
        self.hooks = self._build_hooks(warmup)
        self.scaler = torch.amp.GradScaler("cuda", enabled=config.amp and self.device.type == "cuda")
        self.start_epoch, self.best_fitness = 0, None
        if self.resume_checkpoint is not None:
            self._restore(self.resume_checkpoint)
        self.model = self.dist.wrap(self.model)
        weights, norm_weights, biases = (len(group["params"]) for group in self.optimizer.param_groups)
        LOGGER.info("optimizer: %s(lr=%g, momentum=%g) with parameter groups: %d weights (decay %g), %d norm weights, "
                    "%d biases", self.optimizer_choice.name, self.optimizer_choice.lr0, self.optimizer_choice.momentum,
                    weights, weight_decay, norm_weights, biases)

    def _build_hooks(self, warmup: Warmup) -> list[Hook]:
        """The run's hooks, in the order they are called (after an epoch: evaluate, judge, log, save)."""
        config = self.config
        hooks: list[Hook] = [TimeBudget(config.time)] if config.time is not None else []
        hooks += [CloseMosaic(config.close_mosaic), WarmupHook(warmup, config.nbs, config.batch)]
        if config.plots:
            hooks.append(TrainBatchPlots())
        hooks += [Evaluation(config.val), BestFitness(), EarlyStopping(config.patience)]
        if self.dist.is_main:
            results_log = ResultsLog(self.save_dir / "results.csv", self.task.loss_names, self.task.metric_keys)
            hooks += [ResultsCsv(results_log), Checkpoints(config.save_period)]
        return hooks

    def _restore(self, checkpoint: dict) -> None:
        state = checkpoint["train_state"]
        self.model.load_state_dict(state["model"])
        self.ema.ema.load_state_dict(checkpoint["state_dict"])
        self.ema.updates = state["ema_updates"]
        if not optimizer_state_fits(self.optimizer, state["optimizer"]):  # e.g. saved before the groups were reordered
            raise ValueError(f"{self.config.resume}: its optimizer state does not fit this version's parameter groups. "
                             f"Start a new run from its weights instead: model={self.config.resume}")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.start_epoch, self.best_fitness = state["epoch"] + 1, state["best_fitness"]
        if "epochs" not in self.resume_changes:
            self.epochs = state.get("epochs", self.epochs)  # a time budget may have re-planned it
        self.train_seconds = state.get("train_seconds", 0.0)
        hook_states = state.get("hooks", {})  # by hook class name; older checkpoints have none
        for hook in self.hooks:
            hook.load_state_dict(hook_states.get(type(hook).__name__, {}))
        restore_rng_state(state["rng"])
        LOGGER.info("Resuming %s from epoch %d to %d", self.save_dir, self.start_epoch + 1, self.epochs)
        if self.resume_changes:
            train_args = checkpoint["train_args"]
            LOGGER.info("Resumed with changed settings: %s", ", ".join(
                f"{key}={value} (was {train_args.get(key)})" for key, value in self.resume_changes.items()))

    # ------------------------------------------------------------------ the loop
    def train(self) -> Path:
        """Run the training; the caller's thread count, random states, determinism flags and log level are
        what they were afterwards. Ctrl-C stops it with a one-line note on how to resume."""
        from yolo8.runtime.device import all_cores, seeded
        from yolo8.runtime.distributed import DistributedContext

        self.dist = DistributedContext.from_environment()
        level = LOGGER.level
        if not self.dist.is_main:
            LOGGER.setLevel(logging.WARNING)  # one process reports; the others would repeat every line
        try:
            with all_cores(), seeded(self.config.seed + self.dist.rank_or_zero, self.config.deterministic):
                return self._train()
        except KeyboardInterrupt:
            if self.progress_bar is not None:
                self.progress_bar.close()  # ends the bar's line, so the note starts on its own
            raise TrainingInterrupted(self._interrupted_message()) from None
        finally:
            LOGGER.setLevel(level)

    def _interrupted_message(self) -> str:
        last = getattr(self, "weights_dir", None)
        if last is None or not (last / "last.pt").is_file():
            return "training interrupted before the first epoch ended; nothing was saved."
        return (f"training interrupted in epoch {self.epoch + 1}; {last / 'last.pt'} holds the last completed epoch. "
                f"Resume with: yolo8 train resume={last / 'last.pt'}")

    def plan_known(self, epoch: int) -> bool:
        """Whether ``self.epochs`` is the plan before ``epoch``: always, except a new time-budget run before its
        first epoch is timed (a resumed one has its checkpoint's plan)."""
        return self.config.time is None or self.resume_checkpoint is not None or epoch > self.start_epoch

    def _train(self) -> Path:
        self.callbacks.run("on_pretrain_routine_start", self)
        self._setup()
        config, loader, hooks = self.config, self.train_loader, self.hooks
        batches = len(loader)
        last_step = -1
        self.callbacks.run("on_train_start", self)
        LOGGER.info("Image sizes %d train, %d val; %d dataloader workers\nLogging results to %s\n"
                    "Starting training for %d epochs...", self.image_size, self.image_size,
                    loader.num_workers, self.save_dir, self.epochs)
        if config.time is not None:
            LOGGER.info("Time budget %g h: the number of epochs is planned from the pace of the epochs run",
                        config.time)
        self.clock = TrainingClock(self.train_seconds)
        epoch = self.start_epoch
        while True:  # not range(): a time budget changes self.epochs as the run goes
            for hook in hooks:
                hook.plan_epochs(self, epoch)
            if self.plan_known(epoch) and epoch >= self.epochs:
                break
            self.epoch = epoch
            self.callbacks.run("on_train_epoch_start", self)
            for hook in hooks:
                hook.before_epoch(self)
            if self.dist.enabled:
                loader.sampler.set_epoch(epoch)
            self.model.train()
            self.loss_items = np.zeros(len(self.task.loss_names))
            progress = self._progress(loader, batches)
            for i, batch in progress:
                iteration = i + batches * epoch
                for hook in hooks:
                    hook.before_step(self, iteration)
                batch = batch.to(self.device, non_blocking=True)
                images = batch.images.float() / 255
                if config.multi_scale > 0:
                    size = random_training_size(self.image_size, config.multi_scale, self.stride)
                    images = resize_batch(images, size, self.stride)
                with torch.autocast(self.device.type, enabled=self.scaler.is_enabled()):
                    total, items = self.loss(self.model(images), batch)
                self.scaler.scale(total * self.dist.world_size).backward()
                if iteration - last_step >= self.accumulate:
                    self._optimizer_step()
                    last_step = iteration
                self.loss_items = (self.loss_items * i + items.cpu().numpy()) / (i + 1)
                if self.dist.is_main:
                    progress.set_description(progress_line(epoch, self.epochs, self.loss_items, batch, self.device))
                for hook in hooks:
                    hook.after_step(self, i, batch)
                self.callbacks.run("on_train_batch_end", self)
            self.epoch_learning_rates = [group["lr"] for group in self.optimizer.param_groups]
            self.scheduler.step()
            self.callbacks.run("on_train_epoch_end", self)
            self.stop = False
            if self.dist.is_main:
                for hook in hooks:  # evaluation, best fitness, early stop, results.csv, checkpoints
                    hook.after_epoch(self)
                self.callbacks.run("on_fit_epoch_end", self)
                if self.stop:
                    LOGGER.info(self.stop_reason)
            if self.dist.broadcast_stop(self.stop):
                break
            epoch += 1
        return self._finish()

    def _progress(self, loader, batches: int):
        if not self.dist.is_main:
            return enumerate(loader)
        from tqdm import tqdm

        LOGGER.info(progress_header(self.task.loss_names))
        self.progress_bar = tqdm(enumerate(loader), total=batches, bar_format="{l_bar}{bar:10}{r_bar}", leave=True)
        return self.progress_bar

    def _optimizer_step(self) -> None:
        self.scaler.unscale_(self.optimizer)
        nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=GRADIENT_CLIP_NORM)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.model)

    @property
    def names(self) -> dict[int, str]:
        return unwrap(self.model).names

    def _finish(self) -> Path:
        best = self.weights_dir / "best.pt"
        if self.dist.is_main:
            from yolo8.checkpoints.load import load_model
            from yolo8.metrics.plots import plot_results

            LOGGER.info("\n%s. Validating %s...", epochs_completed(self.epoch + 1, self.start_epoch), best)
            best_model, _ = load_model(best)
            self.final_metrics = self.validator(TorchBackend(best_model, self.device), verbose=True)
            if self.config.plots:
                plot_results(self.save_dir / "results.csv")
            LOGGER.info("Results saved to %s", self.save_dir)
        self.callbacks.run("on_train_end", self)
        self.dist.close()
        return best


def epochs_completed(total: int, resumed_at: int) -> str:
    """The closing line's count: '15 epochs completed', or for a resumed run the whole run with this session's
    share, '15 epochs completed (7 in this session)' (``resumed_at``: epochs done before this session)."""
    line = f"{total} epoch{'s' if total != 1 else ''} completed"
    return line + (f" ({total - resumed_at} in this session)" if resumed_at else "")
