"""Optimizer construction and the learning-rate / momentum schedule of the YOLOv8 recipe."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

# Above this many planned optimizer iterations, `optimizer=auto` trusts SGD; below it AdamW converges faster.
AUTO_SGD_MIN_ITERATIONS = 10_000


@dataclass(frozen=True)
class OptimizerChoice:
    """What `optimizer=auto` (or an explicit name) resolved to."""

    name: str
    lr0: float
    momentum: float
    warmup_bias_lr: float


def resolve_optimizer(
    name: str, lr0: float, momentum: float, warmup_bias_lr: float, iterations: int, num_classes: int
) -> OptimizerChoice:
    """Pick the optimizer and its base settings as YOLOv8 does.

    ``auto``: SGD (lr 0.01, momentum 0.9) for long runs of more than 10,000 iterations, otherwise AdamW with
    lr round(0.002 * 5 / (4 + nc), 6) and momentum 0.9; both without a bias warm-up boost. An explicit name
    keeps the user's lr0 and momentum.
    """
    if name != "auto":
        return OptimizerChoice(name, lr0, momentum, warmup_bias_lr)
    if iterations > AUTO_SGD_MIN_ITERATIONS:
        return OptimizerChoice("SGD", 0.01, 0.9, 0.0)
    return OptimizerChoice("AdamW", round(0.002 * 5 / (4 + num_classes), 6), 0.9, 0.0)


def parameter_groups(model: nn.Module) -> tuple[list, list, list]:
    """Split parameters into (decayed weights, normalisation weights, biases); only the first decays."""
    biases, weights, norm_weights = [], [], []
    norm_types = tuple(cls for name, cls in vars(nn).items() if "Norm" in name and isinstance(cls, type))
    for module in model.modules():
        for param_name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            if param_name == "bias":
                biases.append(param)
            elif isinstance(module, norm_types):
                norm_weights.append(param)
            else:
                weights.append(param)
    return weights, norm_weights, biases


# Group order as YOLOv8 lays it out, so results.csv's lr/pg0..pg2 columns mean the same thing in both tools.
WEIGHTS_GROUP, NORM_WEIGHTS_GROUP, BIASES_GROUP = 0, 1, 2


def build_optimizer(model: nn.Module, choice: OptimizerChoice, weight_decay: float) -> torch.optim.Optimizer:
    """The optimizer over three groups: weights with decay (0), norm weights (1), biases (2)."""
    weights, norm_weights, biases = parameter_groups(model)
    if choice.name in ("Adam", "AdamW"):
        optimizer_class = torch.optim.Adam if choice.name == "Adam" else torch.optim.AdamW
        optimizer = optimizer_class(weights, lr=choice.lr0, betas=(choice.momentum, 0.999),
                                    weight_decay=weight_decay)
    elif choice.name == "RMSProp":
        optimizer = torch.optim.RMSprop(weights, lr=choice.lr0, momentum=choice.momentum, weight_decay=weight_decay)
    elif choice.name == "SGD":
        optimizer = torch.optim.SGD(weights, lr=choice.lr0, momentum=choice.momentum, nesterov=True,
                                    weight_decay=weight_decay)
    else:
        raise ValueError(f"optimizer '{choice.name}' is not supported; use auto, SGD, Adam, AdamW or RMSProp.")
    optimizer.add_param_group({"params": norm_weights, "weight_decay": 0.0})
    optimizer.add_param_group({"params": biases, "weight_decay": 0.0})
    return optimizer


def optimizer_state_fits(optimizer: torch.optim.Optimizer, saved: dict) -> bool:
    """Whether ``saved`` (an optimizer state_dict) has the same groups and per-parameter state shapes as ``optimizer``.

    torch pairs saved state with parameters by position only, so state saved with another group order would load
    silently onto the wrong parameters when the group sizes happen to agree.
    """
    if [len(group["params"]) for group in saved["param_groups"]] != [len(g["params"]) for g in optimizer.param_groups]:
        return False
    params = [param for group in optimizer.param_groups for param in group["params"]]
    return all(value.shape == params[index].shape
               for index, param_state in saved["state"].items()
               for value in param_state.values() if torch.is_tensor(value) and value.dim() > 0)


def lr_factor(epoch: float, epochs: int, final_fraction: float, cosine: bool) -> float:
    """Multiplier of the base lr at ``epoch``: linear (or cosine) from 1 to ``final_fraction`` over ``epochs``."""
    if cosine:
        return ((1 - math.cos(epoch * math.pi / epochs)) / 2) * (final_fraction - 1) + 1
    return max(1 - epoch / epochs, 0) * (1.0 - final_fraction) + final_fraction


@dataclass(frozen=True)
class Warmup:
    """Linear warm-up over the first ``iterations`` batches: biases fall from ``bias_lr``, others rise from 0.

    SGD and RMSProp momentum rises from ``start_momentum`` too; Adam's beta1 stays put, as in YOLOv8.
    """

    iterations: int
    bias_lr: float
    start_momentum: float
    momentum: float

    def apply(self, optimizer: torch.optim.Optimizer, iteration: int, epoch_lr_factor: float) -> None:
        """Set each group's lr (and momentum) for batch ``iteration`` counted from the start of training."""
        points = [0, self.iterations]
        for index, group in enumerate(optimizer.param_groups):
            start = self.bias_lr if index == BIASES_GROUP else 0.0
            group["lr"] = float(np.interp(iteration, points, [start, group["initial_lr"] * epoch_lr_factor]))
            if "momentum" in group:
                group["momentum"] = float(np.interp(iteration, points, [self.start_momentum, self.momentum]))


def warmup_iterations(warmup_epochs: float, batches_per_epoch: int, epochs: int | None) -> int:
    """Batches of warm-up: round(warmup_epochs × batches), at most all but the last epoch; 0 turns it off.
    ``epochs`` None: the run's length is not known yet (a time budget), so no cap.

    This is what YOLOv8 (8.4) does, measured from its learning rates: 3 warm-up epochs of 25 batches are 75
    iterations in a 30-epoch run, and a 3-epoch run of 13 batches warms up for 26.
    """
    if warmup_epochs <= 0:
        return 0
    iterations = round(warmup_epochs * batches_per_epoch)
    if epochs is not None:
        iterations = min(iterations, (epochs - 1) * batches_per_epoch)
    return max(iterations, 0)
