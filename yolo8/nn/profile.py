"""Parameter and FLOP counting with forward hooks.

FLOPs are 2 x multiply-adds of Conv2d, ConvTranspose2d and Linear layers (biases, norms,
activations and pooling are not counted), the convention behind the published YOLOv8 GFLOPs.
"""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    """Number of parameter elements (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def _conv_macs(module: nn.Conv2d, inputs, output: torch.Tensor) -> int:
    kernel_h, kernel_w = module.kernel_size
    return output.numel() * (module.in_channels // module.groups) * kernel_h * kernel_w


def _transposed_conv_macs(module: nn.ConvTranspose2d, inputs, output: torch.Tensor) -> int:
    kernel_h, kernel_w = module.kernel_size
    return inputs[0].numel() * (module.out_channels // module.groups) * kernel_h * kernel_w


def _linear_macs(module: nn.Linear, inputs, output: torch.Tensor) -> int:
    return output.numel() * module.in_features


MAC_COUNTERS = {nn.Conv2d: _conv_macs, nn.ConvTranspose2d: _transposed_conv_macs, nn.Linear: _linear_macs}


@torch.no_grad()
def count_flops(model: nn.Module, image_size: int | tuple[int, int] = 640, channels: int = 3,
                scale_from: int | None = None) -> float:
    """GFLOPs of one forward pass on a (1, channels, H, W) input.

    Convolution cost grows exactly with the image area when every level's size divides evenly, so
    with ``scale_from`` (a square side, e.g. 2 x the largest stride) the model runs on that small
    input and conv FLOPs are scaled by the area ratio; Linear FLOPs are not scaled. The model's
    train/eval mode is restored afterwards.
    """
    height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
    run_h, run_w = (scale_from, scale_from) if scale_from else (height, width)
    area_ratio = (height * width) / (run_h * run_w)
    totals = {"scaled": 0, "fixed": 0}

    def hook(module, inputs, output):
        macs = MAC_COUNTERS[type(module)](module, inputs, output)
        totals["fixed" if isinstance(module, nn.Linear) else "scaled"] += macs

    handles = [m.register_forward_hook(hook) for m in model.modules() if type(m) in MAC_COUNTERS]
    was_training = model.training
    parameter = next(model.parameters())
    try:
        model.eval()
        model(torch.zeros(1, channels, run_h, run_w, device=parameter.device, dtype=parameter.dtype))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return 2 * (totals["scaled"] * area_ratio + totals["fixed"]) / 1e9
