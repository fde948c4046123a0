"""The ``YOLO`` facade: one object per model with train / val / predict / info / save, as YOLOv8 users know it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from torch import nn

from yolo8.config import PYTHON_PREDICT_DEFAULTS, Config
from yolo8.console import enable_console_logging
from yolo8.engine.callbacks import Callbacks

MODEL_YAML_SUFFIXES = (".yaml", ".yml")


def load_model(source: str | os.PathLike | nn.Module) -> tuple[nn.Module, dict | None]:
    """A model from a YAML name/path, a yolo8 checkpoint or an Ultralytics checkpoint; with its train args.

    No file is unpickled with code execution: yolo8 checkpoints load with ``weights_only=True`` and
    Ultralytics ones through a restricted unpickler that maps their classes to inert placeholders.
    """
    if isinstance(source, nn.Module):
        return source, None
    path = Path(source)
    if path.suffix.lower() in MODEL_YAML_SUFFIXES:
        from yolo8.nn.model import build_model

        return build_model(path), None
    if not path.is_file():
        raise FileNotFoundError(
            f"model '{source}' not found. yolo8 never downloads weights: give the path of a checkpoint "
            f"(.pt) you have, or a model YAML such as '{path.stem}.yaml' to start from scratch."
        )
    from yolo8.engine.ultralytics_checkpoint import is_ultralytics_checkpoint, read_ultralytics_checkpoint

    if is_ultralytics_checkpoint(path):
        from yolo8.engine.ultralytics_model import model_from_foreign_checkpoint

        foreign = read_ultralytics_checkpoint(path)
        return model_from_foreign_checkpoint(foreign, source=str(path)), foreign.train_args
    from yolo8.engine.checkpoint import load_checkpoint, model_from_checkpoint

    checkpoint = load_checkpoint(path)
    return model_from_checkpoint(checkpoint), checkpoint.get("train_args")


class YOLO:
    """A YOLO model and the modes that use it.

    ``YOLO("yolov8n.yaml")`` builds a fresh model; ``YOLO("best.pt")`` loads a yolo8 or Ultralytics checkpoint.
    ``model.model`` is the torch module; its eval-mode forward returns decoded predictions first.
    """

    def __init__(self, model: str | os.PathLike | nn.Module = "yolov8n.yaml"):
        enable_console_logging()
        self.source = model if isinstance(model, nn.Module) else str(model)
        self.model, self.train_args = load_model(model)
        self.callbacks = Callbacks()
        self.trainer = None
        self.metrics = None

    def __repr__(self) -> str:
        return f"YOLO({self.source!r}, task={self.task!r}, classes={len(self.names)})"

    @property
    def task(self) -> str:
        return self.model.task

    @property
    def names(self) -> dict[int, str]:
        return dict(self.model.names)

    def info(self, imgsz: int = 640, verbose: bool = True) -> tuple[int, int, float]:
        """Print the layer table and a summary; returns (layers, parameters, GFLOPs)."""
        return self.model.info(imgsz=imgsz, verbose=verbose)

    def fuse(self) -> "YOLO":
        """Fold BatchNorm into the preceding convolutions for faster inference (in place)."""
        self.model.fuse()
        return self

    def save(self, path: str | os.PathLike) -> Path:
        """Write a native checkpoint (plain tensors and types; atomic)."""
        from yolo8.engine.checkpoint import model_to_checkpoint, save_checkpoint

        return save_checkpoint(model_to_checkpoint(self.model, train_args=self.train_args), path)

    def add_callback(self, event: str, handler: Callable[[Any], None]) -> None:
        """Call ``handler(trainer_or_validator)`` on ``event`` (see :data:`yolo8.engine.callbacks.EVENTS`)."""
        self.callbacks.add(event, handler)

    def train(self, **overrides: Any):
        """Train on ``data`` (the built-in dataset when omitted); afterwards this object holds best.pt."""
        from yolo8.engine.trainer import Trainer

        config = Config(overrides, mode="train", task=self.task)
        self.trainer = Trainer(config, model=self.model, model_source=self.source, callbacks=self.callbacks)
        best = self.trainer.train()
        if self.trainer.dist.is_main:  # in a torchrun job only rank 0 wrote best.pt
            self.model, self.train_args = load_model(best)
            self.source = str(best)
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
        from yolo8.engine.validator import validate_model

        config = Config(overrides, mode="val", task=self.task).with_defaults(self.checkpoint_defaults)
        self.metrics = validate_model(self.model, config, callbacks=self.callbacks)
        return self.metrics

    def predict(self, source: Any = None, stream: bool = False, **overrides: Any):
        """Run the model on ``source`` (boxes, masks or class probabilities by task); a list of Results, or a
        generator of them when ``stream=True``."""
        from yolo8.engine.predictor import Predictor

        defaults = {**PYTHON_PREDICT_DEFAULTS, **self.checkpoint_defaults}
        defaults.pop("data", None)
        config = Config(overrides, mode="predict", task=self.task, stream=stream).with_defaults(defaults)
        return Predictor(self.model, config)(source)

    __call__ = predict


def run_mode(config: Config) -> None:
    """Run the mode a command line asked for (see :mod:`yolo8.cli`)."""
    overrides = {key: value for key, value in config.overrides.items() if key not in ("mode", "task", "model")}
    if config.mode == "train":
        model = YOLO(config.model or "yolov8n.yaml")
        model.train(**overrides)
        if config.data is None and model.trainer.dist.is_main:
            # The main job on the built-in dataset ends by showing the trained model at work.
            model.predict(save=True, project=config.project, name="predict")
        return
    if config.model is None:
        raise ValueError(
            f"'yolo8 {config.mode}' needs model=: a checkpoint such as runs/detect/train/weights/best.pt."
        )
    model = YOLO(config.model)
    if config.mode == "val":
        model.val(**overrides)
    elif config.mode == "predict":
        source = overrides.pop("source", None)
        overrides.pop("stream", None)
        for _ in model.predict(source, stream=True, **{**overrides, "save": config.save}):
            pass
    else:
        raise ValueError(f"mode '{config.mode}' is not available yet in yolo8; use train, val or predict.")
