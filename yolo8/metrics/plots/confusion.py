"""Confusion-matrix heatmap: rows = predicted class, columns = true class, last index = background."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from yolo8.metrics.plots.canvas import DPI, class_name, names_as_dict, new_figure, save_figure

ANNOTATE_MAX_CLASSES = 30  # from this many classes on, numbers in the cells are too small to read


def normalize_columns(matrix: np.ndarray) -> np.ndarray:
    """Divide each column (true class) by its sum; all-zero columns stay zero. float64[K, K] -> float64[K, K]."""
    totals = matrix.sum(axis=0, keepdims=True)  # (1, K)
    return matrix / np.where(totals > 0, totals, 1.0)


def _tick_font_size(num_labels: int) -> float:
    """Tick-label size shrinking from 10 pt (few classes) to 5.5 pt (about 75 or more)."""
    return float(np.clip(10 - (num_labels - 10) * 5 / 70, 5.5, 10))


def plot_confusion_matrix(
    matrix,
    names: Mapping[int, str] | Sequence[str] | None,
    save_file,
    normalize: bool = True,
) -> Path:
    """Heatmap of a detection confusion matrix; return the PNG path.

    Args:
        matrix: (K+1, K+1) counts, rows = predicted class, columns = true class, index K = background
            (a row-K entry is a missed object, a column-K entry a false detection). NaN counts as 0.
        names: {class id: name} or a list for the K classes; "background" is appended.
        normalize: divide each column by its sum (each true class's outcomes add up to 1).
    Cell values are written in the cells when K < 30; zero cells (and normalised
    values under 0.005) are left blank so the pattern reads.
    """
    counts = np.nan_to_num(np.asarray(matrix, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] < 1:
        raise ValueError(f"plot_confusion_matrix: matrix has shape {counts.shape}; expected (nc+1, nc+1).")
    num_classes = counts.shape[0] - 1
    values = normalize_columns(counts) if normalize else counts
    names = names_as_dict(names)
    labels = [class_name(names, k) for k in range(num_classes)] + ["background"]

    side = float(np.clip(0.16 * len(labels) + 3.5, 6.0, 18.0))  # inches: cells stay legible as K grows
    figure = new_figure(side * 1.12, side)
    axes = figure.add_subplot(1, 1, 1)
    upper = 1.0 if normalize else max(float(values.max()), 1.0)
    image = axes.imshow(values, cmap="Blues", vmin=0.0, vmax=upper, interpolation="nearest", aspect="equal")
    colourbar = figure.colorbar(image, ax=axes, fraction=0.046, pad=0.03)
    colourbar.ax.tick_params(labelsize=8)

    font_size = _tick_font_size(len(labels))
    positions = np.arange(len(labels))
    axes.set_xticks(positions)
    axes.set_yticks(positions)
    axes.set_xticklabels(labels, rotation=90 if len(labels) > 8 else 45, ha="center" if len(labels) > 8 else "right",
                         rotation_mode="anchor" if len(labels) <= 8 else "default", fontsize=font_size)
    axes.set_yticklabels(labels, fontsize=font_size)
    axes.set_xlabel("True")
    axes.set_ylabel("Predicted")
    axes.set_title("Confusion Matrix Normalized" if normalize else "Confusion Matrix")
    if num_classes < ANNOTATE_MAX_CLASSES:
        _annotate_cells(axes, values, upper, normalize, cell_font=float(np.clip(12 - 0.22 * len(labels), 5.5, 10)))
    # big matrices: lower the resolution so the file stays about 2500 px wide (text is still ≥ 11 px tall)
    return save_figure(figure, save_file, dpi=min(DPI, int(2500 / (side * 1.12))))


def _annotate_cells(axes, values: np.ndarray, upper: float, normalize: bool, cell_font: float) -> None:
    """Write each non-zero cell's value, white on dark cells and black on light ones."""
    for row, column in zip(*np.nonzero(values)):
        value = values[row, column]
        if normalize and value < 0.005:
            continue  # would print as "0.00": blank reads better
        text = f"{value:.2f}" if normalize else (f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}")
        colour = "white" if value > 0.5 * upper else "black"
        axes.text(column, row, text, ha="center", va="center", fontsize=cell_font, color=colour)
