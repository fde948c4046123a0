"""Mask ops: exact crops, prototypes -> masks on constructed patterns, the letterbox inverse, polygons."""

import numpy as np
import pytest
import torch

from yolo8.data.transforms.letterbox import letterbox
from yolo8.ops.letterbox import LetterboxInfo
from yolo8.ops.masks import (
    CHUNK,
    box_pixel_ranges,
    crop_masks,
    mask_to_polygon,
    masks_from_letterbox,
    masks_from_prototypes,
    masks_to_polygons,
)


def test_crop_keeps_pixel_indices_inside_the_box():
    masks = torch.arange(1, 21, dtype=torch.float32).view(1, 4, 5)
    # columns c with 1.5 <= c < 3 -> {2}; rows r with 0.2 <= r < 2 -> {1}
    cropped = crop_masks(masks, torch.tensor([[1.5, 0.2, 3.0, 2.0]]))
    expected = torch.zeros(1, 4, 5)
    expected[0, 1, 2] = masks[0, 1, 2]
    assert torch.equal(cropped, expected)
    # integer edges: x1 included, x2 excluded; boxes past the edges are clipped
    cropped = crop_masks(masks.expand(2, 4, 5), torch.tensor([[1.0, 1.0, 3.0, 4.0], [-5.0, -5.0, 50.0, 50.0]]))
    assert torch.equal(cropped[0].nonzero()[:, 1].unique(), torch.tensor([1, 2]))
    assert torch.equal(cropped[0].nonzero()[:, 0].unique(), torch.tensor([1, 2, 3]))
    assert torch.equal(cropped[1], masks[0])
    assert box_pixel_ranges(torch.tensor([[1.5, 0.2, 3.0, 2.0], [-1.0, 2.5, 9.0, 9.0]]), 4, 5) == [
        (2, 1, 3, 2), (0, 3, 5, 4)]


def left_right_and_top_bottom_prototypes():
    """Two 4x4 prototypes: 0 is +1 on the left two columns, -1 on the right; 1 is +1 on the top two rows."""
    prototypes = -torch.ones(2, 4, 4)
    prototypes[0, :, :2] = 1
    prototypes[1, :2, :] = 1
    return prototypes


def test_masks_from_prototypes_exact_on_a_constructed_pattern():
    prototypes = left_right_and_top_bottom_prototypes()
    # coefficients select one prototype each (scale 2 or 3), the third combines both
    coefficients = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    whole = torch.tensor([[0.0, 0.0, 16.0, 16.0]]).repeat(3, 1)
    masks = masks_from_prototypes(prototypes, coefficients, whole, (16, 16))
    assert masks.shape == (3, 16, 16) and masks.dtype == torch.bool
    # 4 -> 16 bilinear (align_corners=False): output column c samples x = (c + 0.5) / 4 - 0.5, and the
    # +/- edge between source columns 1 and 2 sits at x = 1.5, so output columns 0-7 are positive
    left = torch.zeros(16, 16, dtype=torch.bool)
    left[:, :8] = True
    assert torch.equal(masks[0], left)
    assert torch.equal(masks[1], left.T)  # top rows 0-7
    # 1 * left + 1 * top: the upsampled left prototype along a row is +1 up to column 5, then
    # 0.75, 0.25, -0.25, -0.75 (columns 6-9, x = 1.125 … 1.875), then -1; the top one alike down a column
    profile = torch.tensor([1.0] * 6 + [0.75, 0.25, -0.25, -0.75] + [-1.0] * 6)
    assert torch.equal(masks[2], (profile[None, :] + profile[:, None]) > 0)

    # cropping happens at input resolution: x1 = 2.5 keeps columns 3.., x2 = 6 stops before column 6
    cropped = masks_from_prototypes(prototypes, coefficients[:1], torch.tensor([[2.5, 1.0, 6.0, 15.0]]), (16, 16))
    expected = torch.zeros(16, 16, dtype=torch.bool)
    expected[1:15, 3:6] = True
    assert torch.equal(cropped[0], expected)


def test_masks_from_prototypes_equals_sigmoid_of_upsampled_logits_in_chunks():
    generator = torch.Generator().manual_seed(0)
    prototypes = torch.randn(8, 10, 12, generator=generator)
    coefficients = torch.randn(CHUNK + 5, 8, generator=generator)
    boxes = torch.tensor([[3.0, 5.0, 30.0, 33.0]]).repeat(CHUNK + 5, 1)
    masks = masks_from_prototypes(prototypes, coefficients, boxes, (40, 48))
    logits = (coefficients @ prototypes.view(8, -1)).view(-1, 10, 12)
    upsampled = torch.nn.functional.interpolate(logits[None], (40, 48), mode="bilinear", align_corners=False)[0]
    expected = torch.zeros_like(masks)
    expected[:, 5:33, 3:30] = upsampled[:, 5:33, 3:30].sigmoid() > 0.5
    assert torch.equal(masks, expected)
    assert masks_from_prototypes(prototypes, coefficients[:0], boxes[:0], (40, 48)).shape == (0, 40, 48)


@pytest.mark.parametrize("channels_last", [False, True])
def test_masks_upsampled_around_each_box_equal_the_whole_image_upsampled(channels_last):
    # masks_from_prototypes upsamples only the prototype pixels around each box; the pixels must be the ones a
    # whole-image upsample gives, bit for bit: boxes at the edges, past them, fractional, empty, tiny and whole
    generator = torch.Generator().manual_seed(0)
    for trial in range(40):
        height, width = (int(v) for v in torch.randint(2, 30, (2,), generator=generator))
        prototypes = torch.randn(1, 8, height, width, generator=generator)
        if channels_last:  # as a backend's output slices come
            prototypes = prototypes.contiguous(memory_format=torch.channels_last)
        prototypes = prototypes[0]
        coefficients = torch.randn(12, 8, generator=generator) * 0.3
        corner = torch.rand(12, 2, generator=generator) * torch.tensor([4.0 * width, 4.0 * height]) - 3
        size = torch.rand(12, 2, generator=generator) * torch.tensor([4.0 * width, 4.0 * height])
        boxes = torch.cat([corner, corner + size], 1)
        boxes[0] = torch.tensor([0.0, 0.0, 4.0 * width, 4.0 * height])
        boxes[1] = torch.tensor([5.0, 5.0, 5.0, 9.0])  # empty
        boxes[2] = torch.tensor([4.2, 3.7, 5.1, 4.4])  # one pixel
        masks = masks_from_prototypes(prototypes, coefficients, boxes, (4 * height, 4 * width))
        logits = (coefficients @ prototypes.reshape(8, -1)).view(-1, height, width)
        upsampled = torch.nn.functional.interpolate(logits[None], (4 * height, 4 * width), mode="bilinear",
                                                    align_corners=False)[0]
        expected = crop_masks(upsampled > 0, boxes)
        assert torch.equal(masks, expected), trial


@pytest.mark.parametrize("shape", [(30, 50), (50, 30)])
def test_letterbox_inverse_is_exact_for_a_doubling_letterbox(shape):
    """Original (h0, w0) -> x2 -> padded on its short side: the inverse recovers the original mask."""
    height, width = shape
    image = np.zeros((height, width, 3), np.uint8)
    boxed, info = letterbox(image, (2 * max(shape), 2 * max(shape)), auto=True, scaleup=True, stride=32)
    # 2x is 60 x 100; auto padding adds (100 - 60) % 32 = 8 pixels, 4 on each side of the short side
    assert info.ratio == (2.0, 2.0) and boxed.shape[:2] == (68, 100)[:: 1 if height < width else -1]
    original = torch.zeros(1, height, width, dtype=torch.bool)
    original[0, 3:17, 5:21] = True
    original[0, 20, 25] = True  # a single pixel survives: each output samples its own 2x2 block
    left, top = int(info.pad[0]), int(info.pad[1])
    on_input = torch.zeros(1, *boxed.shape[:2], dtype=torch.bool)
    doubled = original.repeat_interleave(2, 1).repeat_interleave(2, 2)  # (1, h0, w0) -> (1, 2 h0, 2 w0)
    on_input[:, top : top + 2 * height, left : left + 2 * width] = doubled
    assert torch.equal(masks_from_letterbox(on_input, info, shape), original)


def test_letterbox_inverse_non_integer_ratio_and_identity():
    # 3 x 4 original scaled by 1.5 to 4.5 -> rounded 5 x 6 (ratios 5/3, 6/4), padded 1 top, 2 left
    info = LetterboxInfo((6 / 4, 5 / 3), (2.0, 1.0))
    on_input = torch.zeros(2, 8, 10, dtype=torch.bool)
    on_input[0, 1:6, 2:8] = True  # the whole image area
    on_input[1, 1:6, 2:5] = True  # its left half
    back = masks_from_letterbox(on_input, info, (3, 4))
    assert back.shape == (2, 3, 4)
    assert back[0].all()
    assert back[1].tolist() == [[True, True, False, False]] * 3
    unchanged = masks_from_letterbox(on_input, LetterboxInfo((1.0, 1.0), (0.0, 0.0)), (8, 10))
    assert torch.equal(unchanged, on_input)


def test_polygons_outline_the_largest_region():
    mask = np.zeros((20, 30), bool)
    mask[2:6, 3:9] = True  # 4 x 6 = 24 pixels
    mask[10:18, 12:28] = True  # 8 x 16 = 128 pixels: the largest
    polygon = mask_to_polygon(mask)
    assert polygon.dtype == np.float32
    assert sorted(map(tuple, polygon.tolist())) == [(12, 10), (12, 17), (27, 10), (27, 17)]
    assert mask_to_polygon(np.zeros((5, 5), bool)).shape == (0, 2)
    polygons = masks_to_polygons(torch.from_numpy(np.stack([mask, np.zeros_like(mask)])))
    assert len(polygons) == 2 and polygons[1].shape == (0, 2)
    np.testing.assert_array_equal(polygons[0], polygon)
