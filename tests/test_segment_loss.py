"""YOLOv8 segmentation loss: the mask term by hand, the two mask layouts, and parity with the incumbent.

Parity fixture (tests/fixtures/README.md): ``seg_loss_batch2.json`` (targets, polygons and the incumbent's four loss
items in train and eval mode, both mask layouts), ``seg_loss_masks_{overlap,separate}.npy`` (the ground-truth
masks its collate produced), the batch images ``loss_batch_image{0,1}.png`` and ``ul_yolov8n-seg_rand.pt``.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.test_detection_loss import fixture_images
from tests.tolerance import assert_losses_close
from yolo8.data.transforms.masks import overlap_masks, polygon_masks
from yolo8.losses.segmentation import SegmentationLoss, instance_mask_loss, masks_per_target
from yolo8.ops.masks import inside_boxes

FIXTURES = Path(__file__).parent / "fixtures"
LOSS_NAMES = ("box_loss", "seg_loss", "cls_loss", "dfl_loss")


def test_inside_boxes_follows_the_pixel_index_rule_of_crop_masks():
    # columns c with 0.5 <= c < 2.0 -> c = 1; rows r with 0 <= r < 2.5 -> r = 0, 1, 2
    boxes = torch.tensor([[0.5, 0.0, 2.0, 2.5], [1.0, 1.0, 4.0, 3.0]])
    inside = inside_boxes(boxes, 4, 4)
    expected = torch.zeros(2, 4, 4, dtype=torch.bool)
    expected[0, 0:3, 1] = True
    expected[1, 1:3, 1:4] = True
    assert torch.equal(inside, expected)
    from yolo8.ops.masks import crop_masks

    assert torch.equal(crop_masks(torch.ones(2, 4, 4), boxes).bool(), inside)


def test_instance_mask_loss_of_zero_logits():
    """Zero logits: BCE is ln 2 at every pixel; a 2x2 box of a 4x4 map keeps 4 of 16 pixels; area 1/4."""
    logits, gt = torch.zeros(1, 4, 4), torch.randint(0, 2, (1, 4, 4)).float()
    loss = instance_mask_loss(logits, gt, torch.tensor([[1.0, 1.0, 3.0, 3.0]]), torch.tensor([0.25]))
    assert loss.item() == pytest.approx(math.log(2) * 4 / 16 / 0.25, abs=1e-6)


def test_instance_mask_loss_by_hand():
    logits = torch.tensor([[[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]]])  # (1, 2, 3)
    gt = torch.tensor([[[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]])
    box = torch.tensor([[1.0, 0.0, 3.0, 2.0]])  # columns 1, 2; both rows
    inside = [(0, 1), (0, 2), (1, 1), (1, 2)]

    def bce(x, y):
        return -(y * math.log(1 / (1 + math.exp(-x))) + (1 - y) * math.log(1 - 1 / (1 + math.exp(-x))))

    expected = sum(bce(logits[0, r, c].item(), gt[0, r, c].item()) for r, c in inside) / 6 / 0.4
    loss = instance_mask_loss(logits, gt, box, torch.tensor([0.4]))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_overlap_and_separate_layouts_give_the_same_masks():
    torch.manual_seed(0)
    separate = torch.zeros(3, 8, 8, dtype=torch.uint8)
    separate[0, :6, :6] = 1  # large, image 0
    separate[1, 2:4, 2:4] = 1  # small, on top of it, image 0
    separate[2, 5:, 5:] = 1  # image 1
    targets = torch.tensor([[0, 0, 0.5, 0.5, 0.5, 0.5], [0, 1, 0.5, 0.5, 0.5, 0.5], [1, 2, 0.5, 0.5, 0.5, 0.5]])
    overlap = torch.zeros(2, 8, 8, dtype=torch.int16)
    overlap[0][separate[0].bool()] = 1
    overlap[0][separate[1].bool()] = 2
    overlap[1][separate[2].bool()] = 1
    from_overlap = masks_per_target(overlap, targets, overlap=True)
    assert torch.equal(from_overlap[2], separate[2])
    assert torch.equal(from_overlap[1], separate[1])
    # the large mask loses the pixels the small one covers, which is what the overlap layout means
    assert torch.equal(from_overlap[0], separate[0] & ~separate[1])


def fixture_record():
    return json.loads((FIXTURES / "seg_loss_batch2.json").read_text())


def fixture_targets(record):
    targets = record["targets"]
    return torch.tensor([[image, cls, *box] for image, cls, box in
                         zip(targets["batch_idx"], targets["cls"], targets["bboxes_xywhn"])])


def our_masks(record, overlap: bool) -> np.ndarray:
    """The fixture's polygons through our rasteriser at 1/4 of 320 px (the images are 320x320, unpadded)."""
    per_image = []
    for polygons in record["polygons_xyn"]:
        points = np.concatenate([np.asarray(polygon, np.float32) * 320 for polygon in polygons])
        owners = np.repeat(np.arange(len(polygons)), [len(polygon) for polygon in polygons])
        masks = polygon_masks(points, owners, len(polygons), 320, 320, ratio=4)
        if overlap:
            index_mask, order = overlap_masks(masks)
            assert order.tolist() == list(range(len(polygons)))  # the recorded targets already come by area
            per_image.append(index_mask[None])
        else:
            per_image.append(masks)
    return np.concatenate(per_image)


@pytest.mark.parametrize("layout", ["overlap", "separate"])
def test_rasterised_masks_equal_the_incumbents(layout):
    record = fixture_record()
    recorded = np.load(FIXTURES / f"seg_loss_masks_{layout}.npy")
    ours = our_masks(record, layout == "overlap")
    assert ours.shape == recorded.shape
    assert np.array_equal(ours.astype(np.int64), recorded.astype(np.int64))


@pytest.fixture(scope="module")
def fixture_model():
    from yolo8.checkpoints.ultralytics_checkpoint import read_ultralytics_checkpoint
    from yolo8.nn.model import build_model

    model = build_model("yolov8n-seg.yaml")
    model.load_state_dict(read_ultralytics_checkpoint(FIXTURES / "ul_yolov8n-seg_rand.pt").state_dict)
    return model.float()


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("layout", ["overlap", "separate"])
def test_parity_with_the_incumbent(fixture_model, mode, layout):
    """Our masks (from the polygons) and our loss on the recorded batch -> the incumbent's four items within 1e-3
    relative (measured: within 2e-7)."""
    record = fixture_record()
    images = torch.from_numpy(fixture_images()).float() / 255
    masks = torch.from_numpy(our_masks(record, layout == "overlap"))
    state = {key: value.clone() for key, value in fixture_model.state_dict().items()}
    fixture_model.train(mode == "train")
    try:
        with torch.no_grad():
            raw = fixture_model(images) if mode == "train" else fixture_model.forward_raw(images)
        total, items = SegmentationLoss(80, overlap=layout == "overlap")(raw, fixture_targets(record), masks)
    finally:
        fixture_model.load_state_dict(state)  # train mode moved the BN running stats
    recorded = record["loss"][f"{layout}_{mode}"]
    assert_losses_close(items, [recorded["items"][name] for name in LOSS_NAMES], rtol=1e-3, names=LOSS_NAMES)
    assert_losses_close(total, sum(recorded["loss_vector_times_batch"]), rtol=1e-3, name="total")


def test_no_foreground_gives_zero_mask_loss_with_gradients():
    loss = SegmentationLoss(3, strides=(8,))
    levels = [torch.randn(2, 64 + 3, 4, 4, requires_grad=True)]
    coefficients = torch.randn(2, 32, 16, requires_grad=True)
    prototypes = torch.randn(2, 32, 8, 8, requires_grad=True)
    total, items = loss((levels, coefficients, prototypes), torch.zeros(0, 6), torch.zeros(2, 8, 8))
    assert items[1].item() == 0.0
    total.backward()
    assert coefficients.grad is not None and prototypes.grad is not None


def test_masks_at_another_resolution_are_resized_to_the_prototypes():
    """mask_ratio 2 at a 32 px input gives 16x16 masks for 8x8 prototypes: same loss as the masks given at 8x8."""
    torch.manual_seed(1)
    loss = SegmentationLoss(2, strides=(4,), overlap=False)
    levels = [torch.randn(1, 64 + 2, 8, 8)]
    coefficients, prototypes = torch.randn(1, 32, 64), torch.randn(1, 32, 8, 8)
    targets = torch.tensor([[0, 1, 0.5, 0.5, 0.5, 0.5]])
    small = torch.zeros(1, 8, 8)
    small[0, 2:6, 2:6] = 1
    large = small.repeat_interleave(2, 1).repeat_interleave(2, 2)  # (1, 16, 16)
    _, from_small = loss((levels, coefficients, prototypes), targets, small)
    _, from_large = loss((levels, coefficients, prototypes), targets, large)
    assert torch.allclose(from_small, from_large)
    assert from_small[1] > 0


def test_the_loss_is_a_vectorised_sum_of_per_anchor_terms():
    """The batched mask term equals a plain per-anchor loop written from the definition."""
    torch.manual_seed(2)
    loss = SegmentationLoss(3, strides=(8,), overlap=False)
    levels = [torch.randn(2, 64 + 3, 6, 6)]
    coefficients, prototypes = torch.randn(2, 32, 36), torch.randn(2, 32, 12, 12)
    targets = torch.tensor([[0, 0, 0.3, 0.3, 0.4, 0.4], [0, 2, 0.7, 0.6, 0.5, 0.6], [1, 1, 0.5, 0.5, 0.6, 0.3]])
    masks = (torch.rand(3, 12, 12) > 0.5).float()
    _, items = loss((levels, coefficients, prototypes), targets, masks)  # float masks work too
    terms = loss.terms(levels, targets)
    assignment = terms.assignment
    expected = []
    counts = [2, 1]
    for image, anchor in zip(*assignment.foreground_mask.nonzero(as_tuple=True)):
        row = sum(counts[:image]) + int(assignment.target_gt_index[image, anchor])
        box = assignment.target_boxes[image, anchor] / 48  # input 48 px -> normalised
        logits = (coefficients[image, :, anchor] @ prototypes[image].view(32, -1)).view(12, 12)
        bce = F.binary_cross_entropy_with_logits(logits, masks[row], reduction="none")
        x1, y1, x2, y2 = (box * 12).tolist()
        keep = torch.zeros(12, 12)
        for r in range(12):
            for c in range(12):
                keep[r, c] = float(x1 <= c < x2 and y1 <= r < y2)
        expected.append((bce * keep).mean() / ((box[2] - box[0]) * (box[3] - box[1])))
    assert len(expected) > 3
    assert items[1].item() == pytest.approx(torch.stack(expected).mean().item() * 7.5, rel=1e-5)


def test_instance_mask_loss_equals_torch_bce_with_logits():
    torch.manual_seed(3)
    logits, gt = torch.randn(5, 6, 7) * 8, (torch.rand(5, 6, 7) > 0.5).to(torch.uint8)
    boxes = torch.tensor([[0.0, 0.0, 7.0, 6.0]]).repeat(5, 1)
    expected = F.binary_cross_entropy_with_logits(logits, gt.float(), reduction="none").mean(dim=(1, 2)) / 0.5
    assert torch.allclose(instance_mask_loss(logits, gt, boxes, torch.full((5,), 0.5)), expected, rtol=1e-6)


def test_rows_in_any_image_order_give_the_same_loss():
    """Targets whose rows are not grouped by image are sorted stably, the separate masks with them."""
    torch.manual_seed(4)
    levels = [torch.randn(2, 64 + 3, 6, 6)]
    coefficients, prototypes = torch.randn(2, 32, 36), torch.randn(2, 32, 12, 12)
    targets = torch.tensor([[0, 0, 0.3, 0.3, 0.4, 0.4], [0, 2, 0.7, 0.6, 0.5, 0.6], [1, 1, 0.5, 0.5, 0.6, 0.3]])
    masks = (torch.rand(3, 12, 12) > 0.5).to(torch.uint8)
    separate = SegmentationLoss(3, strides=(8,), overlap=False)
    _, grouped = separate((levels, coefficients, prototypes), targets, masks)
    shuffled = [2, 0, 1]
    _, scattered = separate((levels, coefficients, prototypes), targets[shuffled], masks[shuffled])
    assert torch.allclose(grouped, scattered)
    overlap = torch.zeros(2, 12, 12, dtype=torch.int16)  # image 0: rows 0, 1 (no overlap between them here)
    overlap[0][masks[0].bool()] = 1
    overlap[0][masks[1].bool() & ~masks[0].bool()] = 2
    overlap[1][masks[2].bool()] = 1
    _, from_overlap = SegmentationLoss(3, strides=(8,))((levels, coefficients, prototypes), targets[shuffled], overlap)
    _, from_overlap_grouped = SegmentationLoss(3, strides=(8,))((levels, coefficients, prototypes), targets, overlap)
    assert torch.allclose(from_overlap, from_overlap_grouped)


def test_missing_masks_are_a_clear_error():
    levels = [torch.randn(1, 64 + 3, 4, 4)]
    with pytest.raises(ValueError, match="needs the batch's ground-truth masks"):
        SegmentationLoss(3, strides=(8,))((levels, torch.randn(1, 32, 16), torch.randn(1, 32, 8, 8)),
                                          torch.zeros(0, 6), None)


def test_an_unlabelled_image_between_labelled_ones():
    """Overlap layout, image 1 of 3 has no targets: image 2's rows still find their index mask."""
    torch.manual_seed(5)
    levels = [torch.randn(3, 64 + 2, 6, 6)]
    coefficients, prototypes = torch.randn(3, 32, 36), torch.randn(3, 32, 12, 12)
    targets = torch.tensor([[0, 0, 0.4, 0.4, 0.5, 0.5], [2, 1, 0.5, 0.5, 0.6, 0.6]])
    separate = torch.zeros(2, 12, 12, dtype=torch.uint8)
    separate[0, 2:8, 2:8] = 1
    separate[1, 3:9, 3:10] = 1
    overlap = torch.zeros(3, 12, 12, dtype=torch.int16)
    overlap[0][separate[0].bool()] = 1
    overlap[2][separate[1].bool()] = 1
    _, from_separate = SegmentationLoss(2, strides=(8,), overlap=False)((levels, coefficients, prototypes), targets,
                                                                         separate)
    _, from_overlap = SegmentationLoss(2, strides=(8,))((levels, coefficients, prototypes), targets, overlap)
    assert torch.allclose(from_separate, from_overlap) and from_separate[1] > 0
