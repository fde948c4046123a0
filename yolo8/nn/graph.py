"""YOLOv8-schema model YAML -> layers.

A model YAML has ``nc``, ``scales: {letter: [depth, width, max_channels]}`` (or the older
``depth_multiple`` / ``width_multiple``), and ``backbone`` and ``head`` lists of rows
``[from, repeats, module, args]``. :data:`MODULES` maps each module name to its class and to the
rule that turns YAML args into constructor args; blocks report their own ``out_channels``.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml as yaml_lib
from torch import nn

from yolo8.nn.blocks import C3, SPP, SPPF, Bottleneck, C2f, Concat, Conv, SimSPPF, Upsample
from yolo8.nn.heads import Classify, Detect, Segment

SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[1] / "cfg" / "models"
SCALE_PATTERN = re.compile(r"yolo(?:v)?\d+([nslmx])")


def make_divisible(value: float, divisor: int = 8) -> int:
    """Smallest multiple of ``divisor`` that is >= ``value``."""
    return int(math.ceil(value / divisor) * divisor)


def guess_scale(name: str) -> str | None:
    """Scale letter from a model file name: 'yolov8s-seg.yaml' -> 's', 'yolov5nu' -> 'n', 'yolov8.yaml' -> None."""
    match = SCALE_PATTERN.search(Path(name).stem)
    return match.group(1) if match else None


def _read_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as file:
        data = yaml_lib.safe_load(file)
    if not isinstance(data, dict) or "backbone" not in data or "head" not in data:
        raise ValueError(f"{path}: not a model YAML (needs 'backbone' and 'head' lists of [from, repeats, module, args])")
    return data


def _shipped_candidates(name: str) -> list[str]:
    """Shipped file names to try for a model name: the name itself, then without its scale letter
    ('yolov8n-seg.yaml' -> 'yolov8-seg.yaml', 'yolov5nu.yaml' -> 'yolov5u.yaml'), then with a 'u'
    ('yolov5n.yaml' -> 'yolov5u.yaml')."""
    stem = Path(name).stem
    unscaled = re.sub(r"(yolo(?:v)?\d+)[nslmx]", r"\1", stem, count=1)
    return [f"{stem}.yaml", f"{unscaled}.yaml", f"{unscaled}u.yaml"]


def resolve_model_yaml(name_or_path) -> dict:
    """Find and parse a model YAML; record the chosen ``scale`` and the source in ``yaml_file``.

    A dict is copied as is. A path that exists on disk is read as is; otherwise the name is looked
    up among the shipped configs (``yolov8n.yaml`` -> ``yolov8.yaml`` at scale ``n``). The scale is
    the dict's ``scale`` key, else the letter in the file name, else the first key of ``scales``.
    """
    if isinstance(name_or_path, dict):
        data, source = copy.deepcopy(name_or_path), name_or_path.get("yaml_file", "<dict>")
    else:
        path = Path(name_or_path)
        if path.is_file():
            data, source = _read_yaml(path), str(path)
        else:
            found = next((SHIPPED_MODEL_DIR / c for c in _shipped_candidates(path.name) if (SHIPPED_MODEL_DIR / c).is_file()), None)
            if found is None:
                shipped = sorted(p.name for p in SHIPPED_MODEL_DIR.glob("*.yaml"))
                raise FileNotFoundError(f"model config '{name_or_path}' is neither a file on disk nor a shipped config; "
                                        f"shipped: {shipped} (add a scale letter n/s/m/l/x, e.g. 'yolov8n.yaml')")
            data, source = _read_yaml(found), str(path.name)
        data.setdefault("scale", guess_scale(path.name))
    scales = data.get("scales")
    if scales:
        if not data.get("scale"):
            data["scale"] = next(iter(scales))
        if data["scale"] not in scales:
            raise ValueError(f"{source}: scale '{data['scale']}' not in scales {list(scales)}")
    data["yaml_file"] = source
    return data


def scaling_of(model_yaml: dict) -> tuple[float, float, float]:
    """(depth, width, max_channels) of a resolved model YAML."""
    scales = model_yaml.get("scales")
    if scales:
        depth, width, max_channels = scales[model_yaml["scale"]]
        return float(depth), float(width), float(max_channels)
    return float(model_yaml.get("depth_multiple", 1.0)), float(model_yaml.get("width_multiple", 1.0)), math.inf


@dataclass
class LayerContext:
    """What an argument rule may use: input channels of each source, repeats, width scaling."""
    in_channels: list[int]
    repeats: int
    width: float
    max_channels: float

    def scale_channels(self, channels: int) -> int:
        return make_divisible(min(channels, self.max_channels) * self.width, 8)


def _channel_args(args: list, ctx: LayerContext) -> tuple[list, int]:
    """[c_out, *rest] -> [c_in, scaled c_out, *rest]; built ``repeats`` times in sequence."""
    return [ctx.in_channels[0], ctx.scale_channels(args[0]), *args[1:]], ctx.repeats


def _repeated_channel_args(args: list, ctx: LayerContext) -> tuple[list, int]:
    """Like :func:`_channel_args` but the block repeats internally: [c_in, c_out, repeats, *rest]."""
    scaled, _ = _channel_args(args, ctx)
    return [scaled[0], scaled[1], ctx.repeats, *scaled[2:]], 1


def _classify_args(args: list, ctx: LayerContext) -> tuple[list, int]:
    """[nc, *rest] -> [sum of c_in, nc, *rest]."""
    return [sum(ctx.in_channels), args[0], *args[1:]], 1


def _concat_args(args: list, ctx: LayerContext) -> tuple[list, int]:
    return [ctx.in_channels, *args], 1


def _upsample_args(args: list, ctx: LayerContext) -> tuple[list, int]:
    return [ctx.in_channels[0], *args], ctx.repeats


def _detect_args(args: list, ctx: LayerContext) -> tuple[list, int]:
    """[nc, *rest] -> [nc, *rest, per-level c_in]."""
    return [*args, ctx.in_channels], 1


def _segment_args(args: list, ctx: LayerContext) -> tuple[list, int]:
    """[nc, masks, proto channels] -> same with proto channels width-scaled, then per-level c_in."""
    args = list(args)
    if len(args) > 2:
        args[2] = ctx.scale_channels(args[2])
    return [*args, ctx.in_channels], 1


@dataclass(frozen=True)
class ModuleRule:
    """A YAML module name's class and the function mapping (YAML args, context) -> (ctor args, copies)."""
    module: type
    make_args: Callable[[list, LayerContext], tuple[list, int]]


MODULES: dict[str, ModuleRule] = {
    "Conv": ModuleRule(Conv, _channel_args),
    "Bottleneck": ModuleRule(Bottleneck, _channel_args),
    "C2f": ModuleRule(C2f, _repeated_channel_args),
    "C3": ModuleRule(C3, _repeated_channel_args),
    "SPP": ModuleRule(SPP, _channel_args),
    "SPPF": ModuleRule(SPPF, _channel_args),
    "SimSPPF": ModuleRule(SimSPPF, _channel_args),
    "Concat": ModuleRule(Concat, _concat_args),
    "Upsample": ModuleRule(Upsample, _upsample_args),
    "nn.Upsample": ModuleRule(Upsample, _upsample_args),
    "torch.nn.Upsample": ModuleRule(Upsample, _upsample_args),
    "Detect": ModuleRule(Detect, _detect_args),
    "Segment": ModuleRule(Segment, _segment_args),
    "Classify": ModuleRule(Classify, _classify_args),
}


@dataclass
class LayerSpec:
    """One built layer: its index, sources (-1 = previous), copies, YAML module name, ctor args, out channels."""
    index: int
    source: int | list[int]
    repeats: int
    module_name: str
    args: list = field(default_factory=list)
    out_channels: int = 0

    @property
    def sources(self) -> list[int]:
        return self.source if isinstance(self.source, list) else [self.source]


def _resolve_arg(value: Any, model_yaml: dict) -> Any:
    """YAML strings naming a value: 'None' -> None, a top-level scalar key ('nc') -> its value."""
    if isinstance(value, str):
        if value == "None":
            return None
        if value in model_yaml and isinstance(model_yaml[value], (int, float, bool)):
            return model_yaml[value]
    return value


def build_layers(model_yaml: dict, in_channels: int) -> tuple[nn.ModuleList, list[LayerSpec]]:
    """Build every layer of a resolved model YAML. Returns (``model`` ModuleList, specs in order)."""
    source_file = model_yaml.get("yaml_file", "<dict>")
    if "activation" in model_yaml:
        raise ValueError(f"{source_file}: key 'activation' ({model_yaml['activation']!r}) is not supported; "
                         "remove it (all Conv blocks use SiLU)")
    if "nc" not in model_yaml:
        raise ValueError(f"{source_file}: missing key 'nc' (number of classes); add e.g. 'nc: 80'")
    depth, width, max_channels = scaling_of(model_yaml)
    channels = [in_channels]  # channels[i + 1] = output channels of layer i
    modules, specs = [], []
    rows = list(model_yaml["backbone"]) + list(model_yaml["head"])
    for index, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or len(row) != 4:
            raise ValueError(f"{source_file}: layer {index} must be [from, repeats, module, args], got {row!r}")
        source, repeats, name, args = row
        rule = MODULES.get(name)
        if rule is None:
            raise ValueError(f"{source_file}: layer {index} uses unknown module '{name}'; valid modules: {sorted(MODULES)}")
        sources = source if isinstance(source, list) else [source]
        absolute = [s + index if s < 0 else s for s in sources]
        if any(not 0 <= s < index for s in absolute) and not (index == 0 and sources == [-1]):
            raise ValueError(f"{source_file}: layer {index} reads from {source}, which is not an earlier layer")
        repeats = max(round(repeats * depth), 1) if repeats > 1 else repeats
        resolved = [_resolve_arg(a, model_yaml) for a in (args or [])]
        # absolute -1 only occurs for layer 0 and maps to channels[0], the image channels
        context = LayerContext([channels[s + 1] for s in absolute], repeats, width, max_channels)
        ctor_args, copies = rule.make_args(resolved, context)
        module = nn.Sequential(*(rule.module(*ctor_args) for _ in range(copies))) if copies > 1 else rule.module(*ctor_args)
        out_channels = (module[-1] if copies > 1 else module).out_channels
        modules.append(module)
        specs.append(LayerSpec(index, source, repeats, name, ctor_args, out_channels))
        channels.append(out_channels)
    return nn.ModuleList(modules), specs
