"""The metadata every exported file carries, and how it is written into and read back from each format.

An exported model must be usable without the ``.pt`` beside it: ``YOLO("best.onnx")`` learns its task, class
names, stride and input size from the file itself. One plain dict, :class:`ExportMetadata`, goes into

* ONNX: ``metadata_props`` (string key -> string value; lists and dicts JSON-encoded);
* TorchScript: the extra file ``config.txt`` (JSON);
* OpenVINO: ``metadata.yaml`` in the ``*_openvino_model/`` folder, and the same values in the IR's ``rt_info``
  under ``yolo8``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

TORCHSCRIPT_EXTRA_FILE = "config.txt"
OPENVINO_METADATA_FILE = "metadata.yaml"


@dataclass(frozen=True)
class ExportMetadata:
    """What an exported file says about itself.

    Attributes:
        task: 'detect', 'segment' or 'classify'.
        names: class id -> name.
        stride: the largest head stride (int).
        imgsz: (height, width) the file was exported at; a static export accepts exactly this size.
        batch: the batch size of a static export (ignored when ``dynamic``).
        dynamic: the batch, height and width axes are free.
        nms: outputs are NMS'd rows (B, max_det, 6 [+ nm]) x1, y1, x2, y2, score, class [, mask coefficients].
        int8: weights and activations were quantised to int8.
        half: float16 inputs and weights.
        version: the yolo8 version that wrote the file.
        args: the export settings as given (format, opset, simplify, ...).
    """

    task: str
    names: dict[int, str]
    stride: int
    imgsz: tuple[int, int]
    batch: int = 1
    dynamic: bool = False
    nms: bool = False
    int8: bool = False
    half: bool = False
    version: str = ""
    args: dict[str, Any] = field(default_factory=dict)

    def to_strings(self) -> dict[str, str]:
        """Every field as a string (JSON for lists, dicts and booleans): ONNX metadata props, OpenVINO rt_info."""
        return {key: value if isinstance(value, str) else json.dumps(value) for key, value in asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_mapping(cls, values: dict[str, Any], source: str) -> "ExportMetadata":
        """From :meth:`to_strings`' form (strings) or plain values; ``source`` names the file in errors."""
        missing = [key for key in ("task", "names", "stride", "imgsz") if key not in values]
        if missing:
            raise ValueError(f"{source}: no yolo8 metadata ({', '.join(missing)} missing); export it again with "
                             "'yolo8 export model=best.pt format=...'.")
        known = {key: _decoded(values[key]) for key in cls.__dataclass_fields__ if key in values}
        known["names"] = {int(index): str(name) for index, name in dict(known["names"]).items()}
        imgsz = known["imgsz"]
        known["imgsz"] = (int(imgsz), int(imgsz)) if isinstance(imgsz, (int, float)) else tuple(int(v) for v in imgsz)
        known["stride"] = int(known["stride"])
        return cls(**known)

    @classmethod
    def from_json(cls, text: str, source: str) -> "ExportMetadata":
        return cls.from_mapping(json.loads(text), source)


def _decoded(value: Any) -> Any:
    """A metadata value written by :meth:`ExportMetadata.to_strings` back to its value (plain strings stay)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
