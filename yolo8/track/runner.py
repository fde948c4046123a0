"""Track mode: the predictor's Results stream, through a :class:`TrackingSession`, written and scored.

With no source the built-in demo video (:func:`yolo8.data.synthetic.video.demo_video`) is tracked and scored
against its own ground truth. ``gt=path/gt.txt`` scores any single-stream source the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from yolo8.config import Config
from yolo8.data.sources import Frame
from yolo8.predict.predictor import Predictor
from yolo8.result_parts import as_numpy
from yolo8.results import Results
from yolo8.runtime.backend import Backend
from yolo8.runtime.run_dir import increment_run_dir
from yolo8.track.metrics import TrackingMetrics, evaluate_mot
from yolo8.track.session import TrackingSession, stream_key
from yolo8.track.writer import TrackWriter


@dataclass
class TrackRun:
    """What a tracking run leaves behind once its stream is exhausted."""

    save_dir: Path | None = None
    metrics: TrackingMetrics | None = None


def track_stream(backend: Backend, config: Config, session: TrackingSession, source=None, gt: str | None = None,
                 run: TrackRun | None = None) -> Iterator[Results]:
    """Yield one tracked Results per frame of ``source``; ``run`` receives the run directory and, with ground
    truth, the metrics (after the last frame)."""
    run = run if run is not None else TrackRun()
    if source is None:
        from yolo8.data.synthetic.video import demo_video

        video, demo_gt = demo_video()
        source, gt = str(video), gt or str(demo_gt)
        _log(config, f"source is empty: tracking the built-in demo video {video} (ground truth {demo_gt})")
    if gt is not None and not Path(gt).is_file():
        raise FileNotFoundError(f"gt={gt}: no such ground-truth file; give a MOTChallenge gt.txt.")
    if gt is not None and int(config.vid_stride) > 1:
        # frames are numbered as read: with a stride they no longer line up with the ground truth's frame numbers
        raise ValueError(f"gt={gt} scores every frame of a video; vid_stride={config.vid_stride} skips frames. "
                         "Use vid_stride=1 to score the tracks.")
    counters: dict[str, int] = {}
    predictions: dict[str, dict[int, np.ndarray]] = {}
    writer: TrackWriter | None = None

    def transform(frame: Frame, results: Results) -> Results:
        key = stream_key(frame.path)
        counters[key] = number = frame.frame if frame.kind == "video" else counters.get(key, 0) + 1
        tracked = session.update(results, fps=frame.fps or None)
        if gt is not None:
            boxes = np.zeros((0, 7)) if tracked.boxes is None else as_numpy(tracked.boxes.data)
            predictions.setdefault(key, {})[number] = boxes[:, :6]
        if writer is not None:
            writer.write(frame, tracked, number)
        return tracked

    predict_config = config.merge(mode="predict", conf=config.conf, save=False, save_txt=False, save_crop=False)
    predictor = Predictor(backend, predict_config, transform=transform)
    if config.save or config.save_txt:
        project = config.project or predictor.task.run_dir
        run.save_dir = increment_run_dir(project, config.name or "track", config.exist_ok)
        writer = TrackWriter(run.save_dir, bool(config.save), bool(config.save_txt), config.line_width,
                             config.show_labels, config.show_conf, config.show_boxes)
    try:
        yield from predictor.stream(source)
    finally:
        if writer is not None:
            writer.close()
    if run.save_dir is not None:
        _log(config, f"Tracks saved to {run.save_dir}" + (f", MOTChallenge rows in {run.save_dir / 'labels'}"
                                                            if config.save_txt else ""))
    if gt is not None:
        if len(predictions) > 1:
            raise ValueError(f"gt={gt} scores one video or image sequence; this source had {len(predictions)}.")
        run.metrics = evaluate_mot(gt, next(iter(predictions.values()), {}))
        _log(config, f"Tracking metrics against {gt}: {run.metrics.summary()}")


def _log(config: Config, message: str) -> None:
    if config.verbose:
        print(message)
