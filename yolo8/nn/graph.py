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

import torch
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


class ModelConfigError(ValueError):
    """A model YAML is unreadable or describes a layer that cannot be built; the message names file and layer."""


def _read_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as file:
            data = yaml_lib.safe_load(file)
    except yaml_lib.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ModelConfigError(f"{where}: YAML syntax error: {error.problem or error.context}; "
                               "fix the file (rows look like '- [-1, 1, Conv, [64, 3, 2]]')") from None
    except (yaml_lib.YAMLError, UnicodeDecodeError) as error:
        raise ModelConfigError(f"{path}: not readable as YAML ({error}); fix or replace the file") from None
    except (ValueError, OverflowError, RecursionError) as error:  # e.g. a bad date: datetime's ValueError
        raise ModelConfigError(f"{path}: a value PyYAML cannot read ({type(error).__name__}: {error}); "
                               "quote it or fix it") from None
    if not isinstance(data, dict) or "backbone" not in data or "head" not in data:
        raise ModelConfigError(f"{path}: not a model YAML (needs 'backbone' and 'head' lists of [from, repeats, module, args])")
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
    if scales is not None and not isinstance(scales, dict):
        raise ModelConfigError(f"{source}: 'scales' must be a mapping of letter: [depth, width, max_channels], "
                               f"got {scales!r}; e.g. 'scales: {{n: [0.33, 0.25, 1024]}}'")
    if scales:
        if not isinstance(data.get("scale") or "", str):
            raise ModelConfigError(f"{source}: 'scale' must be one of the letters {list(scales)}, got {data['scale']!r}")
        if not data.get("scale"):
            data["scale"] = next(iter(scales))
        if data["scale"] not in scales:
            raise ModelConfigError(f"{source}: scale '{data['scale']}' not in scales {list(scales)}")
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
    """A YAML module name's class, the function mapping (YAML args, context) -> (ctor args, copies), how many
    YAML args it takes (``min_args``..``max_args``) and what they are (``arg_names``, for error messages).
    Whichever module takes a first arg that is a channel count or ``nc`` says so with ``first_arg``."""
    module: type
    make_args: Callable[[list, LayerContext], tuple[list, int]]
    min_args: int
    max_args: int
    arg_names: str
    first_arg: str | None = None  # "channels" or "nc": must be a positive integer


HEADS = (Detect, Segment, Classify)
MODULES: dict[str, ModuleRule] = {
    "Conv": ModuleRule(Conv, _channel_args, 1, 7, "[c_out, kernel, stride, padding, groups, dilation, act]", "channels"),
    "Bottleneck": ModuleRule(Bottleneck, _channel_args, 1, 5, "[c_out, shortcut, groups, kernels, expansion]", "channels"),
    "C2f": ModuleRule(C2f, _repeated_channel_args, 1, 4, "[c_out, shortcut, groups, expansion]", "channels"),
    "C3": ModuleRule(C3, _repeated_channel_args, 1, 4, "[c_out, shortcut, groups, expansion]", "channels"),
    "SPP": ModuleRule(SPP, _channel_args, 1, 2, "[c_out, kernel_sizes]", "channels"),
    "SPPF": ModuleRule(SPPF, _channel_args, 1, 2, "[c_out, kernel]", "channels"),
    "SimSPPF": ModuleRule(SimSPPF, _channel_args, 1, 2, "[c_out, kernel]", "channels"),
    "Concat": ModuleRule(Concat, _concat_args, 0, 1, "[dimension]"),
    "Upsample": ModuleRule(Upsample, _upsample_args, 0, 3, "[size, scale_factor, mode]"),
    "nn.Upsample": ModuleRule(Upsample, _upsample_args, 0, 3, "[size, scale_factor, mode]"),
    "torch.nn.Upsample": ModuleRule(Upsample, _upsample_args, 0, 3, "[size, scale_factor, mode]"),
    "Detect": ModuleRule(Detect, _detect_args, 1, 1, "[nc]", "nc"),
    "Segment": ModuleRule(Segment, _segment_args, 1, 3, "[nc, masks, proto_channels]", "nc"),
    "Classify": ModuleRule(Classify, _classify_args, 1, 6, "[nc, kernel, stride, padding, groups, dropout]", "nc"),
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


def _is_count(value: Any) -> bool:
    """A positive integer (bools excluded)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check_nc(model_yaml: dict, source_file: str) -> None:
    if "nc" not in model_yaml:
        raise ModelConfigError(f"{source_file}: missing key 'nc' (number of classes); add e.g. 'nc: 80'")
    if not _is_count(model_yaml["nc"]):
        raise ModelConfigError(f"{source_file}: 'nc' must be a positive integer (the number of classes), "
                               f"got {model_yaml['nc']!r}; set e.g. 'nc: 80'")


def _check_row(row: Any, index: int, source_file: str) -> tuple[Any, int, str, list, ModuleRule]:
    """Validate one ``[from, repeats, module, args]`` row before anything is built; returns its parts and rule."""
    where = f"{source_file}: layer {index}"
    if not isinstance(row, (list, tuple)) or len(row) != 4:
        got = f"{len(row)} fields" if isinstance(row, (list, tuple)) else type(row).__name__
        raise ModelConfigError(f"{where} must be a row of 4 fields [from, repeats, module, args], got {got}: {row!r}; "
                               "e.g. '- [-1, 1, Conv, [64, 3, 2]]'")
    source, repeats, name, args = row
    sources = source if isinstance(source, list) else [source]
    if not sources or not all(isinstance(s, int) and not isinstance(s, bool) for s in sources):
        raise ModelConfigError(f"{where}: 'from' must be a layer index or a list of them (-1 = previous), got {source!r}")
    if not _is_count(repeats):
        raise ModelConfigError(f"{where}: repeats must be a positive integer, got {repeats!r}; use 1 for a single copy")
    rule = MODULES.get(name) if isinstance(name, str) else None
    if rule is None:
        raise ModelConfigError(f"{where} uses unknown module {name!r}; valid modules: {sorted(MODULES)}")
    if args is None:
        args = []
    if not isinstance(args, list):
        raise ModelConfigError(f"{where} ({name}): args must be a list {rule.arg_names}, got {args!r}")
    if not rule.min_args <= len(args) <= rule.max_args:
        count = f"{rule.min_args}" if rule.min_args == rule.max_args else f"{rule.min_args} to {rule.max_args}"
        raise ModelConfigError(f"{where} ({name}): takes {count} args {rule.arg_names}, got {len(args)}: {args!r}")
    return source, repeats, name, args, rule


def build_layers(model_yaml: dict, in_channels: int) -> tuple[nn.ModuleList, list[LayerSpec], list[float]]:
    """Build every layer of a resolved model YAML. Returns (``model`` ModuleList, specs in order, the strides of
    the head's inputs measured by one dry run).

    Raises:
        ModelConfigError: a key or a row is invalid, or a layer cannot be built; the message names file and layer.
    """
    source_file = model_yaml.get("yaml_file", "<dict>")
    if "activation" in model_yaml:
        raise ModelConfigError(f"{source_file}: key 'activation' ({model_yaml['activation']!r}) is not supported; "
                               "remove it (all Conv blocks use SiLU)")
    _check_nc(model_yaml, source_file)
    try:
        depth, width, max_channels = scaling_of(model_yaml)
    except (TypeError, ValueError, KeyError) as error:
        raise ModelConfigError(f"{source_file}: 'scales' rows must be [depth, width, max_channels] numbers ({error}); "
                               "e.g. 'n: [0.33, 0.25, 1024]'") from None
    sections = [model_yaml.get(key) for key in ("backbone", "head")]
    if not all(isinstance(section, list) for section in sections):
        raise ModelConfigError(f"{source_file}: 'backbone' and 'head' must be lists of [from, repeats, module, args] rows")
    rows = sections[0] + sections[1]
    checked = [_check_row(row, index, source_file) for index, row in enumerate(rows)]
    if not checked or checked[-1][4].module not in HEADS:
        raise ModelConfigError(f"{source_file}: the last layer must be a head ({', '.join(h.__name__ for h in HEADS)}), "
                               f"got {checked[-1][2] if checked else 'no layers'}")
    channels = [in_channels]  # channels[i + 1] = output channels of layer i
    modules, specs = [], []
    for index, (source, repeats, name, args, rule) in enumerate(checked):
        sources = source if isinstance(source, list) else [source]
        absolute = [s + index if s < 0 else s for s in sources]
        if any(not 0 <= s < index for s in absolute) and not (index == 0 and sources == [-1]):
            raise ModelConfigError(f"{source_file}: layer {index} reads from {source}, which is not an earlier layer")
        repeats = max(round(repeats * depth), 1) if repeats > 1 else repeats
        resolved = [_resolve_arg(a, model_yaml) for a in args]
        if rule.first_arg and not _is_count(resolved[0]):
            what = "output channels" if rule.first_arg == "channels" else "the number of classes ('nc')"
            raise ModelConfigError(f"{source_file}: layer {index} ({name}): first arg must be a positive integer, "
                                   f"{what}, got {args[0]!r}")
        # absolute -1 only occurs for layer 0 and maps to channels[0], the image channels
        context = LayerContext([channels[s + 1] for s in absolute], repeats, width, max_channels)
        try:
            ctor_args, copies = rule.make_args(resolved, context)
            module = rule.module(*ctor_args)
            if copies > 1:  # copies in sequence: each after the first reads the previous copy's channels
                module = nn.Sequential(module, *(rule.module(module.out_channels, *ctor_args[1:]) for _ in range(copies - 1)))
        except (TypeError, ValueError, IndexError, RuntimeError, ZeroDivisionError) as error:
            raise ModelConfigError(f"{source_file}: layer {index} ({name}, args {args!r}) cannot be built: {error}; "
                                   f"{name} takes {rule.arg_names}") from None
        out_channels = (module[-1] if copies > 1 else module).out_channels
        modules.append(module)
        specs.append(LayerSpec(index, source, repeats, name, ctor_args, out_channels))
        channels.append(out_channels)
    strides = _dry_run(modules, specs, in_channels, source_file)
    return nn.ModuleList(modules), specs, strides


DRY_RUN_SIZE = 256  # the side of the zero image every new graph runs once: it checks the graph and gives the strides


def run_layers(modules, specs: list[LayerSpec], x, keep: set[int] | None = None, call: Callable | None = None):
    """Run the layer graph on ``x``; returns the last layer's output.

    Each layer reads the previous output, or the earlier outputs its spec's sources name (negative sources index
    back from the current layer, as Python lists do). ``keep``: the indices of the outputs later layers read
    (None: keep all). ``call(spec, module, inputs)`` runs one layer (default: ``module(inputs)``).
    """
    outputs: list = []
    for spec, module in zip(specs, modules):
        if spec.source != -1:
            x = outputs[spec.source] if isinstance(spec.source, int) else [x if s == -1 else outputs[s] for s in spec.source]
        x = module(x) if call is None else call(spec, module, x)
        outputs.append(x if keep is None or spec.index in keep else None)
    return x


@torch.no_grad()
def _dry_run(modules: list[nn.Module], specs: list[LayerSpec], in_channels: int, source_file: str) -> list[float]:
    """Run a zero image through the layers in eval mode, leaving them in train mode. A layer that does not fit its
    inputs (spatial sizes that Concat cannot join, a stride of 0, a bad dimension) raises a ModelConfigError naming
    the file and the layer instead of a torch traceback from inside the model. Returns the strides of the last
    layer's (the head's) inputs, in input pixels."""
    head_inputs: list = []

    def call(spec: LayerSpec, module: nn.Module, x):
        shapes = [tuple(t.shape) for t in x] if isinstance(x, list) else tuple(x.shape)
        if spec is specs[-1]:
            head_inputs.extend(x if isinstance(x, list) else [x])
        module.eval()
        try:
            return module(x)
        except (RuntimeError, IndexError, ValueError, TypeError, ZeroDivisionError) as error:
            raise ModelConfigError(f"{source_file}: layer {spec.index} ({spec.module_name}, args {spec.args!r}) does not "
                                   f"fit its inputs {shapes}: {error}") from None
        finally:
            module.train()

    run_layers(modules, specs, torch.zeros(1, in_channels, DRY_RUN_SIZE, DRY_RUN_SIZE), call=call)
    return [DRY_RUN_SIZE / tensor.shape[-2] for tensor in head_inputs]
