"""Backends: what runs the network for val, predict and track, so they never touch a model's own forward.

A backend maps a batch of network inputs to *decoded* outputs, one documented form per task:

* detect: ``Tensor (B, 4 + nc, A)``: boxes xywh (cx, cy, w, h) in input pixels, then sigmoid class scores;
* segment: ``(Tensor (B, 4 + nc + nm, A), prototypes (B, nm, H/4, W/4))``: as detect plus mask coefficients;
* classify: ``Tensor (B, nc)`` softmax probabilities.

Inputs are ``(B, 3, H, W)`` RGB in [0, 1] on ``backend.device`` (float16 when ``backend.fp16``). Every
backend also says what it runs: ``task``, ``names`` (class id -> name), ``stride`` (the largest head
stride, an int) and ``num_classes``. :class:`TorchBackend` runs a PyTorch module; exported files get
backends of their own with the same attributes, so the val and predict loops run them unchanged.
"""

from __future__ import annotations

import copy
import weakref
from typing import Any, Protocol

import torch
from torch import nn

from yolo8.runtime.augmented_inference import augmented_decode


class Backend(Protocol):
    """What val / predict / track need from whatever runs the network."""

    task: str
    names: dict[int, str]
    stride: int
    num_classes: int
    device: torch.device
    fp16: bool
    augment: bool

    def __call__(self, images: torch.Tensor) -> Any:
        """(B, 3, H, W) RGB [0, 1] -> decoded outputs in the task's form (see the module docstring)."""


def inference_copy(model: nn.Module, device: torch.device, half: bool = False) -> nn.Module:
    """A copy of ``model`` for inference; the caller's model is left as it was (mode, dtype, device, layers).

    Conv + BatchNorm are folded, the copy is in eval mode on ``device``, and its 4-D weights use the
    channels-last memory format: oneDNN's convolutions run about a third faster that way on CPU (measured
    on yolov8n at 640 px, 2 threads), and the outputs equal the default layout's to float rounding.
    ``half`` casts to float16 (meant for CUDA); otherwise the copy is float32.
    """
    prepared = copy.deepcopy(model).eval()
    if hasattr(prepared, "fuse") and not getattr(prepared, "is_fused", False):
        prepared.fuse()
    prepared = prepared.to(device, memory_format=torch.channels_last)
    return prepared.half() if half else prepared.float()


class WeightsWatch:
    """Tells whether a model's weights changed since it was watched, in a few microseconds per check.

    Any in-place change bumps a tensor's version counter (``load_state_dict``, an optimizer step, an in-place
    edit), and another model object is another model. Tensors swapped for new ones inside the same module
    (``conv.weight = nn.Parameter(...)``, or ``model.fuse()`` called on the module directly) go unseen: the
    ``YOLO`` facade's own ``fuse()`` drops its backend for that reason.
    """

    def __init__(self, model: nn.Module):
        self.model = weakref.ref(model)  # not id(): a freed model's id can be reused by a new one
        self.tensors = [*model.parameters(), *model.buffers()]
        self.versions = [t._version for t in self.tensors]

    def unchanged(self, model: nn.Module) -> bool:
        return self.model() is model and all(t._version == v for t, v in zip(self.tensors, self.versions))


class TorchBackend:
    """Runs a PyTorch model that follows the yolo8 model convention (eval forward -> ``(decoded, raw)``).

    Args:
        model: a :class:`yolo8.nn.model.YOLOModel` or any module with ``task``, ``names``, ``stride`` and that
            eval-mode convention.
        device: where it runs.
        half: float16 weights and inputs (CUDA).
        augment: test-time augmentation, for decoded outputs of the detection form only (callers check the task's
            ``TaskSpec.augment``): see :mod:`yolo8.runtime.augmented_inference`.
        prepare: run a fused, eval-mode, channels-last copy of ``model`` (val / predict). False runs ``model``
            itself as it is, in eval mode for the call (the trainer's validation of its EMA weights, each epoch).
    """

    def __init__(self, model: nn.Module, device: torch.device, half: bool = False, augment: bool = False,
                 prepare: bool = True):
        self.task = model.task
        self.names = dict(getattr(model, "names", {}))
        self.stride = int(torch.as_tensor(model.stride).max())
        self.num_classes = int(getattr(model, "num_classes", len(self.names)))
        self.device = torch.device(device)
        self.fp16 = bool(half)
        self.augment = augment
        self.watch = WeightsWatch(model)
        self.model = inference_copy(model, self.device, self.fp16) if prepare else model

    def is_current(self, model: nn.Module) -> bool:
        """Whether this backend still runs ``model``'s present weights."""
        return self.watch.unchanged(model)

    def _decoded(self, images: torch.Tensor):
        return self.model(images)[0]  # the model's eval forward is (decoded, raw)

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor):
        with _eval_mode(self.model):
            if self.augment:
                return augmented_decode(self._decoded, images, self.stride)
            return self._decoded(images)

    @torch.no_grad()
    def with_raw(self, images: torch.Tensor):
        """``(decoded, raw)``: the raw head output too, for a validation loss (torch backends only)."""
        if self.augment:
            raise ValueError("a validation loss needs the raw outputs of one view; it cannot be computed with augment=True")
        with _eval_mode(self.model):
            return self.model(images)


class _eval_mode:
    """Puts a module in eval mode for a ``with`` block and restores the mode it was in."""

    def __init__(self, module: nn.Module):
        self.module = module

    def __enter__(self):
        self.was_training = self.module.training
        if self.was_training:  # walking every submodule costs ~5 ms on yolov8n: only when there is a mode to change
            self.module.eval()

    def __exit__(self, *exc):
        if self.was_training:
            self.module.train()
