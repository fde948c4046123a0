"""Non-maximum suppression over decoded detector outputs.

The detector's decoded output is ``(B, 4 + num_classes + num_masks, A)``: rows 0-3 are boxes
(cx, cy, w, h) in input pixels, then one sigmoid score per class, then (segment task only)
``num_masks`` mask coefficients. NMS turns it into one ``(n, 6 + num_masks)`` tensor per image:
``x1, y1, x2, y2, confidence, class, mask coefficients…``, sorted by confidence, highest first.

``multi_label``: predict keeps only the best class of each anchor (one box per object); validation
passes ``multi_label=True`` so that every class scoring above ``conf_thres`` becomes its own
candidate, which recovers a little recall (mAP) at the cost of duplicate boxes of different classes.
"""

from __future__ import annotations

import torch
import torchvision

from yolo8.ops.boxes import xywh_to_xyxy


def non_max_suppression(
    prediction: torch.Tensor,
    conf_thres: float = 0.25,
    iou_thres: float = 0.7,
    classes: list[int] | None = None,
    agnostic: bool = False,
    multi_label: bool = False,
    max_det: int = 300,
    num_masks: int = 0,
    max_nms: int = 30000,
    max_wh: int = 7680,
) -> list[torch.Tensor]:
    """Per-image NMS on a decoded batch.

    Args:
        prediction: (B, 4 + nc + num_masks, A) decoded output, boxes xywh in pixels. A tuple or list
            (as the model's eval forward returns ``(decoded, raw)``) is accepted; its first item is used.
        conf_thres: keep candidates whose class score is strictly above this.
        iou_thres: suppress a box whose IoU with a higher-scoring kept box of the same class
            (any class when ``agnostic``) is above this.
        classes: keep only these class ids (None: all).
        agnostic: suppress across classes instead of within each class.
        multi_label: one candidate per (anchor, class) above the threshold instead of the best class only.
        max_det: keep at most this many detections per image (the highest scoring).
        num_masks: trailing rows of mask coefficients, carried through unchanged.
        max_nms: at most this many candidates (the highest scoring) enter torchvision's NMS.
        max_wh: per-class offset added to box coordinates so that one NMS call never lets boxes
            of different classes suppress each other; must exceed the largest image side.

    Returns:
        list of B tensors (n, 6 + num_masks): x1, y1, x2, y2 (pixels), confidence, class id (float), masks.
    """
    if isinstance(prediction, (list, tuple)):
        prediction = prediction[0]
    if not 0.0 <= conf_thres <= 1.0:
        raise ValueError(f"conf_thres={conf_thres} is invalid: use a confidence between 0.0 and 1.0.")
    if not 0.0 <= iou_thres <= 1.0:
        raise ValueError(f"iou_thres={iou_thres} is invalid: use an IoU between 0.0 and 1.0.")
    num_classes = prediction.shape[1] - 4 - num_masks
    if num_classes < 1:
        raise ValueError(
            f"prediction has {prediction.shape[1]} rows, too few for 4 box rows + {num_masks} mask rows "
            "and at least one class: pass the decoded output (B, 4 + nc + nm, A) and the right num_masks."
        )
    output = []
    for image_prediction in prediction:
        # (4 + nc + nm, A) -> (A, 4 + nc + nm): one row per anchor
        candidates = image_prediction.transpose(0, 1)
        candidates = candidates[candidates[:, 4 : 4 + num_classes].amax(dim=1) > conf_thres]
        output.append(
            _suppress_one_image(
                candidates, num_classes, conf_thres, iou_thres, classes, agnostic, multi_label, max_det, max_nms, max_wh
            )
        )
    return output


def _suppress_one_image(
    candidates: torch.Tensor,
    num_classes: int,
    conf_thres: float,
    iou_thres: float,
    classes: list[int] | None,
    agnostic: bool,
    multi_label: bool,
    max_det: int,
    max_nms: int,
    max_wh: int,
) -> torch.Tensor:
    """candidates (n, 4 + nc + nm) rows of one image, already above threshold -> (k, 6 + nm) detections."""
    boxes = xywh_to_xyxy(candidates[:, :4])
    scores = candidates[:, 4 : 4 + num_classes]
    masks = candidates[:, 4 + num_classes :]
    if multi_label:
        anchor_index, class_index = (scores > conf_thres).nonzero(as_tuple=True)
        confidence = scores[anchor_index, class_index]
    else:
        confidence, class_index = scores.max(dim=1)
        anchor_index = torch.arange(len(candidates), device=candidates.device)
    detections = torch.cat(
        (boxes[anchor_index], confidence[:, None], class_index[:, None].to(boxes.dtype), masks[anchor_index]), dim=1
    )
    if classes is not None:
        wanted = torch.tensor(classes, device=detections.device, dtype=detections.dtype)
        detections = detections[(detections[:, 5:6] == wanted).any(dim=1)]
    if len(detections) == 0:
        return detections
    if len(detections) > max_nms:
        detections = detections[detections[:, 4].argsort(descending=True)[:max_nms]]
    # shift each class into its own coordinate region so one NMS call acts per class
    offsets = detections[:, 5:6] * (0 if agnostic else max_wh)
    keep = torchvision.ops.nms(detections[:, :4] + offsets, detections[:, 4], iou_thres)
    return detections[keep[:max_det]]
