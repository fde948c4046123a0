"""Reading images from disk as (H, W, 3) uint8 BGR arrays, with their EXIF orientation applied.

The fast path is ``cv2.imdecode`` on the file's bytes (also safe for non-ASCII paths on Windows).
JPEGs whose EXIF orientation tag is 2..8 go through PIL's ``ImageOps.exif_transpose`` so the
result never depends on the OpenCV version; so do files OpenCV cannot decode (for example
TIFFs with an orientation tag). ``image_size`` gives the same (h, w) from the header alone.
"""

from __future__ import annotations

import io
import os
import struct

import cv2
import numpy as np
from PIL import Image, ImageOps

ORIENTATION_TAG = 274  # EXIF "Orientation"; 5..8 swap width and height
_TRANSPOSED_ORIENTATIONS = (5, 6, 7, 8)


class ImageReadError(OSError):
    """An image file that cannot be read or decoded.

    Attributes:
        path: the file.
        reason: what went wrong, in words.
    """

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read image '{self.path}': {reason}")

    def __reduce__(self):  # keeps the two-argument constructor picklable (DataLoader workers)
        return (type(self), (self.path, self.reason))


def jpeg_orientation(data: bytes) -> int:
    """EXIF orientation (1..8) of JPEG bytes, read from the APP1 segment; 1 when absent or not a JPEG.

    Only the markers before the first scan are walked, so this costs microseconds.
    """
    if data[:2] != b"\xff\xd8":
        return 1
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return 1
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: no metadata after this
            return 1
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        segment = data[position + 4 : position + 2 + length]
        if marker == 0xE1 and segment[:6] == b"Exif\x00\x00":
            return _tiff_orientation(segment[6:])
        position += 2 + length
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    """Orientation tag of the first IFD of a TIFF-structured EXIF block; 1 when missing or malformed."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    endian = "<" if tiff[:2] == b"II" else ">"
    (ifd_offset,) = struct.unpack(endian + "I", tiff[4:8])
    if ifd_offset + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(endian + "H", tiff[ifd_offset : ifd_offset + 2])
    for index in range(count):
        entry = ifd_offset + 2 + 12 * index
        if entry + 12 > len(tiff):
            return 1
        tag, _type, _count, value = struct.unpack(endian + "HHIH", tiff[entry : entry + 10])
        if tag == ORIENTATION_TAG:
            return value if 1 <= value <= 8 else 1
    return 1


def pil_orientation(image: Image.Image) -> int:
    """EXIF orientation (1..8) of an opened PIL image without decoding its pixels; 1 when absent.

    PNGs only count an eXIf chunk that comes before the pixel data (reading a later one would
    decode the whole file).
    """
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # malformed EXIF is ignored, as viewers do
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """(height, width) of an opened PIL image after its EXIF orientation is applied."""
    width, height = image.size
    if image.format == "TIFF":  # Pillow's TIFF reader already reports the oriented size
        return height, width
    if pil_orientation(image) in _TRANSPOSED_ORIENTATIONS:
        return width, height
    return height, width


def image_size(path) -> tuple[int, int]:
    """(height, width) of the image file after EXIF orientation, from the header only.

    Raises:
        ImageReadError: the file is missing or not an image PIL can identify.
    """
    try:
        with Image.open(path) as image:
            return oriented_size(image)
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageReadError(path, str(error) or type(error).__name__) from error


def _pil_to_bgr(image: Image.Image) -> np.ndarray:
    """Any PIL image -> (H, W, 3) uint8 BGR; alpha dropped, 16/32-bit integers scaled by 1/256."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        pixels = np.asarray(image).astype(np.int64) >> 8  # 16-bit range -> 8-bit, as OpenCV does
        gray = np.clip(pixels, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))  # (H, W) -> (H, W, 3)
    if image.mode == "F":
        gray = np.clip(np.asarray(image), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))  # (H, W) -> (H, W, 3)
    rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[..., ::-1])  # RGB -> BGR


def _read_with_pil(path, data: bytes) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return _pil_to_bgr(ImageOps.exif_transpose(image))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageReadError(path, f"not a decodable image ({error})") from error


def read_image(path) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 BGR with its EXIF orientation applied.

    Grayscale is repeated to 3 channels, alpha is dropped, 16-bit samples are scaled to 8 bits
    (value >> 8).

    Raises:
        ImageReadError: the file cannot be opened or decoded; the message names the file.
    """
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ImageReadError(path, error.strerror or str(error)) from error
    if not data:
        raise ImageReadError(path, "the file is empty")
    if jpeg_orientation(data) != 1:
        return _read_with_pil(path, data)
    image = _decode(data)
    if image is None and data[:2] == b"\xff\xd8" and data[-2:] != b"\xff\xd9":
        image = _decode(data + b"\xff\xd9")  # truncated JPEG: decode what is there, the rest is grey
    if image is None:  # formats or features OpenCV does not handle; PIL may
        return _read_with_pil(path, data)
    return image


def _decode(data: bytes) -> np.ndarray | None:
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        return None


def is_truncated_jpeg(path) -> bool:
    """True when a JPEG file lacks its end-of-image marker (FF D9), a sign of an interrupted copy."""
    with open(path, "rb") as file:
        if file.read(2) != b"\xff\xd8":
            return False
        file.seek(-2, os.SEEK_END)
        return file.read(2) != b"\xff\xd9"
