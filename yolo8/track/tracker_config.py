"""Tracker YAMLs in YOLOv8's format: read, check every key, and build the tracker they describe.

``tracker=bytetrack.yaml`` / ``botsort.yaml`` name the files shipped in ``yolo8/cfg/trackers``; any other value is
a path to the user's own YAML. Unknown keys get the same kind of error as unknown settings (with the closest
valid key); keys YOLOv8 accepts but that change nothing here (``model`` of a ReID model without ``with_reid``,
``min_box_area``, ``mot20``) are accepted and ignored.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from yolo8.track.botsort import BoTSORT, Encoder
from yolo8.track.bytetrack import ByteTracker
from yolo8.track.gmc import GMC_METHODS

TRACKER_DIR = Path(__file__).resolve().parent.parent / "cfg" / "trackers"
TRACKER_TYPES = ("bytetrack", "botsort")
IGNORED_KEYS = ("model", "min_box_area", "mot20")  # YOLOv8 keys with no effect here
ALIASES = {"cmc_method": "gmc_method"}  # early YOLOv8 tracker YAMLs spelt it this way


@dataclass(frozen=True)
class TrackerSettings:
    """The keys of a tracker YAML, with the defaults of current YOLOv8 releases (early 8.0 releases used
    track_high_thresh 0.5, new_track_thresh 0.6 and appearance_thresh 0.25)."""

    tracker_type: str = "bytetrack"
    track_high_thresh: float = 0.25
    track_low_thresh: float = 0.1
    new_track_thresh: float = 0.25
    track_buffer: int = 30
    match_thresh: float = 0.8
    fuse_score: bool = True
    gmc_method: str = "sparseOptFlow"
    proximity_thresh: float = 0.5
    appearance_thresh: float = 0.8
    with_reid: bool = False


_KEYS = {f.name: f for f in fields(TrackerSettings)}


def tracker_yaml_path(name: str | Path) -> Path:
    """A shipped tracker's file for ``bytetrack.yaml`` / ``botsort.yaml`` (with or without ``.yaml``), else
    ``name`` as a path; raises FileNotFoundError naming both places."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    shipped = TRACKER_DIR / (path.name if path.suffix else f"{path.name}.yaml")
    if shipped.is_file() and path.parent == Path("."):
        return shipped
    available = ", ".join(sorted(p.name for p in TRACKER_DIR.glob("*.yaml")))
    raise FileNotFoundError(f"tracker '{name}' not found: give a tracker YAML path or one of {available}.")


def _check(path: Path, key: str, value: Any) -> Any:
    """``value`` converted to the type of ``key``; ValueError naming file, key and fix."""
    expected = _KEYS[key].type
    try:
        if expected == "bool":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise TypeError("use True or False")
            return value
        if expected == "int":
            if isinstance(value, bool) or int(value) != float(value):
                raise TypeError("use a whole number")
            return int(value)
        if expected == "float":
            if isinstance(value, bool):
                raise TypeError("use a number")
            return float(value)
        return None if value is None else str(value)
    except (TypeError, ValueError) as error:
        reason = str(error) if isinstance(error, TypeError) else "use a number"
        raise ValueError(f"{path}: '{key}: {value}' is invalid: {reason} (default: "
                         f"{_KEYS[key].default!r}).") from None


def load_tracker_settings(name: str | Path = "botsort.yaml") -> TrackerSettings:
    """Read and validate a tracker YAML; raises ValueError naming the file and the key."""
    path = tracker_yaml_path(name)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML ({error}).") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a tracker YAML is a mapping of keys such as 'tracker_type: bytetrack'.")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        key = ALIASES.get(str(key), str(key))
        if key in IGNORED_KEYS:
            continue
        if key not in _KEYS:
            close = difflib.get_close_matches(key, list(_KEYS), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"{path}: '{key}' is not a tracker setting.{hint} Valid keys: {', '.join(_KEYS)}.")
        values[key] = _check(path, key, value)
    if "tracker_type" not in values:
        raise ValueError(f"{path}: 'tracker_type' is missing; add 'tracker_type: bytetrack' or 'botsort'.")
    settings = TrackerSettings(**values)
    if settings.tracker_type not in TRACKER_TYPES:
        raise ValueError(f"{path}: 'tracker_type: {settings.tracker_type}' is not a tracker; use bytetrack or botsort.")
    gmc = "none" if settings.gmc_method in (None, "None") else settings.gmc_method
    if gmc not in GMC_METHODS:
        raise ValueError(f"{path}: 'gmc_method: {settings.gmc_method}' is not available; use one of "
                         f"{', '.join(GMC_METHODS)}.")
    for key in ("track_high_thresh", "track_low_thresh", "new_track_thresh", "match_thresh", "proximity_thresh",
                "appearance_thresh"):
        if not 0.0 <= getattr(settings, key) <= 1.0:
            raise ValueError(f"{path}: '{key}: {getattr(settings, key)}' must be between 0 and 1.")
    if settings.track_buffer < 0:
        raise ValueError(f"{path}: 'track_buffer: {settings.track_buffer}' must be 0 or more frames.")
    return settings


def build_tracker(settings: TrackerSettings, frame_rate: float = 30.0, encoder: Encoder | None = None) -> ByteTracker:
    """The tracker ``settings`` describe, for a stream at ``frame_rate`` frames per second."""
    common = dict(track_high_thresh=settings.track_high_thresh, track_low_thresh=settings.track_low_thresh,
                  new_track_thresh=settings.new_track_thresh, track_buffer=settings.track_buffer,
                  match_thresh=settings.match_thresh, fuse_score=settings.fuse_score, frame_rate=frame_rate)
    if settings.tracker_type == "bytetrack":
        return ByteTracker(**common)
    return BoTSORT(**common, gmc_method=settings.gmc_method, proximity_thresh=settings.proximity_thresh,
                   appearance_thresh=settings.appearance_thresh, with_reid=settings.with_reid, encoder=encoder)
