"""YOLOv8 detection loss: DFL by hand, an exactly-encoded scene, invariants and parity with the incumbent.

Parity fixtures (tests/fixtures/README.md): ``det_loss_batch2.json`` (targets and recorded losses),
``loss_batch_image{0,1}.png`` (the batch), ``ul_yolov8n_rand.pt`` (the weights), ``loss_random_batch16_incumbent.json``.
Recorded losses are compared relative to each loss value (tests/tolerance.py).
"""

import hashlib
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.tolerance import assert_losses_close
from yolo8.losses.detection import DetectionLoss, distribution_focal_loss, targets_to_padded

FIXTURES = Path(__file__).parent / "fixtures"
LOSS_NAMES = ("box", "cls", "dfl")
LOSS_BATCH_SHA256 = "fe18c5e62eb8b77266314b0da378c16324b2e834704b4839e0cccb262e8732ab"  # uint8 (2, 3, 320, 320)


def test_dfl_of_known_target():
    logits = torch.zeros(1, 4, 16)
    logits[0, :, 2], logits[0, :, 3] = 2.0, 1.0
    target = torch.full((1, 4), 2.3)
    log_sum_exp = math.log(14 + math.e**2 + math.e)
    expected = 0.7 * (log_sum_exp - 2.0) + 0.3 * (log_sum_exp - 1.0)
    assert distribution_focal_loss(logits, target).item() == pytest.approx(expected, abs=1e-5)


def test_dfl_is_the_mean_over_sides():
    torch.manual_seed(0)
    logits, target = torch.randn(3, 4, 16), torch.rand(3, 4) * 14.9
    per_side = []
    for side in range(4):
        left = target[:, side].floor()
        per_side.append(
            F.cross_entropy(logits[:, side], left.long(), reduction="none") * (left + 1 - target[:, side])
            + F.cross_entropy(logits[:, side], left.long() + 1, reduction="none") * (target[:, side] - left)
        )
    assert torch.allclose(distribution_focal_loss(logits, target), torch.stack(per_side, 1).mean(1), atol=1e-6)


def test_targets_to_padded():
    targets = torch.tensor([[1, 3, 0.5, 0.5, 0.5, 0.25], [0, 1, 0.25, 0.25, 0.5, 0.5], [1, 2, 0.5, 0.5, 1.0, 1.0]])
    labels, boxes, mask = targets_to_padded(targets, batch_size=3, image_size=(40, 80))
    assert labels.shape == (3, 2, 1) and boxes.shape == (3, 2, 4) and mask.shape == (3, 2, 1)
    assert mask[..., 0].tolist() == [[1, 0], [1, 1], [0, 0]]
    assert labels[..., 0].tolist() == [[1, 0], [3, 2], [0, 0]]
    assert boxes[0, 0].tolist() == [0.0, 0.0, 40.0, 20.0]
    assert boxes[1, 0].tolist() == [20.0, 15.0, 60.0, 25.0] and boxes[1, 1].tolist() == [0.0, 0.0, 80.0, 40.0]


def encoded_scene(batch_size=1):
    """One 4x4 level (stride 8, 32x32 image), 2 classes, one gt of class 1 at (2, 6, 22, 30) px.

    The 9 anchors inside the gt carry DFL logits log(w_left), log(w_right) on the two bins around
    their exact distance to the gt (all distances end in .25 or .75); class logits are 0 everywhere.
    """
    raw = torch.zeros(batch_size, 4 * 16 + 2, 4, 4)
    gt_grid = torch.tensor([0.25, 0.75, 2.75, 3.75])  # the gt in grid units
    for row in range(4):
        for column in range(4):
            x, y = column + 0.5, row + 0.5
            if not (gt_grid[0] < x < gt_grid[2] and gt_grid[1] < y < gt_grid[3]):
                continue
            distances = (x - gt_grid[0], y - gt_grid[1], gt_grid[2] - x, gt_grid[3] - y)
            for side, distance in enumerate(distances):
                left = math.floor(distance)
                bin_logits = torch.full((16,), -1e4)
                bin_logits[left], bin_logits[left + 1] = math.log(left + 1 - distance), math.log(distance - left)
                raw[:, side * 16 : (side + 1) * 16, row, column] = bin_logits
    targets = torch.tensor([[image, 1, 12 / 32, 18 / 32, 20 / 32, 24 / 32] for image in range(batch_size)])
    return raw, targets


def test_exactly_encoded_scene():
    raw, targets = encoded_scene()
    loss = DetectionLoss(num_classes=2, strides=(8,))
    total, items = loss([raw], targets)
    # 9 foreground anchors, each with target score 1 (equal metrics, CIoU 1): target_scores_sum = 9.
    expected_box = 0.0  # predictions are exactly the gt
    expected_cls = 16 * 2 * math.log(2) / 9  # BCE(logit 0, y) = log 2 for any y, over 16 anchors x 2 classes
    expected_dfl = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))  # CE against the encoded distribution
    expected = torch.tensor([expected_box * 7.5, expected_cls * 0.5, expected_dfl * 1.5])
    assert torch.allclose(items, expected, atol=1e-5)
    assert total.item() == pytest.approx(expected.sum().item(), abs=1e-5)


def test_duplicated_images_double_the_total_only():
    raw, targets = encoded_scene(batch_size=1)
    raw2, targets2 = encoded_scene(batch_size=2)
    loss = DetectionLoss(num_classes=2, strides=(8,))
    total, items = loss([raw], targets)
    total2, items2 = loss([raw2], targets2)
    assert torch.allclose(items, items2, atol=1e-6)
    assert total2.item() == pytest.approx(2 * total.item(), rel=1e-6)


def random_outputs(batch_size=2, num_classes=3, size=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    shapes = [(size // stride, size // stride) for stride in (8, 16, 32)]
    return [torch.randn(batch_size, 64 + num_classes, *shape, generator=generator).requires_grad_() for shape in shapes]


def test_empty_image_adds_only_background_classification():
    raw = random_outputs()
    targets = torch.tensor([[0, 1, 0.5, 0.5, 0.4, 0.6], [0, 2, 0.3, 0.3, 0.2, 0.2]])
    loss = DetectionLoss(num_classes=3)
    _, items_batch = loss(raw, targets)
    first_image = [level[:1] for level in raw]
    _, items_first = loss(first_image, targets)
    # Same foreground (image 1 has no objects), so box and DFL match and the classification
    # sum gains image 1's all-background BCE, over the same target_scores_sum.
    assert items_first[0] > 0
    assert torch.allclose(items_batch[[0, 2]], items_first[[0, 2]], atol=1e-6)
    class_logits_image1 = torch.cat([level[1, 64:].flatten(1) for level in raw], 1)
    background_bce = F.binary_cross_entropy_with_logits(
        class_logits_image1, torch.zeros_like(class_logits_image1), reduction="sum"
    )
    target_scores_sum = assign(loss, first_image, targets).target_scores.sum().clamp(min=1)
    expected_cls = (items_first[1] / 0.5 * target_scores_sum + background_bce) / target_scores_sum * 0.5
    assert items_batch[1].item() == pytest.approx(expected_cls.item(), rel=1e-5)


def assign(loss, raw, targets):
    """Run the loss's assigner the way the loss does (for inspecting the assignment)."""
    from yolo8.ops.anchors import dist_to_bbox, make_anchors
    from yolo8.ops.dfl import anchor_major_bins, expected_distance, flatten_levels

    batch_size = raw[0].shape[0]
    detached = [level.detach() for level in raw]
    box_logits, class_logits = flatten_levels(detached, 16, loss.num_classes)  # (B, 64, A), (B, C, A)
    shapes = [level.shape[2:] for level in raw]
    points, strides = make_anchors(shapes, loss.strides)
    distances = expected_distance(anchor_major_bins(box_logits, 16))  # (B, 64, A) -> (B, A, 4, 16) -> (B, A, 4)
    boxes = dist_to_bbox(distances, points, xywh=False) * strides
    image_size = (shapes[0][0] * loss.strides[0], shapes[0][1] * loss.strides[0])
    gts = targets_to_padded(targets, batch_size, image_size)
    return loss.assigner(class_logits.permute(0, 2, 1).sigmoid(), boxes, points * strides, *gts)


def test_no_objects_in_batch_and_gradients():
    raw = random_outputs()
    loss = DetectionLoss(num_classes=3)
    total, items = loss(raw, torch.zeros(0, 6))
    assert items[0] == 0 and items[2] == 0
    class_logits = torch.cat([level[:, 64:].flatten(1) for level in raw], 1)
    expected_cls = F.binary_cross_entropy_with_logits(class_logits, torch.zeros_like(class_logits), reduction="sum")
    assert items[1].item() == pytest.approx(0.5 * expected_cls.item(), rel=1e-6)
    total.backward()
    assert all(level.grad is not None and torch.isfinite(level.grad).all() for level in raw)


def test_gradients_reach_box_and_class_channels():
    raw = random_outputs()
    targets = torch.tensor([[0, 1, 0.5, 0.5, 0.4, 0.6], [1, 0, 0.3, 0.7, 0.3, 0.2], [1, 2, 0.7, 0.3, 0.5, 0.5]])
    total, items = DetectionLoss(num_classes=3)(raw, targets)
    total.backward()
    assert torch.isfinite(items).all() and (items > 0).all()
    grads = torch.cat([level.grad.flatten(2) for level in raw], 2)  # (B, 67, A)
    assert torch.isfinite(grads).all()
    assert grads[:, :64].abs().sum() > 0 and grads[:, 64:].abs().sum() > 0


def test_rejects_wrong_channel_count():
    with pytest.raises(ValueError, match="num_classes"):
        DetectionLoss(num_classes=80)(random_outputs(num_classes=3), torch.zeros(0, 6))


def fixture_targets():
    """Targets (M, 6) = (batch_idx, cls, cx, cy, w, h normalised) and the incumbent's recorded losses."""
    record = json.loads((FIXTURES / "det_loss_batch2.json").read_text())
    targets = record["targets"]
    flat = torch.cat(
        (
            torch.tensor(targets["batch_idx"])[:, None],
            torch.tensor(targets["cls"])[:, None],
            torch.tensor(targets["bboxes_xywhn"]),
        ),
        1,
    )
    return flat, record["loss"]


def fixture_images():
    """The recorded batch, (2, 3, 320, 320) uint8 RGB, from its two lossless PNGs (stored BGR by OpenCV)."""
    images = np.stack([cv2.imread(str(FIXTURES / f"loss_batch_image{index}.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
                       for index in range(2)])  # (2, H, W, 3) BGR -> RGB
    images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))  # (2, H, W, 3) -> (2, 3, H, W)
    assert hashlib.sha256(images.tobytes()).hexdigest() == LOSS_BATCH_SHA256  # the recorded array, bit for bit
    return images


def assert_matches_record(raw, recorded, mode):
    """Each item within 1e-4 of its recorded value: measured up to 1.2e-5 (eval cls, 145) across vector units,
    up to 1e-6 for the others; a loss term that is wrong moves by far more."""
    loss = DetectionLoss(num_classes=80)
    targets, _ = fixture_targets()
    total, items = loss(raw, targets)
    expected_items = [recorded["items_weighted"][name] for name in ("box_loss", "cls_loss", "dfl_loss")]
    assert_losses_close(items, expected_items, rtol=1e-4, names=LOSS_NAMES, name=f"{mode} items")
    assert_losses_close(total, recorded["loss_total_times_batch"], rtol=1e-4, name=f"{mode} total")
    assert_losses_close(total / 2, sum(expected_items), rtol=1e-4, name=f"{mode} total / batch")
    assert int(assign(loss, raw, targets).foreground_mask.sum()) == recorded["num_foreground_anchors"]


def test_parity_with_fixture_model():
    """The incumbent's yolov8n weights (ul_yolov8n_rand.pt) on the recorded batch, eval mode (BN running
    stats) and train mode (BN batch stats) -> the recorded loss items, total and 32 foreground anchors."""
    from yolo8.checkpoints.ultralytics_checkpoint import read_ultralytics_checkpoint
    from yolo8.nn.model import build_model

    model = build_model("yolov8n.yaml")
    model.load_state_dict(read_ultralytics_checkpoint(FIXTURES / "ul_yolov8n_rand.pt").state_dict)
    images = torch.from_numpy(fixture_images()).float() / 255
    _, recorded = fixture_targets()
    with torch.no_grad():
        # eval first: the train-mode pass updates the BN running stats the eval pass must not see
        _, eval_raw = model.eval()(images)
        train_raw = model.train()(images)
    assert_matches_record(train_raw, recorded["train"], "train")
    assert_matches_record(eval_raw, recorded["eval"], "eval")


def test_rejects_batch_index_outside_the_batch():
    targets = torch.tensor([[2, 0, 0.5, 0.5, 0.1, 0.1]])
    with pytest.raises(ValueError, match="batch_idx"):
        DetectionLoss(num_classes=3)(random_outputs(), targets)


def test_half_precision_outputs_give_a_float32_loss():
    raw = [level.detach().half().requires_grad_() for level in random_outputs()]
    targets = torch.tensor([[0, 1, 0.5, 0.5, 0.4, 0.6]])
    total, items = DetectionLoss(num_classes=3)(raw, targets)
    reference_total, reference_items = DetectionLoss(num_classes=3)([level.float() for level in raw], targets)
    assert total.dtype == torch.float32 and torch.allclose(items, reference_items)
    total.backward()
    assert raw[0].grad.dtype == torch.float16 and torch.isfinite(raw[0].grad).all()


def random_batch():
    """16 images of seeded random head outputs (320 px, nc=8) and 1-8 random, often overlapping, gts each."""
    generator = torch.Generator().manual_seed(0)
    batch_size, num_classes = 16, 8
    raw = [torch.randn(batch_size, 64 + num_classes, 320 // s, 320 // s, generator=generator) for s in (8, 16, 32)]
    rows = []
    for image in range(batch_size):
        count = 1 + image % 8
        centres = torch.rand(count, 2, generator=generator) * 0.6 + 0.2
        sizes = torch.rand(count, 2, generator=generator) * 0.3 + 0.05
        classes = torch.randint(0, num_classes, (count, 1), generator=generator).float()
        rows.append(torch.cat([torch.full((count, 1), float(image)), classes, centres, sizes], 1))
    return raw, torch.cat(rows)


def test_parity_on_crowded_random_batch():
    """685 foreground anchors, several contested by overlapping gts: the incumbent's recorded loss,
    to 1e-5 (resolving contested anchors among claimants only would be off by ~4e-4)."""
    record = json.loads((FIXTURES / "loss_random_batch16_incumbent.json").read_text())
    raw, targets = random_batch()
    assert targets.sum().item() == pytest.approx(record["targets_checksum"], rel=1e-6)
    # torch.randn rounds differently by vector unit (AVX2 vs scalar/AVX-512 Box-Muller); that moves the sum of
    # 1.2 million values by ~0.04 (measured), within one float32 rounding of each summand: 1e-7 x sum |x|
    # (0.19). Another seed moves it by ~1000.
    raw_sum = sum(level.sum() for level in raw).item()
    assert abs(raw_sum - record["raw_checksum"]) <= 1e-7 * sum(level.abs().sum() for level in raw).item()
    total, items = DetectionLoss(num_classes=8)(raw, targets)
    # measured 1.2e-7 relative, also with the other vector unit's random outputs
    assert_losses_close(items, record["items_weighted"], rtol=1e-5, names=LOSS_NAMES, name="items")
    assert_losses_close(total, record["loss_total_times_batch"], rtol=1e-5, name="total")
