"""Detection validation: letterboxed batches -> model -> NMS -> boxes in original pixels -> COCO-exact metrics."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from yolo8.config import Config
from yolo8.data.crowd import CrowdRegions, crowd_annotations
from yolo8.metrics.coco_json import CocoJsonRecorder, image_id_from_path
from yolo8.metrics.confusion import ConfusionMatrix
from yolo8.metrics.detection import DetectionMetrics
from yolo8.metrics.summary import DetectionSummary
from yolo8.ops.boxes import denormalize_boxes, xywh_to_xyxy
from yolo8.ops.letterbox import boxes_from_letterbox
from yolo8.ops.nms import non_max_suppression
from yolo8.runtime.augmented_inference import AugmentedInference, require_detection
from yolo8.runtime.callbacks import Callbacks

LOGGER = logging.getLogger("yolo8")
VAL_CONF = 0.001  # the val default of the shared ``conf`` setting: keep low scores, AP needs the whole PR curve
PLOTTED_BATCHES = 3


@dataclass
class ValidationResult:
    """What a validation run returns: COCO-exact metrics, per-image speed, the val loss when asked, where files went."""

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


class DetectionValidator:
    """Runs a detection model over a letterboxed loader and scores it.

    Args:
        dataloader: yields :class:`yolo8.data.loader.Batch` with letterbox infos.
        names: class id -> name.
        config: reads conf, iou, max_det, agnostic_nms, classes, half, plots, save_json, verbose.
        device: where the model runs.
        save_dir: where plots and save_json's predictions.json / ground_truth.json go (None: nothing saved).
        loss: optional callable (raw outputs, targets) -> (total, items) to report a validation loss.
        category_ids: class index -> COCO category id for save_json (None: index + 1).
    """

    def __init__(self, dataloader, names: dict, config: Config, device: torch.device,
                 save_dir: Path | None = None, loss=None, callbacks: Callbacks | None = None,
                 category_ids: list[int] | None = None):
        self.dataloader = dataloader
        self.names = dict(names)
        self.config = config
        self.device = device
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.loss = loss
        self.callbacks = callbacks or Callbacks()
        self.category_ids = category_ids

    def inference(self, model: nn.Module):
        """Run ``model`` over the loader; yields (batch index, batch, targets on the device, detections, prototypes,
        input (height, width)) per batch. Detections are NMS rows (n, 6 + nm) in input pixels; prototypes are
        (B, nm, H/4, W/4) for a segmentation model, else None. Accumulates ``self.seconds`` (preprocess,
        inference, postprocess), ``self.images_seen`` and, with a loss, ``self.loss_sum``."""
        half = bool(self.config.half) and self.device.type == "cuda"
        conf = VAL_CONF if self.config.conf is None else self.config.conf
        self.seconds, self.images_seen, self.loss_sum = np.zeros(3), 0, None
        for batch_index, batch in enumerate(self.dataloader):
            started = time.perf_counter()
            images = batch.images.to(self.device, non_blocking=True)
            images = (images.half() if half else images.float()) / 255
            targets = batch.targets.to(self.device)
            inferred = time.perf_counter()
            output, raw = model(images)
            decoded, prototypes = output if isinstance(output, tuple) else (output, None)
            if self.loss is not None:
                items = self.loss(raw, targets)[1].cpu().numpy()
                self.loss_sum = items if self.loss_sum is None else self.loss_sum + items
            suppressed = time.perf_counter()
            detections = non_max_suppression(
                decoded, conf, self.config.iou, classes=self.config.classes, agnostic=self.config.agnostic_nms,
                multi_label=True, max_det=self.config.max_det, num_masks=0 if prototypes is None else prototypes.shape[1],
            )
            self.seconds += (inferred - started, suppressed - inferred, time.perf_counter() - suppressed)
            self.images_seen += len(batch)
            yield batch_index, batch, targets, detections, prototypes, tuple(images.shape[2:])

    def speed(self) -> dict:
        """Milliseconds per image of the last run: preprocess, inference, postprocess."""
        per_image = self.seconds * 1000 / max(self.images_seen, 1)
        return dict(zip(("preprocess", "inference", "postprocess"), per_image.tolist()))

    def mean_loss(self) -> np.ndarray | None:
        """The last run's validation loss items averaged over batches (None without a loss)."""
        return None if self.loss_sum is None else self.loss_sum / max(len(self.dataloader), 1)

    @torch.no_grad()
    def __call__(self, model: nn.Module, verbose: bool = False) -> ValidationResult:
        was_training = model.training
        model.eval()
        metrics = DetectionMetrics(len(self.names), self.names)
        confusion = ConfusionMatrix(len(self.names))
        coco = CocoJsonRecorder(self.names, self.category_ids) if self.config.save_json and self.save_dir else None
        crowd = CrowdRegions(len(self.names), bool(self.config.single_cls))  # labels/<split>.crowd.json, if any
        self.callbacks.run("on_val_start", self)
        for batch_index, batch, targets, detections, _, (height, width) in self.inference(model):
            for i, found in enumerate(detections):
                rows = targets[targets[:, 0] == i]
                gt_boxes = xywh_to_xyxy(denormalize_boxes(rows[:, 2:6], width, height))
                info, shape = batch.letterbox[i], batch.original_shapes[i]
                gt_boxes = boxes_from_letterbox(gt_boxes.cpu().numpy(), info, shape)
                pred_boxes = boxes_from_letterbox(found[:, :4].float().cpu().numpy(), info, shape)
                scores, classes, gt_classes = found[:, 4].cpu().numpy(), found[:, 5].cpu().numpy(), rows[:, 1].cpu().numpy()
                # crowd regions: ground truth that COCO ignores (a detection matched to one is neither TP nor FP)
                crowd_classes, crowd_boxes = crowd(batch.paths[i], shape)
                metrics.update(pred_boxes, scores, classes, np.concatenate((gt_boxes, crowd_boxes)),
                               np.concatenate((gt_classes, crowd_classes)),
                               gt_iscrowd=np.arange(len(gt_classes) + len(crowd_classes)) >= len(gt_classes),
                               image_id=batch.paths[i])
                confusion.update(pred_boxes, scores, classes, gt_boxes, gt_classes)
                if coco is not None:
                    try:
                        coco.add(batch.paths[i], shape, pred_boxes, scores, classes, gt_boxes, gt_classes)
                        coco.annotations += crowd_annotations(len(coco.annotations) + 1, image_id_from_path(
                            batch.paths[i]), crowd_boxes, crowd_classes, coco.category_ids)
                    except ValueError as error:  # duplicate image ids: the metrics stand, the JSON cannot
                        LOGGER.warning("save_json: %s No COCO JSON written.", error)
                        coco = None
            if self.save_dir is not None and self.config.plots and batch_index < PLOTTED_BATCHES:
                self._plot_batch(batch, detections, batch_index)
        summary = metrics.compute()
        warn_when_unlabelled(summary)
        if crowd.files:
            LOGGER.info("Crowd regions (iscrowd=1, not counted as instances) from %s",
                        ", ".join(str(file) for file in crowd.files))
        if coco is not None:
            LOGGER.info("COCO JSON: %s, %s", *coco.write(self.save_dir))
        result = ValidationResult(summary, self.speed(), confusion.matrix, self.mean_loss(), self.save_dir, self.names)
        LOGGER.info(format_table(summary, verbose))
        if self.save_dir is not None and self.config.plots:
            self._plot_curves(summary, confusion)
        self.callbacks.run("on_val_end", self)
        model.train(was_training)
        return result

    def _plot_batch(self, batch, detections, batch_index: int, label_images=None, prediction_images=None) -> None:
        """val_batchN_labels.jpg and val_batchN_pred.jpg; ``label_images`` / ``prediction_images`` replace the
        batch images under the labels / predictions (the segmentation validator passes mask-tinted copies)."""
        from yolo8.metrics.plots import plot_image_batch, targets_to_pixel_boxes

        height, width = batch.images.shape[2:]
        targets = batch.targets.numpy()
        plot_image_batch(
            batch.images if label_images is None else label_images, *targets_to_pixel_boxes(targets, height, width),
            self.save_dir / f"val_batch{batch_index}_labels.jpg", paths=batch.paths, names=self.names,
        )
        # per-image (n, 6+) detections -> one (M, 7) array: batch index, x1, y1, x2, y2, conf, class
        rows = [torch.cat((torch.full((len(d), 1), i, dtype=d.dtype, device=d.device), d[:, :6]), 1)
                for i, d in enumerate(detections)]
        predictions = torch.cat(rows).float().cpu().numpy()
        plot_image_batch(
            batch.images if prediction_images is None else prediction_images, predictions[:, 1:5],
            predictions[:, 6], predictions[:, 0], self.save_dir / f"val_batch{batch_index}_pred.jpg",
            confidences=predictions[:, 5], paths=batch.paths, names=self.names,
        )

    def _plot_curves(self, summary: DetectionSummary, confusion: ConfusionMatrix | None, prefix: str = "") -> None:
        """PR, F1, P and R curves named as YOLOv8 names them (``{prefix}PR_curve.png``, ``{prefix}F1_curve.png``, …),
        and the confusion matrices when ``confusion`` is given."""
        from yolo8.metrics.plots import plot_confusion_matrix, plot_metric_curve, plot_pr_curve

        classes = summary.curve_classes.astype(int)
        plot_pr_curve(summary.recall_points, summary.pr_curve, summary.ap50_per_class[classes], self.names,
                      self.save_dir / f"{prefix}PR_curve.png", class_ids=classes)
        for curve, label, short in ((summary.f1_curve, "F1", "F1"), (summary.precision_curve, "Precision", "P"),
                                    (summary.recall_curve, "Recall", "R")):
            plot_metric_curve(summary.confidence_points, curve, self.names,
                              self.save_dir / f"{prefix}{short}_curve.png", ylabel=label, class_ids=classes)
        if confusion is not None:
            for normalize in (False, True):
                name = "confusion_matrix_normalized.png" if normalize else "confusion_matrix.png"
                plot_confusion_matrix(confusion.matrix, self.names, self.save_dir / name, normalize=normalize)


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
        lines.append(f"COCO mAP50-95 {summary.map:.4f}  mAP50 {summary.map50:.4f}  mAP75 {summary.map75:.4f}  "
                     f"small {summary.map_small:.4f}  medium {summary.map_medium:.4f}  large {summary.map_large:.4f}")
        lines.append(f"COCO AR1 {summary.ar1:.4f}  AR10 {summary.ar10:.4f}  AR100 {summary.ar100:.4f}  "
                     f"small {summary.ar_small:.4f}  medium {summary.ar_medium:.4f}  large {summary.ar_large:.4f}")
    return "\n".join(lines)


def validate_model(model: nn.Module, config: Config, callbacks: Callbacks | None = None) -> ValidationResult:
    """`yolo8 val`: score ``model`` on the ``split`` of ``data``, plots into runs/<task>/valN."""
    if config.augment:
        require_detection(model)
    if model.task == "segment":
        from yolo8.val.segmentation import validate_segmentation_model

        return validate_segmentation_model(model, config, callbacks)
    if model.task == "classify":
        from yolo8.val.classification import validate_classification_model

        return validate_classification_model(model, config, callbacks)
    setup = prepare_validation(model, config)
    result = DetectionValidator(setup.loader, setup.data.names, config, setup.device, setup.save_dir,
                                callbacks=callbacks, category_ids=setup.category_ids)(setup.model, verbose=True)
    report_speed_and_location(result)
    return result


@dataclass
class ValidationSetup:
    """What a stand-alone validation run needs: device, dataset, letterboxed loader, run directory, the fused
    copy of the model to run, and the COCO category ids for save_json."""

    device: torch.device
    data: object
    loader: object
    save_dir: Path
    model: nn.Module
    category_ids: list[int] | None


def prepare_validation(model: nn.Module, config: Config) -> ValidationSetup:
    """Resolve ``data`` and build everything `yolo8 val` runs on; checks the class counts agree."""
    from yolo8.data.build import evaluation_loader, resolve_data
    from yolo8.data.coco import coco_category_ids
    from yolo8.runtime.backend import inference_copy
    from yolo8.runtime.device import select_device, use_all_cores
    from yolo8.runtime.run_dir import default_project, increment_run_dir

    use_all_cores()
    device = select_device(config.device)
    data = resolve_data(config.data)
    if data.num_classes != model.num_classes:
        raise ValueError(f"{data.yaml_file} has {data.num_classes} classes but the model predicts "
                         f"{model.num_classes}; validate on the dataset the model was trained for.")
    stride = int(model.stride.max())
    image_size = config.imgsz if isinstance(config.imgsz, int) else max(config.imgsz)
    loader = evaluation_loader(data, config, config.split, image_size, config.batch, stride, config.workers)
    save_dir = increment_run_dir(config.project or default_project(model.task), config.name or "val",
                                 config.exist_ok, mkdir=True)
    category_ids = None if config.single_cls else coco_category_ids(data)
    half = bool(config.half) and device.type == "cuda"
    inference_model = inference_copy(model, device, half)
    if config.augment:
        inference_model = AugmentedInference(inference_model)
    return ValidationSetup(device, data, loader, save_dir, inference_model, category_ids)


def report_speed_and_location(result) -> None:
    LOGGER.info("Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image", *result.speed.values())
    LOGGER.info("Results saved to %s", result.save_dir)
