"""IoU family on hand-computed box pairs."""

import math

import pytest
import torch

from yolo8.ops.iou import bbox_iou, pairwise_iou


def boxes(*values):
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("kind", ["iou", "giou", "diou", "ciou"])
def test_identical_boxes_give_one(kind):
    box = boxes(3.0, 4.0, 10.0, 20.0)
    assert bbox_iou(box, box, kind=kind).item() == pytest.approx(1.0, abs=1e-6)


def test_disjoint_boxes():
    # unit squares two apart on x: hull 3x1, union 2, centres 2 apart, hull diagonal^2 = 9 + 1
    first, second = boxes(0.0, 0.0, 1.0, 1.0), boxes(2.0, 0.0, 3.0, 1.0)
    assert bbox_iou(first, second, kind="iou").item() == pytest.approx(0.0, abs=1e-9)
    assert bbox_iou(first, second, kind="giou").item() == pytest.approx(-1 / 3, abs=1e-6)
    assert bbox_iou(first, second, kind="diou").item() == pytest.approx(-4 / 10, abs=1e-6)
    assert bbox_iou(first, second, kind="ciou").item() == pytest.approx(-4 / 10, abs=1e-6)  # same aspect: v = 0


def test_overlapping_pair_with_aspect_term():
    # 2x2 square at the origin and a 2x1 box shifted by 1 in x:
    # intersection 1, union 4 + 2 - 1 = 5, hull 3x2, centres (1, 1) and (2, 0.5)
    first, second = boxes(0.0, 0.0, 2.0, 2.0), boxes(1.0, 0.0, 3.0, 1.0)
    iou = 1 / 5
    giou = iou - (6 - 5) / 6
    diou = iou - 1.25 / 13
    v = 4 / math.pi**2 * (math.atan(2 / 1) - math.atan(2 / 2)) ** 2
    alpha = v / (v - iou + 1)
    ciou = diou - alpha * v
    assert ciou == pytest.approx(0.1017555, abs=1e-6)  # the hand-computed figure
    assert bbox_iou(first, second, kind="iou").item() == pytest.approx(iou, abs=1e-6)
    assert bbox_iou(first, second, kind="giou").item() == pytest.approx(giou, abs=1e-6)
    assert bbox_iou(first, second, kind="diou").item() == pytest.approx(diou, abs=1e-6)
    assert bbox_iou(first, second, kind="ciou").item() == pytest.approx(ciou, abs=1e-6)
    # symmetric in its arguments
    assert bbox_iou(second, first, kind="ciou").item() == pytest.approx(ciou, abs=1e-6)


def test_xywh_input_matches_xyxy():
    xyxy = boxes([0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 1.0])
    xywh = boxes([1.0, 1.0, 2.0, 2.0], [2.0, 0.5, 2.0, 1.0])
    for kind in ("iou", "giou", "diou", "ciou"):
        expected = bbox_iou(xyxy[0], xyxy[1], kind=kind)
        assert torch.allclose(bbox_iou(xywh[0], xywh[1], xywh=True, kind=kind), expected)


def test_broadcast_shape_and_pairwise():
    torch.manual_seed(0)
    top_left = torch.rand(3, 2) * 10
    first = torch.cat((top_left, top_left + 1 + torch.rand(3, 2) * 5), -1)
    top_left = torch.rand(5, 2) * 10
    second = torch.cat((top_left, top_left + 1 + torch.rand(5, 2) * 5), -1)
    elementwise = bbox_iou(first[:, None], second[None], kind="iou", eps=0)
    assert elementwise.shape == (3, 5)
    assert torch.allclose(elementwise, pairwise_iou(first, second), atol=1e-6)


def test_ciou_gradient_is_finite_and_alpha_is_constant():
    predicted = boxes(0.0, 0.0, 2.0, 2.0).requires_grad_()
    target = boxes(1.0, 0.0, 3.0, 1.0)
    bbox_iou(predicted, target, kind="ciou").backward()
    assert torch.isfinite(predicted.grad).all()
    # alpha treated as a constant: the gradient equals that of DIoU - alpha0 * v with alpha0 fixed
    reference = boxes(0.0, 0.0, 2.0, 2.0).requires_grad_()
    eps = 1e-7
    width, height = reference[2] - reference[0], reference[3] - reference[1] + eps
    v = 4 / math.pi**2 * (math.atan(2 / (1 + eps)) - torch.atan(width / height)) ** 2
    alpha0 = v.detach() / (v.detach() - bbox_iou(reference.detach(), target) + 1 + eps)
    (bbox_iou(reference, target, kind="diou") - alpha0 * v).backward()
    assert torch.allclose(predicted.grad, reference.grad, atol=1e-9)


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="kind='eiou'"):
        bbox_iou(boxes(0.0, 0.0, 1.0, 1.0), boxes(0.0, 0.0, 1.0, 1.0), kind="eiou")
