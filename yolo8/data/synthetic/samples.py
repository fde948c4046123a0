"""Sample images shipped in yolo8/assets for trying prediction without a dataset."""

from __future__ import annotations

from pathlib import Path

import cv2

from yolo8.data.synthetic.builtin import JPEG_QUALITY, image_rng
from yolo8.data.synthetic.scene import Scene, render_scene

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
# (file name, width, height, index in the "sample" random stream of seed 0); indices picked by eye
SAMPLES = (("shapes1.jpg", 320, 320, 0), ("shapes2.jpg", 480, 320, 10))


def sample_scene(name: str) -> Scene:
    """The scene (image and labels) behind one shipped sample image, regenerated from its seed."""
    for file_name, width, height, index in SAMPLES:
        if file_name == name:
            return render_scene(image_rng(0, "sample", index), width, height)
    raise ValueError(f"unknown sample image {name!r}; choose one of {[item[0] for item in SAMPLES]}")


def sample_images() -> list[Path]:
    """Paths of the shipped sample images (JPEG): shapes1.jpg 320x320 and shapes2.jpg 480x320."""
    return [ASSETS_DIR / file_name for file_name, *_ in SAMPLES]


def write_sample_images(directory: Path = ASSETS_DIR) -> list[Path]:
    """Regenerate the sample images into directory (what produced the shipped files)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for file_name, *_ in SAMPLES:
        path = directory / file_name
        if not cv2.imwrite(str(path), sample_scene(file_name).image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"cv2.imwrite could not write {path}; check that the directory is writable")
        paths.append(path)
    return paths
