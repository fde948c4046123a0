"""Detection: its network input, its postprocess (NMS, boxes back to the original image) and its evaluator.

Val and predict share :func:`prepare_image`'s letterbox geometry and :func:`postprocess`; the evaluator scores
one image at a time with COCO's exact rules (:class:`yolo8.metrics.detection.DetectionMetrics`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from yolo8.data.crowd import CrowdRegions, crowd_annotations
from yolo8.data.transforms.letterbox import letterbox
from yolo8.metrics.coco_json import CocoJsonRecorder, image_id_from_path
from yolo8.metrics.confusion import ConfusionMatrix
from yolo8.metrics.detection import DetectionMetrics
from yolo8.metrics.summary import DetectionSummary
from yolo8.ops.boxes import denormalize_boxes, xywh_to_xyxy
from yolo8.ops.letterbox import LetterboxInfo, boxes_from_letterbox, boxes_to_letterbox
from yolo8.ops.nms import non_max_suppression
from yolo8.tasks.common import (
    BatchLoss,
    EvaluationData,
    PostprocessSettings,
    image_size_setting,
    say_if_rounded,
)

LOGGER = logging.getLogger("yolo8")


def prepare_image(image: np.ndarray, size: int | tuple[int, int], stride: int) -> tuple[np.ndarray, LetterboxInfo]:
    """(H, W, 3) uint8 BGR original -> (letterboxed (h, w, 3) uint8 BGR, LetterboxInfo): aspect kept, padded
    to a multiple of ``stride`` only. ``size``: (height, width) or one int for a square."""
    return letterbox(image, (size, size) if isinstance(size, int) else size, auto=True, scaleup=True, stride=stride)


def suppress(decoded: torch.Tensor, settings: PostprocessSettings, num_masks: int = 0) -> list[torch.Tensor]:
    """(B, 4 + nc + nm, A) decoded predictions -> B tensors (n, 6 + nm): x1, y1, x2, y2, conf, cls (+ coefficients)
    in input pixels, after NMS."""
    return non_max_suppression(decoded, settings.conf, settings.iou, classes=settings.classes,
                               agnostic=settings.agnostic, multi_label=settings.multi_label,
                               max_det=settings.max_det, num_masks=num_masks)


def detections_to_original(detections: torch.Tensor, info: LetterboxInfo, original_shape) -> torch.Tensor:
    """(n, 6+) detections in letterboxed pixels -> (n, 6) float32 x1, y1, x2, y2, conf, cls in original pixels."""
    detections = detections[:, :6].float()
    return torch.cat((boxes_from_letterbox(detections[:, :4], info, original_shape), detections[:, 4:]), dim=1)


def postprocess(decoded: torch.Tensor, input_shape: tuple[int, int], letterboxes: list[LetterboxInfo],
                original_shapes: list[tuple[int, int]], settings: PostprocessSettings) -> Iterator[dict]:
    """Decoded (B, 4 + nc, A) -> per image the ``Results`` fields ``{"boxes": (n, 6) float32}`` (x1, y1, x2, y2,
    conf, cls in original pixels), in image order."""
    for found, info, shape in zip(suppress(decoded, settings), letterboxes, original_shapes):
        yield {"boxes": detections_to_original(found, info, shape)}


def build_loss(model, config) -> BatchLoss:
    """YOLOv8's detection loss for ``model``'s head, with the gains of the settings; called ``(raw, batch)``."""
    from yolo8.losses.detection import DetectionLoss

    head = model.head
    return BatchLoss(DetectionLoss(head.num_classes, strides=model.stride.tolist(), reg_max=head.reg_max,
                                   box_gain=config.box, cls_gain=config.cls, dfl_gain=config.dfl), ("targets",))


def resolve_training_data(config):
    """The dataset YAML a training run uses (the built-in dataset when ``data`` is unset): a DatasetConfig."""
    from yolo8.data.build import resolve_data

    return resolve_data(config.data)


def training_loader(data, config, image_size: int, batch_size: int, stride: int, workers: int, rank: int = -1):
    """The augmented train-split loader of a detection run."""
    from yolo8.data.build import training_loader as build_training_loader

    return build_training_loader(data, config, image_size, batch_size, stride, workers, rank)


def validation_loader(data, config, image_size: int, batch_size: int, stride: int, workers: int):
    """The letterboxed val-split loader a detection run validates on after each epoch."""
    from yolo8.data.build import evaluation_loader

    return evaluation_loader(data, config, "val", image_size, batch_size, stride, workers)


def plot_training_batch(batch, save_file: Path, names: dict, images=None) -> None:
    """train_batchN.jpg: the augmented images (or ``images``, e.g. mask-tinted copies) with their label boxes."""
    from yolo8.metrics.plots import plot_image_batch, targets_to_pixel_boxes

    height, width = batch.images.shape[2:]
    plot_image_batch(batch.images if images is None else images,
                     *targets_to_pixel_boxes(batch.targets, height, width), save_file, paths=batch.paths, names=names)


def ground_truth(batch, index: int, input_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Image ``index`` of a letterboxed batch -> its labels (boxes (m, 4) xyxy original pixels, classes (m,))."""
    height, width = input_shape
    rows = batch.targets[batch.targets[:, 0] == index]
    boxes = xywh_to_xyxy(denormalize_boxes(rows[:, 2:6], width, height))
    boxes = boxes_from_letterbox(boxes.cpu().numpy(), batch.letterbox[index], batch.original_shapes[index])
    return boxes, rows[:, 1].cpu().numpy()


def evaluation_data(config, model) -> EvaluationData:
    """The letterboxed ``split`` of ``data`` for a stand-alone val run of ``model`` (a backend: ``num_classes``, an int
    ``stride``); checks the class counts agree."""
    from yolo8.data.build import evaluation_loader, resolve_data
    from yolo8.data.coco import coco_category_ids

    data = resolve_data(config.data)
    if data.num_classes != model.num_classes:
        raise ValueError(f"{data.yaml_file} has {data.num_classes} classes but the model predicts "
                         f"{model.num_classes}; validate on the dataset the model was trained for.")
    fixed = getattr(model, "fixed_input", None)  # (h, w) of a static export, None for a model that takes any size
    if fixed is not None and fixed[0] == fixed[1]:
        # every image letterboxed straight to the file's size: rect batches (padded by half a stride) would be
        # letterboxed again, shrunk, to fit it (a 320 export lost 0.037 mAP50-95 that way)
        if image_size_setting(config.imgsz, int(model.stride)) != fixed[0]:
            LOGGER.info("val runs at %d, the fixed input size of the exported file (imgsz=%s is not used).",
                        fixed[0], config.imgsz)
        image_size, rect = fixed[0], False
    else:
        say_if_rounded(config.imgsz, int(model.stride))
        image_size, rect = image_size_setting(config.imgsz, int(model.stride)), True
    loader = evaluation_loader(data, config, config.split, image_size, config.batch, int(model.stride),
                               config.workers, rect=rect)
    return EvaluationData(loader, data.names, None if config.single_cls else coco_category_ids(data), data.yaml_file)


@dataclass
class DetectionResult:
    """What detection validation returns: COCO-exact metrics, per-image speed, the val loss when asked, where
    files went."""

    box: DetectionSummary
    speed: dict
    confusion_matrix: np.ndarray
    loss: np.ndarray | None = None
    save_dir: Path | None = None
    names: dict = field(default_factory=dict)

    @property
    def fitness(self) -> float:
        return self.box.fitness

    @property
    def results_dict(self) -> dict:
        return {
            "metrics/precision(B)": self.box.precision, "metrics/recall(B)": self.box.recall,
            "metrics/mAP50(B)": self.box.map50, "metrics/mAP50-95(B)": self.box.map, "fitness": self.fitness,
        }


class DetectionEvaluator:
    """Scores detections image by image against the labels of a letterboxed batch.

    Args:
        names: class id -> name.
        save_dir: where plots and save_json's predictions.json / ground_truth.json go (None: nothing saved).
        save_json: record COCO results; category_ids: class index -> COCO category id (None: index + 1).
        single_cls: the dataset's classes are merged (crowd regions too).
        use_crowd: score crowd regions (``labels/<split>.crowd.json``) as COCO does.
    """

    def __init__(self, names: dict, save_dir: Path | None = None, save_json: bool = False,
                 category_ids: list[int] | None = None, single_cls: bool = False, use_crowd: bool = True):
        self.names = dict(names)
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.metrics = DetectionMetrics(len(self.names), self.names)
        self.confusion = ConfusionMatrix(len(self.names))
        self.coco = CocoJsonRecorder(self.names, category_ids) if save_json and self.save_dir else None
        self.crowd = CrowdRegions(len(self.names), single_cls) if use_crowd else None

    def update(self, batch, index: int, fields: dict, input_shape: tuple[int, int]) -> None:
        """Score image ``index`` of ``batch``: ``fields`` as :func:`postprocess` gives them."""
        path, shape = batch.paths[index], batch.original_shapes[index]
        gt_boxes, gt_classes = ground_truth(batch, index, input_shape)
        self.last_gt_classes = gt_classes  # (m,) of the image just scored, for a subclass scoring it further
        found = fields["boxes"].cpu().numpy()
        pred_boxes, scores, classes = found[:, :4], found[:, 4], found[:, 5]
        crowd_classes, crowd_boxes = self.crowd(path, shape) if self.crowd else (np.zeros(0), np.zeros((0, 4)))
        # crowd regions: ground truth that COCO ignores (a detection matched to one is neither TP nor FP)
        self.metrics.update(pred_boxes, scores, classes, np.concatenate((gt_boxes, crowd_boxes)),
                            np.concatenate((gt_classes, crowd_classes)),
                            gt_iscrowd=np.arange(len(gt_classes) + len(crowd_classes)) >= len(gt_classes),
                            image_id=path)
        self.confusion.update(pred_boxes, scores, classes, gt_boxes, gt_classes)
        if self.coco is not None:
            try:
                self.coco.add(path, shape, pred_boxes, scores, classes, gt_boxes, gt_classes)
                self.coco.annotations += crowd_annotations(len(self.coco.annotations) + 1, image_id_from_path(path),
                                                           crowd_boxes, crowd_classes, self.coco.category_ids)
            except ValueError as error:  # duplicate image ids: the metrics stand, the JSON cannot
                LOGGER.warning("save_json: %s No COCO JSON written.", error)
                self.coco = None

    def finish(self, speed: dict, loss: np.ndarray | None, verbose: bool, plots: bool) -> DetectionResult:
        """Compute the summary, log the table, write the JSON and plots; the result of the run."""
        summary = self.metrics.compute()
        warn_when_unlabelled(summary)
        if self.crowd is not None and self.crowd.files:
            LOGGER.info("Crowd regions (iscrowd=1, not counted as instances) from %s",
                        ", ".join(str(file) for file in self.crowd.files))
        if self.coco is not None:
            LOGGER.info("COCO JSON: %s, %s", *self.coco.write(self.save_dir))
        LOGGER.info(format_table(summary, verbose))
        if self.save_dir is not None and plots:
            plot_curves(summary, self.names, self.save_dir, self.confusion)
        return DetectionResult(summary, speed, self.confusion.matrix, loss, self.save_dir, self.names)

    def plot_batch(self, batch, batch_index: int, predictions: list[dict], label_images=None,
                   prediction_images=None) -> None:
        """val_batchN_labels.jpg and val_batchN_pred.jpg; ``label_images`` / ``prediction_images`` replace the
        batch images under the labels / predictions (segmentation passes mask-tinted copies)."""
        from yolo8.metrics.plots import plot_image_batch, targets_to_pixel_boxes

        height, width = batch.images.shape[2:]
        plot_image_batch(
            batch.images if label_images is None else label_images,
            *targets_to_pixel_boxes(batch.targets, height, width),
            self.save_dir / f"val_batch{batch_index}_labels.jpg", paths=batch.paths, names=self.names,
        )
        # per image (n, 6) original-pixel rows -> one (M, 7) array in input pixels: batch index, box, conf, class
        rows = [np.concatenate((np.full((len(fields["boxes"]), 1), i, np.float32),
                                boxes_to_letterbox(fields["boxes"][:, :4].cpu().numpy(), batch.letterbox[i]),
                                fields["boxes"][:, 4:6].cpu().numpy()), axis=1) for i, fields in enumerate(predictions)]
        rows = np.concatenate(rows) if rows else np.zeros((0, 7), np.float32)
        plot_image_batch(
            batch.images if prediction_images is None else prediction_images, rows[:, 1:5], rows[:, 6], rows[:, 0],
            self.save_dir / f"val_batch{batch_index}_pred.jpg", confidences=rows[:, 5], paths=batch.paths,
            names=self.names,
        )


def plot_curves(summary: DetectionSummary, names: dict, save_dir: Path, confusion: ConfusionMatrix | None,
                prefix: str = "") -> None:
    """PR, F1, P and R curves named as YOLOv8 names them (``{prefix}PR_curve.png``, ``{prefix}F1_curve.png``, …),
    and the confusion matrices when ``confusion`` is given."""
    from yolo8.metrics.plots import plot_confusion_matrix, plot_metric_curve, plot_pr_curve

    classes = summary.curve_classes.astype(int)
    plot_pr_curve(summary.recall_points, summary.pr_curve, summary.ap50_per_class[classes], names,
                  save_dir / f"{prefix}PR_curve.png", class_ids=classes)
    for curve, label, short in ((summary.f1_curve, "F1", "F1"), (summary.precision_curve, "Precision", "P"),
                                (summary.recall_curve, "Recall", "R")):
        plot_metric_curve(summary.confidence_points, curve, names, save_dir / f"{prefix}{short}_curve.png",
                          ylabel=label, class_ids=classes)
    if confusion is not None:
        for normalize in (False, True):
            name = "confusion_matrix_normalized.png" if normalize else "confusion_matrix.png"
            plot_confusion_matrix(confusion.matrix, names, save_dir / name, normalize=normalize)


def warn_when_unlabelled(summary: DetectionSummary) -> None:
    """Say why every metric is 0 when the validation set has no (non-crowd) label at all."""
    if not summary.instances_per_class.any():
        LOGGER.warning("No labels in this validation set: precision, recall and mAP are reported as 0; "
                       "check the labels/ directory of the val images.")


def format_table(summary: DetectionSummary, per_class: bool) -> str:
    """The familiar validation table: overall row, then one row per class with labels when ``per_class``."""
    header = f"{'Class':>22}{'Images':>11}{'Instances':>11}{'Box(P':>11}{'R':>11}{'mAP50':>11}{'mAP50-95)':>11}"
    row = "{:>22}{:>11}{:>11}{:>11.3g}{:>11.3g}{:>11.3g}{:>11.3g}"
    lines = [header, row.format("all", summary.num_images, int(summary.instances_per_class.sum()),
                                summary.precision, summary.recall, summary.map50, summary.map)]
    if per_class:
        for c in np.flatnonzero(summary.instances_per_class):
            lines.append(row.format(summary.names[int(c)], int(summary.images_per_class[c]),
                                    int(summary.instances_per_class[c]), summary.precision_per_class[c],
                                    summary.recall_per_class[c], summary.ap50_per_class[c], summary.ap_per_class[c]))
        lines.extend(coco_lines(summary))
    return "\n".join(lines)


def coco_lines(summary: DetectionSummary, label: str = "") -> list[str]:
    """COCO's twelve summary numbers in two lines (``label``: 'box ' / 'mask ' for segmentation)."""
    return [f"COCO {label}mAP50-95 {summary.map:.4f}  mAP50 {summary.map50:.4f}  mAP75 {summary.map75:.4f}  "
            f"small {summary.map_small:.4f}  medium {summary.map_medium:.4f}  large {summary.map_large:.4f}",
            f"COCO {label}AR1 {summary.ar1:.4f}  AR10 {summary.ar10:.4f}  AR100 {summary.ar100:.4f}  "
            f"small {summary.ar_small:.4f}  medium {summary.ar_medium:.4f}  large {summary.ar_large:.4f}"]


def sample_source() -> list[str]:
    """The images predict runs on without a source: the sample scenes shipped in ``yolo8/assets``."""
    from yolo8.data.synthetic import sample_images

    return [str(path) for path in sample_images()]
