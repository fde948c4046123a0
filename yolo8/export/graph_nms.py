"""NMS inside an exported graph (``nms=True``), so onnxruntime or OpenVINO alone returns final detections.

The rule is the predict rule of :func:`yolo8.ops.nms.non_max_suppression` (best class per anchor, score strictly
above ``conf``, per-class NMS at ``iou`` by the class-offset trick, at most ``max_det`` per image, highest
score first). In ONNX it is one ``NonMaxSuppression`` node over the whole batch, then a top-k per image, so
the batch axis may stay dynamic; eagerly (and while tracing) torchvision computes the same selection.
"""

from __future__ import annotations

import torch
import torchvision
from torch import nn

from yolo8.ops.boxes import xywh_to_xyxy

MAX_WH = 7680  # class offset in pixels: more than any image side, as in the Python NMS


class _NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` (one class): boxes (B, A, 4) xyxy, scores (B, 1, A) -> selected (N, 3) int64
    rows (batch index, 0, anchor index)."""

    @staticmethod
    def forward(ctx, boxes, scores, max_det: int, iou: float, conf: float):
        selected = []
        for index, (image_boxes, image_scores) in enumerate(zip(boxes, scores[:, 0])):
            candidates = torch.nonzero(image_scores > conf).flatten()
            keep = torchvision.ops.nms(image_boxes[candidates], image_scores[candidates], iou)[:max_det]
            anchors = candidates[keep]
            selected.append(torch.stack((torch.full_like(anchors, index), torch.zeros_like(anchors), anchors), 1))
        return torch.cat(selected) if selected else torch.zeros((0, 3), dtype=torch.int64)

    @staticmethod
    def symbolic(g, boxes, scores, max_det: int, iou: float, conf: float):
        return g.op("NonMaxSuppression", boxes, scores,
                    g.op("Constant", value_t=torch.tensor([max_det], dtype=torch.int64)),
                    g.op("Constant", value_t=torch.tensor([iou], dtype=torch.float32)),
                    g.op("Constant", value_t=torch.tensor([conf], dtype=torch.float32)))


class GraphNMS(nn.Module):
    """Decoded detections -> final rows per image.

    Args:
        num_classes: class score rows after the 4 box rows; the rows after them (mask coefficients) are carried.
        conf: keep a box whose best class score is strictly above this.
        iou: suppress a box whose IoU with a kept higher-scoring box of the same class is above this.
        max_det: rows per image in the output (padding rows are all zero).

    Input (B, 4 + nc + nm, A) boxes xywh in input pixels; output (B, max_det, 6 + nm): x1, y1, x2, y2, score,
    class (float), mask coefficients; highest score first, zero rows after the last detection.
    """

    def __init__(self, num_classes: int, conf: float = 0.25, iou: float = 0.7, max_det: int = 300):
        super().__init__()
        self.num_classes, self.conf, self.iou, self.max_det = num_classes, float(conf), float(iou), int(max_det)

    def forward(self, decoded: torch.Tensor) -> torch.Tensor:
        # float32 whatever the export's precision: the class offsets (class x MAX_WH) overflow float16 past class 8
        decoded = decoded.float()
        predictions = decoded.transpose(1, 2)  # (B, 4 + nc + nm, A) -> (B, A, 4 + nc + nm)
        boxes = xywh_to_xyxy(predictions[..., :4])
        scores, classes = predictions[..., 4:4 + self.num_classes].max(-1)  # (B, A) each
        classes = classes.to(boxes.dtype)
        rows = torch.cat((boxes, scores.unsqueeze(-1), classes.unsqueeze(-1), predictions[..., 4 + self.num_classes:]), -1)
        shifted = boxes + classes.unsqueeze(-1) * MAX_WH  # classes never suppress each other
        selected = _NonMaxSuppression.apply(shifted, scores.unsqueeze(1), self.max_det, self.iou, self.conf)
        image_of, anchor_of = selected[:, 0], selected[:, 2]  # (N,) each
        picked = rows[image_of, anchor_of]  # (N, 6 + nm)
        batch = decoded.shape[0]
        # (B, N): each selected row's score in its own image's row, -1 elsewhere; then -1 padding so top-k finds
        # max_det columns even when fewer rows were selected
        mine = image_of.unsqueeze(0) == torch.arange(batch, device=decoded.device).unsqueeze(1)
        table = torch.where(mine, picked[:, 4].unsqueeze(0), torch.full_like(mine, -1, dtype=picked.dtype))
        padding = torch.full((batch, self.max_det), -1.0, dtype=picked.dtype, device=decoded.device)
        values, order = torch.cat((table, padding), 1).topk(self.max_det, dim=1)  # (B, max_det) each
        padded_rows = torch.cat((picked, torch.zeros((self.max_det, picked.shape[1]), dtype=picked.dtype,
                                                     device=decoded.device)), 0)  # (N + max_det, 6 + nm)
        return padded_rows[order] * (values >= 0).unsqueeze(-1).to(picked.dtype)  # (B, max_det, 6 + nm)
