"""Writing a prediction run's outputs: annotated images / videos, label text files and crops."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import cv2

from yolo8.config import Config
from yolo8.data.sources import Frame
from yolo8.results import Results


class VideoFiles:
    """The annotated videos of a run: one mp4v writer per source video in ``save_dir``, opened at its first frame at
    the source's frame rate. Sources are sequential, so opening the next video finishes the previous one."""

    def __init__(self, save_dir: Path):
        self.save_dir = Path(save_dir)
        self.open: dict[str, cv2.VideoWriter] = {}

    def writer_for(self, frame: Frame, shape) -> cv2.VideoWriter:
        """The writer of ``frame``'s video; ``shape`` (H, W, ...) of the annotated frames."""
        if frame.path not in self.open:
            self.close()
            path = self.save_dir / f"{Path(frame.path).stem}.mp4"
            size = (shape[1], shape[0])  # (width, height)
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), frame.fps or 30.0, size)
            if not writer.isOpened():
                raise OSError(f"cannot write video '{path}': OpenCV has no mp4v encoder here; use save=False.")
            self.open[frame.path] = writer
        return self.open[frame.path]

    def close(self) -> None:
        for writer in self.open.values():
            writer.release()
        self.open.clear()


class ResultWriter:
    """Writes annotated images / videos, label files and crops of one prediction run into ``save_dir``."""

    def __init__(self, save_dir: Path, config: Config):
        self.save_dir = save_dir
        self.config = config
        self.videos = VideoFiles(self.save_dir)
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
        return self.videos.writer_for(frame, shape)

    def close(self) -> None:
        self.videos.close()

    def summary(self) -> str:
        if not self.config.save_txt:
            return f"Results saved to {self.save_dir}"
        files = f"{self.labels_written} label file{'' if self.labels_written == 1 else 's'}"
        return f"Results saved to {self.save_dir}, {files} in {self.save_dir / 'labels'}"


def describe(frame: Frame) -> str:
    """``image 1/2`` or ``video 1/1 (frame 3/10)`` as the log line prefix."""
    if frame.kind == "video":
        return f"video {frame.item + 1}/{frame.items} (frame {frame.frame}/{frame.frames})"
    return f"image {frame.item + 1}/{frame.items}"


def chunks(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
