"""`yolo8 export`: checks the settings, wraps the model for inference and writes the chosen format beside the weights.

``export_model(model, config, source)`` returns the written path: ``best.onnx``, ``best_openvino_model/`` or
``best.torchscript`` next to ``best.pt`` (in the working directory when the model came from a YAML or a module).
"""

from __future__ import annotations

import difflib
import logging
from functools import partial
from pathlib import Path

import torch
from torch import nn

from yolo8.config import Config
from yolo8.export.graph_nms import GraphNMS
from yolo8.export.onnx_writer import DEFAULT_OPSET, write_onnx
from yolo8.export.openvino_writer import write_openvino
from yolo8.export.torchscript_writer import write_torchscript
from yolo8.export.wrapper import InferenceWrapper
from yolo8.runtime.export_metadata import ExportMetadata
from yolo8.tasks.common import input_size

LOGGER = logging.getLogger("yolo8")

FORMATS = ("torchscript", "onnx", "openvino")
# YOLOv8 formats yolo8 does not write: named so that format=engine is not mistaken for a typo
NOT_AVAILABLE = ("engine", "coreml", "saved_model", "pb", "tflite", "edgetpu", "tfjs", "paddle", "ncnn", "mnn", "imx",
                 "rknn")


def output_path(format: str, source: str | None, default_stem: str = "model") -> Path:
    """Where ``format`` is written: beside a ``.pt`` source, else ``<stem>`` in the working directory."""
    base = Path(source) if source and Path(source).suffix == ".pt" else Path(Path(source).stem if source else default_stem)
    if format == "openvino":
        return base.with_name(f"{base.stem}_openvino_model")
    return base.with_suffix(f".{format}")


def check_settings(task: str, config: Config, device: torch.device) -> str:
    """Refuse what cannot be exported, naming the setting and the fix; returns the format."""
    format = str(config.format).lower().lstrip(".")
    if format not in FORMATS:
        if format in NOT_AVAILABLE:
            raise ValueError(f"format={format} is a YOLOv8 export format that yolo8 does not write; "
                             f"use one of {', '.join(FORMATS)}.")
        close = difflib.get_close_matches(format, FORMATS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"format={format} is not an export format.{hint} Use one of {', '.join(FORMATS)}.")
    if config.half and device.type != "cuda":
        raise ValueError("half=True exports float16 weights, which run on CUDA only; this export runs on "
                         f"{device.type}. Remove half=True or pass device=0 on a CUDA machine.")
    if config.half and config.int8:
        raise ValueError("half=True and int8=True ask for two precisions: choose one.")
    if config.int8 and format == "torchscript":
        raise ValueError("int8=True quantises format=openvino or format=onnx exports; TorchScript is exported in float.")
    if config.int8 and not config.data:
        raise ValueError(f"int8=True calibrates on the train split of a dataset: pass data=path/to/data.yaml "
                         f"(for a classifier, the dataset folder), e.g. 'yolo8 export model=best.pt format={format} "
                         "int8=True data=data.yaml'.")
    if config.nms and task == "classify":
        raise ValueError("nms=True applies to detect and segment models; this is a classify model. Remove nms=True.")
    if config.nms and format == "torchscript":
        raise ValueError("nms=True puts NMS inside ONNX / OpenVINO graphs; use format=onnx or format=openvino, or "
                         "export TorchScript without nms (yolo8 runs NMS after it).")
    return format


def export_model(model: nn.Module, config: Config, source: str | None = None) -> Path:
    """Write ``model`` in ``config.format``; returns the path (a folder for OpenVINO).

    ``config`` reads format, imgsz, batch (default 1 for export), dynamic, half, opset, simplify, nms (with conf,
    iou, max_det), int8 (with data, fraction), device.
    """
    from yolo8.runtime.device import select_device
    from yolo8.version import __version__

    device = select_device(config.device)
    format = check_settings(model.task, config, device)
    stride = int(torch.as_tensor(model.stride).max())
    height, width = input_size(config.imgsz, stride)
    batch = int(config.overrides.get("batch", 1))  # the table's 16 is the val/train default; exports default to 1
    if batch < 1:
        raise ValueError(f"batch={batch} is invalid for export: use 1 or more (with dynamic=True any batch runs).")
    conf = 0.25 if config.conf is None else float(config.conf)
    nms = GraphNMS(model.num_classes, conf, config.iou, config.max_det) if config.nms else None
    wrapper = InferenceWrapper(model, half=bool(config.half), nms=nms).to(device)
    example = torch.zeros((batch, 3, height, width), device=device, dtype=torch.float16 if config.half else torch.float32)
    opset = int(config.opset or DEFAULT_OPSET)
    args = {"format": format, "imgsz": [height, width], "batch": batch, "dynamic": bool(config.dynamic),
            "half": bool(config.half), "int8": bool(config.int8), "nms": bool(config.nms)}
    if format != "torchscript":
        args.update(opset=opset, simplify=bool(config.simplify))
    if config.nms:
        args.update(conf=conf, iou=float(config.iou), max_det=int(config.max_det))
    if config.int8:
        args.update(data=str(config.data), fraction=float(config.fraction))
    metadata = ExportMetadata(model.task, dict(model.names), stride, (height, width), batch, bool(config.dynamic),
                              bool(config.nms), bool(config.int8), bool(config.half), __version__, args)
    path = output_path(format, source)
    LOGGER.info("Exporting %s (%s, %d classes) to %s at %dx%d, batch %s%s ...", source or "model", model.task,
                model.num_classes, format, height, width, "dynamic" if config.dynamic else batch,
                ", INT8" if config.int8 else "")
    onnx_to = partial(write_onnx, wrapper, example, metadata, opset=opset, dynamic=bool(config.dynamic),
                      simplify=bool(config.simplify))
    with torch.no_grad():
        if format == "torchscript":
            written = write_torchscript(wrapper, example, metadata, path)
        elif format == "onnx" and config.int8:
            from yolo8.export.int8 import quantize_onnx

            written = quantize_onnx(onnx_to, metadata, path, config)
        elif format == "onnx":
            written = onnx_to(path=path)
        else:
            quantize = None
            if config.int8:
                from yolo8.export.int8 import openvino_quantizer

                quantize = openvino_quantizer(metadata, config)
            written = write_openvino(lambda file: onnx_to(path=file), metadata, path, quantize)
    LOGGER.info("Export done: %s (%.1f MB)", written, _size_mb(written))
    return written


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [file for file in path.rglob("*") if file.is_file()]
    return sum(file.stat().st_size for file in files) / 1e6
