"""Pictures for users: training curves, labelled image mosaics, PR / metric curves, confusion matrices.

Each function takes plain arrays, writes one image file and returns its path. matplotlib is imported
lazily inside the functions and only through ``matplotlib.figure.Figure`` + the Agg canvas, so
importing this package is cheap and never changes matplotlib's global backend.
"""

from yolo8.metrics.plots.batch import plot_image_batch, targets_to_pixel_boxes
from yolo8.metrics.plots.confusion import plot_confusion_matrix
from yolo8.metrics.plots.curves import plot_metric_curve, plot_pr_curve
from yolo8.metrics.plots.results import plot_results, read_results_csv

__all__ = [
    "plot_confusion_matrix",
    "plot_image_batch",
    "plot_metric_curve",
    "plot_pr_curve",
    "plot_results",
    "read_results_csv",
    "targets_to_pixel_boxes",
]
