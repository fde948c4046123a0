"""OpenVINO export: the ONNX export read by OpenVINO and saved as IR (``best_openvino_model/best.xml`` + ``.bin``),
with the metadata in the IR's ``rt_info`` (under ``yolo8``) and in ``metadata.yaml`` beside it.

The IR is read from the ONNX file with ``openvino.Core.read_model`` (the runtime's reader) rather than the
model-conversion API, and saved with float32 weights: an FP32 export means FP32 weights.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Callable

import yaml

from yolo8.runtime.export_metadata import OPENVINO_METADATA_FILE, ExportMetadata
from yolo8.runtime.optional_dependencies import require


def write_openvino(write_onnx_to: Callable[[Path], Path], metadata: ExportMetadata, folder: Path,
                   quantize: Callable | None = None) -> Path:
    """Write the IR into ``folder`` (replaced when it exists); returns the folder.

    Args:
        write_onnx_to: writes the model as ONNX to the given path (see :func:`yolo8.export.onnx_writer.write_onnx`).
        metadata: stored in rt_info and metadata.yaml.
        quantize: optional ``openvino.Model -> openvino.Model`` (INT8 post-training quantisation).
    """
    openvino = require("openvino", purpose="format=openvino")
    with tempfile.TemporaryDirectory(prefix="yolo8_openvino_") as scratch:
        onnx_file = write_onnx_to(Path(scratch) / "model.onnx")
        model = openvino.Core().read_model(str(onnx_file))
        if quantize is not None:
            model = quantize(model)
        for key, value in metadata.to_strings().items():
            model.set_rt_info(value, ["yolo8", key])
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        xml = folder / f"{folder.name.removesuffix('_openvino_model') or 'model'}.xml"
        openvino.save_model(model, str(xml), compress_to_fp16=False)
    (folder / OPENVINO_METADATA_FILE).write_text(yaml.safe_dump(_plain(metadata), sort_keys=False))
    return folder


def _plain(metadata: ExportMetadata) -> dict:
    """metadata.yaml's content: plain YAML types (lists, not tuples)."""
    values = dict(metadata.__dict__)
    values["imgsz"] = list(values["imgsz"])
    values["names"] = dict(values["names"])
    return values
