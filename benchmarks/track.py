"""Tracking quality and speed on generated moving-shape videos, ours against the incumbent's.

    python benchmarks/track.py [--mode tracker|model] [--weights best.pt] [--videos 3] [--frames 150] [--seeds 3]
                               [--tracker bytetrack.yaml] [--peer /work/ul_venv/bin/python] [--library]

``--mode tracker`` (the default) compares trackers alone on identical detections: each video's ground truth made
noisy (misses, jitter, occlusion-dependent scores, false positives; :mod:`yolo8.track.simulate`, one detection
set per ``--seeds``) is fed to our tracker and, with ``--peer``, to the incumbent's ByteTrack / BoT-SORT class
with its own default YAML (used as a black box through its public tracker class, in its own interpreter).
``--library`` adds Roboflow's ``trackers`` ByteTrack (the maintained Apache-2.0 implementation measured before
writing ours), with the incumbent's thresholds mapped onto its arguments.

``--mode model`` runs the whole ``model.track(video)`` of each side with the same ``--weights`` (a yolo8 or
Ultralytics checkpoint, or a shipped name; :mod:`peer_weights` hands ours to the incumbent) and ``--tracker`` (each side's own YAML of that name, default settings), at 2
threads; the time per frame counts from the second frame (the first also prepares the model).

Every side's rows go through the same evaluator (:func:`yolo8.track.metrics.evaluate_mot`). Printed: IDF1, MOTA,
HOTA, ID switches averaged over videos (and seeds), and milliseconds per frame (tracker alone, or the whole
track call); ratios ours / theirs on the last lines.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPOSITORY = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, REPOSITORY)
sys.path.insert(0, str(Path(__file__).resolve().parent))  # peer_weights beside this file

from peer_weights import model_path, peer_checkpoint  # noqa: E402

from yolo8.data.synthetic.video import demo_video  # noqa: E402
from yolo8.track.metrics import evaluate_mot  # noqa: E402
from yolo8.track.mot import read_mot  # noqa: E402
from yolo8.track.simulate import noisy_detections  # noqa: E402
from yolo8.track.tracker_config import build_tracker, load_tracker_settings  # noqa: E402

# Runs in the incumbent's interpreter: argv = mode, tracker yaml, json job file; prints json {video: {frame: rows}, ms}.
PEER_SCRIPT = r"""
import json, os, sys, time
os.environ["YOLO_OFFLINE"] = "1"
import numpy as np
import ultralytics.utils.torch_utils as torch_utils
torch_utils.NUM_THREADS = 2
import torch
torch.set_num_threads(2)
mode, tracker_yaml = sys.argv[1], sys.argv[2]
with open(sys.argv[3]) as handle:
    job = json.load(handle)
out, elapsed, frames = {}, 0.0, 0
if mode == "model":
    from ultralytics import YOLO
    for video in job["videos"]:
        model = YOLO(job["weights"])
        rows = {}
        for number, result in enumerate(model.track(video, tracker=tracker_yaml, stream=True, verbose=False), 1):
            boxes = result.boxes
            if boxes is not None and boxes.is_track:
                data = np.concatenate([boxes.xyxy.numpy(), boxes.id.numpy()[:, None], boxes.conf.numpy()[:, None]], 1)
                rows[number] = data.tolist()
            if number == 1:  # the first frame also prepares the model: timed from the second on
                start = time.perf_counter()
            else:
                frames += 1
        elapsed += time.perf_counter() - start
        out[video] = rows
else:
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.trackers.byte_tracker import BYTETracker
    from ultralytics.trackers.bot_sort import BOTSORT
    import ultralytics
    path = os.path.join(os.path.dirname(ultralytics.__file__), "cfg", "trackers", tracker_yaml)
    args = IterableSimpleNamespace(**YAML.load(path))
    class Detections:  # the fields the tracker reads from a Results' boxes
        def __init__(self, d):
            self.data, self.conf, self.xyxy, self.cls = d, d[:, 4], d[:, :4], d[:, 5]
            wh = d[:, 2:4] - d[:, :2]
            self.xywh = np.concatenate([d[:, :2] + wh / 2, wh], 1)
        def __len__(self):
            return len(self.data)
        def __getitem__(self, index):
            return Detections(self.data[index])
    import cv2
    for key, sequence in job["detections"].items():
        tracker = (BYTETracker if args.tracker_type == "bytetrack" else BOTSORT)(args)
        capture, images = cv2.VideoCapture(job["videos"][key]), []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            images.append(image)
        rows = {}
        for frame in sorted(sequence, key=int):
            image = images[int(frame) - 1]  # the real frame: BoT-SORT's camera-motion estimate reads it
            d = np.asarray(sequence[frame], np.float64).reshape(-1, 6)
            start = time.perf_counter()
            tracked = tracker.update(Detections(d), image)
            elapsed += time.perf_counter() - start
            frames += 1
            rows[int(frame)] = tracked[:, :6].tolist() if len(tracked) else []
        out[key] = rows
print(json.dumps({"rows": out, "ms": 1e3 * elapsed / max(frames, 1)}))
"""


def videos(count: int, frames: int = 150) -> list[tuple[Path, Path]]:
    """Held-out sequences: demo videos with seeds 1..count (the built-in demo itself is seed 0)."""
    return [demo_video(frames=frames, seed=seed) for seed in range(1, count + 1)]


def score(rows_per_run: dict[str, tuple[Path, dict]]) -> np.ndarray:
    """{run: (gt, {frame: rows})} -> mean IDF1, MOTA, HOTA, IDSW."""
    values = []
    for gt, rows in rows_per_run.values():
        metrics = evaluate_mot(gt, {int(f): np.asarray(r, float).reshape(-1, 6) for f, r in rows.items()})
        values.append((metrics.idf1, metrics.mota, metrics.hota, metrics.id_switches))
    return np.mean(values, axis=0)


def run_ours_tracker(jobs, tracker_yaml):
    settings, out, elapsed, frames = load_tracker_settings(tracker_yaml), {}, 0.0, 0
    for key, (gt, detections, video_frames) in jobs.items():
        tracker = build_tracker(settings)
        rows = {}
        for frame in sorted(detections):
            d = detections[frame]
            image = video_frames[frame - 1] if video_frames is not None else None
            start = time.perf_counter()
            tracked = tracker.update(d[:, :4], d[:, 4], d[:, 5], image)
            elapsed += time.perf_counter() - start
            frames += 1
            rows[frame] = tracked[:, :6]
        out[key] = (gt, rows)
    return out, 1e3 * elapsed / frames


def run_library(jobs, tracker_yaml):
    import supervision as sv
    from trackers import ByteTrackTracker

    settings, out, elapsed, frames = load_tracker_settings(tracker_yaml), {}, 0.0, 0
    for key, (gt, detections, _) in jobs.items():
        tracker = ByteTrackTracker(high_conf_det_threshold=settings.track_high_thresh,
                                   track_activation_threshold=settings.new_track_thresh,
                                   minimum_iou_threshold=1 - settings.match_thresh,
                                   lost_track_buffer=settings.track_buffer)
        rows = {}
        for frame in sorted(detections):
            d = detections[frame]
            start = time.perf_counter()
            result = tracker.update(sv.Detections(xyxy=d[:, :4].astype(np.float32), confidence=d[:, 4].astype(
                np.float32), class_id=d[:, 5].astype(int)))
            elapsed += time.perf_counter() - start
            frames += 1
            keep = result.tracker_id >= 0
            rows[frame] = np.concatenate([result.xyxy[keep], result.tracker_id[keep, None],
                                          result.confidence[keep, None]], 1)
        out[key] = (gt, rows)
    return out, 1e3 * elapsed / frames


def run_peer(python, mode, tracker_yaml, job):
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "peer.py"
        script.write_text(PEER_SCRIPT)
        (Path(folder) / "job.json").write_text(json.dumps(job))
        completed = subprocess.run([python, str(script), mode, tracker_yaml, str(Path(folder) / "job.json")],
                                   capture_output=True, text=True)
    if completed.returncode:
        raise RuntimeError(f"the peer run failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_ours_model(weights, tracker_yaml, sequences):
    import torch

    from yolo8 import YOLO

    torch.set_num_threads(2)
    out, elapsed, frames = {}, 0.0, 0
    for video, gt in sequences:
        model = YOLO(weights)
        rows = {}
        for number, result in enumerate(model.track(str(video), tracker=tracker_yaml, stream=True, verbose=False), 1):
            rows[number] = result.boxes.data[:, :6].cpu().numpy()
            if number == 1:  # the first frame also prepares the model: timed from the second on
                start = time.perf_counter()
            else:
                frames += 1
        elapsed += time.perf_counter() - start
        out[str(video)] = (gt, rows)
    return out, 1e3 * elapsed / max(frames, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("tracker", "model"), default="tracker")
    parser.add_argument("--weights", help="detector checkpoint, ours or the incumbent's (--mode model)")
    parser.add_argument("--videos", type=int, default=3, help="generated sequences (seeds 1..N)")
    parser.add_argument("--frames", type=int, default=150, help="frames per generated video")
    parser.add_argument("--seeds", type=int, default=3, help="noisy detection sets per video (--mode tracker)")
    parser.add_argument("--tracker", default="bytetrack.yaml")
    parser.add_argument("--peer", help="python of a venv with ultralytics installed")
    parser.add_argument("--library", action="store_true", help="also run the trackers package's ByteTrack")
    args = parser.parse_args()
    sequences = videos(args.videos, args.frames)
    table = {}
    if args.mode == "model":
        if not args.weights:
            parser.error("--mode model needs --weights (a yolo8 or Ultralytics checkpoint, or yolov8n-builtin.pt)")
        ours, ms = run_ours_model(str(model_path(args.weights)), args.tracker, sequences)
        table["yolo8"] = (*score(ours), ms)
        if args.peer:
            with tempfile.TemporaryDirectory(prefix="yolo8_track_bench_") as scratch:
                peer_weights = str(peer_checkpoint(args.weights, scratch, args.peer))
                result = run_peer(args.peer, "model", args.tracker, {"videos": [str(v) for v, _ in sequences],
                                                                     "weights": peer_weights})
            gts = {str(v): g for v, g in sequences}
            table["incumbent"] = (*score({k: (gts[k], r) for k, r in result["rows"].items()}), result["ms"])
    else:
        import cv2

        jobs, video_of = {}, {}
        for video, gt_path in sequences:
            gt, raw = read_mot(gt_path), np.loadtxt(gt_path, delimiter=",")
            visibility = {int(f): raw[raw[:, 0] == f][:, 8] for f in np.unique(raw[:, 0])}
            capture, frames = cv2.VideoCapture(str(video)), []
            while True:
                ok, image = capture.read()
                if not ok:
                    break
                frames.append(image)
            height, width = frames[0].shape[:2]
            for seed in range(args.seeds):
                detections = noisy_detections(gt, len(frames), (height, width), seed=seed, visibility=visibility)
                jobs[f"{video.parent.name}/{seed}"] = (gt_path, detections, frames)
                video_of[f"{video.parent.name}/{seed}"] = str(video)
        ours, ms = run_ours_tracker(jobs, args.tracker)
        table["yolo8"] = (*score(ours), ms)
        if args.library:
            library, ms = run_library(jobs, args.tracker)
            table["trackers (ByteTrack)"] = (*score(library), ms)
        if args.peer:
            job = {"detections": {k: {f: d.tolist() for f, d in dets.items()} for k, (_, dets, _) in jobs.items()},
                   "videos": video_of}
            result = run_peer(args.peer, "tracker", args.tracker, job)
            table["incumbent"] = (*score({k: (jobs[k][0], r) for k, r in result["rows"].items()}), result["ms"])
    what = "tracker alone" if args.mode == "tracker" else "whole track call"
    print(f"{'':24s} {'IDF1':>6s} {'MOTA':>6s} {'HOTA':>6s} {'IDSW':>6s} {'ms/frame (' + what + ')':>28s}")
    for name, (idf1, mota, hota, idsw, ms) in table.items():
        print(f"{name:24s} {idf1:6.3f} {mota:6.3f} {hota:6.3f} {idsw:6.1f} {ms:28.2f}")
    if "incumbent" in table:
        ours, theirs = table["yolo8"], table["incumbent"]
        print(f"ratio IDF1 ours/theirs {ours[0] / max(theirs[0], 1e-9):.3f}  MOTA {ours[1] / max(theirs[1], 1e-9):.3f}"
              f"  time {ours[4] / max(theirs[4], 1e-9):.3f}")


if __name__ == "__main__":
    main()
