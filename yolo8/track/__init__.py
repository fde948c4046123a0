"""Multi-object tracking over the predictor's Results stream: ByteTrack and BoT-SORT, YOLOv8 tracker YAMLs,
MOTChallenge files and metrics. Nothing here runs at import time."""

from yolo8.track.botsort import BoTSORT
from yolo8.track.bytetrack import ByteTracker
from yolo8.track.tracker_config import TrackerSettings, build_tracker, load_tracker_settings

__all__ = ["BoTSORT", "ByteTracker", "TrackerSettings", "build_tracker", "load_tracker_settings"]
