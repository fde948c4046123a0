"""Precision-recall and metric-vs-confidence curves, per class plus the class mean."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from yolo8.metrics.ap import box_smooth
from yolo8.metrics.plots.canvas import class_name, names_as_dict, new_figure, save_figure

LEGEND_MAX_CLASSES = 20  # above this a per-class legend is a wall of text: only the mean is labelled
MEAN_COLOUR = "tab:blue"


def _curve_arrays(x, y, name: str):
    """x -> float64[P]; y -> float64[C, P] (a single curve becomes one row); checks they line up."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64)
    y = y.reshape(1, -1) if y.ndim == 1 else y.reshape(-1, len(x)) if y.size == 0 else y
    if y.ndim != 2 or y.shape[1] != len(x):
        raise ValueError(f"{name}: curves have shape {y.shape}; expected (num_classes, {len(x)}) to match x.")
    return x, y


def _class_mean(curves: np.ndarray) -> np.ndarray:
    """Mean over classes ignoring NaN (float64[C, P] -> float64[P]; all-NaN points stay NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: "mean of empty slice"
        return np.nanmean(curves, axis=0)


def _class_labels(names, class_ids, num_curves: int) -> list[str]:
    names = names_as_dict(names)
    ids = range(num_curves) if class_ids is None else np.asarray(class_ids).reshape(-1).tolist()
    if len(ids) != num_curves:
        raise ValueError(f"class_ids has {len(ids)} entries for {num_curves} curves; give one id per curve row.")
    return [class_name(names, i) for i in ids]


def _new_curve_axes(xlabel: str, ylabel: str):
    figure = new_figure(7.5, 5.5)
    axes = figure.add_subplot(1, 1, 1)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.0)
    axes.grid(alpha=0.25)
    return figure, axes


def _draw_class_lines(axes, x, curves, labels: list[str], with_legend: bool) -> None:
    """Thin per-class lines: coloured and labelled when a legend fits, plain grey otherwise."""
    from matplotlib import colormaps

    # tab20 without its two blues (the mean is blue): the 9 dark shades first, then the 9 light ones
    tab20 = colormaps["tab20"].colors
    palette = list(tab20[2::2]) + list(tab20[3::2])
    for index, (curve, label) in enumerate(zip(curves, labels)):
        if with_legend:
            axes.plot(x, curve, linewidth=1, alpha=0.8, color=palette[index % len(palette)], label=label)
        else:
            axes.plot(x, curve, linewidth=0.6, color="grey", alpha=0.5)


def _finish(figure, axes, title: str, save_file) -> Path:
    axes.set_title(title)
    # legend outside the axes, right of the plot, so it never hides a curve; tight bbox keeps it in the file
    if axes.get_legend_handles_labels()[0]:
        axes.legend(bbox_to_anchor=(1.02, 1.0), loc="upper left", fontsize=8, borderaxespad=0.0)
    return save_figure(figure, save_file)


def plot_pr_curve(
    recall_points,
    precision,
    ap50,
    names: Mapping[int, str] | Sequence[str] | None,
    save_file,
    class_ids=None,
) -> Path:
    """Precision-recall curves at IoU 0.5; return the PNG path.

    Args:
        recall_points: (P,) recall values, ascending in [0, 1] (typically 1000 points).
        precision: (C, P) precision of each class at those recalls.
        ap50: (C,) AP@0.5 of each class; their mean labels the thick mean curve.
        names: {class id: name} or a list; ``class_ids`` (C,) says which class each row is (default 0..C-1).
    """
    x, curves = _curve_arrays(recall_points, precision, "plot_pr_curve")
    ap50 = np.asarray(ap50, dtype=np.float64).reshape(-1)
    if len(ap50) != len(curves):
        raise ValueError(f"plot_pr_curve: ap50 has {len(ap50)} values for {len(curves)} precision curves.")
    labels = _class_labels(names, class_ids, len(curves))
    figure, axes = _new_curve_axes("Recall", "Precision")
    with_legend = 0 < len(curves) <= LEGEND_MAX_CLASSES
    _draw_class_lines(axes, x, curves, [f"{label} {ap:.3f}" for label, ap in zip(labels, ap50)], with_legend)
    mean_ap = float(np.nanmean(ap50)) if np.isfinite(ap50).any() else float("nan")
    if len(curves):
        axes.plot(x, _class_mean(curves), linewidth=3, color=MEAN_COLOUR, label=f"all classes {mean_ap:.3f} mAP@0.5")
    return _finish(figure, axes, "Precision-Recall Curve", save_file)


def plot_metric_curve(
    confidence_points,
    values,
    names: Mapping[int, str] | Sequence[str] | None,
    save_file,
    ylabel: str = "F1",
    class_ids=None,
    smoothing: float = 0.1,
) -> Path:
    """A metric (F1, precision, recall) against confidence threshold, per class and mean; return the PNG path.

    Args:
        confidence_points: (P,) confidence thresholds, ascending in [0, 1].
        values: (C, P) the metric of each class at each threshold.
        names / class_ids: as in :func:`plot_pr_curve`.
        ylabel: the metric's name, e.g. "F1", "Precision", "Recall"; it also titles the plot.
        smoothing: moving-average width (fraction of P) applied to the mean curve; its maximum and the
            confidence where it occurs label the mean line ("all classes 0.61 at 0.312").
    """
    x, curves = _curve_arrays(confidence_points, values, "plot_metric_curve")
    labels = _class_labels(names, class_ids, len(curves))
    figure, axes = _new_curve_axes("Confidence", ylabel)
    _draw_class_lines(axes, x, curves, labels, with_legend=0 < len(curves) <= LEGEND_MAX_CLASSES)
    mean = _class_mean(curves) if len(curves) else np.full(len(x), np.nan)
    if np.isfinite(mean).any():
        mean = box_smooth(np.nan_to_num(mean, nan=0.0), smoothing)
        best = int(np.argmax(mean))
        axes.plot(x, mean, linewidth=3, color=MEAN_COLOUR, label=f"all classes {mean[best]:.2f} at {x[best]:.3f}")
    return _finish(figure, axes, f"{ylabel}-Confidence Curve", save_file)
