"""The ``YOLO`` facade: one object per model with train / val / predict / info / save, as YOLOv8 users know it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from torch import nn

from yolo8.checkpoints.load import load_model
from yolo8.config import PYTHON_PREDICT_DEFAULTS, Config
from yolo8.runtime.callbacks import Callbacks
from yolo8.runtime.console import console_logging
from yolo8.runtime.exported_model import ExportedModel, exported_format
from yolo8.tasks import task_spec


class YOLO:
    """A YOLO model and the modes that use it.

    ``YOLO("yolov8n.yaml")`` builds a fresh model; ``YOLO("best.pt")`` loads a yolo8 or Ultralytics checkpoint.
    ``model.model`` is the torch module; its eval-mode forward returns decoded predictions first.

    Predict and val run the model through a backend (a fused, eval-mode inference copy) that this object keeps
    between calls: ``for frame in video: model(frame)`` prepares the network once. The backend is rebuilt when
    the weights change (train, fuse, ``load_state_dict`` or any in-place edit of ``model.model``) or when a call
    asks for another device, precision or ``augment``.
    """

    def __init__(self, model: str | os.PathLike | nn.Module = "yolov8n.yaml", task: str | None = None):
        self.source = model if isinstance(model, nn.Module) else str(model)
        if not isinstance(model, nn.Module) and exported_format(model):  # best.onnx, best_openvino_model/, ...
            self.model = ExportedModel(model)
            self.train_args = self.model.train_args
            try:  # another tool's pose / obb export loads, but its outputs mean nothing to yolo8: say so now
                task_spec(self.model.task)
            except ValueError as error:
                raise ValueError(f"{model}: {error} Export a model of one of those tasks.") from None
        else:
            self.model, self.train_args = load_model(model)
        if task is not None and task != self.model.task:
            # YOLOv8 users pass task= out of habit; a model knows its task, so a different one is a mistake to name
            raise ValueError(f"{self.source} is a '{self.model.task}' model, not '{task}'; leave out task= or give "
                             f"a {task} model.")
        self.callbacks = Callbacks()
        self.trainer = None
        self.metrics = None
        self._backend = None
        self._tracking = None  # (tracker YAML, TrackingSession) kept for track(persist=True)

    def backend(self, config: Config):
        """The backend that runs this model for ``config`` (device, half, augment); kept while it stays current."""
        from yolo8.predict.predictor import build_backend
        from yolo8.runtime.device import select_device

        device = select_device(config.device)
        if isinstance(self.model, ExportedModel):  # an exported file: its own precision, no test-time augmentation
            if config.augment:
                raise ValueError(f"augment=True needs the PyTorch model; {self.source} is an export. Use the .pt.")
            if self._backend is None or self._backend.device != device and self.model.format == "torchscript":
                self._backend = self.model.backend(device)
            return self._backend
        wanted = (device, bool(config.half) and device.type == "cuda", bool(config.augment))
        cached = self._backend
        if cached is None or (cached.device, cached.fp16, cached.augment) != wanted or not cached.is_current(self.model):
            self._backend = build_backend(self.model, config)
        return self._backend

    def __repr__(self) -> str:
        return f"YOLO({self.source!r}, task={self.task!r}, classes={len(self.names)})"

    @property
    def task(self) -> str:
        return self.model.task

    @property
    def names(self) -> dict[int, str]:
        return dict(self.model.names)

    def _torch_only(self, action: str) -> None:
        """Refuse ``action`` on an exported file, which holds no PyTorch model."""
        if isinstance(self.model, ExportedModel):
            raise ValueError(f"{action} needs a PyTorch model (.pt or .yaml); {self.source} is a "
                             f"{self.model.format} export, which runs val and predict only.")

    def info(self, imgsz: int = 640, verbose: bool = True) -> tuple[int, int, float]:
        """Print the layer table and a summary; returns (layers, parameters, GFLOPs)."""
        self._torch_only("info()")
        return self.model.info(imgsz=imgsz, verbose=verbose)

    def fuse(self) -> "YOLO":
        """Fold BatchNorm into the preceding convolutions for faster inference (in place)."""
        self._torch_only("fuse()")
        self.model.fuse()
        self._backend = None  # the fused model has new tensors; prepare it again on the next call
        return self

    def save(self, path: str | os.PathLike) -> Path:
        """Write a native checkpoint (plain tensors and types; atomic)."""
        from yolo8.checkpoints.native import model_to_checkpoint, save_checkpoint

        self._torch_only("save()")
        return save_checkpoint(model_to_checkpoint(self.model, train_args=self.train_args), path)

    def add_callback(self, event: str, handler: Callable[[Any], None]) -> None:
        """Call ``handler(trainer_or_validator)`` on ``event`` (see :data:`yolo8.runtime.callbacks.EVENTS`)."""
        self.callbacks.add(event, handler)

    def train(self, **overrides: Any):
        """Train on ``data`` (the built-in dataset when omitted); afterwards this object holds best.pt."""
        from yolo8.train.trainer import Trainer

        self._torch_only("train()")
        config = Config(overrides, mode="train", task=self.task)
        self.trainer = Trainer(config, model=self.model, model_source=self.source, callbacks=self.callbacks)
        with console_logging():
            best = self.trainer.train()
        if self.trainer.dist.is_main:  # in a torchrun job only rank 0 wrote best.pt
            self.model, self.train_args = load_model(best)
            self.source = str(best)
            self._backend = None
        self.metrics = self.trainer.final_metrics
        return self.metrics

    @property
    def checkpoint_defaults(self) -> dict[str, Any]:
        """Settings a checkpoint's training run fixes for later val/predict, as YOLOv8 keeps them:
        the image size, the dataset and single-class mode. The user's own settings override them."""
        kept = ("imgsz", "data", "single_cls")
        return {key: self.train_args[key] for key in kept if (self.train_args or {}).get(key) is not None}

    def val(self, **overrides: Any):
        """Validate on ``data`` (default: the dataset this model was trained on); returns the metrics."""
        from yolo8.val.validator import validate_model

        config = Config(overrides, mode="val", task=self.task).with_defaults(self.checkpoint_defaults)
        with console_logging():
            self.metrics = validate_model(self.model, config, callbacks=self.callbacks, backend=self.backend(config))
        return self.metrics

    def predict(self, source: Any = None, stream: bool = False, **overrides: Any):
        """Run the model on ``source`` (boxes, masks or class probabilities by task); a list of Results, or a
        generator of them when ``stream=True``."""
        from yolo8.predict.predictor import Predictor

        defaults = {**PYTHON_PREDICT_DEFAULTS, **self.checkpoint_defaults}
        defaults.pop("data", None)
        config = Config(overrides, mode="predict", task=self.task, stream=stream).with_defaults(defaults)
        results = Predictor(self.backend(config), config).stream(source)
        return _logged(results) if stream else list(_logged(results))

    __call__ = predict

    def track(self, source: Any = None, stream: bool = False, persist: bool = False,
              encoder: Callable[[Any, Any], Any] | None = None, **overrides: Any):
        """Detect and track objects through ``source`` (a video, an image sequence, ...; default: the built-in demo
        video, scored against its ground truth). Results carry ``boxes.id``.

        ``persist=True`` continues the tracks (and ids) of the previous call, e.g. when feeding a video frame by
        frame; otherwise each call starts fresh. :meth:`reset_tracker` forgets them explicitly. ``tracker=`` picks
        ``botsort.yaml`` (default), ``bytetrack.yaml`` or a YAML of your own; ``gt=gt.txt`` sets ``self.metrics``
        (MOTA, IDF1, HOTA, ...) once the frames are consumed. ``encoder(image, boxes (N, 4) xyxy) -> (N, D)`` is the
        appearance model a BoT-SORT YAML with ``with_reid: True`` uses.
        """
        from yolo8.track.runner import TrackRun, track_stream
        from yolo8.track.session import TrackingSession
        from yolo8.track.tracker_config import load_tracker_settings

        defaults = {**PYTHON_PREDICT_DEFAULTS, **self.checkpoint_defaults}
        defaults.pop("data", None)
        config = Config(overrides, mode="track", task=self.task, stream=stream, persist=persist).with_defaults(defaults)
        if not persist or self._tracking is None or self._tracking[0] != config.tracker:
            self._tracking = (config.tracker, TrackingSession(load_tracker_settings(config.tracker), encoder=encoder))
        run = TrackRun()
        self.metrics = None
        # bound now, not at the generator's first next(): a later track() call must not swap this stream's tracker
        session, backend = self._tracking[1], self.backend(config)

        def results():
            yield from _logged(track_stream(backend, config, session, source, config.gt, run))
            self.metrics = run.metrics

        return results() if stream else list(results())

    def reset_tracker(self) -> None:
        """Forget the tracks kept by ``track(persist=True)``; the next call starts with id 1."""
        if self._tracking is not None:
            self._tracking[1].reset()

    def export(self, **overrides: Any) -> Path:
        """Write this model as ``format`` (torchscript, onnx or openvino) beside its weights; returns the path.
        With ``int8=True`` the FP32 and INT8 models are then both validated and their mAPs printed."""
        from yolo8.export.exporter import export_model
        from yolo8.export.int8_report import report_int8

        self._torch_only("export()")
        config = Config(overrides, mode="export", task=self.task).with_defaults(
            {key: value for key, value in self.checkpoint_defaults.items() if key == "imgsz"})
        source = self.source if isinstance(self.source, str) else None
        with console_logging():
            path = export_model(self.model, config, source)
            if config.int8:
                report_int8(self, path, config)
        return path

    def benchmark(self, **overrides: Any):
        """One row per format (file size, mAP50-95 or top-1, ms per image at batch 1); see :mod:`yolo8.export.benchmark`."""
        from yolo8.export.benchmark import benchmark_formats

        self._torch_only("benchmark()")
        config = Config(overrides, mode="benchmark", task=self.task).with_defaults(self.checkpoint_defaults)
        with console_logging():
            return benchmark_formats(self, config)


def _logged(results):
    """``results`` (a generator) with the console logging of a library call around the making of each item only:
    between items the caller's own code runs with the logger as the caller set it."""
    while True:
        with console_logging():
            item = next(results, _DONE)
        if item is _DONE:
            return
        yield item


_DONE = object()


def run_mode(config: Config) -> None:
    """Run the mode a command line asked for (see :mod:`yolo8.cli`)."""
    overrides = {key: value for key, value in config.overrides.items() if key not in ("mode", "task", "model")}
    if config.mode == "train":
        model = YOLO(config.model or default_training_model(config))
        model.train(**overrides)
        if config.data is None and not config.resume and model.trainer.dist.is_main:
            # The main job on the built-in dataset ends by showing the trained model at work.
            model.predict(save=True, project=config.project, name="predict")
        return
    model = YOLO(config.model or shipped_model(config))
    if config.mode == "val":
        model.val(**overrides)
    elif config.mode == "predict":
        source = overrides.pop("source", None)
        overrides.pop("stream", None)
        for _ in model.predict(source, stream=True, **{**overrides, "save": config.save}):
            pass
    elif config.mode == "track":
        source = overrides.pop("source", None)
        overrides.pop("stream", None)
        for _ in model.track(source, stream=True, **{**overrides, "save": config.save}):
            pass
    elif config.mode == "export":
        print(model.export(**overrides))
    elif config.mode == "benchmark":
        model.benchmark(**overrides)
    else:
        raise ValueError(f"mode '{config.mode}' is not available in yolo8; use train, val, predict, track, export or "
                         "benchmark.")


def default_training_model(config: Config) -> str:
    """What ``yolo8 [task] train`` without ``model=`` starts from: the task's shipped built-in weights (as
    YOLOv8's default is a pretrained checkpoint), or its model YAML with ``pretrained=False`` (from scratch),
    a ``pretrained=`` path (its weights go into the YAML's model) or when nothing is shipped for the task."""
    from yolo8.tasks import task_spec

    spec = task_spec(config.task)
    shipped = _shipped_builtin_weights(spec)
    return shipped if shipped and config.pretrained in (True, None) else spec.default_model


def shipped_model(config: Config) -> str:
    """What ``yolo8 [task] val|predict`` without ``model=`` runs: the task's shipped built-in weights."""
    from yolo8.tasks import task_spec

    spec = task_spec(config.task)
    shipped = _shipped_builtin_weights(spec)
    if shipped:
        return shipped
    raise ValueError(f"'yolo8 {spec.name} {config.mode}' needs model=: a checkpoint such as "
                     f"{spec.run_dir}/train/weights/best.pt (yolo8 ships no built-in {spec.name} weights yet).")


def _shipped_builtin_weights(spec) -> str | None:
    """The task's built-in weights name when the package ships the file, else None."""
    from yolo8.checkpoints.load import shipped_weights

    return spec.builtin_weights if spec.builtin_weights and shipped_weights(spec.builtin_weights) else None
