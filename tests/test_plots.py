"""yolo8.metrics.plots: every picture is written, has a sensible size and survives edge cases."""

import csv
import subprocess
import sys

import cv2
import numpy as np
import pytest

from yolo8.metrics.plots import (
    plot_confusion_matrix,
    plot_image_batch,
    plot_metric_curve,
    plot_pr_curve,
    plot_results,
    read_results_csv,
    targets_to_pixel_boxes,
)
from yolo8.metrics.plots.canvas import gaussian_smooth
from yolo8.metrics.plots.confusion import normalize_columns
from yolo8.metrics.plots.results import panel_layout
from yolo8.plotting import class_colour
from yolo8.tasks import TASKS
from yolo8.train.results_log import results_columns

RESULT_COLUMNS = list(results_columns(TASKS["detect"].loss_names, TASKS["detect"].metric_keys))  # what the trainer writes, "time" included (it gets no panel)


def read_image(path):
    """(H, W, 3) uint8 BGR; fails the test when the file is missing or undecodable."""
    image = cv2.imread(str(path))
    assert image is not None, f"{path} is not a readable image"
    return image


def assert_picture(path, min_size, max_size):
    """The file exists, decodes, its (width, height) lies in the given range, and it is not blank."""
    image = read_image(path)
    height, width = image.shape[:2]
    assert min_size[0] <= width <= max_size[0] and min_size[1] <= height <= max_size[1], (width, height)
    assert image.std() > 5, "the picture is (almost) a single colour"
    return image


def write_results_csv(path, rows, columns=RESULT_COLUMNS):
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([name.rjust(22) for name in columns])  # padded headers, as some writers produce
        for epoch in range(1, rows + 1):
            writer.writerow([epoch] + [f"{value:.5g}" for value in rng.uniform(0.1, 2.0, len(columns) - 1)])


# ----------------------------------------------------------------------------------------- helpers


def test_gaussian_smooth_keeps_straight_lines_and_fills_nan():
    line = np.arange(12, dtype=np.float64) * 0.5 + 3
    np.testing.assert_allclose(gaussian_smooth(line, 3.0), line, atol=1e-12)
    with_hole = np.array([1.0, np.nan, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(gaussian_smooth(with_hole, 1.0), [1, 2, 3, 4, 5], atol=1e-12)
    np.testing.assert_array_equal(gaussian_smooth(np.array([2.0]), 3.0), [2.0])
    noisy = np.array([0.0, 1.0] * 10)
    assert gaussian_smooth(noisy, 2.0)[6:-6].std() < 0.1 * noisy.std()  # away from the padded ends


def test_read_results_csv_strips_headers_and_marks_bad_cells_nan(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("  epoch, train/box_loss ,metrics/mAP50(B)\n1,1.5,\n2,1.25,0.5\n")
    columns = read_results_csv(path)
    assert list(columns) == ["epoch", "train/box_loss", "metrics/mAP50(B)"]
    np.testing.assert_array_equal(columns["train/box_loss"], [1.5, 1.25])
    assert np.isnan(columns["metrics/mAP50(B)"][0]) and columns["metrics/mAP50(B)"][1] == 0.5


def test_panel_layout_puts_val_losses_under_train_losses():
    rows = panel_layout([name for name in RESULT_COLUMNS if name not in ("epoch", "time")])
    assert rows[0] == ["train/box_loss", "train/cls_loss", "train/dfl_loss", "metrics/precision(B)", "metrics/recall(B)"]
    assert rows[1] == ["val/box_loss", "val/cls_loss", "val/dfl_loss", "metrics/mAP50(B)", "metrics/mAP50-95(B)"]
    assert rows[2] == ["lr/pg0", "lr/pg1", "lr/pg2"]
    assert panel_layout(["train/box_loss", "custom"]) == [["train/box_loss", "custom"]]


def test_normalize_columns_divides_by_true_class_totals():
    counts = np.array([[3.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(normalize_columns(counts), [[0.75, 0, 0.5], [0.25, 0, 0], [0, 0, 0.5]])


def test_targets_to_pixel_boxes():
    targets = np.array([[1, 7, 0.5, 0.25, 0.5, 0.5], [0, 2, 0.1, 0.1, 0.2, 0.1]])
    boxes, classes, batch_index = targets_to_pixel_boxes(targets, image_height=100, image_width=200)
    np.testing.assert_allclose(boxes, [[50, 0, 150, 50], [0, 5, 40, 15]])
    assert classes.tolist() == [7, 2] and batch_index.tolist() == [1, 0]
    empty = targets_to_pixel_boxes(np.zeros((0, 6)), 64, 64)
    assert [array.shape for array in empty] == [(0, 4), (0,), (0,)]


# ---------------------------------------------------------------------------------------- results.png


@pytest.mark.parametrize("rows", [1, 30])
def test_plot_results_full_csv(tmp_path, rows):
    csv_file = tmp_path / "results.csv"
    write_results_csv(csv_file, rows)
    path = plot_results(csv_file)
    assert path == tmp_path / "results.png"
    assert_picture(path, (2000, 1000), (3200, 1600))  # 5 x 3 panels


def test_plot_results_missing_columns_and_nan(tmp_path):
    csv_file = tmp_path / "run" / "results.csv"
    csv_file.parent.mkdir()
    csv_file.write_text("epoch,train/box_loss,metrics/mAP50(B)\n1,1.9,nan\n2,1.7,0.1\n3,,0.2\n")
    assert_picture(plot_results(csv_file, tmp_path / "custom.png"), (600, 300), (1600, 800))  # one row of 2


def test_plot_results_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        plot_results(tmp_path / "nowhere.csv")


# ---------------------------------------------------------------------------------------------- curves


@pytest.mark.parametrize("num_classes", [1, 80])
def test_plot_pr_curve(tmp_path, num_classes):
    recall = np.linspace(0, 1, 1000)
    ap50 = np.linspace(0.3, 0.9, num_classes)
    precision = 1 - recall[None] ** (1 / (1 - ap50[:, None]))  # (nc, 1000)
    names = {k: f"class{k}" for k in range(num_classes)}
    assert_picture(plot_pr_curve(recall, precision, ap50, names, tmp_path / "PR_curve.png"), (1200, 900), (2200, 1300))


def test_plot_pr_curve_nan_rows_and_class_subset(tmp_path):
    recall = np.linspace(0, 1, 1000)
    precision = np.stack([1 - recall, np.full(1000, np.nan)])  # second class has no curve
    path = plot_pr_curve(recall, precision, [0.5, np.nan], ["a", "b", "c"], tmp_path / "pr.png", class_ids=[0, 2])
    assert_picture(path, (1200, 900), (2200, 1300))
    with pytest.raises(ValueError, match="ap50 has 1 values for 2"):
        plot_pr_curve(recall, precision, [0.5], None, tmp_path / "bad.png")


@pytest.mark.parametrize("num_classes", [1, 80])
def test_plot_metric_curve(tmp_path, num_classes):
    confidence = np.linspace(0, 1, 1000)
    peaks = np.linspace(0.3, 0.7, num_classes)[:, None]
    f1 = 0.9 * np.exp(-((confidence[None] - peaks) ** 2) / 0.05)  # (nc, 1000)
    f1[:, ::97] = np.nan  # holes in the curves must not break the mean
    path = plot_metric_curve(confidence, f1, None, tmp_path / "F1_curve.png", ylabel="F1")
    assert_picture(path, (1200, 900), (2200, 1300))


def test_plot_metric_curve_without_classes(tmp_path):
    path = plot_metric_curve(np.linspace(0, 1, 1000), np.zeros((0, 1000)), {}, tmp_path / "R.png", ylabel="Recall")
    assert read_image(path).shape[1] > 1000


# ------------------------------------------------------------------------------------ confusion matrix


@pytest.mark.parametrize("num_classes, normalize", [(1, False), (4, True), (80, True)])
def test_plot_confusion_matrix(tmp_path, num_classes, normalize):
    rng = np.random.default_rng(num_classes)
    matrix = rng.integers(0, 20, (num_classes + 1, num_classes + 1)).astype(np.float64)
    matrix[0, -1] = np.nan  # treated as 0
    names = [f"class {k}" for k in range(num_classes)]
    path = plot_confusion_matrix(matrix, names, tmp_path / "confusion_matrix.png", normalize=normalize)
    side = (900, 900) if num_classes < 30 else (1500, 1500)
    assert_picture(path, side, (2600, 2600))


def test_plot_confusion_matrix_rejects_non_square(tmp_path):
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        plot_confusion_matrix(np.zeros((2, 3)), None, tmp_path / "c.png")


# --------------------------------------------------------------------------------------- batch mosaics


def test_plot_image_batch_grid_size_and_captions(tmp_path):
    images = np.full((16, 3, 640, 640), 90, np.uint8)
    targets = np.array([[0, 1, 0.5, 0.5, 0.4, 0.4], [15, 3, 0.3, 0.6, 0.2, 0.3]])
    boxes, classes, batch_index = targets_to_pixel_boxes(targets, 640, 640)
    paths = [f"/data/images/train/img{k:03d}.jpg" for k in range(16)]
    path = plot_image_batch(images, boxes, classes, batch_index, tmp_path / "train_batch0.jpg", paths=paths,
                            names={1: "bicycle", 3: "motorcycle"})
    mosaic = read_image(path)
    assert mosaic.shape == (1920, 1920, 3)  # 4 x 4 tiles of 480 px
    assert (mosaic[:14, :100] > 200).any()  # white file-name text at the top-left of the first tile


def test_plot_image_batch_draws_only_confident_predictions(tmp_path):
    images = np.zeros((2, 3, 100, 160), np.uint8)  # black, small: tiles keep their size
    boxes = np.array([[10, 20, 60, 80], [100, 20, 150, 80], [20, 20, 60, 60]], np.float64)
    path = plot_image_batch(
        images, boxes, classes=[0, 1, 2], batch_index=[0, 0, 1], save_file=tmp_path / "val_batch0_pred.png",
        confidences=[0.9, 0.1, 0.5], names=["a", "b", "c"],
    )
    mosaic = read_image(path)
    assert mosaic.shape == (100, 320, 3)  # 2 tiles side by side
    np.testing.assert_array_equal(mosaic[50, 10], class_colour(0))  # left edge of the confident box
    assert mosaic[50, 100].max() == 0  # the 0.1 box is below the 0.25 threshold: nothing drawn
    np.testing.assert_array_equal(mosaic[40, 160 + 20], class_colour(2))  # second image, shifted by one tile


def test_plot_image_batch_torch_float_input_and_max_images(tmp_path):
    torch = pytest.importorskip("torch")
    images = torch.rand(6, 3, 32, 48)  # float in [0, 1]
    path = plot_image_batch(images, torch.zeros(0, 4), torch.zeros(0), torch.zeros(0), tmp_path / "b.jpg",
                            max_images=4)
    assert read_image(path).shape == (64, 96, 3)  # 2 x 2 grid, zero boxes


def test_plot_image_batch_empty_batch_nan_boxes_and_bad_lengths(tmp_path):
    path = plot_image_batch(np.zeros((0, 3, 64, 64), np.uint8), np.zeros((0, 4)), [], [], tmp_path / "e.jpg")
    assert read_image(path).shape == (64, 64, 3)
    images = np.zeros((1, 3, 64, 64), np.uint8)
    nan_box = np.array([[np.nan, 1, 2, 3]])
    tile = read_image(plot_image_batch(images, nan_box, [0], [0], tmp_path / "n.png"))
    assert tile[2:-2, 2:-2].max() == 0  # nothing drawn inside the white tile border
    with pytest.raises(ValueError, match="1 boxes, 2 classes"):
        plot_image_batch(images, nan_box, [0, 1], [0], tmp_path / "x.png")


# ------------------------------------------------------------------------------------- no global state


def test_import_is_light_and_plotting_leaves_matplotlib_global_state_alone(tmp_path):
    script = (
        "import sys\n"
        "import numpy as np\n"
        "import yolo8.metrics.plots as plots\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported at import time'\n"
        "import matplotlib\n"
        "before = dict(dict.items(matplotlib.rcParams))  # raw items: reading 'backend' would resolve it\n"
        "plots.plot_metric_curve(np.linspace(0, 1, 50), np.ones((1, 50)), None, sys.argv[1])\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "assert dict(dict.items(matplotlib.rcParams)) == before, 'rcParams changed'\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "f.png")], check=True, timeout=60)


def test_training_draws_val_plots_once_at_the_end(shapes_dataset, tiny_model_yaml, tmp_path, monkeypatch):
    from yolo8 import YOLO
    from yolo8.nn.model import build_model
    from yolo8.tasks import detect

    drawn = []
    monkeypatch.setattr(detect, "plot_curves", lambda *args, **kwargs: drawn.append("curves"))
    monkeypatch.setattr(detect.DetectionEvaluator, "plot_batch", lambda *args, **kwargs: drawn.append("batch"))
    YOLO(build_model(tiny_model_yaml)).train(data=str(shapes_dataset), epochs=3, imgsz=64, batch=8, workers=0,
                                             mosaic=0.0, close_mosaic=0, warmup_epochs=0, project=str(tmp_path),
                                             name="run", plots=True)
    # three per-epoch validations draw nothing; the final validation of best.pt draws its batches and curves
    assert drawn.count("curves") == 1 and 1 <= drawn.count("batch") <= 3
