"""The built-in tracking demo: a short video of the built-in dataset's shapes moving, with MOTChallenge ground truth.

Shapes enter from the borders or start inside, move at constant velocity (bouncing off the borders until their
exit time), pass behind two textured pillars (short full occlusions) and in front of or behind each other, and
leave through the borders. The ground truth follows the built-in dataset's rule: an object is labelled in a frame
when at least ``MIN_VISIBLE_FRACTION`` of its area is visible, with the box of its visible pixels.

Layout under ``cache_home()/datasets/track-demo-v1``::

    demo.mp4    the video (mp4v, 30 fps)
    gt.txt      MOTChallenge rows: frame, id, left, top, width, height, 1, 1, visibility (class 1 for every
                object, as MOT evaluators count only class 1; the shape classes are in demo.json)
    demo.json   generator version, parameters and each id's shape class; written last, so its presence means
                complete
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from yolo8.data.synthetic import textures
from yolo8.data.synthetic.builtin import cache_home, replace_directory
from yolo8.data.synthetic.scene import MIN_CONTRAST, MIN_VISIBLE_FRACTION
from yolo8.data.synthetic.shapes import CLASS_NAMES, rasterize_shape

VIDEO_VERSION = 1  # bump whenever the pixels or ground truth for given parameters change
MARKER_NAME = "demo.json"
FPS = 30.0


@dataclass
class _Mover:
    """One moving object: its mask and fill, first / last frame (0-based), start position and velocity."""

    track_id: int
    class_id: int
    mask: np.ndarray  # (h, w) bool
    fill: np.ndarray  # (h, w, 3) float32
    first: int
    last: int
    position: np.ndarray  # (2,) x, y of the mask's top-left corner at frame `first`
    velocity: np.ndarray  # (2,) pixels per frame


def _make_movers(rng: np.random.Generator, width: int, height: int, frames: int, objects: int,
                 backdrop: np.ndarray) -> list[_Mover]:
    movers = []
    for index in range(objects):
        class_id = int(rng.integers(len(CLASS_NAMES)))
        mask = rasterize_shape(class_id, float(rng.uniform(0.09, 0.16) * min(width, height)), rng).astype(bool)
        mh, mw = mask.shape
        for _ in range(5):  # a fill that stands out from the background
            fill = textures.object_fill(rng, mh, mw)
            if np.abs(fill[mask].mean(axis=0) - backdrop).sum() >= MIN_CONTRAST:
                break
        speed = rng.uniform(1.0, 3.0)
        angle = rng.uniform(0, 2 * np.pi)
        velocity = speed * np.array([np.cos(angle), np.sin(angle)])
        if index < objects // 2:  # present from the first frame, somewhere inside
            first = 0
            position = rng.uniform([0, 0], [width - mw, height - mh])
        else:  # enters later through a border, heading inwards
            first = int(rng.integers(1, frames * 2 // 3))
            side = int(rng.integers(4))
            position = np.array([rng.uniform(0, width - mw), rng.uniform(0, height - mh)])
            if side == 0:
                position[0], velocity[0] = -mw + 1, abs(velocity[0]) + 0.5
            elif side == 1:
                position[0], velocity[0] = width - 1, -abs(velocity[0]) - 0.5
            elif side == 2:
                position[1], velocity[1] = -mh + 1, abs(velocity[1]) + 0.5
            else:
                position[1], velocity[1] = height - 1, -abs(velocity[1]) - 0.5
        last = int(min(frames - 1, first + rng.integers(frames // 3, frames)))
        movers.append(_Mover(index + 1, class_id, mask, fill, first, last, position, velocity))
    return movers


def _positions(mover: _Mover, frames: int, width: int, height: int) -> dict[int, np.ndarray]:
    """Top-left corner per frame: bounce off the borders while alive, then keep going out (the exit)."""
    mh, mw = mover.mask.shape
    position, velocity, out = mover.position.astype(float).copy(), mover.velocity.copy(), {}
    for frame in range(mover.first, frames):
        out[frame] = position.copy()
        position += velocity
        if frame < mover.last:  # bounce only once fully inside, so entering objects come in
            for axis, limit in ((0, width - mw), (1, height - mh)):
                inside = 0 <= out[frame][axis] <= limit
                if inside and not 0 <= position[axis] <= limit:
                    velocity[axis] = -velocity[axis]
                    position[axis] = np.clip(position[axis], 0, limit)
    return out


def render_demo(frames: int = 150, width: int = 320, height: int = 256, objects: int = 10, seed: int = 0):
    """Yield (image (H, W, 3) uint8 BGR, ground-truth rows [(id, class, x1, y1, x2, y2, visibility)]) per frame."""
    rng = np.random.default_rng(seed)
    background = textures.background(rng, height, width)
    pillars = []  # occluders in front of everything: two vertical bars of a texture
    for centre in (0.33, 0.7):
        x1 = int(centre * width)
        pillars.append((x1, x1 + int(0.06 * width), textures.object_fill(rng, height, int(0.06 * width))))
    movers = _make_movers(rng, width, height, frames, objects, background.reshape(-1, 3).mean(axis=0))
    depth = rng.permutation(len(movers))  # drawing order: later ones pass in front
    paths = [_positions(m, frames, width, height) for m in movers]
    for frame in range(frames):
        canvas = background.copy()
        owner = np.full((height, width), -1, np.int16)
        for index in depth:
            mover, path = movers[index], paths[index]
            if frame not in path:
                continue
            left, top = (int(round(v)) for v in path[frame])
            mh, mw = mover.mask.shape
            x1, y1, x2, y2 = max(left, 0), max(top, 0), min(left + mw, width), min(top + mh, height)
            if x1 >= x2 or y1 >= y2:
                continue
            part = mover.mask[y1 - top:y2 - top, x1 - left:x2 - left]
            canvas[y1:y2, x1:x2][part] = mover.fill[y1 - top:y2 - top, x1 - left:x2 - left][part]
            owner[y1:y2, x1:x2][part] = index
        for x1, x2, fill in pillars:
            canvas[:, x1:x2] = fill
            owner[:, x1:x2] = -2
        canvas = canvas + textures.grain(rng, height, width, 2.0)
        image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
        rows = []
        for index, mover in enumerate(movers):
            ys, xs = np.nonzero(owner == index)
            visibility = len(xs) / mover.mask.sum()
            if frame in paths[index] and visibility >= MIN_VISIBLE_FRACTION:
                rows.append((mover.track_id, mover.class_id, int(xs.min()), int(ys.min()), int(xs.max()) + 1,
                             int(ys.max()) + 1, round(float(visibility), 3)))
        yield image, rows


def demo_video(root: Path | str | None = None, frames: int = 150, width: int = 320, height: int = 256,
               objects: int = 10, seed: int = 0) -> tuple[Path, Path]:
    """(video path, MOTChallenge gt.txt path) of the tracking demo, generated on first use (a few seconds)."""
    spec = {"version": VIDEO_VERSION, "frames": frames, "width": width, "height": height, "objects": objects,
            "seed": seed}
    if root is None:
        name = "track-demo-v1"
        if (frames, width, height, objects, seed) != (150, 320, 256, 10, 0):
            name += f"-{frames}f-{width}x{height}-{objects}obj-seed{seed}"
        root = cache_home() / "datasets" / name
    root = Path(root)
    video, gt = root / "demo.mp4", root / "gt.txt"
    try:
        marker = json.loads((root / MARKER_NAME).read_text())
        if {key: marker.get(key) for key in spec} == spec and video.is_file() and gt.is_file():
            return video, gt
    except (OSError, ValueError):
        pass
    root.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        writer = cv2.VideoWriter(str(partial / "demo.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
        if not writer.isOpened():
            raise OSError(f"cannot write '{partial / 'demo.mp4'}': OpenCV has no mp4v encoder here.")
        lines, classes = [], {}
        for number, (image, rows) in enumerate(render_demo(frames, width, height, objects, seed), start=1):
            writer.write(image)
            classes.update({tid: CLASS_NAMES[cls] for tid, cls, *_ in rows})
            lines += [f"{number},{tid},{x1},{y1},{x2 - x1},{y2 - y1},1,1,{vis}"
                      for tid, cls, x1, y1, x2, y2, vis in rows]
        writer.release()
        (partial / "gt.txt").write_text("\n".join(lines) + "\n")
        marker = {**spec, "classes": {str(k): v for k, v in sorted(classes.items())}}
        (partial / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n")
        replace_directory(partial, root)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return video, gt
