"""Letterbox geometry: how an original image maps into a letterboxed one, its exact inverse for boxes,
and the padded shapes of rectangular batches. Pure functions; the image resizing is
:mod:`yolo8.data.transforms.letterbox`.

Frames: an *original* image of shape (h0, w0) maps into a letterboxed image by
``x' = x * ratio[0] + pad[0]`` and ``y' = y * ratio[1] + pad[1]`` (pixels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yolo8.ops.boxes import clip_boxes


@dataclass(frozen=True)
class LetterboxInfo:
    """How an original image maps into a letterboxed one.

    Attributes:
        ratio: (x scale, y scale) from original pixels to letterboxed pixels; the two differ only by
            the rounding of the resized size to whole pixels.
        pad: (left, top) padding in letterboxed pixels, added after scaling.
    """

    ratio: tuple[float, float]
    pad: tuple[float, float]

    def then(self, other: "LetterboxInfo") -> "LetterboxInfo":
        """The mapping of ``self`` followed by ``other`` (e.g. load-time resize, then letterbox)."""
        return LetterboxInfo(
            ratio=(self.ratio[0] * other.ratio[0], self.ratio[1] * other.ratio[1]),
            pad=(self.pad[0] * other.ratio[0] + other.pad[0], self.pad[1] * other.ratio[1] + other.pad[1]),
        )


def boxes_to_letterbox(boxes_xyxy: np.ndarray, info: LetterboxInfo) -> np.ndarray:
    """boxes (N, 4) xyxy original pixels -> (N, 4) xyxy letterboxed pixels."""
    out = np.array(boxes_xyxy, dtype=np.float64, copy=True)
    out[..., 0::2] = out[..., 0::2] * info.ratio[0] + info.pad[0]
    out[..., 1::2] = out[..., 1::2] * info.ratio[1] + info.pad[1]
    return out.astype(np.asarray(boxes_xyxy).dtype, copy=False)


def boxes_from_letterbox(boxes_xyxy, info: LetterboxInfo, original_shape: tuple[int, int]):
    """boxes (N, 4) xyxy letterboxed pixels -> (N, 4) xyxy pixels of the original (h0, w0) image, clipped.

    Exact inverse of :func:`boxes_to_letterbox` for boxes inside the image. Accepts numpy or torch.
    """
    out = boxes_xyxy.clone() if hasattr(boxes_xyxy, "clone") else np.array(boxes_xyxy, copy=True)
    out[..., 0::2] = (boxes_xyxy[..., 0::2] - info.pad[0]) / info.ratio[0]
    out[..., 1::2] = (boxes_xyxy[..., 1::2] - info.pad[1]) / info.ratio[1]
    return clip_boxes(out, original_shape[0], original_shape[1])


def rect_batch_shapes(
    image_shapes: np.ndarray, image_size: int, batch_size: int, stride: int, pad: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group images by aspect ratio into batches that share one padded (height, width).

    Args:
        image_shapes: (N, 2) original (height, width) of each image.
        image_size: long side of the network input.
        batch_size: images per batch.
        stride: the model's largest stride; shapes are multiples of it.
        pad: extra padding in strides (YOLOv8 uses 0.5 for validation).
    Returns:
        order: (N,) image indices sorted by aspect ratio h / w.
        batch_index: (N,) batch of each image *in sorted order*.
        batch_shapes: (num_batches, 2) int (height, width) per batch, multiples of ``stride``.
    """
    image_shapes = np.asarray(image_shapes, dtype=np.float64).reshape(-1, 2)
    aspect = image_shapes[:, 0] / image_shapes[:, 1]  # h / w
    order = np.argsort(aspect, kind="stable")
    aspect = aspect[order]
    batch_index = np.arange(len(order)) // batch_size
    num_batches = int(batch_index[-1]) + 1 if len(order) else 0
    relative = np.ones((num_batches, 2))  # (height, width) relative to image_size
    for batch in range(num_batches):
        ratios = aspect[batch_index == batch]
        smallest, largest = ratios.min(), ratios.max()
        if largest < 1:  # all landscape: height shrinks
            relative[batch] = (largest, 1)
        elif smallest > 1:  # all portrait: width shrinks
            relative[batch] = (1, 1 / smallest)
    batch_shapes = np.ceil(relative * image_size / stride + pad).astype(np.int64) * stride
    return order, batch_index, batch_shapes


def shape_after_resize(shape: tuple[int, int], size: int) -> tuple[int, int]:
    """(height, width) that :func:`resize_long_side` produces for an image of ``shape``."""
    height, width = shape
    gain = size / max(height, width)
    if gain == 1:
        return height, width
    return min(max(1, round(height * gain)), size), min(max(1, round(width * gain)), size)
