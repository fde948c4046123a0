"""INT8 post-training quantisation, calibrated on the train split (:mod:`yolo8.export.calibration`).

* OpenVINO: NNCF's ``quantize`` on the IR read from the ONNX export.
* ONNX: onnxruntime's static quantisation in QDQ form, per-channel int8 weights and **unsigned** (QUInt8)
  activations (signed activations made ORT's CPU kernels 2x slower than FP32 on an AVX-512 machine).

Both keep the decode in float: every node outside the network's layers (ONNX names ``/model/model.{i}/...``) is
excluded. That is the DFL softmax and its integral, the anchor arithmetic, the sigmoid of the class scores, the
classifier's softmax and any in-graph NMS. Quantising the decoded output with one scale for pixel coordinates
and probabilities together would round every score to zero.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from yolo8.config import Config
from yolo8.export.calibration import calibration_files, calibration_input
from yolo8.export.onnx_writer import stamp_onnx_metadata
from yolo8.runtime.export_metadata import ExportMetadata
from yolo8.runtime.optional_dependencies import require

LOGGER = logging.getLogger("yolo8")
LAYER_NODE = re.compile(r"^/model/model\.\d+/")  # nodes of the wrapped model's layers (model.model.{i})
NOT_A_LAYER = r"^(?!/model/model\.\d+/).*"  # the same rule as a pattern for NNCF's ignored scope


def calibration_arrays(metadata: ExportMetadata, config: Config) -> list:
    """The calibration inputs from ``config.data``'s train split, float32 at the export size: each (1, 3, H, W), or
    for a static export of ``batch`` > 1 (B, 3, H, W) groups, the last one filled up with the first images, since
    such a file takes no other batch size."""
    files = calibration_files(metadata.task, str(config.data), float(config.fraction))
    LOGGER.info("INT8 calibration on %d images of the train split of %s", len(files), config.data)
    arrays = [calibration_input(file, metadata.task, tuple(metadata.imgsz)) for file in files]
    batch = int(metadata.batch or 1)
    if metadata.dynamic or batch <= 1 or not arrays:
        return arrays
    groups = -(-len(arrays) // batch)  # ceil
    filled = (arrays * (groups * batch // len(arrays) + 1))[: groups * batch]  # every image, then the first again
    # B arrays (1, 3, H, W) -> one (B, 3, H, W)
    return [np.concatenate(filled[start : start + batch]) for start in range(0, groups * batch, batch)]


def openvino_quantizer(metadata: ExportMetadata, config: Config) -> Callable:
    """``openvino.Model -> openvino.Model`` quantised with NNCF on the train split."""
    nncf = require("nncf", purpose="format=openvino int8=True")
    arrays = calibration_arrays(metadata, config)

    def quantize(model):
        # MIXED: asymmetric activations (SiLU outputs are nearly all positive; a symmetric range wastes half the
        # codes, and on a test network it cut the INT8-vs-FP32 score correlation from 0.79 to 0.28)
        return nncf.quantize(model, nncf.Dataset(arrays), subset_size=len(arrays),
                             preset=nncf.QuantizationPreset.MIXED, ignored_scope=nncf.IgnoredScope(patterns=[NOT_A_LAYER], validate=False))

    return quantize


class _CalibrationReader:
    """onnxruntime's CalibrationDataReader protocol over a list of input arrays."""

    def __init__(self, arrays: list, input_name: str):
        self.items = iter([{input_name: array} for array in arrays])

    def get_next(self):
        return next(self.items, None)


@contextlib.contextmanager
def _root_logger_kept():
    """onnxruntime's quantiser logs advice through the root logger, whose first use installs a console handler for
    the whole process (``logging.basicConfig``); a NullHandler prevents that and the root logger is restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.addHandler(logging.NullHandler())
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)  # setLevel, not .level =: it also clears every logger's cached enabled-for answers


def quantize_onnx(write_onnx_to: Callable, metadata: ExportMetadata, path: Path, config: Config) -> Path:
    """Write the FP32 ONNX export, quantise it statically to ``path`` (QDQ; see the module docstring), stamp the
    metadata; returns ``path``."""
    onnx = require("onnx", purpose="format=onnx")
    quantization = require("onnxruntime.quantization", purpose="format=onnx int8=True")
    arrays = calibration_arrays(metadata, config)
    with tempfile.TemporaryDirectory(prefix="yolo8_onnx_int8_") as scratch:
        float_file = write_onnx_to(path=Path(scratch) / "model.onnx")
        model = onnx.load(str(float_file))
        excluded = [node.name for node in model.graph.node if not LAYER_NODE.match(node.name)]
        input_name = model.graph.input[0].name
        with _root_logger_kept():
            quantization.quantize_static(
                str(float_file), str(path), _CalibrationReader(arrays, input_name),
                quant_format=quantization.QuantFormat.QDQ, per_channel=True,
                activation_type=quantization.QuantType.QUInt8, weight_type=quantization.QuantType.QInt8,
                nodes_to_exclude=excluded, calibrate_method=quantization.CalibrationMethod.MinMax)
    quantized = onnx.load(str(path))
    stamp_onnx_metadata(quantized, metadata)
    onnx.save(quantized, str(path))
    return path
