"""Segmentation validation: letterboxed batches -> model -> NMS -> boxes and masks in original pixels ->
COCO-exact box metrics (as the detection validator) and COCO segm mask metrics.

Masks are compared at the original image resolution: a detection's mask is built from the prototypes
(:func:`yolo8.ops.masks.masks_from_prototypes`, logits upsampled to the input and cropped to the box)
and taken back through the letterbox (:func:`yolo8.ops.masks.masks_from_letterbox`); ground-truth
polygons are rasterised at the original resolution (pixel centres inside,
:func:`yolo8.metrics.segmentation.polygons_to_masks`). YOLOv8 itself scores masks at a quarter of the
letterboxed input size, so its mask mAP differs slightly from this COCO-style figure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from yolo8.config import Config
from yolo8.metrics.coco_json import CocoJsonRecorder
from yolo8.metrics.confusion import ConfusionMatrix
from yolo8.metrics.detection import DetectionMetrics
from yolo8.metrics.segmentation import MaskMetrics, mask_iou_and_areas, polygons_to_masks
from yolo8.metrics.summary import DetectionSummary
from yolo8.ops.boxes import denormalize_boxes, xywh_to_xyxy
from yolo8.ops.letterbox import LetterboxInfo, boxes_from_letterbox
from yolo8.ops.masks import masks_from_letterbox, masks_from_prototypes
from yolo8.runtime.callbacks import Callbacks
from yolo8.val.validator import (
    PLOTTED_BATCHES,
    DetectionValidator,
    ValidationResult,
    prepare_validation,
    report_speed_and_location,
    warn_when_unlabelled,
)

LOGGER = logging.getLogger("yolo8")
PLOT_CONF = 0.25  # detections drawn on the val batch images
MASK_CHUNK = 32  # detections whose masks are built at once: bounds memory at 32 original-size masks


@dataclass
class SegmentationResult(ValidationResult):
    """A validation result with mask metrics: ``box`` and ``seg`` are :class:`DetectionSummary` of the
    same detections scored by box IoU and by mask IoU (``metrics.seg.map`` as in YOLOv8)."""

    seg: DetectionSummary | None = None

    @property
    def fitness(self) -> float:
        """Box fitness + mask fitness (each 0.1 mAP50 + 0.9 mAP50-95), as YOLOv8 ranks segmenters."""
        return self.box.fitness + self.seg.fitness

    @property
    def results_dict(self) -> dict:
        return {
            "metrics/precision(B)": self.box.precision, "metrics/recall(B)": self.box.recall,
            "metrics/mAP50(B)": self.box.map50, "metrics/mAP50-95(B)": self.box.map,
            "metrics/precision(M)": self.seg.precision, "metrics/recall(M)": self.seg.recall,
            "metrics/mAP50(M)": self.seg.map50, "metrics/mAP50-95(M)": self.seg.map, "fitness": self.fitness,
        }


def letterbox_points_to_original(points: np.ndarray, info: LetterboxInfo) -> np.ndarray:
    """(K, 2) x, y letterboxed pixels -> (K, 2) x, y original pixels (the letterbox's exact inverse, unclipped)."""
    return (np.asarray(points, np.float64) - np.asarray(info.pad, np.float64)) / np.asarray(info.ratio, np.float64)


def ground_truth_masks(segments: list, info: LetterboxInfo, input_shape, original_shape) -> np.ndarray:
    """One image's polygons (K, 2) normalised to the letterboxed input -> (n, h0, w0) bool masks."""
    height, width = input_shape
    polygons = [letterbox_points_to_original(points * np.array([width, height]), info) for points in segments]
    return polygons_to_masks(polygons, *original_shape)


def prediction_mask_overlaps(prototypes, found, input_shape, info, original_shape, gt_masks: torch.Tensor,
                             gt_areas: torch.Tensor):
    """Mask IoU of one image's detections with its ground truths, and each detection's mask area.

    Args:
        prototypes: (nm, H/4, W/4). found: (n, 6 + nm) NMS output in input pixels.
        gt_masks: (m, h0, w0) bool on the prototypes' device; gt_areas: (m,) their pixel counts.
    Returns:
        (iou (n, m) float64 Tensor, areas (n,) float64 Tensor), both on the CPU.
    """
    ious, areas = [torch.zeros((0, len(gt_masks)), dtype=torch.float64)], [torch.zeros(0, dtype=torch.float64)]
    for start in range(0, len(found), MASK_CHUNK):
        chunk = found[start : start + MASK_CHUNK].float()
        masks = masks_from_prototypes(prototypes, chunk[:, 6:], chunk[:, :4], input_shape)
        masks = masks_from_letterbox(masks, info, original_shape)  # (k, h0, w0) bool
        iou, area = mask_iou_and_areas(masks, gt_masks, gt_areas)
        ious.append(iou.cpu())
        areas.append(area.cpu())
    return torch.cat(ious), torch.cat(areas)


class SegmentationValidator(DetectionValidator):
    """Runs a segmentation model over a letterboxed loader and scores boxes and masks.

    Arguments as for :class:`yolo8.val.validator.DetectionValidator`; batches must carry polygons
    (``Batch.segments``) for every labelled image. save_json writes the box results only.
    """

    @torch.no_grad()
    def __call__(self, model: nn.Module, verbose: bool = False) -> SegmentationResult:
        was_training = model.training
        model.eval()
        box_metrics = DetectionMetrics(len(self.names), self.names)
        mask_metrics = MaskMetrics(len(self.names), self.names)
        confusion = ConfusionMatrix(len(self.names))
        coco = CocoJsonRecorder(self.names, self.category_ids) if self.config.save_json and self.save_dir else None
        self.callbacks.run("on_val_start", self)
        for batch_index, batch, targets, detections, prototypes, (height, width) in self.inference(model):
            for i, found in enumerate(detections):
                scored = self._score_image(batch, i, found, prototypes[i], targets[targets[:, 0] == i], (height, width))
                pred_boxes, scores, classes, gt_boxes, gt_classes, iou, areas, gt_areas = scored
                box_metrics.update(pred_boxes, scores, classes, gt_boxes, gt_classes, image_id=batch.paths[i])
                mask_metrics.update(iou, areas, scores, classes, gt_areas, gt_classes, image_id=batch.paths[i])
                confusion.update(pred_boxes, scores, classes, gt_boxes, gt_classes)
                if coco is not None:
                    try:
                        coco.add(batch.paths[i], batch.original_shapes[i], pred_boxes, scores, classes, gt_boxes, gt_classes)
                    except ValueError as error:  # duplicate image ids: the metrics stand, the JSON cannot
                        LOGGER.warning("save_json: %s No COCO JSON written.", error)
                        coco = None
            if self.save_dir is not None and self.config.plots and batch_index < PLOTTED_BATCHES:
                self._plot_masked_batch(batch, detections, prototypes, batch_index)
        box_summary, mask_summary = box_metrics.compute(), mask_metrics.compute()
        warn_when_unlabelled(box_summary)
        if coco is not None:
            LOGGER.info("COCO JSON (boxes): %s, %s", *coco.write(self.save_dir))
        result = SegmentationResult(box_summary, self.speed(), confusion.matrix, self.mean_loss(), self.save_dir,
                                    self.names, seg=mask_summary)
        LOGGER.info(format_segmentation_table(box_summary, mask_summary, verbose))
        if self.save_dir is not None and self.config.plots:
            self._plot_segmentation_curves(box_summary, mask_summary, confusion)
        self.callbacks.run("on_val_end", self)
        model.train(was_training)
        return result

    def _score_image(self, batch, i: int, found, prototypes, rows, input_shape) -> tuple:
        """Image ``i`` of ``batch`` in original pixels: (pred boxes (n, 4), scores (n,), classes (n,),
        gt boxes (m, 4), gt classes (m,)) as numpy, mask IoU (n, m), mask areas (n,) and gt mask areas (m,)."""
        info, shape = batch.letterbox[i], batch.original_shapes[i]
        if len(rows) and len(batch.segments[i]) != len(rows):
            raise ValueError(f"{batch.paths[i]}: {len(rows)} labels but {len(batch.segments[i])} polygons; "
                             "segmentation validation needs a polygon per label.")
        height, width = input_shape
        gt_boxes = xywh_to_xyxy(denormalize_boxes(rows[:, 2:6], width, height))
        gt_boxes = boxes_from_letterbox(gt_boxes.cpu().numpy(), info, shape)
        pred_boxes = boxes_from_letterbox(found[:, :4].float().cpu().numpy(), info, shape)
        polygons = batch.segments[i] if len(rows) else []
        gt_masks = ground_truth_masks(polygons, info, input_shape, shape)
        gt_areas = torch.from_numpy(gt_masks.reshape(len(gt_masks), -1).sum(1).astype(np.float64))  # (m, h0*w0) -> (m,)
        gt_masks = torch.from_numpy(gt_masks).to(self.device)
        iou, areas = prediction_mask_overlaps(prototypes, found, input_shape, info, shape, gt_masks, gt_areas)
        return (pred_boxes, found[:, 4].cpu().numpy(), found[:, 5].cpu().numpy(), gt_boxes, rows[:, 1].cpu().numpy(),
                iou, areas, gt_areas)

    def _plot_masked_batch(self, batch, detections, prototypes, batch_index: int) -> None:
        """val_batchN_labels.jpg / val_batchN_pred.jpg with masks tinted in their class colour under the boxes."""
        height, width = batch.images.shape[2:]
        targets = batch.targets
        label_masks, label_classes, pred_masks, pred_classes = [], [], [], []
        for i, found in enumerate(detections):
            polygons = [points * np.array([width, height]) for points in batch.segments[i]]
            label_masks.append(torch.from_numpy(polygons_to_masks(polygons, height, width)))
            label_classes.append(targets[targets[:, 0] == i, 1].long())
            shown = found[found[:, 4] >= PLOT_CONF].float()
            pred_masks.append(masks_from_prototypes(prototypes[i], shown[:, 6:], shown[:, :4], (height, width)).cpu())
            pred_classes.append(shown[:, 5].long().cpu())
        self._plot_batch(batch, detections, batch_index, label_images=tint_masks(batch.images, label_masks, label_classes),
                         prediction_images=tint_masks(batch.images, pred_masks, pred_classes))

    def _plot_segmentation_curves(self, box: DetectionSummary, seg: DetectionSummary, confusion) -> None:
        """BoxPR_curve.png, MaskF1_curve.png, … (as YOLOv8 names a segmenter's curves) and the box confusion matrices."""
        self._plot_curves(box, confusion, prefix="Box")
        self._plot_curves(seg, None, prefix="Mask")


def tint_masks(images: torch.Tensor, masks: list, classes: list, opacity: float = 0.5) -> torch.Tensor:
    """(B, 3, H, W) uint8 RGB images -> copies with each mask blended in its class colour.

    ``masks``: B tensors (n, H, W) bool; ``classes``: B tensors (n,) class ids.
    """
    from yolo8.plotting import class_colour

    out = images.cpu().float()
    for index, (image_masks, image_classes) in enumerate(zip(masks, classes)):
        for mask, class_id in zip(image_masks, image_classes.tolist()):
            colour = torch.tensor(class_colour(int(class_id))[::-1], dtype=out.dtype)[:, None]  # BGR -> RGB, (3, 1)
            out[index][:, mask] = (1 - opacity) * out[index][:, mask] + opacity * colour
    return out.round().to(torch.uint8)


def format_segmentation_table(box: DetectionSummary, seg: DetectionSummary, per_class: bool) -> str:
    """The YOLOv8 segmentation table: Class Images Instances Box(P R mAP50 mAP50-95) Mask(P R mAP50 mAP50-95)."""
    header = (f"{'Class':>22}{'Images':>11}{'Instances':>11}{'Box(P':>11}{'R':>11}{'mAP50':>11}{'mAP50-95)':>11}"
              f"{'Mask(P':>11}{'R':>11}{'mAP50':>11}{'mAP50-95)':>11}")
    row = "{:>22}{:>11}{:>11}" + "{:>11.3g}" * 8
    lines = [header, row.format("all", box.num_images, int(box.instances_per_class.sum()),
                                box.precision, box.recall, box.map50, box.map,
                                seg.precision, seg.recall, seg.map50, seg.map)]
    if per_class:
        for c in np.flatnonzero(box.instances_per_class):
            lines.append(row.format(
                box.names[int(c)], int(box.images_per_class[c]), int(box.instances_per_class[c]),
                box.precision_per_class[c], box.recall_per_class[c], box.ap50_per_class[c], box.ap_per_class[c],
                seg.precision_per_class[c], seg.recall_per_class[c], seg.ap50_per_class[c], seg.ap_per_class[c]))
        for name, summary in (("box", box), ("mask", seg)):
            lines.append(f"COCO {name} mAP50-95 {summary.map:.4f}  mAP50 {summary.map50:.4f}  mAP75 "
                         f"{summary.map75:.4f}  small {summary.map_small:.4f}  medium {summary.map_medium:.4f}  "
                         f"large {summary.map_large:.4f}")
            lines.append(f"COCO {name} AR1 {summary.ar1:.4f}  AR10 {summary.ar10:.4f}  AR100 {summary.ar100:.4f}  "
                         f"small {summary.ar_small:.4f}  medium {summary.ar_medium:.4f}  large {summary.ar_large:.4f}")
    return "\n".join(lines)


def check_polygon_labels(labels: list, yaml_file, split: str) -> None:
    """Refuse a split whose labelled images have boxes only: masks cannot be scored without polygons.

    Box rows inside a file that also has polygon rows are accepted: the label parser turns them into
    their 4-corner rectangles, which are scored as rectangular masks.
    """
    box_only = [label.image_file for label in labels if len(label.classes) and not len(label.segments)]
    if box_only:
        raise ValueError(
            f"{yaml_file}: the '{split}' split has {len(box_only)} image(s) with box-only labels (e.g. "
            f"{box_only[0]}'s label file); segmentation validation needs polygon rows "
            "'class x1 y1 x2 y2 x3 y3 ...'. Use a segmentation dataset or validate a detection model.")


def validate_segmentation_model(model: nn.Module, config: Config, callbacks: Callbacks | None = None) -> SegmentationResult:
    """`yolo8 val` for a segmentation model: boxes and masks on the ``split`` of ``data``, plots into runs/segment/valN."""
    setup = prepare_validation(model, config)
    check_polygon_labels(setup.loader.dataset.labels, setup.data.yaml_file, config.split)
    result = SegmentationValidator(setup.loader, setup.data.names, config, setup.device, setup.save_dir,
                                   callbacks=callbacks, category_ids=setup.category_ids)(setup.model, verbose=True)
    report_speed_and_location(result)
    return result
