"""The same weights on both sides of a ``--peer`` benchmark: a yolo8 checkpoint handed to the incumbent.

yolo8 names its layers and shapes its tensors as the incumbent's YAML-built models do (that is how yolo8 loads
Ultralytics checkpoints), so the way back is a state dict: the model YAML and float32 tensors are written from
yolo8, and the incumbent's interpreter builds its own model of that YAML, loads them and saves a checkpoint it
reads as its own. An Ultralytics ``.pt`` needs none of this and is used as it is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPOSITORY = str(Path(__file__).resolve().parents[1])

# runs in the incumbent's interpreter: argv = our weights file, the checkpoint to write
BUILD_PEER_CHECKPOINT = r"""
import contextlib, os, sys
os.environ["YOLO_OFFLINE"] = "1"
import torch
from ultralytics.nn.tasks import ClassificationModel, DetectionModel, SegmentationModel
saved = torch.load(sys.argv[1], weights_only=True)
kind = {"detect": DetectionModel, "segment": SegmentationModel, "classify": ClassificationModel}[saved["task"]]
with contextlib.redirect_stdout(sys.stderr):
    network = kind(saved["yaml"], nc=len(saved["names"]), verbose=False)
network.load_state_dict(saved["state_dict"])
network.names = saved["names"]
torch.save({"model": network, "train_args": saved["train_args"]}, sys.argv[2])
"""


def model_path(model: str) -> Path:
    """A path, or a shipped model's name (``yolov8n-builtin.pt``) resolved to its file."""
    sys.path.insert(0, REPOSITORY)
    from yolo8.checkpoints.load import shipped_weights

    return Path(model) if Path(model).is_file() else (shipped_weights(model) or Path(model))


def peer_checkpoint(model: str | Path, scratch: str | Path, peer_python: str) -> Path:
    """A checkpoint file of ``model``'s weights that the incumbent at ``peer_python`` loads, written in ``scratch``
    (``model`` itself when it is an Ultralytics checkpoint)."""
    import torch

    sys.path.insert(0, REPOSITORY)
    from yolo8.checkpoints.load import load_model
    from yolo8.checkpoints.ultralytics_checkpoint import is_ultralytics_checkpoint

    path = model_path(str(model))
    if is_ultralytics_checkpoint(path):
        return path
    network, train_args = load_model(path)
    yaml = {key: value for key, value in network.yaml.items() if key != "yaml_file"}  # "scale" names the scale used
    weights = Path(scratch) / f"{path.stem}.yolo8-weights"
    torch.save({"yaml": yaml, "state_dict": {key: value.float() for key, value in network.state_dict().items()},
                "names": dict(network.names), "task": network.task,
                "train_args": {"task": network.task, "imgsz": (train_args or {}).get("imgsz", 640)}}, weights)
    out = Path(scratch) / f"{path.stem}_for_peer.pt"
    subprocess.run([peer_python, "-c", BUILD_PEER_CHECKPOINT, str(weights), str(out)], check=True)
    return out
