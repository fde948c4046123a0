"""``results.png``: one small panel per column of a training ``results.csv``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from yolo8.metrics.plots.canvas import gaussian_smooth, new_figure, save_figure

SMOOTH_MIN_POINTS = 5  # fewer epochs than this: no smoothed line (it would only echo the raw one)
PANEL_WIDTH, PANEL_HEIGHT = 2.6, 2.1  # inches


def read_results_csv(csv_file) -> dict[str, np.ndarray]:
    """Columns of a results CSV as {header (whitespace stripped): float64[rows]}; unparsable cells are NaN."""
    path = Path(csv_file)
    if not path.is_file():
        raise FileNotFoundError(f"plot_results: no results CSV at '{path}'; pass the results.csv a training run wrote.")
    with path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise ValueError(f"plot_results: '{path}' is empty; it needs a header row (epoch, train/box_loss, ...).")
    header = [name.strip() for name in rows[0]]
    columns = {name: np.full(len(rows) - 1, np.nan) for name in header if name}
    for row_index, row in enumerate(rows[1:]):
        for name, cell in zip(header, row):
            if name:
                try:
                    columns[name][row_index] = float(cell)
                except ValueError:
                    pass  # leave NaN: a blank or text cell is a missing value, not an error
    return columns


def panel_layout(names: list[str]) -> list[list[str]]:
    """Rows of panel names: train losses beside the first half of the metrics, val losses beside the rest.

    That puts e.g. ``train/box_loss`` right above ``val/box_loss``. Learning rates get their own row;
    anything else follows in rows of five.
    """
    groups = {prefix: [n for n in names if n.startswith(prefix)] for prefix in ("train/", "metrics/", "val/", "lr/")}
    others = [n for n in names if not any(n.startswith(prefix) for prefix in groups)]
    train, metrics, val = groups["train/"], groups["metrics/"], groups["val/"]
    rows: list[list[str]] = []
    if train and len(train) == len(val) and len(metrics) % 2 == 0:
        half = len(metrics) // 2
        rows += [train + metrics[:half], val + metrics[half:]]
    else:
        others = train + metrics + val + others
    if groups["lr/"]:
        rows.append(groups["lr/"])
    rows += [others[i:i + 5] for i in range(0, len(others), 5)]
    return [row for row in rows if row]


def plot_results(csv_file, save_file=None) -> Path:
    """Plot every column of a training ``results.csv`` against epoch; return the PNG path.

    Args:
        csv_file: CSV with an ``epoch`` column (1-based; row number when absent), optionally ``time``, and any of
            ``train/*_loss``, ``metrics/*``, ``val/*_loss``, ``lr/pg*`` columns.
        save_file: output path; default ``results.png`` beside the CSV.
    Each panel shows the raw values (markers and line) and, from 5 epochs on, a Gaussian-smoothed line.
    """
    columns = read_results_csv(csv_file)
    save_file = Path(csv_file).with_name("results.png") if save_file is None else Path(save_file)
    num_rows = max((len(values) for values in columns.values()), default=0)
    epochs = columns.pop("epoch", np.arange(1, num_rows + 1, dtype=np.float64))
    columns.pop("time", None)  # wall-clock seconds: a straight line, no curve worth a panel
    rows = panel_layout(list(columns)) or [["(no columns)"]]
    num_columns = max(len(row) for row in rows)
    figure = new_figure(PANEL_WIDTH * num_columns, PANEL_HEIGHT * len(rows))
    axes_grid = figure.subplots(len(rows), num_columns, squeeze=False)
    legend_drawn = False
    for row_index, row in enumerate(rows):
        for column_index in range(num_columns):
            axes = axes_grid[row_index][column_index]
            if column_index >= len(row):
                axes.set_visible(False)
                continue
            name = row[column_index]
            legend_drawn |= _draw_panel(axes, name, epochs, columns.get(name, np.empty(0)), legend=not legend_drawn)
    figure.tight_layout()
    return save_figure(figure, save_file)


def _draw_panel(axes, name: str, epochs: np.ndarray, values: np.ndarray, legend: bool) -> bool:
    """One series on ``axes``; returns True when it drew a legend."""
    axes.set_title(name, fontsize=9)
    from matplotlib.ticker import MaxNLocator

    axes.set_xlabel("epoch", fontsize=8)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # no 0.98, 1.02 ... ticks on short runs
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
    finite = np.isfinite(values) & np.isfinite(epochs[: len(values)])
    if not finite.any():
        axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes, color="grey")
        return False
    x, y = epochs[: len(values)][finite], values[finite]
    if x.max() - x.min() < 2:
        axes.set_xlim(x.min() - 1, x.max() + 1)  # a lone point: integer ticks either side, not 0.99 … 1.01
    axes.plot(x, y, marker=".", markersize=5, linewidth=1.2, color="tab:blue", label="results")
    if len(y) >= SMOOTH_MIN_POINTS:
        smooth = gaussian_smooth(y, sigma=min(3.0, len(y) / 5))
        axes.plot(x, smooth, ":", linewidth=2, color="tab:orange", label="smooth")
        if legend:
            axes.legend(fontsize=7, loc="best")
            return True
    return False
