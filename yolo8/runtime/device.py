"""Choosing the compute device and the thread count, and seeding for reproducible runs."""

from __future__ import annotations

import os
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch


def available_cpus() -> int:
    """CPU cores this process may use (respects affinity masks and container limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def select_device(device: str | int | None) -> torch.device:
    """Map the ``device`` setting to a torch device.

    ``None``/empty picks the first GPU when CUDA is available, otherwise the CPU; ``cpu``; ``0``/``cuda:0``;
    ``0,1`` names several GPUs, which needs a ``torchrun`` launch (each process then uses ``LOCAL_RANK``).
    """
    text = "" if device is None else str(device).strip().lower().replace("cuda:", "")
    if text in ("", "none"):
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        return torch.device("mps")
    indices = [item.strip() for item in text.split(",") if item.strip()]
    if not all(item.isdigit() for item in indices):
        raise ValueError(f"device={device!r} is not understood; use cpu, 0, or 0,1.")
    if not torch.cuda.is_available():
        raise ValueError(f"device={device!r} asks for CUDA, but no CUDA GPU is available here; use device=cpu.")
    if len(indices) > 1:
        local_rank = os.environ.get("LOCAL_RANK")
        if local_rank is None:
            raise ValueError(
                f"device={device!r} names {len(indices)} GPUs: launch with "
                f"'torchrun --nproc_per_node {len(indices)} -m yolo8.cli train ...' for distributed training."
            )
        return torch.device(f"cuda:{indices[int(local_rank)]}")
    index = int(indices[0])
    if index >= torch.cuda.device_count():
        raise ValueError(f"device={device!r}: only {torch.cuda.device_count()} CUDA device(s) are visible.")
    return torch.device(f"cuda:{index}")


@contextmanager
def all_cores() -> Iterator[int]:
    """Run the block with torch using every available core (its default can be lower inside containers), then
    give the caller back its own thread count. Yields the count used."""
    previous = torch.get_num_threads()
    cores = available_cpus()
    torch.set_num_threads(cores)
    try:
        yield cores
    finally:
        torch.set_num_threads(previous)


@contextmanager
def seeded(seed: int, deterministic: bool) -> Iterator[None]:
    """Run the block with Python, NumPy and torch seeded and, with ``deterministic``, torch's deterministic
    kernels; afterwards the caller's random states and determinism flags are what they were."""
    saved_random, saved_numpy, saved_torch = random.getstate(), np.random.get_state(), torch.get_rng_state()
    saved_cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    saved_flags = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
                   torch.utils.deterministic.fill_uninitialized_memory, torch.backends.cudnn.deterministic)
    saved_cublas = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        # Deterministic mode would also fill every new tensor with NaN, a debugging aid that only matters to a
        # kernel reading memory it never wrote; it cost 4% of a CPU training step (746 vs 717 ms, yolov8n at 320).
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.backends.cudnn.deterministic = True
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    try:
        yield
    finally:
        enabled, warn_only, fill, cudnn_deterministic = saved_flags
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = fill
        torch.backends.cudnn.deterministic = cudnn_deterministic
        if saved_cublas is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = saved_cublas
        random.setstate(saved_random)
        np.random.set_state(saved_numpy)
        torch.set_rng_state(saved_torch)
        if saved_cuda is not None:
            torch.cuda.set_rng_state_all(saved_cuda)
