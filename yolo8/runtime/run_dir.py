"""Numbered run directories: runs/detect/predict, predict2, predict3, …"""

from __future__ import annotations

from pathlib import Path


def increment_run_dir(project, name: str, exist_ok: bool = False, mkdir: bool = False) -> Path:
    """The run directory ``project/name``, numbered so it does not reuse an earlier run's.

    ``project/name`` when it does not exist yet (or ``exist_ok``), otherwise the first free
    ``project/name2``, ``project/name3``, … Creates it (and its parents) when ``mkdir``.
    """
    base = Path(project) / name
    path = base
    if not exist_ok:
        number = 2
        while path.exists():
            path = base.with_name(f"{base.name}{number}")
            number += 1
    if mkdir:
        path.mkdir(parents=True, exist_ok=True)
    return path
