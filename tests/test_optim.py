"""The optimizer recipe: auto choice, parameter groups, warm-up, lr decay, and the trainer's schedule against YOLOv8's."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.conftest import write_shapes_dataset
from yolo8 import YOLO
from yolo8.nn.model import build_model
from yolo8.train.optim import (
    BIASES_GROUP,
    NORM_WEIGHTS_GROUP,
    WEIGHTS_GROUP,
    Warmup,
    build_optimizer,
    lr_factor,
    parameter_groups,
    resolve_optimizer,
    warmup_iterations,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_auto_picks_adamw_for_short_runs_with_lr_from_class_count():
    choice = resolve_optimizer("auto", lr0=0.01, momentum=0.937, warmup_bias_lr=0.1, iterations=10_000, num_classes=6)
    assert (choice.name, choice.lr0, choice.momentum, choice.warmup_bias_lr) == ("AdamW", 0.001, 0.9, 0.0)
    assert resolve_optimizer("auto", 0.01, 0.937, 0.1, 300, 80).lr0 == round(0.01 / 84, 6) == 0.000119


def test_auto_picks_sgd_above_ten_thousand_iterations_and_explicit_names_keep_settings():
    assert resolve_optimizer("auto", 0.02, 0.937, 0.1, 10_001, 80) == resolve_optimizer("SGD", 0.01, 0.9, 0.0, 0, 0)
    explicit = resolve_optimizer("Adam", 0.003, 0.95, 0.2, 50, 3)
    assert (explicit.name, explicit.lr0, explicit.momentum, explicit.warmup_bias_lr) == ("Adam", 0.003, 0.95, 0.2)


def test_groups_are_weights_with_decay_then_norm_weights_then_biases():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))
    weights, norm_weights, biases = parameter_groups(model)
    assert [p.shape for p in weights] == [(4, 3, 3, 3), (2, 4, 1, 1)]
    assert [p.shape for p in norm_weights] == [(4,)] and [p.shape for p in biases] == [(4,), (2,)]
    optimizer = build_optimizer(model, resolve_optimizer("AdamW", 0.002, 0.9, 0.0, 0, 2), weight_decay=5e-4)
    groups = optimizer.param_groups
    assert [len(groups[i]["params"]) for i in (WEIGHTS_GROUP, NORM_WEIGHTS_GROUP, BIASES_GROUP)] == [2, 1, 2]
    assert [group["weight_decay"] for group in groups] == [5e-4, 0.0, 0.0]
    with pytest.raises(ValueError, match="optimizer 'Lion' is not supported"):
        build_optimizer(model, resolve_optimizer("Lion", 0.01, 0.9, 0.0, 0, 2), 0.0)


def test_warmup_length_is_capped_by_all_but_the_last_epoch():
    assert warmup_iterations(3, 25, epochs=30) == 75
    assert warmup_iterations(3, 13, epochs=3) == 26
    assert warmup_iterations(3, 13, epochs=2) == 13
    assert warmup_iterations(3, 13, epochs=1) == 0
    assert warmup_iterations(0, 13, epochs=30) == 0
    assert warmup_iterations(0.5, 5, epochs=30) == 2  # round(2.5) is 2, as Python rounds


def test_warmup_raises_sgd_momentum_but_leaves_adam_betas():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    warmup = Warmup(iterations=10, bias_lr=0.1, start_momentum=0.8, momentum=0.9)
    for name in ("SGD", "AdamW"):
        optimizer = build_optimizer(model, resolve_optimizer(name, 0.01, 0.9, 0.1, 0, 2), 0.0)
        for group in optimizer.param_groups:
            group["initial_lr"] = group["lr"]
        warmup.apply(optimizer, iteration=5, epoch_lr_factor=0.5)
        lrs = [group["lr"] for group in optimizer.param_groups]
        assert lrs == pytest.approx([0.0025, 0.0025, 0.1 - 0.5 * (0.1 - 0.005)])
        if name == "SGD":
            assert [group["momentum"] for group in optimizer.param_groups] == pytest.approx([0.85] * 3)
        else:
            assert [group["betas"] for group in optimizer.param_groups] == [(0.9, 0.999)] * 3


def test_lr_factor_linear_and_cosine():
    assert lr_factor(0, 10, 0.01, cosine=False) == 1.0
    assert lr_factor(5, 10, 0.01, cosine=False) == pytest.approx(0.505)
    assert lr_factor(10, 10, 0.01, cosine=False) == pytest.approx(0.01)
    assert lr_factor(5, 10, 0.01, cosine=True) == pytest.approx(0.505)
    assert lr_factor(10, 10, 0.01, cosine=True) == pytest.approx(0.01)
    assert lr_factor(2.5, 10, 0.01, cosine=True) == pytest.approx(1 - 0.99 * (1 - 2 ** -0.5) / 2)


def test_trainer_schedule_matches_yolov8_batch_by_batch(tiny_model_yaml, tmp_path):
    """Learning rates, momentum, accumulation and optimizer steps of every batch, against YOLOv8's own run.

    The fixture was recorded from YOLOv8 (its README line is in the file) with 13 batches of 16 and nbs 64; here 13
    batches of 2 with nbs 8 give the same accumulation (nbs / batch = 4) and weight decay.
    """
    reference = json.loads((FIXTURES / "ul_sgd_schedule.json").read_text())
    data = write_shapes_dataset(tmp_path / "data", images=26, size=32)
    seen = {"lr": [], "momentum": [], "accumulate": [], "optimizer_steps": []}

    def record(trainer):
        groups = trainer.optimizer.param_groups
        seen["lr"].append([group["lr"] for group in groups])
        seen["momentum"].append(groups[0]["momentum"])
        seen["accumulate"].append(trainer.accumulate)
        seen["optimizer_steps"].append(trainer.ema.updates)  # the EMA follows every optimizer step
        seen["weight_decay"] = [group["weight_decay"] for group in groups]

    torch.manual_seed(0)
    model = YOLO(build_model(tiny_model_yaml))
    model.add_callback("on_train_batch_end", record)
    model.train(data=str(data), epochs=3, imgsz=32, batch=2, nbs=8, workers=0, optimizer="SGD", lr0=0.01,
                momentum=0.937, mosaic=0.0, val=False, plots=False, project=str(tmp_path), name="run")
    assert len(seen["lr"]) == len(reference["lr"]) == 39
    for batch, (ours, theirs) in enumerate(zip(seen["lr"], reference["lr"])):
        assert ours == pytest.approx(theirs, abs=1e-9), f"batch {batch}"
    assert seen["momentum"] == pytest.approx(reference["momentum"], abs=1e-9)
    assert seen["accumulate"] == reference["accumulate"]
    assert seen["optimizer_steps"] == reference["optimizer_steps"]
    assert seen["weight_decay"] == pytest.approx(reference["weight_decay"])


def test_resuming_optimizer_state_with_other_groups_names_the_file_and_the_fix(shapes_dataset, tiny_model_yaml,
                                                                               tmp_path):
    from yolo8.checkpoints.native import load_checkpoint, save_checkpoint

    model = YOLO(build_model(tiny_model_yaml))
    model.train(data=str(shapes_dataset), epochs=2, imgsz=32, batch=4, workers=0, val=False, plots=False,
                project=str(tmp_path), name="run")
    last = tmp_path / "run" / "weights" / "last.pt"
    checkpoint = load_checkpoint(last)
    checkpoint["epoch"] = checkpoint["train_state"]["epoch"] = 0  # unfinished, so it can be resumed
    # Rewrite it in the layout of builds before the warm-up fix: groups (biases, weights, norm weights), parameters
    # numbered in that order. torch would load it without complaint when the group sizes agree.
    optimizer_state = checkpoint["train_state"]["optimizer"]
    weights, norms, biases = (group["params"] for group in optimizer_state["param_groups"])
    old_order = biases + weights + norms
    optimizer_state["state"] = {new: optimizer_state["state"][old] for new, old in enumerate(old_order)}
    groups = optimizer_state["param_groups"]
    groups[0], groups[1], groups[2] = groups[2], groups[0], groups[1]
    start = 0
    for group in groups:
        group["params"] = list(range(start, start + len(group["params"])))
        start += len(group["params"])
    save_checkpoint(checkpoint, last)
    with pytest.raises(ValueError, match=r"last\.pt: its optimizer state does not fit .* model=.*last\.pt"):
        YOLO(last).train(resume=str(last))

