"""Forward conventions per task, decode math, fused == unfused, batch invariance."""

import pytest
import torch

from yolo8.nn.blocks import DFL
from yolo8.nn.decode import decode_detection
from yolo8.nn.model import build_model
from yolo8.ops.dfl import distribution_to_distance, flatten_levels


def _randomize_batchnorm(model, seed=0):
    """Non-trivial BN statistics so fusing has something to fold."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.2)
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
    return model


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {name: build_model(f"{name}.yaml", num_classes=nc)
            for name, nc in [("yolov8n", 3), ("yolov8n-seg", 3), ("yolov8n-cls", 5)]}


@pytest.mark.parametrize("height, width", [(64, 64), (96, 128)])
def test_detect_shapes(models, height, width):
    model = models["yolov8n"].train()
    images = torch.rand(2, 3, height, width)
    raw = model(images)
    assert [tuple(level.shape) for level in raw] == [(2, 64 + 3, height // s, width // s) for s in (8, 16, 32)]
    model.eval()
    with torch.no_grad():
        decoded, raw_eval = model(images)
    anchors = sum((height // s) * (width // s) for s in (8, 16, 32))
    assert decoded.shape == (2, 4 + 3, anchors)
    assert len(raw_eval) == 3
    assert torch.all((decoded[:, 4:] > 0) & (decoded[:, 4:] < 1))


@pytest.mark.parametrize("height, width", [(64, 64), (96, 128)])
def test_segment_shapes(models, height, width):
    model = models["yolov8n-seg"].train()
    images = torch.rand(2, 3, height, width)
    levels, coefficients, prototypes = model(images)
    anchors = sum((height // s) * (width // s) for s in (8, 16, 32))
    assert [tuple(level.shape) for level in levels] == [(2, 67, height // s, width // s) for s in (8, 16, 32)]
    assert coefficients.shape == (2, 32, anchors)
    assert prototypes.shape == (2, 32, height // 4, width // 4)
    model.eval()
    with torch.no_grad():
        (decoded, prototypes_eval), raw = model(images)
    assert decoded.shape == (2, 4 + 3 + 32, anchors) and prototypes_eval.shape == (2, 32, height // 4, width // 4)
    assert torch.equal(decoded[:, 7:], raw[1])  # coefficients appended unchanged


@pytest.mark.parametrize("height, width", [(64, 64), (96, 128)])
def test_classify_shapes(models, height, width):
    model = models["yolov8n-cls"].train()
    images = torch.rand(2, 3, height, width)
    assert model(images).shape == (2, 5)
    model.eval()
    with torch.no_grad():
        probabilities, logits = model(images)
    assert probabilities.shape == logits.shape == (2, 5)
    assert torch.allclose(probabilities.sum(1), torch.ones(2))
    assert torch.allclose(probabilities, logits.softmax(1))


def test_decode_uniform_logits_gives_centred_boxes_of_known_size():
    """All-zero logits: every side is the mean bin 7.5, so w = h = 15 * stride centred on the anchor."""
    levels = [torch.zeros(1, 64 + 2, 4, 6), torch.zeros(1, 66, 2, 3)]
    decoded = decode_detection(levels, [8, 16], reg_max=16, num_classes=2)
    assert decoded.shape == (1, 6, 24 + 6)
    # anchor 0: cell (0, 0) at stride 8; anchor 7: row 1 col 1; anchor 24: first of stride 16
    assert decoded[0, :4, 0].tolist() == [4.0, 4.0, 120.0, 120.0]
    assert decoded[0, :4, 7].tolist() == [12.0, 12.0, 120.0, 120.0]
    assert decoded[0, :4, 5].tolist() == [44.0, 4.0, 120.0, 120.0]  # row-major: x runs first
    assert decoded[0, :4, 24].tolist() == [8.0, 8.0, 240.0, 240.0]
    assert torch.all(decoded[0, 4:] == 0.5)


def test_decode_peaked_distribution_gives_exact_sides():
    level = torch.full((1, 64 + 1, 1, 1), -1e4)
    for side, bin_index in enumerate([1, 2, 3, 4]):  # l, t, r, b
        level[0, side * 16 + bin_index] = 0.0
    decoded = decode_detection([level], [32], reg_max=16, num_classes=1)
    # point (0.5, 0.5) cells; corners (0.5 - 1, 0.5 - 2, 0.5 + 3, 0.5 + 4) = (-0.5, -1.5, 3.5, 4.5) cells
    # -> centre (1.5, 1.5), size (4, 6) cells; x 32 pixels
    assert decoded[0, :4, 0].tolist() == [48.0, 48.0, 128.0, 192.0]


def test_dfl_module_equals_pure_integral():
    logits = torch.randn(2, 64, 50)
    assert torch.allclose(DFL(16)(logits), distribution_to_distance(logits, 16), atol=1e-5)


def test_flatten_levels_orders_anchors_by_level_then_row_major():
    levels = [torch.arange(2 * 3 * 4.0).view(1, 2, 3, 4), torch.arange(2 * 1 * 2.0).view(1, 2, 1, 2) + 100]
    box, cls = flatten_levels(levels, reg_max=0, num_classes=2)  # reg_max 0: all channels are classes
    assert box.shape == (1, 0, 14)
    assert cls[0, 0].tolist() == list(range(12)) + [100.0, 101.0]


@pytest.mark.parametrize("name, size", [("yolov8n", 96), ("yolov8n-seg", 64), ("yolov8n-cls", 64)])
def test_fused_equals_unfused(name, size):
    torch.manual_seed(1)
    model = _randomize_batchnorm(build_model(f"{name}.yaml", num_classes=4)).eval()
    images = torch.rand(2, 3, size, size)
    with torch.no_grad():
        expected, _ = model(images)
        parameters_before = sum(p.numel() for p in model.parameters())
        assert model.fuse() is model and model.is_fused
        actual, _ = model(images)
    assert sum(p.numel() for p in model.parameters()) < parameters_before
    if name == "yolov8n-seg":
        (expected, expected_proto), (actual, actual_proto) = expected, actual
        assert torch.allclose(actual_proto, expected_proto, rtol=1e-4, atol=1e-4)
    assert torch.allclose(actual, expected, rtol=1e-4, atol=1e-4)


def test_batch_invariance_in_eval():
    torch.manual_seed(2)
    model = _randomize_batchnorm(build_model("yolov8n.yaml", num_classes=2)).eval()
    images = torch.rand(3, 3, 64, 96)
    with torch.no_grad():
        together, _ = model(images)
        alone, _ = model(images[1:2])
    assert torch.allclose(together[1:2], alone, rtol=1e-4, atol=1e-4)


def test_decode_follows_input_size_changes_without_state(models):
    model = models["yolov8n"].eval()
    with torch.no_grad():
        small, _ = model(torch.rand(1, 3, 64, 64))
        large, _ = model(torch.rand(1, 3, 128, 64))
        small_again, _ = model(torch.zeros(1, 3, 64, 64))
    assert small.shape[-1] == 84 and large.shape[-1] == 168 and small_again.shape[-1] == 84
    assert torch.all(small_again[:, 4:] > 0)


def test_backward_through_training_output():
    model = build_model("yolov8n-seg.yaml", num_classes=2).train()
    levels, coefficients, prototypes = model(torch.rand(2, 3, 64, 64))
    loss = sum(level.mean() for level in levels) + coefficients.mean() + prototypes.mean()
    loss.backward()
    assert model.model[0].conv.weight.grad is not None
    assert model.model[-1].dfl.conv.weight.grad is None
