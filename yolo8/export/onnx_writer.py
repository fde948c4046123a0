"""ONNX export: the inference wrapper traced by torch's TorchScript-based exporter, optionally simplified with
onnxslim, checked with ``onnx.checker`` and stamped with the metadata as ``metadata_props``.

Inputs and outputs are named ``images`` (B, 3, H, W) float32 RGB [0, 1] and ``output0`` (+ ``output1``, the
segmentation prototypes). With ``dynamic`` the batch, height and width axes are free.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from yolo8.runtime.export_metadata import ExportMetadata
from yolo8.runtime.optional_dependencies import require

DEFAULT_OPSET = 17  # NonMaxSuppression, the resize and the reductions exported here are all stable by opset 17


def output_axes(task: str, nms: bool) -> dict[str, dict[int, str]]:
    """The dynamic axes of each output, by name (which outputs exist depends on the task)."""
    first = {0: "batch"} if nms or task == "classify" else {0: "batch", 2: "anchors"}
    axes = {"output0": first}
    if task == "segment":
        axes["output1"] = {0: "batch", 2: "mask_height", 3: "mask_width"}
    return axes


def write_onnx(wrapper: nn.Module, example: torch.Tensor, metadata: ExportMetadata, path: Path, opset: int,
               dynamic: bool, simplify: bool) -> Path:
    """Export ``wrapper`` traced on ``example`` to ``path``; returns ``path``."""
    onnx = require("onnx", purpose="format=onnx")
    outputs = output_axes(metadata.task, metadata.nms)
    axes = {"images": {0: "batch", 2: "height", 3: "width"}, **outputs} if dynamic else None
    with warnings.catch_warnings():  # tracer notes on shape-derived Python ints: the anchors stay size-generic
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (example,), str(path), dynamo=False, opset_version=opset, input_names=["images"],
                          output_names=list(outputs), dynamic_axes=axes, do_constant_folding=True)
    model = onnx.load(str(path))
    if simplify:
        onnxslim = require("onnxslim", purpose="simplify=True")
        model = onnxslim.slim(model)
    onnx.checker.check_model(model)
    stamp_onnx_metadata(model, metadata)
    onnx.save(model, str(path))
    return path


def stamp_onnx_metadata(model, metadata: ExportMetadata) -> None:
    """Replace ``model``'s metadata_props (an onnx ModelProto) with ``metadata``."""
    del model.metadata_props[:]
    for key, value in metadata.to_strings().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
