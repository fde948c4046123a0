"""load_source: files, directories, globs, videos, lists and in-memory images."""

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from yolo8.data.sources import load_source


def solid_image(value, height=24, width=32):
    """(H, W, 3) uint8 BGR with a distinct colour per channel so channel order is checkable."""
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = value, 100, 200
    return image


def write_video(path, frames, fps=10.0, size=(32, 24)):
    """Write ``frames`` MJPG frames whose blue channel encodes the frame number (index * 20)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for index in range(frames):
        writer.write(solid_image(index * 20, size[1], size[0]))
    writer.release()


@pytest.fixture
def folder(tmp_path):
    cv2.imwrite(str(tmp_path / "b.png"), solid_image(10))
    cv2.imwrite(str(tmp_path / "a.png"), solid_image(20, 16, 8))
    (tmp_path / "notes.txt").write_text("not an image")
    write_video(tmp_path / "c.avi", 5)
    return tmp_path


def test_image_file(folder):
    frames = list(load_source(str(folder / "b.png")))
    assert len(frames) == 1
    frame = frames[0]
    assert frame.path == str(folder / "b.png") and frame.kind == "image"
    assert (frame.item, frame.items) == (0, 1)
    np.testing.assert_array_equal(frame.image, solid_image(10))


def test_directory_is_sorted_and_skips_other_files(folder):
    source = load_source(folder)
    assert len(source) == 3
    frames = list(source)
    assert [f.path.rsplit("/", 1)[-1] for f in frames] == ["a.png", "b.png"] + ["c.avi"] * 5
    assert frames[0].image.shape == (16, 8, 3)
    assert [f.item for f in frames] == [0, 1, 2, 2, 2, 2, 2]


def test_glob(folder):
    frames = list(load_source(str(folder / "*.png")))
    assert [f.path.rsplit("/", 1)[-1] for f in frames] == ["a.png", "b.png"]


def test_video_frames_and_stride(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path, 7, fps=10.0)
    frames = list(load_source(str(path)))
    assert [f.frame for f in frames] == [1, 2, 3, 4, 5, 6, 7]
    assert {f.frames for f in frames} == {7} and frames[0].kind == "video"
    assert frames[0].fps == pytest.approx(10.0)
    # the blue channel encodes the file's frame number (MJPG is lossy: compare within a few levels)
    assert [round(float(f.image[..., 0].mean()) / 20) for f in frames] == list(range(7))

    strided = list(load_source(str(path), vid_stride=3))
    assert [round(float(f.image[..., 0].mean()) / 20) for f in strided] == [0, 3, 6]
    assert [f.frame for f in strided] == [1, 2, 3] and strided[0].frames == 3
    assert strided[0].fps == pytest.approx(10.0 / 3)


def test_video_is_streamed_not_loaded_whole(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path, 4)
    iterator = iter(load_source(str(path)))
    first = next(iterator)
    assert first.frame == 1  # a frame arrives before the rest of the video is read
    assert sum(1 for _ in iterator) == 3


def test_list_of_sources(folder):
    frames = list(load_source([folder / "b.png", str(folder / "a.png")]))
    assert [f.path.rsplit("/", 1)[-1] for f in frames] == ["b.png", "a.png"]
    assert [(f.item, f.items) for f in frames] == [(0, 2), (1, 2)]


def test_numpy_and_grayscale_arrays():
    image = solid_image(5)
    frames = list(load_source([image, image[..., 0]]))
    assert [f.path for f in frames] == ["image0.jpg", "image1.jpg"] and frames[0].kind == "array"
    np.testing.assert_array_equal(frames[0].image, image)
    assert frames[1].image.shape == (24, 32, 3) and (frames[1].image == 5).all()


def test_pil_image_is_converted_to_bgr():
    bgr = solid_image(30)
    pil = Image.fromarray(bgr[..., ::-1].copy())  # PIL holds RGB
    frame = next(iter(load_source(pil)))
    np.testing.assert_array_equal(frame.image, bgr)


def test_torch_tensor_batch_is_converted_to_bgr():
    bgr = solid_image(51)
    # (H, W, 3) BGR -> (1, 3, H, W) RGB in [0, 1]
    tensor = torch.from_numpy(bgr[..., ::-1].copy()).permute(2, 0, 1)[None].float() / 255
    frames = list(load_source(torch.cat((tensor, tensor))))
    assert len(frames) == 2
    np.testing.assert_array_equal(frames[1].image, bgr)


def test_missing_path_is_named(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        load_source(str(missing))
    with pytest.raises(FileNotFoundError, match=r"\*.jpg"):
        load_source(str(tmp_path / "*.jpg"))
    with pytest.raises(FileNotFoundError, match="holds no images"):
        load_source(tmp_path)


@pytest.mark.parametrize(
    "source, message",
    [
        (42, "int is not supported"),
        (np.zeros((4, 4, 4), np.uint8), r"\(4, 4, 4\)"),
        (np.zeros((4, 4, 3), np.float32), "float32"),
        (torch.full((1, 3, 4, 4), 2.0), r"\[0, 1\]"),
        ("http://example.com/a.jpg", "network"),
        ([], "empty list"),
    ],
)
def test_unsupported_sources_are_explained(source, message):
    with pytest.raises(ValueError, match=message):
        load_source(source)


def test_unsupported_suffix_is_explained(folder):
    with pytest.raises(ValueError, match="notes.txt"):
        load_source(str(folder / "notes.txt"))


def test_invalid_vid_stride():
    with pytest.raises(ValueError, match="vid_stride=0"):
        load_source(solid_image(1), vid_stride=0)
