"""The one table of defaults: every setting's type, default and meaning, shared by the CLI and the Python API.

Values follow YOLOv8's ``default.yaml`` so a YOLOv8 user's habits carry over. ``Config`` merges user
overrides onto the table and validates them; an unknown key suggests the closest valid one and a value
of the wrong type names the key.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from yolo8.setting_parsers import (
    PROBABILITY,
    Range,
    choice,
    float_in,
    int_at_least,
    nullable,
    parse_any,
    parse_batch,
    parse_bool,
    parse_bool_or_path,
    parse_cache,
    parse_image_size,
    parse_int,
    parse_int_list,
    parse_multi_scale,
    parse_positive_float,
    parse_save_period,
    parse_str,
    ranged,
)
from yolo8.unsupported_settings import UNSUPPORTED_YOLOV8_SETTINGS


class ConfigError(ValueError):
    """A setting was unknown, had a value of the wrong type, or a value outside its valid range."""


# ---------------------------------------------------------------- the table
@dataclass(frozen=True)
class Option:
    """One setting: its default, how a value is parsed, which modes use it and what it means."""

    name: str
    default: Any
    parse: Callable[[Any], Any]
    modes: tuple[str, ...]
    help: str


T, V, P, E, TR, B = "train", "val", "predict", "export", "track", "benchmark"
TV, TVP, ALL = (T, V), (T, V, P), (T, V, P, E, TR, B)
PTR = (P, TR)  # track runs the predictor, so it reads every predict setting too (see options_for)

MODES = ("train", "val", "predict", "export", "track", "benchmark")

OPTIONS: tuple[Option, ...] = (
    # general
    Option("task", "detect", parse_str, ALL, "detect, segment or classify (checked against yolo8.tasks.TASKS)"),
    Option("mode", "train", choice(*MODES), ALL, "train, val, predict, export, track or benchmark"),
    Option("model", None, nullable(parse_str), ALL, "model YAML (yolov8n.yaml) or checkpoint (.pt)"),
    Option("data", None, nullable(parse_str), ALL, "dataset YAML; empty means the built-in dataset (export: int8 calibration)"),
    Option("epochs", 100, int_at_least(1), (T,), "number of epochs to train"),
    Option("time", None, nullable(parse_positive_float), (T,),
           "train for this many hours instead of a number of epochs (re-planned after every epoch)"),
    Option("patience", 100, int_at_least(1), (T,), "epochs without fitness improvement before stopping early"),
    Option("batch", 16, parse_batch, ALL, "images per batch (export: the fixed batch, default 1)"),
    Option("imgsz", 640, ranged(parse_image_size, Range(32)), ALL, "input size: an integer, or [height, width] for predict/export"),
    Option("save", True, parse_bool, (T, P), "save checkpoints (train) or annotated results (predict)"),
    Option("save_period", -1, parse_save_period, (T,), "also save a checkpoint every N epochs (-1: off)"),
    Option("cache", False, parse_cache, TV, "cache decoded images: false or ram"),
    Option("device", None, nullable(parse_str), ALL, "cpu, 0, or 0,1 for several GPUs; empty picks CUDA when present"),
    Option("workers", 8, int_at_least(0), TV, "data loader worker processes (capped by CPU count)"),
    Option("project", None, nullable(parse_str), ALL, "parent directory of the run directory"),
    Option("name", None, nullable(parse_str), ALL, "run directory name (default: the mode, numbered)"),
    Option("exist_ok", False, parse_bool, ALL, "reuse an existing run directory instead of numbering a new one"),
    Option("pretrained", True, nullable(parse_bool_or_path), (T,), "start from a checkpoint's weights (true, false or a path)"),
    Option("optimizer", "auto", choice("auto", "SGD", "Adam", "AdamW", "RMSProp"), (T,), "optimizer"),
    Option("verbose", True, parse_bool, ALL, "print detailed output"),
    Option("seed", 0, parse_int, (T,), "random seed"),
    Option("deterministic", True, parse_bool, (T,), "use deterministic algorithms"),
    Option("single_cls", False, parse_bool, TV, "treat every class as one"),
    Option("rect", False, parse_bool, TV, "rectangular batches (always on for val)"),
    Option("cos_lr", False, parse_bool, (T,), "cosine learning-rate schedule instead of linear"),
    Option("close_mosaic", 10, int_at_least(0), (T,), "turn mosaic off for the last N epochs (0: never)"),
    Option("resume", False, nullable(parse_any), (T,), "resume from the last checkpoint (true or its path)"),
    Option("amp", True, parse_bool, (T,), "mixed precision on CUDA"),
    Option("multi_scale", 0.0, parse_multi_scale, (T,),
           "train each batch at a random size within +/- this fraction of imgsz (a stride multiple); 0: off"),
    Option("fraction", 1.0, float_in(0, 1, low_inclusive=False), (T, E), "fraction of the training set to use (export: for int8 calibration)"),
    Option("freeze", None, nullable(ranged(parse_int_list, Range(0))), (T,), "freeze the first N layers, or a list of layer indices"),
    Option("val", True, parse_bool, (T,), "validate during training"),
    Option("split", "val", choice("train", "val", "test"), (V,), "dataset split to validate"),
    Option("save_json", False, parse_bool, (V,), "write predictions.json in COCO results format"),
    Option("conf", None, nullable(PROBABILITY), (V, P, E),
           "confidence threshold (empty: the mode's, 0.25 predict, 0.001 val and train's validation)"),
    Option("iou", 0.7, PROBABILITY, (V, P, E), "NMS IoU threshold"),
    Option("max_det", 300, int_at_least(1), (V, P, E), "maximum detections per image"),
    Option("augment", False, parse_bool, (V, P),
           "test-time augmentation: also predict on scaled and mirrored views (detection; 2-3x slower)"),
    Option("half", False, parse_bool, (V, P, E), "half precision (CUDA)"),
    Option("plots", True, parse_bool, TV, "save plots"),
    # predict
    Option("source", None, nullable(parse_any), (P,), "image, directory, glob, video, or list of these"),
    Option("vid_stride", 1, int_at_least(1), (P,), "read every Nth video frame"),
    Option("stream", False, parse_bool, (P,), "yield results one frame at a time"),
    Option("agnostic_nms", False, parse_bool, (V, P), "class-agnostic NMS"),
    Option("classes", None, nullable(ranged(parse_int_list, Range(0))), (V, P), "keep only these class ids"),
    Option("save_txt", False, parse_bool, (P,), "save results as YOLO txt labels"),
    Option("save_conf", False, parse_bool, (P,), "include confidences in saved txt labels"),
    Option("save_crop", False, parse_bool, (P,), "save a crop of every detection"),
    Option("show_labels", True, parse_bool, (P,), "draw class names"),
    Option("show_conf", True, parse_bool, (P,), "draw confidences"),
    Option("show_boxes", True, parse_bool, (P,), "draw boxes"),
    Option("line_width", None, nullable(int_at_least(1)), (P,), "box line width (default: from image size)"),
    Option("slice", None, nullable(ranged(parse_int_list, Range(32))), PTR,
           "sliced inference for small objects: tile width[,height] in pixels (e.g. 640 or 640,480); empty: off"),
    Option("slice_overlap", 0.2, float_in(0, 0.9), PTR, "sliced inference: overlap of neighbouring tiles (fraction)"),
    # track
    Option("tracker", "botsort.yaml", parse_str, (TR,), "tracker YAML: botsort.yaml, bytetrack.yaml or a path"),
    Option("persist", False, parse_bool, (TR,), "keep tracks (and ids) from the previous track() call"),
    Option("gt", None, nullable(parse_str), (TR,), "MOTChallenge gt.txt to score the tracks against (MOTA, IDF1, HOTA)"),
    # export
    Option("format", "torchscript", parse_str, (E,), "export format: torchscript, onnx or openvino"),
    Option("dynamic", False, parse_bool, (E,), "export with free batch, height and width axes"),
    Option("simplify", True, parse_bool, (E,), "simplify the ONNX graph with onnxslim"),
    Option("opset", None, nullable(int_at_least(7)), (E,), "ONNX opset (empty: 17)"),
    Option("nms", False, parse_bool, (E,), "NMS inside the exported graph (onnx, openvino; detect and segment)"),
    Option("int8", False, parse_bool, (E,), "INT8 quantisation (openvino, onnx), calibrated on data's train split"),
    # hyperparameters
    Option("lr0", 0.01, float_in(0, low_inclusive=False), (T,), "initial learning rate (SGD 0.01, Adam 0.001)"),
    Option("lrf", 0.01, float_in(0, 1, low_inclusive=False), (T,), "final learning rate as a fraction of lr0"),
    Option("momentum", 0.937, float_in(0, 1, high_inclusive=False), (T,), "SGD momentum / Adam beta1"),
    Option("weight_decay", 0.0005, float_in(0), (T,), "weight decay, scaled by batch / nbs"),
    Option("warmup_epochs", 3.0, float_in(0), (T,), "warmup epochs (fractions allowed)"),
    Option("warmup_momentum", 0.8, float_in(0, 1, high_inclusive=False), (T,), "initial warmup momentum"),
    Option("warmup_bias_lr", 0.1, float_in(0), (T,), "initial warmup learning rate of biases"),
    Option("box", 7.5, float_in(0), (T,), "box loss gain"),
    Option("cls", 0.5, float_in(0), (T,), "classification loss gain"),
    Option("dfl", 1.5, float_in(0), (T,), "distribution focal loss gain"),
    Option("nbs", 64, int_at_least(1), (T,), "nominal batch size: gradients accumulate up to it"),
    Option("hsv_h", 0.015, PROBABILITY, (T,), "hue shift (+/- fraction of the colour circle)"),
    Option("hsv_s", 0.7, PROBABILITY, (T,), "HSV saturation augmentation (fraction)"),
    Option("hsv_v", 0.4, PROBABILITY, (T,), "HSV value augmentation (fraction)"),
    Option("degrees", 0.0, float_in(0), (T,), "rotation (+/- degrees)"),
    Option("translate", 0.1, float_in(0, 1, high_inclusive=False), (T,), "translation (+/- fraction)"),
    Option("scale", 0.5, float_in(0), (T,), "scale (+/- gain)"),
    Option("shear", 0.0, float_in(0), (T,), "shear (+/- degrees)"),
    Option("perspective", 0.0, float_in(0), (T,), "perspective (+/- fraction), range 0-0.001"),
    Option("flipud", 0.0, PROBABILITY, (T,), "probability of a vertical flip"),
    Option("fliplr", 0.5, PROBABILITY, (T,), "probability of a horizontal flip"),
    Option("mosaic", 1.0, PROBABILITY, (T,), "probability of a 4-image mosaic"),
    Option("mixup", 0.0, PROBABILITY, (T,), "probability of mixup"),
    Option("bgr", 0.0, PROBABILITY, (T,), "probability of swapping the red and blue channels"),
    Option("copy_paste", 0.0, PROBABILITY, (T,), "fraction of objects pasted again, mirrored (polygon labels)"),
    Option("copy_paste_mode", "flip", choice("flip"), (T,), "how copy-paste makes its copies: flip (mirrored; YOLOv8's mixup mode is not available)"),
    Option("overlap_mask", True, parse_bool, (T,), "segment: ground-truth masks as one index mask per image (smaller objects drawn over larger) instead of one mask per object"),
    Option("mask_ratio", 4, ranged(parse_int, Range(1, 32)), (T,), "segment: ground-truth masks are rasterised at 1/mask_ratio of the training image size (at most the largest stride, 32)"),
    Option("dropout", 0.0, float_in(0, 1, high_inclusive=False), (T,), "classify: dropout probability before the head's classifier"),
    Option("auto_augment", "randaugment", nullable(choice("randaugment", "autoaugment", "augmix")), (T,),
           "classify: automatic augmentation policy: randaugment, autoaugment, augmix, or none"),
    Option("erasing", 0.4, float_in(0, 0.9), (T,), "classify: probability of random erasing of a patch"),
    Option("crop_fraction", 1.0, float_in(0.1, 1), TV,
           "classify: validation crops the centre crop_fraction of the short side (1.0: the whole short side)"),
)

OPTIONS_BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
DEFAULTS: dict[str, Any] = {option.name: option.default for option in OPTIONS}

# `yolo8 train` with no data trains on the built-in dataset (256 images). These settings make that a job of a
# few minutes on a laptop CPU that still ends with a visible mAP: 320 px, and an optimizer step per batch
# (nbs = batch) with a short warm-up, because a 15-epoch run at nbs 64 would take only ~60 steps, all warm-up.
# AdamW at 0.002 rather than the auto rule's 0.00083 (nc = 8): in 240 steps it reaches mAP50 0.25 instead of 0.09.
# They apply only when the user left both `data` and the key unset.
BUILTIN_DATASET_DEFAULTS: dict[str, Any] = {"epochs": 15, "imgsz": 320, "nbs": 16, "warmup_epochs": 1,
                                            "close_mosaic": 3, "optimizer": "AdamW", "lr0": 0.002}
# The main job (`yolo8 train`, nothing set) starts from the shipped built-in weights, already good on this data:
# it fine-tunes them in a few epochs at a lower rate, without warm-up (which would first raise the rate). Measured
# on the detection weights (5 epochs): lr0 0.0005 lowered val mAP50-95 0.581 -> 0.573 and the sample objects found
# 11 -> 9 of 17; lr0 0.0001 raised them to 0.587 and kept 11.
BUILTIN_FINETUNE_DEFAULTS: dict[str, Any] = {"epochs": 5, "lr0": 0.0001, "warmup_epochs": 0, "close_mosaic": 2}

# Settings whose default depends on the mode; they apply where the key is unset (or set to None).
# conf: val keeps low scores, because AP needs the whole precision-recall curve; predict shows confident boxes.
# track: 0.1, as YOLOv8 tracks, so ByteTrack's second association sees low-confidence boxes.
MODE_DEFAULTS: dict[str, dict[str, Any]] = {"train": {"conf": 0.001}, "val": {"conf": 0.001}, "predict": {"conf": 0.25},
                                            "track": {"conf": 0.1}}

# YOLOv8's Python API does not write prediction images unless asked; its command line does.
PYTHON_PREDICT_DEFAULTS: dict[str, Any] = {"save": False}


def closest_key(name: str, candidates: Iterable[str] = OPTIONS_BY_NAME) -> str | None:
    """The valid key nearest to a misspelt ``name``, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def parse_value(name: str, value: Any) -> Any:
    """Check and convert one setting; raises ConfigError naming the key and the expected type."""
    option = OPTIONS_BY_NAME.get(name)
    if option is None and name in UNSUPPORTED_YOLOV8_SETTINGS:
        raise ConfigError(f"'{name}' is a YOLOv8 setting that yolo8 does not support "
                          f"({UNSUPPORTED_YOLOV8_SETTINGS[name]}); remove it.")
    if option is None:
        suggestion = closest_key(name)
        hint = f" Did you mean '{suggestion}'?" if suggestion else ""
        raise ConfigError(f"'{name}' is not a valid yolo8 setting.{hint} Run 'yolo8 help' for the list.")
    try:
        return option.parse(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"'{name}={value}' is invalid: {error} (default: {option.default!r}; {option.help})."
        ) from None


class Config(Mapping[str, Any]):
    """Validated settings: the defaults table with user overrides merged on top.

    Read a value as ``config.epochs`` or ``config["epochs"]``; ``config.overrides`` are the keys the user set.
    """

    def __init__(self, overrides: Mapping[str, Any] | None = None, **more: Any):
        given = {**(overrides or {}), **more}
        self._overrides = {name: parse_value(name, value) for name, value in given.items()}
        self._values = {**DEFAULTS, **self._overrides}
        for name, value in MODE_DEFAULTS.get(self._values["mode"], {}).items():
            if self._values[name] is None:
                self._values[name] = value

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Config({self._overrides!r})"

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self._overrides)

    def merge(self, overrides: Mapping[str, Any] | None = None, **more: Any) -> "Config":
        """A new Config with these overrides added on top of this one's."""
        return Config({**self._overrides, **(overrides or {}), **more})

    def with_defaults(self, defaults: Mapping[str, Any]) -> "Config":
        """A new Config where ``defaults`` fill the keys the user did not set."""
        return Config({**defaults, **self._overrides})

    def to_dict(self) -> dict[str, Any]:
        return dict(self._values)


def options_for(mode: str | None = None) -> list[Option]:
    """The options a mode uses (all of them when mode is None), in table order."""
    return [option for option in OPTIONS if mode is None or mode in option.modes or (mode == TR and P in option.modes)]


def format_help(mode: str | None = None) -> str:
    """A table of every setting a mode reads: key, default and meaning."""
    rows = options_for(mode)
    width = max(len(option.name) for option in rows)
    default_width = max(len(repr(option.default)) for option in rows)
    return "\n".join(
        f"  {option.name:<{width}}  {option.default!r:<{default_width}}  {option.help}" for option in rows
    )
