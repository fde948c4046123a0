"""read_image / image_size: EXIF orientation, channel and depth conversions, errors."""

import pickle
import struct

import cv2
import numpy as np
import pytest
from PIL import Image

from yolo8.data.imageio import ImageReadError, image_size, jpeg_orientation, read_image

# What a viewer shows for each EXIF orientation, as an operation on the stored (H, W, C) pixels.
DISPLAYED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, k=-1),  # 90 degrees clockwise
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, k=1),  # 90 degrees counter-clockwise
}


def _pattern(height=20, width=30):
    """(H, W, 3) uint8 RGB with every pixel distinct, so any flip or rotation shows."""
    rows, columns = np.mgrid[0:height, 0:width]
    return np.stack([rows * 12, columns * 8, (rows * width + columns) % 251], axis=-1).astype(np.uint8)


def _save_with_orientation(path, rgb, orientation, **options):
    exif = Image.Exif()
    exif[274] = orientation
    Image.fromarray(rgb).save(path, exif=exif, **options)


@pytest.mark.parametrize("extension", ["png", "webp", "tif"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_lossless_exif_orientation_exact(tmp_path, extension, orientation):
    rgb = _pattern()
    path = tmp_path / f"o{orientation}.{extension}"
    options = {"lossless": True} if extension == "webp" else {}
    _save_with_orientation(path, rgb, orientation, **options)
    expected_bgr = DISPLAYED[orientation](rgb)[..., ::-1]
    image = read_image(path)
    assert image.dtype == np.uint8 and image.flags.c_contiguous
    np.testing.assert_array_equal(image, expected_bgr)
    assert image_size(path) == expected_bgr.shape[:2]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation(tmp_path, orientation):
    rgb = _pattern()
    path = tmp_path / f"o{orientation}.jpg"
    _save_with_orientation(path, rgb, orientation, quality=95)
    assert jpeg_orientation(path.read_bytes()) == orientation
    stored = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)  # (20, 30, 3) as stored
    expected = DISPLAYED[orientation](stored)
    image = read_image(path)
    assert image.shape == expected.shape == ((30, 20, 3) if orientation >= 5 else (20, 30, 3))
    assert np.abs(image.astype(int) - expected.astype(int)).max() <= 2  # PIL vs OpenCV IDCT rounding
    assert image_size(path) == image.shape[:2]


def test_big_endian_exif_orientation(tmp_path):
    """A hand-built 'MM' (big-endian) APP1 segment with orientation 6 rotates the image."""
    path = tmp_path / "plain.jpg"
    cv2.imwrite(str(path), np.zeros((20, 30, 3), np.uint8))
    data = path.read_bytes()
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1) + struct.pack(">HHIHH", 274, 3, 1, 6, 0) + b"\0" * 4
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(tiff)) + b"Exif\x00\x00" + tiff
    rotated = tmp_path / "rotated.jpg"
    rotated.write_bytes(data[:2] + app1 + data[2:])
    assert jpeg_orientation(rotated.read_bytes()) == 6
    assert read_image(rotated).shape == (30, 20, 3)
    assert image_size(rotated) == (30, 20)
    assert jpeg_orientation(data) == 1
    assert jpeg_orientation(b"not a jpeg") == 1


def test_grayscale_rgba_and_16_bit_png(tmp_path):
    gray = (np.arange(12 * 14).reshape(12, 14) % 256).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    image = read_image(tmp_path / "gray.png")
    assert image.shape == (12, 14, 3) and image.dtype == np.uint8
    for channel in range(3):
        np.testing.assert_array_equal(image[..., channel], gray)

    rgba = np.zeros((12, 14, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 10, 20, 30, 0  # fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    image = read_image(tmp_path / "rgba.png")
    assert image.shape == (12, 14, 3)
    np.testing.assert_array_equal(image[0, 0], [30, 20, 10])  # BGR, alpha dropped

    values = np.array([0, 255, 256, 1000, 32768, 65535], np.uint16)
    gray16 = np.tile(values, (12, 2))
    cv2.imwrite(str(tmp_path / "gray16.png"), gray16)
    image = read_image(tmp_path / "gray16.png")
    assert image.shape == (12, 12, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[0, :6, 0], values >> 8)

    color16 = np.stack([gray16, gray16 // 2, gray16 // 4], axis=-1)  # BGR as cv2 writes it
    cv2.imwrite(str(tmp_path / "color16.png"), color16)
    image = read_image(tmp_path / "color16.png")
    np.testing.assert_array_equal(image[0, 5], [255, 127, 63])


def test_pil_fallback_matches_for_16_bit_gray(tmp_path):
    """The PIL path (used for EXIF-rotated files) scales 16-bit the same way OpenCV does."""
    values = np.array([[0, 255, 256, 1000, 32768, 65535]] * 11, np.uint16)
    image = Image.fromarray(values)  # mode I;16
    exif = Image.Exif()
    exif[274] = 3
    image.save(tmp_path / "gray16_rot.png", exif=exif)
    result = read_image(tmp_path / "gray16_rot.png")
    assert result.shape == (11, 6, 3)
    np.testing.assert_array_equal(result[0, :, 1], (values[0] >> 8)[::-1])


def test_unreadable_files_raise_image_read_error(tmp_path):
    missing = tmp_path / "missing.jpg"
    with pytest.raises(ImageReadError, match="missing.jpg") as info:
        read_image(missing)
    assert info.value.path == str(missing)
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"this is not an image" * 10)
    with pytest.raises(ImageReadError, match="garbage.jpg"):
        read_image(garbage)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_image(empty)
    with pytest.raises(ImageReadError, match="garbage.jpg"):
        image_size(garbage)
    assert isinstance(info.value, OSError)
    copy = pickle.loads(pickle.dumps(info.value))  # crosses DataLoader worker processes intact
    assert (copy.path, copy.reason, str(copy)) == (info.value.path, info.value.reason, str(info.value))


def test_truncated_jpeg_still_decodes(tmp_path):
    """A JPEG that lost its end marker (interrupted copy) decodes with the surviving pixels."""
    pixels = np.full((24, 32, 3), 120, np.uint8)
    path = tmp_path / "cut.jpg"
    cv2.imwrite(str(path), pixels)
    path.write_bytes(path.read_bytes()[:-2])
    image = read_image(path)
    assert image.shape == (24, 32, 3)
    assert np.abs(image.astype(int) - 120).max() <= 2
