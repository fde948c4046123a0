"""TaskAlignedAssigner on a constructed scene with hand-computed outcomes."""

import math

import pytest
import torch

from yolo8.losses.assigner import TaskAlignedAssigner, anchors_inside_boxes

# A 5x5 grid of anchor points at 4, 12, 20, 28, 36 (stride 8) and three classes.
COORDS = (4.0, 12.0, 20.0, 28.0, 36.0)
GT0 = (0.0, 0.0, 24.0, 24.0)  # class 1, contains the 3x3 anchors with x, y in {4, 12, 20}
GT1 = (16.0, 16.0, 40.0, 40.0)  # class 2, contains the 3x3 anchors with x, y in {20, 28, 36}


def anchor_index(x, y):
    return COORDS.index(y) * 5 + COORDS.index(x)


A, C, D = anchor_index(4, 4), anchor_index(20, 20), anchor_index(28, 28)


def scene():
    """One image; every anchor predicts a 2x2 box around itself with score 0.1, except:
    A predicts GT0 exactly (score 0.81 for class 1); C (inside both gts) predicts (12, 12, 36, 36)
    (scores 0.64 class 1, 0.25 class 2); D predicts (20, 20, 36, 36) (score 0.36 class 2)."""
    ys, xs = torch.meshgrid(torch.tensor(COORDS), torch.tensor(COORDS), indexing="ij")
    points = torch.stack((xs, ys), -1).view(-1, 2).double()  # (25, 2)
    pred_boxes = torch.cat((points - 1, points + 1), -1)
    pred_boxes[A] = torch.tensor(GT0)
    pred_boxes[C] = torch.tensor((12.0, 12.0, 36.0, 36.0))
    pred_boxes[D] = torch.tensor((20.0, 20.0, 36.0, 36.0))
    scores = torch.full((25, 3), 0.1, dtype=torch.float64)
    scores[A, 1] = 0.81
    scores[C, 1], scores[C, 2] = 0.64, 0.25
    scores[D, 2] = 0.36
    gt_labels = torch.tensor([[[1.0], [2.0]]])
    gt_boxes = torch.tensor([[GT0, GT1]], dtype=torch.float64)
    gt_mask = torch.ones(1, 2, 1)
    return scores[None], pred_boxes[None], points, gt_labels, gt_boxes, gt_mask


def test_inside_is_strict():
    points = torch.tensor([[0.0, 5.0], [5.0, 5.0], [10.0, 5.0], [9.9, 0.1]])
    inside = anchors_inside_boxes(points, torch.tensor([[[0.0, 0.0, 10.0, 10.0]]]))
    assert inside.tolist() == [[[False, True, False, True]]]


def test_constructed_scene():
    # top_k=2: GT0 ranks A (metric 0.9) then C (0.8 * 0.0317^6); GT1 ranks C then D.
    # C is claimed by both and goes to GT1, where its CIoU (0.5115) beats GT0's (0.0317).
    assigner = TaskAlignedAssigner(top_k=2, num_classes=3)
    labels, target_boxes, target_scores, foreground, gt_index = assigner(*scene())

    assert foreground[0].nonzero().flatten().tolist() == sorted([A, C, D])
    expected_labels = torch.full((25,), 3)
    expected_labels[A], expected_labels[C], expected_labels[D] = 1, 2, 2
    assert labels[0].tolist() == expected_labels.tolist()
    assert gt_index[0, A] == 0 and gt_index[0, C] == 1 and gt_index[0, D] == 1
    assert target_boxes[0, A].tolist() == list(GT0)
    assert target_boxes[0, C].tolist() == list(GT1) and target_boxes[0, D].tolist() == list(GT1)
    assert (target_boxes[0, ~foreground[0]] == 0).all()

    # Normalisation: metric / max metric of the gt * max CIoU of the gt.
    ciou_c = 400 / 752 - 32 / 1568  # C vs GT1: IoU - centre distance term, equal aspect
    ciou_d = 256 / 576  # D vs GT1: concentric, same aspect
    metric_c = math.sqrt(0.25) * ciou_c**6
    metric_d = math.sqrt(0.36) * ciou_d**6
    expected_scores = torch.zeros(25, 3, dtype=torch.float64)
    expected_scores[A, 1] = 1.0  # its own gt's best anchor with CIoU 1
    expected_scores[C, 2] = ciou_c
    expected_scores[D, 2] = metric_d / metric_c * ciou_c
    assert expected_scores[D, 2].item() == pytest.approx(0.26414, abs=1e-5)
    assert torch.allclose(target_scores[0], expected_scores, atol=1e-6)


def test_anchor_in_top_k_of_one_gt_only_stays_there():
    # top_k=1: GT0 takes A only, GT1 takes C only; no conflicts.
    labels, _, target_scores, foreground, gt_index = TaskAlignedAssigner(top_k=1, num_classes=3)(*scene())
    assert foreground[0].nonzero().flatten().tolist() == sorted([A, C])
    assert gt_index[0, C] == 1 and labels[0, C] == 2
    assert target_scores[0, C, 2].item() == pytest.approx(400 / 752 - 32 / 1568, abs=1e-6)


def test_padding_and_empty_image_in_batch():
    scores, pred_boxes, points, gt_labels, gt_boxes, gt_mask = scene()
    # image 0: the scene plus a padding row; image 1: no objects (only padding rows, garbage values).
    scores2 = torch.cat((scores, scores))
    pred_boxes2 = torch.cat((pred_boxes, pred_boxes))
    gt_labels2 = torch.tensor([[[1.0], [2.0], [0.0]], [[7.0], [0.0], [0.0]]])
    padding_box = torch.tensor([[0.0, 0.0, 40.0, 40.0]], dtype=torch.float64)
    gt_boxes2 = torch.stack((torch.cat((gt_boxes[0], padding_box)), torch.cat((gt_boxes[0], padding_box))))
    gt_mask2 = torch.tensor([[[1.0], [1.0], [0.0]], [[0.0], [0.0], [0.0]]])
    assigner = TaskAlignedAssigner(top_k=2, num_classes=3)
    batched = assigner(scores2, pred_boxes2, points, gt_labels2, gt_boxes2, gt_mask2)
    alone = assigner(scores, pred_boxes, points, gt_labels, gt_boxes, gt_mask)
    for batched_field, alone_field in zip(batched, alone):
        assert torch.equal(batched_field[0], alone_field[0])
    assert not batched.foreground_mask[1].any()
    assert (batched.target_scores[1] == 0).all()
    assert (batched.target_labels[1] == 3).all()


def test_batch_without_any_object():
    scores, pred_boxes, points, *_ = scene()
    assignment = TaskAlignedAssigner(top_k=10, num_classes=3)(
        scores, pred_boxes, points, torch.zeros(1, 0, 1), torch.zeros(1, 0, 4), torch.zeros(1, 0, 1)
    )
    labels, target_boxes, target_scores, foreground, gt_index = assignment
    assert labels.shape == (1, 25) and (labels == 3).all()
    assert target_boxes.shape == (1, 25, 4) and target_scores.shape == (1, 25, 3)
    assert not foreground.any() and (target_scores == 0).all() and (gt_index == 0).all()


def test_top_k_larger_than_anchor_count():
    scores, pred_boxes, points, gt_labels, gt_boxes, gt_mask = scene()
    assignment = TaskAlignedAssigner(top_k=100, num_classes=3)(scores, pred_boxes, points, gt_labels, gt_boxes, gt_mask)
    # every anchor inside a gt is positive; nothing outside both boxes is
    inside_any = anchors_inside_boxes(points, gt_boxes).any(1)[0]
    assert torch.equal(assignment.foreground_mask[0], inside_any)


def test_contested_anchor_goes_to_the_containing_gt_with_highest_overlap():
    # Anchors X (10, 10), Y (5, 5), Z (50, 50); X and Y both predict (0, 0, 20, 20).
    # GT0 = (0, 0, 20, 20) ranks Y first (class-0 score 0.64 vs 0.36); GT1 = (0, 0, 40, 20) and
    # GT2 = (0, 0, 20, 40) both rank X first. X is contested by GT1 and GT2 but lies in GT0 too,
    # where its CIoU is 1, so X goes to GT0 although GT0's top 1 is Y. Z is outside every box.
    points = torch.tensor([[10.0, 10.0], [5.0, 5.0], [50.0, 50.0]])
    pred_boxes = torch.tensor([[[0.0, 0.0, 20.0, 20.0], [0.0, 0.0, 20.0, 20.0], [45.0, 45.0, 55.0, 55.0]]])
    scores = torch.tensor([[[0.36, 0.5, 0.5], [0.64, 0.1, 0.1], [0.9, 0.9, 0.9]]])
    gt_boxes = torch.tensor([[[0.0, 0.0, 20.0, 20.0], [0.0, 0.0, 40.0, 20.0], [0.0, 0.0, 20.0, 40.0]]])
    gt_labels = torch.tensor([[[0.0], [1.0], [2.0]]])
    assignment = TaskAlignedAssigner(top_k=1, num_classes=3)(scores, pred_boxes, points, gt_labels, gt_boxes, torch.ones(1, 3, 1))
    assert assignment.foreground_mask[0].tolist() == [True, True, False]
    assert assignment.target_gt_index[0].tolist() == [0, 0, 0]
    assert assignment.target_labels[0].tolist() == [0, 0, 3]
    # GT0's positives are now X and Y: Y has the max metric (sqrt 0.64), X gets sqrt(0.36) / sqrt(0.64).
    expected = torch.tensor([[0.75, 0, 0], [1.0, 0, 0], [0, 0, 0]])
    assert torch.allclose(assignment.target_scores[0], expected, atol=1e-6)
