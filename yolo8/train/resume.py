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


# Settings a resumed run may change: where and how it runs (a new machine), and for how long (more epochs
# extend a run, a finished one too). Everything else was fixed when the run started.
CHANGEABLE_ON_RESUME = ("device", "workers", "batch", "epochs", "patience", "save_period", "plots", "val", "verbose",
                        "amp", "exist_ok")
COMMAND_WORDS = ("resume", "mode", "task", "model")  # how the command names the run, not settings of it


def resumed_settings(train_args: dict, given: dict, path: Path) -> tuple[dict, dict]:
    """The settings a resumed run continues with: the checkpoint's ``train_args`` with the changeable ``given``
    settings applied. Returns (settings, the changes). A setting that cannot change on resume is refused with
    the reason, rather than dropped in silence."""
    changes, refused = {}, []
    for key, value in given.items():
        if key in COMMAND_WORDS or train_args.get(key) == value:
            continue
        if key in CHANGEABLE_ON_RESUME:
            changes[key] = value
        else:
            refused.append(f"{key}={value} (the run trained with {key}={train_args.get(key)})")
    if refused:
        raise ValueError(f"resume={path}: {'; '.join(refused)}: only {', '.join(CHANGEABLE_ON_RESUME)} can change "
                         f"when a run resumes. To train with other settings, start a new run from its weights: "
                         f"model={path}")
    return {**train_args, **changes, "resume": str(path)}, changes


def load_resume_checkpoint(path: Path, epochs: int | None = None) -> dict:
    """A last.pt with its training state; explains when it has none or the run had already finished (and
    ``epochs``, a new total, does not extend it)."""
    checkpoint = load_checkpoint(path)
    state = checkpoint.get("train_state")
    if state is None:
        raise CheckpointError(f"{path} holds no training state (it is a best.pt or an exported model), so it "
                              f"cannot be resumed; start a new run with model={path}.")
    planned = state.get("epochs", (checkpoint.get("train_args") or {}).get("epochs"))  # a time budget re-plans it
    total = epochs if epochs is not None else planned
    if total is not None and state["epoch"] + 1 >= total:
        done = state["epoch"] + 1
        raise CheckpointError(f"{path}: that run already finished all {done} epochs; nothing to resume. Extend it "
                              f"with resume={path} epochs=N (N > {done}), or start a new run with model={path}.")
    return checkpoint
