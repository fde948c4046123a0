"""Native yolo8 checkpoints: plain types only, written atomically, read with ``weights_only=True``.

Content of a checkpoint (a dict)::

    {"format": "yolo8", "version": 1, "task": "detect" | "segment" | "classify",
     "model_yaml": dict, "state_dict": {name: Tensor}, "names": {int: str}, "stride": [float],
     "fused": bool, "train_args": dict | None, ...extra keys given by the caller}

Nothing in it needs code to unpickle, so loading never runs code from the file.
"""

from __future__ import annotations

import errno
import os
import pickle
import tempfile
import threading
from pathlib import Path

import torch

CHECKPOINT_FORMAT = "yolo8"
CHECKPOINT_VERSION = 1
REQUIRED_KEYS = ("task", "model_yaml", "state_dict")


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, unsafe or not a yolo8 checkpoint."""


class DiskFullError(OSError):
    """A checkpoint could not be written because its disk is full; the previous file is left intact.

    ``errno`` is ``ENOSPC``; ``path`` is the checkpoint that was being written.
    """

    def __init__(self, path, message: str):
        super().__init__(message)
        self.errno = errno.ENOSPC  # set after: str() stays the one-line message
        self.path = str(path)

    def __reduce__(self):
        return (type(self), (self.path, self.args[0]))


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read from ``/proc/self/status`` where the kernel reports it (no side effect).
    Elsewhere ``os.umask`` can only be read by setting it, so it is set and restored at once, under a lock so
    concurrent savers in this process never see the temporary value."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _is_disk_full(error: BaseException) -> bool:
    """True for the errors a full disk (or an exhausted quota) gives, from Python I/O or from torch's C++ writer."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower()
    return "no space left on device" in text or "disk quota exceeded" in text


def save_checkpoint(obj: dict, path) -> Path:
    """Write ``obj`` with ``torch.save`` to a temporary file next to ``path``, then rename it over
    ``path`` (atomic: a reader sees the old file or the new one, never half of one). Returns the path.

    The file gets the permissions of any other file the process creates (``0o666 & ~umask``), not the
    0600 of a temporary file.

    Raises:
        DiskFullError: the disk is full; the temporary file is removed and an existing ``path`` is unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(obj, file)
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp creates 0600
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.remove(temporary)
        if isinstance(error, Exception) and _is_disk_full(error):
            kept = " (the previous file is unchanged)" if path.exists() else ""
            raise DiskFullError(
                path, f"cannot save checkpoint '{path}': the disk is full{kept}. Free space on that disk, or write "
                "the run elsewhere with project=<a folder on another disk>") from None
        raise
    return path


def load_checkpoint(path) -> dict:
    """Read a yolo8 checkpoint onto the CPU without executing code from it.

    Raises:
        CheckpointError: naming the file, when it is missing, not a torch file, needs code to load
            (for example an Ultralytics ``.pt``, which pickles its model classes), or is not a yolo8 checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        message = str(error)
        if "ultralytics" in message:
            raise CheckpointError(
                f"{path}: this is an Ultralytics checkpoint (it pickles Ultralytics classes), not a yolo8 one; "
                f"load it with yolo8.checkpoints.load.load_model (any mode's model= takes it), or write a native copy "
                f"with `yolo8 convert model={path} out={path.with_name(path.stem + '_yolo8.pt').name}`") from None
        detail = next((line.strip() for line in message.splitlines() if "GLOBAL" in line), None)
        if detail:
            raise CheckpointError(
                f"{path}: refused to load: the file references code that a yolo8 checkpoint never contains "
                f"({detail}). Loading it could run that code; if you trust the file, re-save its tensors as a "
                "yolo8 checkpoint") from None
        raise CheckpointError(f"{path}: not a torch checkpoint, or a corrupted one ({_first_specific_line(message)})") from None
    except Exception as error:  # zip/format errors from torch come in several exception types
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a yolo8 checkpoint (expected a dict with format='yolo8'); "
                              "for an Ultralytics .pt use `yolo8 convert model=FILE.pt`")
    if checkpoint.get("version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {checkpoint['version']} is newer than this yolo8 "
                              f"reads ({CHECKPOINT_VERSION}); upgrade yolo8")
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise CheckpointError(f"{path}: yolo8 checkpoint lacks keys {missing}")
    return checkpoint


def _first_specific_line(message: str) -> str:
    """The line of a torch.load error that says what went wrong ('Unsupported operand 35'), else the first."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("Unsupported")), lines[0] if lines else "no detail")


def _plain(value):
    """Copy of a YAML-like value made of dicts, lists, str, numbers, bools and None only."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def model_to_checkpoint(model, train_args: dict | None = None, **extra) -> dict:
    """A checkpoint dict for ``model`` (a :class:`yolo8.nn.model.YOLOModel`); tensors are detached CPU copies.

    ``extra`` keys (epoch, optimizer state, metrics, …) are stored as given and must be plain types.
    """
    # contiguous: a model trained in channels-last layout is stored in the plain layout every reader expects
    state_dict = {name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in model.state_dict().items()}
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "task": model.task,
        "model_yaml": _plain(model.yaml),
        "state_dict": state_dict,
        "names": {int(key): str(value) for key, value in model.names.items()},
        "stride": [float(s) for s in model.stride.tolist()],
        "fused": bool(model.is_fused),
        "train_args": _plain(train_args) if train_args is not None else None,
        **extra,
    }


def model_from_checkpoint(checkpoint: dict):
    """Rebuild the model of a checkpoint dict (from :func:`load_checkpoint`) and load its weights.

    Returns a :class:`yolo8.nn.model.YOLOModel` in train mode, float32 or whatever dtype was saved.
    """
    from yolo8.nn.model import build_model  # imported here: reading a checkpoint needs no model code

    model_yaml = checkpoint["model_yaml"]
    model = build_model(model_yaml, channels=int(model_yaml.get("channels", 3)))
    if model.task != checkpoint["task"]:
        raise CheckpointError(f"checkpoint task '{checkpoint['task']}' disagrees with its model_yaml, "
                              f"which builds a '{model.task}' model")
    if checkpoint.get("fused"):
        model.fuse()
    state_dict = checkpoint["state_dict"]
    dtypes = {tensor.dtype for tensor in state_dict.values() if tensor.is_floating_point()}
    if len(dtypes) == 1:
        model.to(dtypes.pop())
    model.load_state_dict(state_dict)
    if checkpoint.get("names"):
        model.names = {int(key): str(value) for key, value in checkpoint["names"].items()}
    return model
