"""Shared plumbing: an off-screen matplotlib figure, saving it, class-name look-up, smoothing."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

DPI = 200


def new_figure(width_inches: float, height_inches: float):
    """A matplotlib ``Figure`` drawn by the Agg canvas; touches no global state (no pyplot, no ``use``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_inches, height_inches), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, save_file, dpi: int = DPI) -> Path:
    """Write ``figure`` to ``save_file`` (format from its suffix) with a tight bounding box; return the path."""
    path = Path(save_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi, bbox_inches="tight", pad_inches=0.1, facecolor="white")
    return path


def names_as_dict(names: Mapping[int, str] | Sequence[str] | None) -> dict[int, str]:
    """Class names as {class id: name}, from a mapping, a list, or None (empty)."""
    if names is None:
        return {}
    if isinstance(names, Mapping):
        return {int(k): str(v) for k, v in names.items()}
    return dict(enumerate(str(name) for name in names))


def class_name(names: dict[int, str], class_id: int) -> str:
    """The name of ``class_id``, or its number when ``names`` lacks it."""
    return names.get(int(class_id), str(int(class_id)))


def gaussian_smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-weighted moving average of a 1-D series (ndarray[N] -> ndarray[N]).

    The ends are padded by point reflection (2·v[0] - v[k]), so a straight line stays exactly straight
    and a trending series is not pulled flat at its ends. NaNs are filled by linear interpolation first.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return values.copy()
    positions = np.arange(len(values))
    values = np.interp(positions, positions[finite], values[finite])
    half = min(int(round(3 * sigma)), len(values) - 1)
    if sigma <= 0 or half < 1:
        return values
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    before = 2 * values[0] - values[half:0:-1]  # (half,) mirrored through the first point
    after = 2 * values[-1] - values[-2:-half - 2:-1]  # (half,) mirrored through the last point
    return np.convolve(np.concatenate([before, values, after]), kernel, mode="valid")
