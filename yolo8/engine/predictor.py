"""Prediction: source → letterbox → model → NMS → boxes mapped back to the original image → Results.

``predict(model, source, config)`` (or ``Predictor(model, config)(source)``) returns a list of
:class:`~yolo8.results.Results`, or a generator of them when ``stream`` is set, so videos of any
length run in constant memory. With ``save`` / ``save_txt`` / ``save_crop`` the annotated images
(videos frame by frame), YOLO label files and crops go to a numbered run directory
``runs/<task>/predict{,2,3…}``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np
import torch
from torch import nn

from yolo8.config import Config
from yolo8.data.sources import Frame, load_source
from yolo8.data.transforms.letterbox import LetterboxInfo, boxes_from_letterbox, letterbox
from yolo8.engine.device import select_device
from yolo8.engine.run_dir import default_project, increment_run_dir
from yolo8.ops.nms import non_max_suppression
from yolo8.results import Results

PREDICT_CONF = 0.25  # the predict default of the shared ``conf`` setting (val uses 0.001)
SUPPORTED_TASKS = ("detect",)


def predict(model: nn.Module, source=None, config: Config | None = None, batch_size: int = 1):
    """Run ``model`` on ``source``; a list of Results, or a generator when ``config.stream``."""
    return Predictor(model, config, batch_size)(source)


def input_size(imgsz, stride: int) -> tuple[int, int]:
    """The ``imgsz`` setting (int or [height, width]) -> (height, width), each rounded up to a multiple of stride."""
    height, width = (imgsz, imgsz) if isinstance(imgsz, int) else imgsz
    return (-(-int(height) // stride) * stride, -(-int(width) // stride) * stride)


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 BGR -> (3, H, W) float32 RGB in [0, 1]."""
    # (H, W, 3) BGR -> (3, H, W) RGB
    chw = np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1))
    return torch.from_numpy(chw).float() / 255


class Predictor:
    """Runs a detection model over prediction sources.

    Args:
        model: eval forward on (B, 3, H, W) RGB [0, 1] returns (decoded (B, 4 + nc, A), raw) with boxes
            xywh in input pixels; has ``names`` (id -> name) and ``stride`` (Tensor of head strides).
        config: settings (see :mod:`yolo8.config`); ``conf`` None means 0.25.
        batch_size: frames per forward pass; frames of one batch that letterbox to different shapes
            run separately.
    """

    def __init__(self, model: nn.Module, config: Config | None = None, batch_size: int = 1):
        self.config = config or Config(mode="predict")
        self.task = getattr(model, "task", "detect")
        if self.task not in SUPPORTED_TASKS:
            raise ValueError(
                f"prediction of task '{self.task}' is not available yet; supported: {', '.join(SUPPORTED_TASKS)}."
            )
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} is invalid: use 1 or more frames per forward pass.")
        self.batch_size = batch_size
        self.device = select_device(self.config.device)
        self.half = bool(self.config.half) and self.device.type == "cuda"
        self.model = model.to(self.device).eval()
        if self.half:
            self.model.half()
        self.names = dict(getattr(model, "names", {}))
        self.stride = int(torch.as_tensor(model.stride).max())
        self.imgsz = input_size(self.config.imgsz, self.stride)
        self.conf = PREDICT_CONF if self.config.conf is None else self.config.conf
        self.save_dir: Path | None = None

    def __call__(self, source=None, stream: bool | None = None):
        stream = self.config.stream if stream is None else stream
        generator = self.stream(source)
        return generator if stream else list(generator)

    def stream(self, source=None) -> Iterator[Results]:
        """Yield one Results per frame of ``source`` (default: ``config.source``, else the sample images)."""
        source = source if source is not None else self.config.source
        if source is None:
            from yolo8.data.synthetic import sample_images

            source = [str(path) for path in sample_images()]
            self._log(f"source is empty: using the sample images {', '.join(Path(p).name for p in source)}")
        frames = load_source(source, vid_stride=self.config.vid_stride)
        writer = _ResultWriter(self._run_dir(), self.config) if self._saves_anything() else None
        self.save_dir = writer.save_dir if writer else None
        totals, seen, shape = np.zeros(3), 0, None
        try:
            for batch in _chunks(frames, self.batch_size):
                for frame, results, shape in self._predict_batch(batch):
                    seen += 1
                    totals += [results.speed["preprocess"], results.speed["inference"], results.speed["postprocess"]]
                    self._log(f"{_describe(frame)} {frame.path}: {shape[2]}x{shape[3]} {results.counts_text()}, "
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

    @torch.no_grad()
    def _predict_batch(self, frames: list[Frame]) -> list[tuple[Frame, Results, tuple[int, ...]]]:
        """Frames -> (frame, Results, input shape (B, 3, H, W)) each, in frame order.

        Frames that letterbox to the same shape share one forward pass; times are split evenly among them.
        """
        start = self._now()
        boxed = [letterbox(frame.image, self.imgsz, auto=True, scaleup=True, stride=self.stride) for frame in frames]
        groups: dict[tuple[int, int], list[int]] = {}
        for index, (image, _) in enumerate(boxed):
            groups.setdefault(image.shape[:2], []).append(index)
        letterbox_time = (self._now() - start) / len(frames)
        outputs: list = [None] * len(frames)
        for indices in groups.values():
            start = self._now()
            images = torch.stack([image_to_tensor(boxed[i][0]) for i in indices]).to(self.device)
            images = images.half() if self.half else images
            preprocess = letterbox_time + (self._now() - start) / len(indices)
            start = self._now()
            output = self.model(images)
            inference = (self._now() - start) / len(indices)
            start = self._now()
            detections = non_max_suppression(
                output, self.conf, self.config.iou, classes=self.config.classes,
                agnostic=self.config.agnostic_nms, max_det=self.config.max_det,
            )
            mapped = [self._to_original(d, boxed[i][1], frames[i].image.shape[:2]) for d, i in zip(detections, indices)]
            postprocess = (self._now() - start) / len(indices)
            speed = {"preprocess": preprocess * 1e3, "inference": inference * 1e3, "postprocess": postprocess * 1e3}
            for index, boxes in zip(indices, mapped):
                results = Results(frames[index].image, frames[index].path, self.names, boxes, dict(speed))
                outputs[index] = (frames[index], results, tuple(images.shape))
        return outputs

    @staticmethod
    def _to_original(detections: torch.Tensor, info: LetterboxInfo, original_shape) -> torch.Tensor:
        """(n, 6) detections in letterboxed pixels -> (n, 6) float32 in original-image pixels."""
        detections = detections[:, :6].float()
        return torch.cat((boxes_from_letterbox(detections[:, :4], info, original_shape), detections[:, 4:]), dim=1)

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def _saves_anything(self) -> bool:
        return bool(self.config.save or self.config.save_txt or self.config.save_crop)

    def _run_dir(self) -> Path:
        project = self.config.project or default_project(self.task)
        return increment_run_dir(project, self.config.name or "predict", self.config.exist_ok)

    def _log(self, message: str) -> None:
        if self.config.verbose:
            print(message)


class _ResultWriter:
    """Writes annotated images / videos, label files and crops of one prediction run into ``save_dir``."""

    def __init__(self, save_dir: Path, config: Config):
        self.save_dir = save_dir
        self.config = config
        self.videos: dict[str, cv2.VideoWriter] = {}
        self.labels_written = 0

    def write(self, frame: Frame, results: Results) -> None:
        self.save_dir.mkdir(parents=True, exist_ok=True)
        stem = Path(frame.path).stem + (f"_{frame.frame}" if frame.kind == "video" else "")
        if self.config.save:
            annotated = results.plot(
                line_width=self.config.line_width, labels=self.config.show_labels,
                conf=self.config.show_conf, boxes=self.config.show_boxes,
            )
            if frame.kind == "video":
                self._video(frame, annotated.shape).write(annotated)
            else:
                path = self.save_dir / Path(frame.path).name
                if not cv2.imwrite(str(path), annotated):
                    raise OSError(f"cannot write image '{path}': OpenCV has no encoder for its suffix.")
        if self.config.save_txt:
            (self.save_dir / "labels").mkdir(exist_ok=True)
            results.save_txt(self.save_dir / "labels" / f"{stem}.txt", save_conf=self.config.save_conf)
            self.labels_written += 1
        if self.config.save_crop:
            results.save_crop(self.save_dir / "crops", stem)

    def _video(self, frame: Frame, shape) -> cv2.VideoWriter:
        """The open writer for this frame's video (opened at its first frame, mp4v at the source frame rate)."""
        if frame.path not in self.videos:
            for writer in self.videos.values():  # sources are sequential: an earlier video is finished
                writer.release()
            self.videos.clear()
            path = self.save_dir / f"{Path(frame.path).stem}.mp4"
            size = (shape[1], shape[0])  # (width, height)
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), frame.fps or 30.0, size)
            if not writer.isOpened():
                raise OSError(f"cannot write video '{path}': OpenCV has no mp4v encoder here; use save=False.")
            self.videos[frame.path] = writer
        return self.videos[frame.path]

    def close(self) -> None:
        for writer in self.videos.values():
            writer.release()
        self.videos.clear()

    def summary(self) -> str:
        if not self.config.save_txt:
            return f"Results saved to {self.save_dir}"
        files = f"{self.labels_written} label file{'' if self.labels_written == 1 else 's'}"
        return f"Results saved to {self.save_dir}, {files} in {self.save_dir / 'labels'}"


def _describe(frame: Frame) -> str:
    """``image 1/2`` or ``video 1/1 (frame 3/10)`` as the log line prefix."""
    if frame.kind == "video":
        return f"video {frame.item + 1}/{frame.items} (frame {frame.frame}/{frame.frames})"
    return f"image {frame.item + 1}/{frame.items}"


def _chunks(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
