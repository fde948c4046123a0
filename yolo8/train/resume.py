"""What a training checkpoint holds beyond the model, and how a run is resumed from it.

``last.pt`` carries ``train_state`` (raw weights, optimizer, scheduler, EMA counter, epoch, best fitness,
RNG states) so ``resume=True`` continues exactly; ``best.pt`` has none: it is an inference checkpoint.
Everything is plain tensors and types, so both load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from yolo8.checkpoints.native import CheckpointError, load_checkpoint


def capture_rng_state() -> dict:
    """The Python, NumPy and torch RNG states as plain types and tensors."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    """Inverse of :func:`capture_rng_state`."""
    python_state = state["python"]
    random.setstate((python_state[0], tuple(python_state[1]), python_state[2]))
    saved = state["numpy"]
    np.random.set_state((saved["kind"], saved["keys"].numpy().astype(np.uint32), saved["position"],
                         saved["has_gauss"], saved["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def find_resume_checkpoint(resume, runs_dir: Path) -> Path:
    """The last.pt to resume: the path given, or the most recently written one under ``runs_dir``."""
    if isinstance(resume, (str, Path)) and str(resume).lower() not in ("true", "1"):
        path = Path(resume)
        if not path.is_file():
            raise FileNotFoundError(f"resume={resume}: no such checkpoint; give the path of a run's weights/last.pt.")
        return path
    candidates = sorted(runs_dir.glob("*/weights/last.pt"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise FileNotFoundError(f"resume=True but no {runs_dir}/*/weights/last.pt exists; "
                                "give resume=path/to/last.pt or train without resume.")
    return candidates[-1]


def load_resume_checkpoint(path: Path) -> dict:
    """A last.pt with its training state; explains when it has none or the run had already finished."""
    checkpoint = load_checkpoint(path)
    state = checkpoint.get("train_state")
    if state is None:
        raise CheckpointError(f"{path} holds no training state (it is a best.pt or an exported model), so it "
                              f"cannot be resumed; start a new run with model={path}.")
    epochs = state.get("epochs", (checkpoint.get("train_args") or {}).get("epochs"))  # a time budget re-plans it
    if epochs is not None and state["epoch"] + 1 >= epochs:
        raise CheckpointError(f"{path}: that run already finished all {epochs} epochs; nothing to resume. "
                              f"Start a new run with model={path} to train further.")
    return checkpoint
