"""Shared fixtures: a tiny, easy detection dataset and a tiny YOLOv8 model that trains in seconds on a CPU."""

import importlib.util
import ipaddress
import logging
import socket
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from yolo8.nn.graph import resolve_model_yaml

TINY_SCALE = [0.33, 0.125, 1024]  # depth, width, max channels: a YOLOv8 a fraction of the size of n


class Interrupt(Exception):
    """Raised by :func:`train_interrupted_after` to stop a training run as a crash would."""


def train_interrupted_after(model, epochs_done: int, **train_settings):
    """Train ``model`` and stop it with :class:`Interrupt` once ``epochs_done`` epochs are complete (their
    last.pt written); the run is then one a user would resume."""
    def interrupt(trainer):
        if trainer.epoch + 1 == epochs_done:
            raise Interrupt

    model.add_callback("on_fit_epoch_end", interrupt)
    with pytest.raises(Interrupt):
        model.train(**train_settings)


def load_benchmark(name: str):
    """The script ``benchmarks/<name>.py`` as a module (benchmarks/ is not a package)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_shapes_dataset(root: Path, images: int, size: int = 64, seed: int = 0, polygons: bool = False) -> Path:
    """Write `images` pictures of filled squares (class 0) and discs (class 1) on noise, in YOLO format; with
    ``polygons`` the label rows are outlines (a square's 4 corners, a disc's 24-gon) instead of boxes.

    Train and val are the same images, so a model that learns anything scores above zero. Returns data.yaml.
    """
    rng = np.random.default_rng(seed)
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    for index in range(images):
        image = rng.integers(90, 140, (size, size, 3), dtype=np.uint8)
        rows = []
        for _ in range(int(rng.integers(1, 3))):
            cls = int(rng.integers(0, 2))
            side = int(rng.integers(size // 4, size // 2))
            x, y = (int(v) for v in rng.integers(0, size - side, 2))
            colour = (40, 40, 220) if cls == 0 else (220, 60, 40)
            if cls == 0:
                cv2.rectangle(image, (x, y), (x + side - 1, y + side - 1), colour, -1)
            else:
                cv2.circle(image, (x + side // 2, y + side // 2), side // 2, colour, -1)
            if polygons:
                if cls == 0:
                    outline = np.array([[x, y], [x + side, y], [x + side, y + side], [x, y + side]], np.float64)
                else:
                    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
                    outline = np.stack([x + side / 2 + side / 2 * np.cos(angles),
                                        y + side / 2 + side / 2 * np.sin(angles)], axis=1)
                rows.append(f"{cls} " + " ".join(f"{v:.6f}" for v in (outline / size).clip(0, 1).ravel()))
            else:
                rows.append(f"{cls} {(x + side / 2) / size:.6f} {(y + side / 2) / size:.6f} {side / size:.6f} "
                            f"{side / size:.6f}")
        for split in ("train", "val"):
            cv2.imwrite(str(root / "images" / split / f"{index:03d}.png"), image)
            (root / "labels" / split / f"{index:03d}.txt").write_text("\n".join(rows) + "\n")
    data_yaml = root / "data.yaml"
    data_yaml.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames: [square, disc]\n")
    return data_yaml


@pytest.fixture(scope="session")
def shapes_dataset(tmp_path_factory) -> Path:
    return write_shapes_dataset(tmp_path_factory.mktemp("shapes"), images=16)


@pytest.fixture(scope="session")
def shapes_segment_dataset(tmp_path_factory) -> Path:
    """The shapes dataset with polygon labels."""
    return write_shapes_dataset(tmp_path_factory.mktemp("shapes_seg"), images=16, polygons=True)


def tiny_yaml(name: str) -> dict:
    """The model YAML ``name`` at the tiny scale with 2 classes."""
    config = resolve_model_yaml(name)
    config["scales"] = {"t": TINY_SCALE}
    config["scale"] = "t"
    config["nc"] = 2
    return config


@pytest.fixture
def tiny_model_yaml() -> dict:
    return tiny_yaml("yolov8.yaml")


@pytest.fixture
def tiny_segment_yaml() -> dict:
    return tiny_yaml("yolov8-seg.yaml")


_LOGGER = logging.getLogger("yolo8")
_LOGGER_AT_START = (list(_LOGGER.handlers), _LOGGER.propagate, _LOGGER.level)


@pytest.fixture(autouse=True)
def restore_yolo8_logger():
    """The command line (``yolo8.cli.run``, which several tests call) attaches a console handler to the "yolo8"
    logger for good, as an application may; every test starts from the logger as the session found it, so
    caplog sees records."""
    handlers, propagate, level = _LOGGER_AT_START
    _LOGGER.handlers[:], _LOGGER.propagate, _LOGGER.level = list(handlers), propagate, level
    yield
    _LOGGER.handlers[:], _LOGGER.propagate, _LOGGER.level = list(handlers), propagate, level


@pytest.fixture(scope="module")
def recording_thread_count():
    """Run a module with 2 torch threads, as the incumbent's reference outputs were recorded: with 1 thread the
    fp32 summation order of some convolutions differs and a few of 176,400 outputs move by ~5e-4."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


class NetworkAccessInTests(OSError):
    """A test (or the code under test) tried to reach the network; yolo8 never opens a connection."""


def _is_loopback(host) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def refuse_network():
    """The whole suite runs with connections and name lookups outside this machine refused (loopback stays open
    for torch's process groups): a change that phones home fails CI instead of passing where a network exists."""
    patch = pytest.MonkeyPatch()
    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def checked(address):
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            raise NetworkAccessInTests(f"network access refused in the test suite: {address!r}")

    def connect(self, address):
        checked(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        checked(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        checked((host,))
        return real_getaddrinfo(host, *args, **kwargs)

    patch.setattr(socket.socket, "connect", connect)
    patch.setattr(socket.socket, "connect_ex", connect_ex)
    patch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    patch.undo()
