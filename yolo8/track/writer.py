"""Writing a tracking run: annotated videos / images with ids and short trails, and MOTChallenge text files."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import cv2
import numpy as np

from yolo8.data.sources import Frame
from yolo8.plotting import class_colour, default_line_width
from yolo8.predict.writer import VideoFiles
from yolo8.result_parts import as_numpy
from yolo8.results import Results
from yolo8.track.mot import mot_rows
from yolo8.track.session import IMAGE_STREAM, stream_key

TRAIL_LENGTH = 30  # frames of centre history drawn behind each track


def draw_tracks(results: Results, trails: dict[int, deque], line_width: int | None = None, labels: bool = True,
                conf: bool = True, boxes: bool = True) -> np.ndarray:
    """(H, W, 3) uint8 BGR copy of the frame as :meth:`Results.plot` draws tracks (``id:N name conf``, a colour
    per id), with each track's trail: its recent centres, updated in place in ``trails``."""
    canvas = results.plot(line_width=line_width, labels=labels, conf=conf, boxes=boxes)
    if results.boxes is None or not len(results.boxes) or not results.boxes.is_track:
        return canvas
    line_width = line_width or default_line_width(canvas.shape)
    for box, track_id in zip(as_numpy(results.boxes.xyxy), as_numpy(results.boxes.id).astype(int)):
        trail = trails.setdefault(int(track_id), deque(maxlen=TRAIL_LENGTH))
        trail.append(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
        if len(trail) > 1:
            points = np.round(np.array(trail)).astype(np.int32)
            cv2.polylines(canvas, [points], False, class_colour(int(track_id)), max(1, line_width))
    return canvas


class TrackWriter:
    """Writes one tracking run into ``save_dir``: ``<video>.mp4`` / images with ids and trails (``save``), and
    ``labels/<stream>.txt`` MOTChallenge rows ``frame,id,x,y,w,h,conf,-1,-1,-1`` (``save_txt``)."""

    def __init__(self, save_dir: Path, save: bool, save_txt: bool, line_width: int | None = None,
                 labels: bool = True, conf: bool = True, boxes: bool = True):
        self.save_dir = Path(save_dir)
        self.save, self.save_txt = save, save_txt
        self.plot_options = dict(line_width=line_width, labels=labels, conf=conf, boxes=boxes)
        self.videos = VideoFiles(save_dir)
        self.trails: dict[str, dict[int, deque]] = {}
        self.mot_files: dict[str, Path] = {}

    def mot_path(self, path: str) -> Path:
        key = stream_key(path)
        name = (Path(path).parent.name or "images") if key == IMAGE_STREAM else Path(path).stem
        return self.save_dir / "labels" / f"{name}.txt"

    def write(self, frame: Frame, results: Results, frame_number: int) -> None:
        self.save_dir.mkdir(parents=True, exist_ok=True)
        key = stream_key(frame.path)
        if self.save:
            annotated = draw_tracks(results, self.trails.setdefault(key, {}), **self.plot_options)
            if frame.kind == "video":
                self._video(frame, annotated.shape).write(annotated)
            else:
                cv2.imwrite(str(self.save_dir / Path(frame.path).name), annotated)
        if self.save_txt:
            target = self.mot_files.get(key)
            if target is None:
                target = self.mot_files[key] = self.mot_path(frame.path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("")
            rows = np.zeros((0, 6)) if results.boxes is None else as_numpy(results.boxes.data)
            with target.open("a") as handle:
                handle.writelines(line + "\n" for line in mot_rows(frame_number, rows))

    def _video(self, frame: Frame, shape) -> cv2.VideoWriter:
        return self.videos.writer_for(frame, shape)

    def close(self) -> None:
        self.videos.close()
