"""Instance segmentation: detection plus a mask per detection, built from the prototypes and scored by mask IoU.

Masks are compared at the original image resolution: a detection's mask is built from the prototypes
(:func:`yolo8.ops.masks.masks_from_prototypes`, logits upsampled to the input and cropped to the box) and
taken back through the letterbox (:func:`yolo8.ops.masks.masks_from_letterbox`); ground-truth polygons are
rasterised at the original resolution (pixel centres inside, :func:`yolo8.metrics.segmentation.polygons_to_masks`).
YOLOv8 itself scores masks at a quarter of the letterboxed input size, so its mask mAP differs slightly from
this COCO-style figure.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from yolo8.metrics.segmentation import MaskMetrics, mask_iou_and_areas, polygons_to_masks
from yolo8.metrics.summary import DetectionSummary
from yolo8.ops.letterbox import LetterboxInfo
from yolo8.ops.masks import masks_from_letterbox, masks_from_prototypes
from yolo8.tasks import detect
from yolo8.tasks.common import BatchLoss, EvaluationData, PostprocessSettings

LOGGER = logging.getLogger("yolo8")
PLOT_CONF = 0.25  # detections drawn on the val batch images
MASK_CHUNK = 32  # detections whose masks are built at once (val): bounds memory at 32 original-size masks

prepare_image = detect.prepare_image


class PendingMasks:
    """The original-size masks of one image's detections, built when asked for, :data:`MASK_CHUNK` at a time.

    Val scores up to ``max_det`` (300) detections per image at conf 0.001: all their masks at once would take
    n x h0 x w0 bytes, and several times that while they are resampled (3 GB for a 1080p image).

    Args:
        prototypes: (nm, H/4, W/4) of the image.
        detections: (n, 6 + nm) NMS rows in input pixels (x1, y1, x2, y2, conf, cls, coefficients).
        info / original_shape / input_shape: the letterbox, (h0, w0) and (H, W).
    """

    def __init__(self, prototypes: torch.Tensor, detections: torch.Tensor, info: LetterboxInfo,
                 original_shape: tuple[int, int], input_shape: tuple[int, int]):
        self.prototypes, self.detections = prototypes, detections
        self.info, self.original_shape, self.input_shape = info, original_shape, input_shape

    def __len__(self) -> int:
        return len(self.detections)

    def input_masks(self, keep: torch.Tensor | None = None) -> torch.Tensor:
        """(k, H, W) bool masks on the letterboxed input of the detections ``keep`` selects (all by default)."""
        found = self.detections if keep is None else self.detections[keep]
        if not len(found):
            return torch.zeros((0, *self.input_shape), dtype=torch.bool, device=found.device)
        return torch.cat([masks_from_prototypes(self.prototypes, chunk[:, 6:], chunk[:, :4], self.input_shape)
                          for chunk in found.split(MASK_CHUNK)])

    def chunks(self) -> Iterator[torch.Tensor]:
        """The (k <= MASK_CHUNK, h0, w0) bool masks in original pixels, in detection order."""
        for chunk in self.detections.split(MASK_CHUNK):
            masks = masks_from_prototypes(self.prototypes, chunk[:, 6:], chunk[:, :4], self.input_shape)
            yield masks_from_letterbox(masks, self.info, self.original_shape)

    def build(self) -> torch.Tensor:
        """All the masks at once: (n, h0, w0) bool."""
        built = list(self.chunks())
        return torch.cat(built) if built else \
            torch.zeros((0, *self.original_shape), dtype=torch.bool, device=self.detections.device)


def postprocess(decoded: tuple[torch.Tensor, torch.Tensor], input_shape: tuple[int, int],
                letterboxes: list[LetterboxInfo], original_shapes: list[tuple[int, int]],
                settings: PostprocessSettings) -> Iterator[dict]:
    """Decoded ``(predictions (B, 4 + nc + nm, A), prototypes (B, nm, H/4, W/4))`` -> per image the ``Results``
    fields ``{"boxes": (n, 6) float32 original pixels, "masks": (n, h0, w0) bool}``, in image order.

    With ``settings.drop_empty_masks`` (predict) a detection whose mask is empty at input resolution is dropped,
    as YOLOv8 predicts; with ``settings.lazy_masks`` (val) ``masks`` is a :class:`PendingMasks` that builds them
    in chunks when they are scored.
    """
    predictions, prototypes = decoded
    found_per_image = detect.suppress(predictions, settings, num_masks=prototypes.shape[1])
    for found, image_prototypes, info, shape in zip(found_per_image, prototypes, letterboxes, original_shapes):
        pending = PendingMasks(image_prototypes, found.float(), info, shape, input_shape)
        if settings.drop_empty_masks:
            keep = pending.input_masks().flatten(1).any(dim=1)  # (n, H, W) -> (n, H*W) -> (n,)
            pending = PendingMasks(image_prototypes, pending.detections[keep], info, shape, input_shape)
        masks = pending if settings.lazy_masks else pending.build()
        yield {"boxes": detect.detections_to_original(pending.detections, info, shape), "masks": masks}


def ground_truth_masks(batch, index: int, input_shape: tuple[int, int]) -> np.ndarray:
    """Image ``index`` of a letterboxed batch -> its polygons rasterised at the original size, (m, h0, w0) bool."""
    info, (original_height, original_width) = batch.letterbox[index], batch.original_shapes[index]
    height, width = input_shape
    labelled = bool((batch.targets[:, 0] == index).any())
    # letterboxed pixels -> original pixels: the letterbox's exact inverse, unclipped
    polygons = [(np.asarray(points, np.float64) * np.array([width, height]) - np.asarray(info.pad, np.float64))
                / np.asarray(info.ratio, np.float64) for points in (batch.segments[index] if labelled else [])]
    return polygons_to_masks(polygons, original_height, original_width)


def build_loss(model, config) -> BatchLoss:
    """YOLOv8's segmentation loss for ``model``'s head (gains and ``overlap_mask`` from the settings); called
    ``(raw, batch)`` with the batch's targets and ground-truth masks."""
    from yolo8.losses.segmentation import SegmentationLoss

    head = model.head
    return BatchLoss(SegmentationLoss(head.num_classes, overlap=bool(config.overlap_mask),
                                      strides=model.stride.tolist(), reg_max=head.reg_max, box_gain=config.box,
                                      cls_gain=config.cls, dfl_gain=config.dfl), ("targets", "masks"))


class BoxOnlyLabelsWarning(UserWarning):
    """A segmentation run found images whose label files hold boxes only: they are left out, having no masks."""


def labels_with_polygons(labels: list, split: str, data) -> list:
    """The images of a split a segmentation run can use: every labelled image must have polygons. Images whose
    label files are boxes only are left out with a :class:`BoxOnlyLabelsWarning` naming them (backgrounds stay);
    when no labelled image is left, a ValueError says what the dataset needs."""
    box_only = [label for label in labels if label.box_only]
    if not box_only:
        return labels
    kept = [label for label in labels if not label.box_only]
    examples = ", ".join(str(label.image_file) for label in box_only[:3]) + (" ..." if len(box_only) > 3 else "")
    if not any(len(label.classes) for label in kept):
        raise ValueError(f"{data.yaml_file}: every labelled image of the '{split}' split has box-only labels (e.g. "
                         f"{examples}); segmentation trains on polygon rows 'class x1 y1 x2 y2 x3 y3 ...'. Use a "
                         "segmentation dataset, or train a detection model on these boxes.")
    warnings.warn(f"{len(box_only)} of {len(labels)} '{split}' images have box-only labels and are left out of "
                  f"this segmentation run (no masks to learn from or score): {examples}. Give them polygon rows to "
                  "use them.", BoxOnlyLabelsWarning, stacklevel=2)
    return kept


def training_loader(data, config, image_size: int, batch_size: int, stride: int, workers: int, rank: int = -1):
    """The augmented train-split loader with ground-truth masks (``mask_ratio``, ``overlap_mask``), polygon-labelled
    images only (:func:`labels_with_polygons`)."""
    from yolo8.data.build import mask_layout_from
    from yolo8.data.build import training_loader as build_training_loader

    return build_training_loader(data, config, image_size, batch_size, stride, workers, rank,
                                 masks=mask_layout_from(config), select=labels_with_polygons)


def validation_loader(data, config, image_size: int, batch_size: int, stride: int, workers: int):
    """The letterboxed val-split loader a training run validates on: ground-truth masks for the validation loss,
    box-only images left out with a warning (a stand-alone val refuses them instead, see :func:`evaluation_data`)."""
    from yolo8.data.build import evaluation_loader, mask_layout_from

    return evaluation_loader(data, config, "val", image_size, batch_size, stride, workers,
                             masks=mask_layout_from(config), select=labels_with_polygons)


def plot_training_batch(batch, save_file: Path, names: dict) -> None:
    """train_batchN.jpg: the augmented images with their masks tinted in the class colour, and the label boxes."""
    detect.plot_training_batch(batch, save_file, names, images=label_mask_images(batch))


def label_mask_images(batch) -> torch.Tensor:
    """(B, 3, H, W) uint8 copies of a batch's images with each label's polygon tinted in its class colour."""
    height, width = batch.images.shape[2:]
    masks, classes = [], []
    for index, polygons in enumerate(batch.segments):
        masks.append(torch.from_numpy(polygons_to_masks([points * np.array([width, height]) for points in polygons],
                                                        height, width)))
        classes.append(batch.targets[batch.targets[:, 0] == index, 1].long())
    return tint_masks(batch.images, masks, classes)


def refuse_box_only(labels: list, source, split: str) -> None:
    """Segmentation validation needs a polygon for every label: a ValueError naming the first box-only label file."""
    box_only = [label.image_file for label in labels if label.box_only]
    if box_only:
        raise ValueError(
            f"{source}: the '{split}' split has {len(box_only)} image(s) with box-only labels (e.g. "
            f"{box_only[0]}'s label file); segmentation validation needs polygon rows "
            "'class x1 y1 x2 y2 x3 y3 ...'. Use a segmentation dataset or validate a detection model.")


def evaluation_data(config, model) -> EvaluationData:
    """As for detection, and every labelled image of the split must have polygon labels."""
    data = detect.evaluation_data(config, model)
    refuse_box_only(data.loader.dataset.labels, data.source, config.split)
    return data


@dataclass
class SegmentationResult(detect.DetectionResult):
    """A validation result with mask metrics: ``box`` and ``seg`` are :class:`DetectionSummary` of the same
    detections scored by box IoU and by mask IoU (``metrics.seg.map`` as in YOLOv8)."""

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


class SegmentationEvaluator(detect.DetectionEvaluator):
    """Scores boxes as :class:`~yolo8.tasks.detect.DetectionEvaluator` does and masks by mask IoU. Batches must
    carry a polygon per label (``Batch.segments``). save_json writes the box results only; crowd regions are
    not used (they are boxes, masks cannot be matched to them)."""

    def __init__(self, names: dict, save_dir: Path | None = None, save_json: bool = False,
                 category_ids: list[int] | None = None, single_cls: bool = False):
        super().__init__(names, save_dir, save_json, category_ids, single_cls, use_crowd=False)
        self.mask_metrics = MaskMetrics(len(self.names), self.names)

    def update(self, batch, index: int, fields: dict, input_shape: tuple[int, int]) -> None:
        rows = int((batch.targets[:, 0] == index).sum())
        if rows and len(batch.segments[index]) != rows:
            raise ValueError(f"{batch.paths[index]}: {rows} labels but {len(batch.segments[index])} polygons; "
                             "segmentation validation needs a polygon per label.")
        super().update(batch, index, fields, input_shape)
        gt_masks = ground_truth_masks(batch, index, input_shape)
        gt_areas = torch.from_numpy(gt_masks.sum(axis=(1, 2), dtype=np.float64))  # (m, h0, w0) -> (m,)
        gt_masks = torch.from_numpy(gt_masks).to(fields["boxes"].device)
        ious, areas = [torch.zeros((0, len(gt_masks)), dtype=torch.float64)], [torch.zeros(0, dtype=torch.float64)]
        for masks in fields["masks"].chunks():
            iou, area = mask_iou_and_areas(masks, gt_masks, gt_areas)
            ious.append(iou.cpu())
            areas.append(area.cpu())
        found = fields["boxes"].cpu().numpy()
        self.mask_metrics.update(torch.cat(ious), torch.cat(areas), found[:, 4], found[:, 5], gt_areas,
                                 self.last_gt_classes, image_id=batch.paths[index])

    def finish(self, speed: dict, loss: np.ndarray | None, verbose: bool, plots: bool) -> SegmentationResult:
        box_summary, mask_summary = self.metrics.compute(), self.mask_metrics.compute()
        detect.warn_when_unlabelled(box_summary)
        if self.coco is not None:
            LOGGER.info("COCO JSON (boxes): %s, %s", *self.coco.write(self.save_dir))
        LOGGER.info(format_table(box_summary, mask_summary, verbose))
        if self.save_dir is not None and plots:
            detect.plot_curves(box_summary, self.names, self.save_dir, self.confusion, prefix="Box")
            detect.plot_curves(mask_summary, self.names, self.save_dir, None, prefix="Mask")
        return SegmentationResult(box_summary, speed, self.confusion.matrix, loss, self.save_dir, self.names,
                                  seg=mask_summary)

    def plot_batch(self, batch, batch_index: int, predictions: list[dict], label_images=None,
                   prediction_images=None) -> None:
        """As detection's, with the masks tinted in their class colour under the boxes."""
        pred_masks, pred_classes = [], []
        for fields in predictions:
            shown = fields["boxes"][:, 4] >= PLOT_CONF
            pred_masks.append(fields["masks"].input_masks(shown).cpu())
            pred_classes.append(fields["boxes"][shown, 5].long().cpu())
        super().plot_batch(batch, batch_index, predictions, label_images=label_mask_images(batch),
                           prediction_images=tint_masks(batch.images, pred_masks, pred_classes))


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


def format_table(box: DetectionSummary, seg: DetectionSummary, per_class: bool) -> str:
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
        lines += detect.coco_lines(box, "box ") + detect.coco_lines(seg, "mask ")
    return "\n".join(lines)
