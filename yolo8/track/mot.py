"""MOTChallenge text files: one row per box, ``frame, id, left, top, width, height, conf, x, y, z``.

Tracker output uses ``-1`` for the last three columns (world coordinates, unused in 2-D tracking); ground truth
puts ``consider`` (1/0), ``class`` and ``visibility`` in columns 7-9. Frames and ids are 1-based integers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def mot_rows(frame: int, tracks: np.ndarray) -> list[str]:
    """Rows for one frame: tracks (K, >=6) x1, y1, x2, y2, id, conf, ... -> ``frame,id,x,y,w,h,conf,-1,-1,-1``."""
    lines = []
    tracks = np.asarray(tracks, np.float64)
    for x1, y1, x2, y2, track_id, conf in tracks.reshape(len(tracks), -1)[:, :6] if len(tracks) else []:
        lines.append(f"{frame},{int(track_id)},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{conf:.4f},-1,-1,-1")
    return lines


def write_mot(path: str | Path, rows: dict[int, np.ndarray]) -> Path:
    """Write {frame: (K, >=6) x1, y1, x2, y2, id, conf} as a MOTChallenge file (frames in order); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [line for frame in sorted(rows) for line in mot_rows(frame, np.asarray(rows[frame]))]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def read_mot(path: str | Path) -> dict[int, np.ndarray]:
    """A MOTChallenge file -> {frame: (K, 6) float64 x1, y1, x2, y2, id, conf} (ground truth's ``consider`` column
    becomes conf). Raises ValueError naming the file and line of a malformed row."""
    path = Path(path)
    frames: dict[int, list[list[float]]] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values = [float(v) for v in line.replace(" ", "").split(",")]
            if len(values) < 6:
                raise ValueError
        except ValueError:
            raise ValueError(f"{path}:{number}: '{line}' is not a MOTChallenge row (frame,id,left,top,width,height,"
                             "conf,...).") from None
        frame, track_id, left, top, width, height = values[:6]
        conf = values[6] if len(values) > 6 else 1.0
        frames.setdefault(int(frame), []).append([left, top, left + width, top + height, track_id, conf])
    return {frame: np.asarray(rows, np.float64) for frame, rows in frames.items()}
