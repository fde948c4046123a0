"""Prediction: source → network input → model → Results, for detection, segmentation and classification.

The network runs behind a backend (:mod:`yolo8.runtime.backend`); how a frame becomes its input and how
the decoded output becomes ``boxes`` / ``masks`` / ``probs`` is the task's (:data:`yolo8.tasks.TASKS`):
detection and segmentation letterbox each frame, run NMS and map boxes (and masks) back to the original
image; classification resizes and centre-crops each frame to ``imgsz`` and returns class probabilities.
Classification checkpoints are usually trained at 224: pass ``imgsz=224``, the shared default 640 is the
detection one.

``predict(model, source, config)`` (or ``Predictor(model, config)(source)``) returns a list of
:class:`~yolo8.results.Results`, or a generator of them when ``stream`` is set, so videos of any
length run in constant memory. With ``save`` / ``save_txt`` / ``save_crop`` the annotated images
(videos frame by frame), YOLO label files and crops go to a numbered run directory
``runs/<task>/predict{,2,3…}``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn

from yolo8.config import Config
from yolo8.data.sources import Frame, load_source
from yolo8.predict.slicing import Slicer
from yolo8.predict.writer import ResultWriter, chunks, describe
from yolo8.results import Results
from yolo8.runtime.backend import Backend, TorchBackend
from yolo8.runtime.device import select_device
from yolo8.runtime.run_dir import increment_run_dir
from yolo8.tasks import PostprocessSettings, task_of
from yolo8.tasks.common import input_size, network_size, say_if_rounded


def predict(model: nn.Module, source=None, config: Config | None = None, batch_size: int = 1):
    """Run ``model`` on ``source``; a list of Results, or a generator when ``config.stream``."""
    return Predictor(model, config, batch_size)(source)


def build_backend(model: nn.Module, config: Config) -> TorchBackend:
    """The backend ``config`` asks for: its device, half precision (CUDA only) and test-time augmentation (where
    the model's task allows it)."""
    task_of(model).check_augment(bool(config.augment))
    device = select_device(config.device)
    return TorchBackend(model, device, half=bool(config.half) and device.type == "cuda", augment=bool(config.augment))


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 BGR -> (3, H, W) float32 RGB in [0, 1]."""
    # (H, W, 3) BGR -> (3, H, W) RGB
    chw = np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1))
    return torch.from_numpy(chw).float() / 255


class Predictor:
    """Runs a detection, segmentation or classification model over prediction sources.

    Args:
        model: a model (has ``task``, ``names``, ``stride``; see :class:`yolo8.runtime.backend.TorchBackend`) or a
            backend that runs one; a model gets a backend built for ``config`` (device, half, augment).
        config: settings (see :mod:`yolo8.config`).
        batch_size: frames per forward pass; frames of one batch that letterbox to different shapes
            run separately.
        transform: called on every frame's Results before they are written and yielded (tracking adds ids here).
    """

    def __init__(self, model: nn.Module | Backend, config: Config | None = None, batch_size: int = 1,
                 transform: Callable[[Frame, Results], Results] | None = None):
        config = config or Config(mode="predict")
        # a Config made for another mode would bring that mode's defaults (conf 0.001 instead of predict's 0.25)
        self.config = config if config.mode == "predict" else config.merge(mode="predict")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} is invalid: use 1 or more frames per forward pass.")
        self.batch_size = batch_size
        self.transform = transform
        self.backend = build_backend(model, self.config) if isinstance(model, nn.Module) else model
        self.task = task_of(self.backend)
        self.device = self.backend.device
        self.names = dict(self.backend.names)
        self.stride = self.backend.stride
        say_if_rounded(self.config.imgsz, self.stride)
        self.imgsz = input_size(self.config.imgsz, self.stride)
        self.network_size = network_size(self.config.imgsz, self.stride)
        config = self.config
        self.settings = PostprocessSettings(config.conf, config.iou, config.classes, config.agnostic_nms,
                                            config.max_det, drop_empty_masks=True)
        self.save_dir: Path | None = None
        self.slicer = (Slicer(config.slice, config.slice_overlap, agnostic=config.agnostic_nms, max_det=config.max_det)
                       if config.slice else None)

    def __call__(self, source=None, stream: bool | None = None):
        stream = self.config.stream if stream is None else stream
        generator = self.stream(source)
        return generator if stream else list(generator)

    def stream(self, source=None) -> Iterator[Results]:
        """Yield one Results per frame of ``source`` (default: ``config.source``, else the sample images)."""
        source = source if source is not None else self.config.source
        if source is None:
            source = self.task.sample_source()
            self._log(f"source is empty: using the sample images {', '.join(Path(p).name for p in source)}")
        frames = load_source(source, vid_stride=self.config.vid_stride)
        writer = ResultWriter(self._run_dir(), self.config) if self._saves_anything() else None
        self.save_dir = writer.save_dir if writer else None
        totals, seen, shape = np.zeros(3), 0, None
        try:
            for batch in chunks(frames, self.batch_size):
                for frame, results, shape in self._predict_batch(batch):
                    if self.transform is not None:
                        results = self.transform(frame, results)
                    seen += 1
                    totals += [results.speed["preprocess"], results.speed["inference"], results.speed["postprocess"]]
                    self._log(f"{describe(frame)} {frame.path}: {shape[2]}x{shape[3]} {results.counts_text()}, "
                              f"{results.speed['inference']:.1f}ms")
                    if writer:
                        writer.write(frame, results)
                    yield results
        finally:
            if writer:
                writer.close()
        if seen:
            pre, inference, post = totals / seen
            self._log(f"Speed: {pre:.1f}ms preprocess, {inference:.1f}ms inference, {post:.1f}ms postprocess "
                      f"per image at shape {tuple(shape)}")
        if writer:
            self._log(writer.summary())

    def _predict_batch(self, frames: list[Frame]) -> list[tuple[Frame, Results, tuple[int, ...]]]:
        """Frames -> (frame, Results, input shape (B, 3, H, W)) each, in frame order; with ``slice`` each frame is
        run as tiles plus the whole image (:mod:`yolo8.predict.slicing`)."""
        if self.slicer is not None:
            return [self.slicer(frame, self._predict_frames) for frame in frames]
        return self._predict_frames(frames)

    @torch.no_grad()
    def _predict_frames(self, frames: list[Frame]) -> list[tuple[Frame, Results, tuple[int, ...]]]:
        """Frames -> (frame, Results, input shape (B, 3, H, W)) each, in frame order.

        Frames whose network inputs have the same shape share one forward pass; times are split evenly among them.
        """
        start = self._now()
        prepared = [self.task.prepare_image(frame.image, self.network_size, self.stride) for frame in frames]
        groups: dict[tuple[int, int], list[int]] = {}
        for index, (image, _) in enumerate(prepared):
            groups.setdefault(image.shape[:2], []).append(index)
        prepare_time = (self._now() - start) / len(frames)
        outputs: list = [None] * len(frames)
        for input_shape, indices in groups.items():
            start = self._now()
            images = torch.stack([image_to_tensor(prepared[i][0]) for i in indices]).to(self.device)
            images = images.half() if self.backend.fp16 else images
            preprocess = prepare_time + (self._now() - start) / len(indices)
            start = self._now()
            decoded = self.backend(images)
            inference = (self._now() - start) / len(indices)
            start = self._now()
            fields = list(self.task.postprocess(decoded, input_shape, [prepared[i][1] for i in indices],
                                                [frames[i].image.shape[:2] for i in indices], self.settings))
            postprocess = (self._now() - start) / len(indices)
            speed = {"preprocess": preprocess * 1e3, "inference": inference * 1e3, "postprocess": postprocess * 1e3}
            for index, found in zip(indices, fields):
                results = Results(frames[index].image, frames[index].path, self.names, speed=dict(speed), **found)
                outputs[index] = (frames[index], results, tuple(images.shape))
        return outputs

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def _saves_anything(self) -> bool:
        return bool(self.config.save or self.config.save_txt or self.config.save_crop)

    def _run_dir(self) -> Path:
        project = self.config.project or self.task.run_dir
        return increment_run_dir(project, self.config.name or "predict", self.config.exist_ok)

    def _log(self, message: str) -> None:
        if self.config.verbose:
            print(message)
