"""An exported file as a model the ``YOLO`` facade can hold: its format, its metadata and a backend to run it.

``YOLO("best.onnx")``, ``YOLO("best_openvino_model/")`` and ``YOLO("best.torchscript")`` hold an
:class:`ExportedModel`; val and predict run it through :class:`yolo8.runtime.file_backends.FileBackend`, the same
loops as a ``.pt``.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import torch

from yolo8.runtime.export_metadata import OPENVINO_METADATA_FILE, TORCHSCRIPT_EXTRA_FILE, ExportMetadata

SUFFIX_FORMATS = {".onnx": "onnx", ".torchscript": "torchscript", ".xml": "openvino"}


def exported_format(source: str | os.PathLike) -> str | None:
    """'onnx', 'openvino' or 'torchscript' when ``source`` names an exported model (by its name), else None."""
    path = Path(source)
    if path.suffix.lower() in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[path.suffix.lower()]
    if path.name.endswith("_openvino_model") or (path.is_dir() and any(path.glob("*.xml"))):
        return "openvino"
    return None


def openvino_xml(source: Path) -> Path:
    """The IR file of an OpenVINO export: the ``.xml`` given, or the one inside its folder."""
    if source.suffix.lower() == ".xml":
        return source
    found = sorted(source.glob("*.xml"))
    if not found:
        raise FileNotFoundError(f"{source}: no OpenVINO .xml file in this folder; export one with "
                                "'yolo8 export model=best.pt format=openvino'.")
    return found[0]


def read_metadata(source: Path, format: str) -> ExportMetadata:
    """The yolo8 metadata stored inside an exported file (see :mod:`yolo8.runtime.export_metadata`)."""
    if format == "onnx":
        from yolo8.runtime.optional_dependencies import require

        onnx = require("onnx", purpose=f"reading {source}")
        model = onnx.load(str(source), load_external_data=False)
        return ExportMetadata.from_mapping({entry.key: entry.value for entry in model.metadata_props}, str(source))
    if format == "torchscript":
        extra = {TORCHSCRIPT_EXTRA_FILE: ""}
        with warnings.catch_warnings():  # torch.jit.load's deprecation notice: TorchScript files still load
            warnings.simplefilter("ignore", FutureWarning)
            torch.jit.load(str(source), map_location="cpu", _extra_files=extra)
        text = extra[TORCHSCRIPT_EXTRA_FILE]
        return ExportMetadata.from_mapping(json.loads(text) if text else {}, str(source))
    import yaml

    folder = source.parent if source.suffix.lower() == ".xml" else source
    metadata_file = folder / OPENVINO_METADATA_FILE
    if not metadata_file.is_file():
        raise ValueError(f"{folder}: no {OPENVINO_METADATA_FILE} beside the OpenVINO model; export it again with "
                         "'yolo8 export model=best.pt format=openvino'.")
    return ExportMetadata.from_mapping(yaml.safe_load(metadata_file.read_text()) or {}, str(metadata_file))


class ExportedModel:
    """What the ``YOLO`` facade and the val / predict loops read from a model, for an exported file.

    Attributes: ``path``, ``format`` ('onnx' | 'openvino' | 'torchscript'), ``metadata``, and as a model has them
    ``task``, ``names``, ``stride`` (int), ``num_classes``; ``train_args``: the settings the file fixes for val and
    predict (its input size).
    """

    def __init__(self, source: str | os.PathLike):
        self.path = Path(source)
        format = exported_format(self.path)
        if format is None:
            raise ValueError(f"{source}: not an exported model (.onnx, .torchscript or an *_openvino_model folder).")
        if not self.path.exists():
            raise FileNotFoundError(f"exported model '{source}' not found; write it with "
                                    f"'yolo8 export model=best.pt format={format}'.")
        self.format = format
        self.metadata = read_metadata(self.path, format)
        self.task = self.metadata.task
        self.names = dict(self.metadata.names)
        self.stride = self.metadata.stride
        self.num_classes = len(self.names)
        height, width = self.metadata.imgsz
        self.train_args = {"imgsz": height if height == width else [height, width]}

    def __repr__(self) -> str:
        return f"ExportedModel({str(self.path)!r}, format={self.format!r}, task={self.task!r})"

    def backend(self, device: torch.device):
        """A backend running this file on ``device`` (OpenVINO, and ONNX without onnxruntime-gpu, on the CPU)."""
        from yolo8.runtime.file_backends import FileBackend, make_runner

        return FileBackend(self, make_runner(self.path, self.format, device, self.metadata))
