"""Comparing outputs against a recording, with a tolerance in each output's own units.

fp32 kernels sum in a different order on different vector units (AVX2, AVX-512) and thread counts, so a
recorded output is reproduced to within rounding of the quantities summed, not bit for bit. That rounding
scales with the magnitude of what was summed, so each block of rows gets an absolute tolerance of
``rtol`` (1e-4) times its scale:

* box rows (pixels): the largest |box| of the block; at 320-640 px that is ~0.03-0.07 px, far below the
  one stride (>= 8 px) a one-bin DFL error moves a box;
* sigmoid scores: a score's error is s (1 - s) times its logit's, and the logit's is within ``rtol`` x the
  largest |logit| (recovered from the recorded scores), so rtol x max|logit| x max s (1 - s), at most 1e-4;
* softmax probabilities, logits, mask coefficients, prototypes: the largest |value| of the tensor.

Losses are compared relative to each loss value (:func:`assert_losses_close`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

RTOL = 1e-4  # of each block's scale: 5-20x the rounding measured between the recordings and an AVX2 machine
SCORE_ATOL = 1e-4  # the most a sigmoid score (in [0, 1]) may be off, however large its logits
BOX_FIELDS = ("cx", "cy", "w", "h")


@dataclass(frozen=True)
class Block:
    """Rows ``start:stop`` along the compared axis, with absolute tolerance ``atol``; ``field_names`` name
    those rows in failure reports (else they are numbered)."""

    name: str
    start: int
    stop: int
    atol: float
    field_names: Sequence[str] = ()


@dataclass(frozen=True)
class Deviation:
    """The largest |actual - expected| of a block, its tolerance and how many values exceed it."""

    block: Block
    max_deviation: float
    failing: int
    total: int

    @property
    def ratio(self) -> float:
        """max_deviation / atol: below 1 passes."""
        if self.block.atol:
            return self.max_deviation / self.block.atol
        return np.inf if self.max_deviation else 0.0


def as_array(value) -> np.ndarray:
    """A tensor or array-like as a float64 numpy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def scale_of(values) -> float:
    """The largest |value|: the magnitude a block's rounding error is proportional to."""
    values = as_array(values)
    return float(np.abs(values).max()) if values.size else 0.0


def score_tolerance(scores, rtol: float = RTOL, cap: float = SCORE_ATOL) -> float:
    """Absolute tolerance of sigmoid scores: rtol x max|logit| x max s (1 - s) over the recorded scores
    (d score = s (1 - s) d logit), at most ``cap``. For the random-weight yolov8n (scores up to 0.018, logits
    down to -16) that is 2.8e-5."""
    scores = np.clip(as_array(scores), 1e-12, 1 - 1e-7)
    if not scores.size:
        return cap
    logits = np.log(scores) - np.log1p(-scores)
    return min(cap, rtol * float(np.abs(logits).max()) * float((scores * (1 - scores)).max()))


def _block_difference(actual: np.ndarray, expected: np.ndarray, block: Block, axis: int) -> np.ndarray:
    rows = np.arange(block.start, block.stop)
    difference = np.abs(np.take(actual, rows, axis) - np.take(expected, rows, axis))
    return np.where(np.isnan(difference), np.inf, difference)  # NaN never passes


def block_deviations(actual, expected, blocks: Sequence[Block], axis: int = 1) -> list[Deviation]:
    """Per block, its :class:`Deviation` from the recording."""
    actual, expected = as_array(actual), as_array(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != recorded {expected.shape}"
    deviations = []
    for block in blocks:
        difference = _block_difference(actual, expected, block, axis)
        deviations.append(Deviation(block, float(difference.max()) if difference.size else 0.0,
                                    int((difference > block.atol).sum()), difference.size))
    return deviations


def assert_blocks_close(actual, expected, blocks: Sequence[Block], axis: int = 1,
                        axis_names: Sequence[str] = (), name: str = "output", show: int = 5):
    """Each block within its ``atol``. Otherwise fail naming, per failing block, how many values are off,
    the worst deviation in tolerances and the ``show`` worst positions with actual and recorded values."""
    actual, expected = as_array(actual), as_array(expected)

    def label(dim: int, index: int, block: Block) -> str:
        if dim == axis and index - block.start < len(block.field_names):
            return block.field_names[index - block.start]
        return f"{axis_names[dim] if dim < len(axis_names) else f'dim {dim}'} {index}"

    lines = []
    for deviation in block_deviations(actual, expected, blocks, axis):
        if not deviation.failing:
            continue
        block = deviation.block
        lines.append(f"{name} {block.name}: {deviation.failing} of {deviation.total} values off by more than "
                     f"{block.atol:.3g}, worst by {deviation.max_deviation:.4g} ({deviation.ratio:.3g} x tolerance)")
        difference = _block_difference(actual, expected, block, axis)
        for flat in np.argsort(-difference, axis=None, kind="stable")[: min(show, deviation.failing)]:
            position = list(np.unravel_index(flat, difference.shape))
            off = difference[tuple(position)]
            position[axis] += block.start
            where = ", ".join(label(dim, int(index), block) for dim, index in enumerate(position))
            lines.append(f"  [{where}] actual {actual[tuple(position)]:.7g} recorded {expected[tuple(position)]:.7g} "
                         f"off by {off:.4g}")
    assert not lines, "\n".join(lines)


def decoded_blocks(expected, num_classes: int, box_rows: int = 4, rtol: float = RTOL,
                   score_atol: float = SCORE_ATOL) -> list[Block]:
    """Blocks of a decoded (B, box_rows + num_classes [+ nm], A): box rows and any extra rows (mask
    coefficients) within ``rtol`` x their largest recorded |value|, sigmoid scores within
    :func:`score_tolerance` (at most ``score_atol``)."""
    expected = as_array(expected)
    rows, first_extra = expected.shape[1], box_rows + num_classes
    blocks = [
        Block("boxes", 0, box_rows, rtol * scale_of(expected[:, :box_rows]), BOX_FIELDS[:box_rows]),
        Block("scores", box_rows, first_extra, score_tolerance(expected[:, box_rows:first_extra], rtol, score_atol),
              tuple(f"class {c}" for c in range(num_classes))),
    ]
    if rows > first_extra:
        blocks.append(Block("coefficients", first_extra, rows, rtol * scale_of(expected[:, first_extra:]),
                            tuple(f"coefficient {k}" for k in range(rows - first_extra))))
    return blocks


def decoded_deviations(actual, expected, num_classes: int, **options) -> dict[str, Deviation]:
    """Per block name ("boxes", "scores", "coefficients"), what :func:`assert_decoded_close` judges."""
    blocks = decoded_blocks(expected, num_classes, **options)
    return {deviation.block.name: deviation for deviation in block_deviations(actual, expected, blocks)}


def assert_decoded_close(actual, expected, num_classes: int, box_rows: int = 4, rtol: float = RTOL,
                         score_atol: float = SCORE_ATOL, name: str = "decoded"):
    """Decoded (B, box_rows + num_classes [+ nm], A) against its recording; see :func:`decoded_blocks`."""
    blocks = decoded_blocks(expected, num_classes, box_rows, rtol, score_atol)
    assert_blocks_close(actual, expected, blocks, axis=1, axis_names=("batch", "row", "anchor"), name=name)


def assert_detections_close(actual, expected, rtol: float = RTOL, score_atol: float = SCORE_ATOL,
                            name: str = "detections"):
    """Detections (N, 6) = (x1, y1, x2, y2 pixels, confidence, class) against a recording: boxes within
    ``rtol`` x the largest recorded |coordinate|, confidence within :func:`score_tolerance`, class exact."""
    expected = as_array(expected)
    blocks = [Block("boxes", 0, 4, rtol * scale_of(expected[:, :4]), ("x1", "y1", "x2", "y2")),
              Block("confidence", 4, 5, score_tolerance(expected[:, 4], rtol, score_atol), ("confidence",)),
              Block("class", 5, 6, 0.0, ("class",))]
    assert_blocks_close(actual, expected, blocks, axis=1, axis_names=("detection",), name=name)


def close_to_scale_block(expected, rtol: float = RTOL) -> Block:
    """One block over a whole tensor (along axis 0) with tolerance ``rtol`` x its largest recorded |value|."""
    expected = as_array(expected)
    return Block("values", 0, expected.shape[0], rtol * scale_of(expected))


def assert_close_to_scale(actual, expected, rtol: float = RTOL, axis_names: Sequence[str] = (),
                          name: str = "output"):
    """A whole tensor (logits, prototypes, softmax probabilities) within ``rtol`` x its largest recorded |value|."""
    assert_blocks_close(actual, expected, [close_to_scale_block(expected, rtol)], axis=0, axis_names=axis_names,
                        name=name)


def assert_losses_close(actual, expected, rtol: float, names: Sequence[str] = (), name: str = "loss"):
    """Loss values (any shape; the last axis named by ``names``) each within ``rtol`` of its recorded value."""
    actual, expected = as_array(actual), as_array(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != recorded {expected.shape}"
    relative = np.abs(actual - expected) / np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
    lines = []
    for position in map(tuple, np.argwhere(~(relative <= rtol))):  # NaN fails too
        what = f" ({names[position[-1]]})" if position and position[-1] < len(names) else ""
        lines.append(f"{name}[{', '.join(map(str, position))}]{what}: {actual[position]:.7g} vs recorded "
                     f"{expected[position]:.7g}, relative difference {relative[position]:.3g} > {rtol:g}")
    assert not lines, "\n".join(lines)
