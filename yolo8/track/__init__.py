"""Multi-object tracking over the predictor's Results stream: ByteTrack and BoT-SORT, YOLOv8 tracker YAMLs,
MOTChallenge files and metrics. Nothing here runs at import time.

Why our own trackers: before writing them we measured Roboflow's ``trackers`` 2.6.1 (Apache-2.0), the maintained
implementation that installs here, on identical noisy detections of generated videos (``benchmarks/track.py
--library``). Its ByteTrack scored a higher IDF1 on those videos (0.77 against 0.73; ours equals the incumbent's
0.73), at a similar cost per frame, and its BoT-SORT a lower one (0.62 against 0.69). It was not wrapped because
it is not the same algorithm behind the same keys: its ByteTrack filters corners (x1, y1, x2, y2) rather than
(cx, cy, a, h) and has no counterpart of ``track_low_thresh`` or ``fuse_score``, so a YOLOv8 tracker YAML could
not keep its meaning; and it brings supervision, opencv-python (beside our opencv-python-headless), av, rich and
requests at run time. Its evaluator is used for the metrics (:mod:`yolo8.track.metrics`), imported only there.
"""

from yolo8.track.botsort import BoTSORT
from yolo8.track.bytetrack import ByteTracker
from yolo8.track.tracker_config import TrackerSettings, build_tracker, load_tracker_settings

__all__ = ["BoTSORT", "ByteTracker", "TrackerSettings", "build_tracker", "load_tracker_settings"]
