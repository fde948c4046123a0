"""Running a static export (fixed batch and input size) on the batches val and predict make for a ``.pt``.

A static file accepts exactly (B_f, 3, H_f, W_f). A batch of another shape is letterboxed into it: scaled by
``r = min(H_f / H, W_f / W)``, padded on the bottom and right with YOLO's grey (114), run in chunks of B_f
(the last one padded with copies); then boxes are scaled back by ``1 / r`` and segmentation prototypes cropped
to the image part and resized to (H / 4, W / 4), so outputs are in the caller's input pixels as a dynamic
export's would be. Classification inputs are simply resized.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

PAD_VALUE = 114 / 255


def letterbox_tensor(images: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, float]:
    """(B, 3, H, W) -> ((B, 3, H_f, W_f) image top-left, grey padding, scale r)."""
    height, width = images.shape[2:]
    ratio = min(size[0] / height, size[1] / width)
    new_height, new_width = min(size[0], round(height * ratio)), min(size[1], round(width * ratio))
    if (new_height, new_width) != (height, width):
        images = F.interpolate(images, size=(new_height, new_width), mode="bilinear", align_corners=False)
    padded = images.new_full((images.shape[0], 3, *size), PAD_VALUE)
    padded[:, :, :new_height, :new_width] = images
    return padded, ratio


def run_in_chunks(run: Callable, images: torch.Tensor, batch: int):
    """Run ``images`` (B, ...) through ``run`` in chunks of exactly ``batch`` (the last padded by repeating its
    final image); outputs (tensors or tuples of them) are concatenated back to B rows."""
    outputs = []
    for start in range(0, images.shape[0], batch):
        chunk = images[start:start + batch]
        real = chunk.shape[0]
        if real < batch:
            chunk = torch.cat((chunk, chunk[-1:].expand(batch - real, *chunk.shape[1:])))
        result = run(chunk)
        outputs.append(tuple(item[:real] for item in result) if isinstance(result, tuple) else result[:real])
    if isinstance(outputs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outputs))
    return torch.cat(outputs)


def unletterbox_outputs(decoded, task: str, ratio: float, input_shape: tuple[int, int]):
    """Decoded outputs of a letterboxed batch -> the same in the original batch's pixels (see module docstring)."""
    if task == "classify" or ratio == 1.0 and task == "detect":
        return decoded
    predictions, prototypes = decoded if task == "segment" else (decoded, None)
    predictions = torch.cat((predictions[:, :4] / ratio, predictions[:, 4:]), 1)
    if prototypes is None:
        return predictions
    mask_height, mask_width = input_shape[0] // 4, input_shape[1] // 4
    # the image part of the prototypes: (B, nm, h_f, w_f) -> (B, nm, round(H r / 4), round(W r / 4))
    inside = prototypes[:, :, :max(1, round(input_shape[0] * ratio / 4)), :max(1, round(input_shape[1] * ratio / 4))]
    if inside.shape[2:] != (mask_height, mask_width):
        inside = F.interpolate(inside, size=(mask_height, mask_width), mode="bilinear", align_corners=False)
    return predictions, inside


def run_fixed_shape(run: Callable, images: torch.Tensor, task: str, size: tuple[int, int], batch: int):
    """``run`` (which accepts exactly (batch, 3, *size)) applied to any (B, 3, H, W) ``images``; decoded outputs in
    the pixels of ``images`` (see the module docstring)."""
    input_shape, ratio = tuple(images.shape[2:]), 1.0
    if input_shape != tuple(size):
        if task == "classify":
            images = F.interpolate(images.float(), size=tuple(size), mode="bilinear", align_corners=False)
        else:
            images, ratio = letterbox_tensor(images.float(), tuple(size))
    decoded = run_in_chunks(run, images, batch)
    return unletterbox_outputs(decoded, task, ratio, input_shape)


class FixedShapeBackend:
    """Any backend run as a static export of ``size`` and ``batch`` would be run: the FP32 reference of an INT8
    report is then preprocessed exactly as the static INT8 file it is compared with.

    Args:
        backend: a :class:`~yolo8.runtime.backend.Backend` (its task, names, stride, device... are this one's).
        size: (height, width) of the static input; batch: its batch size.
    """

    def __init__(self, backend, size: tuple[int, int], batch: int):
        self.backend, self.size, self.batch = backend, tuple(size), int(batch)
        self.fixed_input = self.size  # val letterboxes straight to it, as for the static file
        for name in ("task", "names", "stride", "num_classes", "device", "fp16", "augment"):
            setattr(self, name, getattr(backend, name))

    @torch.no_grad()
    def __call__(self, images: torch.Tensor):
        return run_fixed_shape(self.backend, images, self.task, self.size, self.batch)
