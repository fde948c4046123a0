"""Exponential moving average of model weights, the copy that is validated and saved."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn


class ModelEMA:
    """Keeps ``ema = d * ema + (1 - d) * model`` for floating-point weights and buffers.

    The decay ramps up as ``decay * (1 - exp(-updates / tau))`` so early, fast-changing weights are not
    averaged with the random initialisation for thousands of steps.
    """

    def __init__(self, model: nn.Module, decay: float = 0.9999, tau: float = 2000.0, updates: int = 0):
        self.ema = copy.deepcopy(unwrap(model)).eval()
        for param in self.ema.parameters():
            param.requires_grad_(False)
        self.decay = decay
        self.tau = tau
        self.updates = updates

    def current_decay(self) -> float:
        return self.decay * (1 - math.exp(-self.updates / self.tau))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = self.current_decay()
        model_state = unwrap(model).state_dict()
        for name, ema_value in self.ema.state_dict().items():
            if ema_value.dtype.is_floating_point:
                ema_value.mul_(decay).add_(model_state[name].detach(), alpha=1 - decay)
            else:
                ema_value.copy_(model_state[name])


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside a DistributedDataParallel / DataParallel wrapper."""
    return model.module if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else model
