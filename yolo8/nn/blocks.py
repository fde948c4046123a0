"""Backbone and neck building blocks.

Every block takes its input channels first and its output channels second and records
``out_channels`` so the YAML graph builder can chain layers without knowing their internals.
Attribute names (``conv``, ``bn``, ``cv1``, ``cv2``, ``cv3``, ``m``) follow the YOLOv8 checkpoint
layout so state dicts load unchanged; each class docstring says what they are.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def autopad(kernel_size, padding=None, dilation: int = 1):
    """Padding that keeps the spatial size at stride 1 ("same"), for int or per-axis kernel sizes."""
    if dilation > 1:
        if isinstance(kernel_size, int):
            kernel_size = dilation * (kernel_size - 1) + 1
        else:
            kernel_size = [dilation * (k - 1) + 1 for k in kernel_size]
    if padding is None:
        padding = kernel_size // 2 if isinstance(kernel_size, int) else [k // 2 for k in kernel_size]
    return padding


class SiLU(nn.SiLU):
    """SiLU computed in place only when autograd records nothing (inference: one allocation fewer per layer). In
    training an in-place SiLU makes autograd clone its input for backward, an extra copy per layer (measured: 114
    clones per yolov8n-seg step, about 4% of its CPU time), so there it writes a new tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(x, inplace=not torch.is_grad_enabled())


class Conv(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d -> activation (SiLU by default).

    ``conv``: the convolution, ``bn``: its batch norm (an ``nn.Identity`` after :meth:`fuse`),
    ``act``: the activation. ``act=True`` means SiLU, ``False`` none, or pass a module.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=1, stride=1, padding=None,
                 groups: int = 1, dilation: int = 1, act: bool | nn.Module = True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                              autopad(kernel_size, padding, dilation), groups=groups, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        if act is True:
            self.act = SiLU()
        elif isinstance(act, nn.Module):
            self.act = act
        else:
            self.act = nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold ``bn`` into ``conv`` (conv gains a bias, bn becomes Identity). Inference only."""
        if isinstance(self.bn, nn.Identity):
            return
        conv, bn = self.conv, self.bn
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                          dilation=conv.dilation, groups=conv.groups, bias=True).to(conv.weight.device, conv.weight.dtype)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
        fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))  # scale each output filter
        conv_bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        fused.bias.copy_((conv_bias - bn.running_mean) * scale + bn.bias)
        fused.requires_grad_(False)
        self.conv, self.bn = fused, nn.Identity()


class Bottleneck(nn.Module):
    """Two convs with an optional residual: ``cv1`` (k[0]) -> ``cv2`` (k[1]); residual when shortcut and c_in == c_out."""

    def __init__(self, in_channels: int, out_channels: int, shortcut: bool = True, groups: int = 1,
                 kernel_sizes: Sequence[int] = (3, 3), expansion: float = 0.5):
        super().__init__()
        hidden = int(out_channels * expansion)
        self.cv1 = Conv(in_channels, hidden, kernel_sizes[0], 1)
        self.cv2 = Conv(hidden, out_channels, kernel_sizes[1], 1, groups=groups)
        self.add = shortcut and in_channels == out_channels
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """CSP block with 2 convs and a growing list of bottleneck outputs (YOLOv8).

    ``cv1``: 1x1 conv to 2 * hidden channels, split in two halves; ``m``: n bottlenecks chained on
    the second half, every intermediate output kept; ``cv2``: 1x1 conv fusing the (2 + n) * hidden channels.
    """

    def __init__(self, in_channels: int, out_channels: int, repeats: int = 1, shortcut: bool = False,
                 groups: int = 1, expansion: float = 0.5):
        super().__init__()
        self.hidden = int(out_channels * expansion)
        self.cv1 = Conv(in_channels, 2 * self.hidden, 1, 1)
        self.cv2 = Conv((2 + repeats) * self.hidden, out_channels, 1)
        self.m = nn.ModuleList(
            Bottleneck(self.hidden, self.hidden, shortcut, groups, kernel_sizes=(3, 3), expansion=1.0)
            for _ in range(repeats))
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = list(self.cv1(x).chunk(2, 1))  # (B, 2h, H, W) -> 2 x (B, h, H, W)
        for block in self.m:
            parts.append(block(parts[-1]))
        return self.cv2(torch.cat(parts, 1))  # (B, (2 + n) h, H, W) -> (B, c_out, H, W)


class C3(nn.Module):
    """CSP bottleneck with 3 convs (YOLOv5).

    ``cv1``: 1x1 into the bottleneck path ``m``; ``cv2``: 1x1 bypass path; ``cv3``: 1x1 fusing both.
    """

    def __init__(self, in_channels: int, out_channels: int, repeats: int = 1, shortcut: bool = True,
                 groups: int = 1, expansion: float = 0.5):
        super().__init__()
        hidden = int(out_channels * expansion)
        self.cv1 = Conv(in_channels, hidden, 1, 1)
        self.cv2 = Conv(in_channels, hidden, 1, 1)
        self.cv3 = Conv(2 * hidden, out_channels, 1)
        self.m = nn.Sequential(*(Bottleneck(hidden, hidden, shortcut, groups, kernel_sizes=(1, 3), expansion=1.0)
                                 for _ in range(repeats)))
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: ``cv1`` halves channels, ``m`` (one max-pool) applied 3 times in
    series, ``cv2`` fuses the 4 results. Equivalent to SPP with kernels (k, 2k-1, 3k-2)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5):
        super().__init__()
        hidden = in_channels // 2
        self.cv1 = Conv(in_channels, hidden, 1, 1)
        self.cv2 = Conv(hidden * 4, out_channels, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=kernel_size, stride=1, padding=kernel_size // 2)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = [self.cv1(x)]
        for _ in range(3):
            pooled.append(self.m(pooled[-1]))
        return self.cv2(torch.cat(pooled, 1))  # (B, 4 * c_in/2, H, W) -> (B, c_out, H, W)


class SimSPPF(SPPF):
    """SPPF with ReLU activations (YOLOv6's simplified SPPF); same layout as :class:`SPPF`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5):
        super().__init__(in_channels, out_channels, kernel_size)
        self.cv1.act, self.cv2.act = nn.ReLU(inplace=True), nn.ReLU(inplace=True)


class SPP(nn.Module):
    """Spatial pyramid pooling (YOLOv3-SPP): ``cv1`` halves channels, ``m`` parallel max-pools of the
    given kernel sizes, ``cv2`` fuses the input and the pooled maps."""

    def __init__(self, in_channels: int, out_channels: int, kernel_sizes: Sequence[int] = (5, 9, 13)):
        super().__init__()
        hidden = in_channels // 2
        self.cv1 = Conv(in_channels, hidden, 1, 1)
        self.cv2 = Conv(hidden * (len(kernel_sizes) + 1), out_channels, 1, 1)
        self.m = nn.ModuleList(nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2) for k in kernel_sizes)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        return self.cv2(torch.cat([x] + [pool(x) for pool in self.m], 1))


class Concat(nn.Module):
    """Concatenate a list of tensors along ``dimension`` (channels by default)."""

    def __init__(self, in_channels: Sequence[int], dimension: int = 1):
        super().__init__()
        self.dimension = dimension
        self.out_channels = sum(in_channels) if dimension == 1 else in_channels[0]

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs, self.dimension)


class Upsample(nn.Upsample):
    """``nn.Upsample`` that records its (unchanged) channel count."""

    def __init__(self, in_channels: int, size=None, scale_factor=None, mode: str = "nearest"):
        super().__init__(size=size, scale_factor=scale_factor, mode=mode)
        self.out_channels = in_channels


class DFL(nn.Module):
    """Distribution focal loss integral: expected value of a softmax over ``reg_max`` bins.

    ``conv``: a fixed 1x1 conv whose weights are 0, 1, …, reg_max-1 (no gradient). Input
    (B, 4 * reg_max, A) logits -> output (B, 4, A) distances in bin units.
    """

    def __init__(self, reg_max: int = 16):
        super().__init__()
        self.conv = nn.Conv2d(reg_max, 1, 1, bias=False).requires_grad_(False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.arange(reg_max, dtype=torch.float).view(1, reg_max, 1, 1))
        self.reg_max = reg_max

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, anchors = x.shape
        # (B, 4*reg_max, A) -> (B, 4, reg_max, A) -> (B, reg_max, 4, A): bins as conv channels
        probabilities = x.view(batch, 4, self.reg_max, anchors).transpose(2, 1).softmax(1)
        return self.conv(probabilities).view(batch, 4, anchors)  # (B, 1, 4, A) -> (B, 4, A)
