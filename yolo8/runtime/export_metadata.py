"""The metadata every exported file carries, and how it is written into and read back from each format.

An exported model must be usable without the ``.pt`` beside it: ``YOLO("best.onnx")`` learns its task, class
names, stride and input size from the file itself. One plain dict, :class:`ExportMetadata`, goes into

* ONNX: ``metadata_props`` (string key -> string value; lists and dicts JSON-encoded);
* TorchScript: the extra file ``config.txt`` (JSON);
* OpenVINO: ``metadata.yaml`` in the ``*_openvino_model/`` folder, and the same values in the IR's ``rt_info``
  under ``yolo8``.
"""

from __future__ import annotations

import ast
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
        producer: 'yolo8' for files yolo8 wrote; empty for other exporters' files read with the same keys.
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
    producer: str = "yolo8"

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
        known.setdefault("producer", "")
        args = known.get("args") if isinstance(known.get("args"), dict) else {}
        known["args"] = args
        for key in ("batch", "dynamic", "nms", "half", "int8"):  # other exporters keep these among their args only
            if key not in values and args.get(key) is not None:
                known[key] = args[key] if key == "batch" else bool(args[key])
        if known["producer"] != "yolo8" and known.get("nms"):
            raise ValueError(f"{source} was exported by another tool with NMS inside, whose output layout yolo8 does "
                             "not read; export it without nms, or with yolo8 ('yolo8 export ... nms=True').")
        names = known["names"]
        if isinstance(names, list):
            names = dict(enumerate(names))
        if not isinstance(names, dict):
            raise ValueError(f"{source}: the class names in its metadata are not a dict or list of names: {names!r:.80}")
        known["names"] = {int(index): str(name) for index, name in names.items()}
        imgsz = known["imgsz"]
        known["imgsz"] = (int(imgsz), int(imgsz)) if isinstance(imgsz, (int, float)) else tuple(int(v) for v in imgsz)
        known["stride"] = int(known["stride"])
        return cls(**known)

    @classmethod
    def from_json(cls, text: str, source: str) -> "ExportMetadata":
        return cls.from_mapping(json.loads(text), source)


def _decoded(value: Any) -> Any:
    """A metadata value written by :meth:`ExportMetadata.to_strings` back to its value (plain strings stay).

    Other exporters write Python literals (``{0: 'person'}``, ``False``): those are read with ``ast.literal_eval``,
    which evaluates literals only, never code."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        pass
    if value[:1] in "{[(" or value in ("True", "False", "None"):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value
