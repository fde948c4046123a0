"""YOLOModel: the layer graph built from a model YAML, plus decode in eval mode.

Forward conventions:

* training mode returns the raw head output: detect -> list of (B, 4*reg_max + nc, H_i, W_i);
  segment -> (that list, coefficients (B, nm, A), prototypes (B, nm, H/4, W/4)); classify -> logits (B, nc).
* eval mode returns (decoded, raw): detect -> (B, 4 + nc, A) boxes xywh in input pixels then sigmoid
  scores; segment -> ((B, 4 + nc + nm, A), prototypes); classify -> softmax probabilities (B, nc).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from yolo8.nn.blocks import Conv
from yolo8.nn.decode import decode_classification, decode_detection, decode_segmentation
from yolo8.nn.graph import LayerSpec, build_layers, resolve_model_yaml, run_layers
from yolo8.nn.heads import Classify, Detect, Segment
from yolo8.nn.profile import count_flops, count_parameters

__all__ = ["YOLOModel", "build_model", "resolve_model_yaml"]

TASK_OF_HEAD = {Detect: "detect", Segment: "segment", Classify: "classify"}
# head type -> (raw output, strides, head) -> decoded predictions (see the module docstring)
DECODE_OF_HEAD = {
    Detect: lambda raw, strides, head: decode_detection(raw, strides, head.reg_max, head.num_classes, head.dfl),
    Segment: lambda raw, strides, head: decode_segmentation(raw, strides, head.reg_max, head.num_classes, head.dfl),
    Classify: lambda raw, strides, head: decode_classification(raw),
}
DETECTION_BN_EPS, DETECTION_BN_MOMENTUM = 1e-3, 0.03


class YOLOModel(nn.Module):
    """A YOLO network. ``model``: the layers (state_dict keys ``model.{i}``); ``layers``: their specs.

    Attributes: ``yaml`` (resolved model YAML), ``task`` ('detect' | 'segment' | 'classify'),
    ``stride`` (Tensor of the head's input strides, a non-persistent buffer), ``names`` (class id -> name).
    """

    def __init__(self, model_yaml: dict, channels: int = 3):
        super().__init__()
        self.yaml = model_yaml
        self.channels = channels
        self.model, self.layers, strides = build_layers(model_yaml, channels)
        head = self.model[-1]
        if type(head) not in TASK_OF_HEAD:
            raise ValueError(f"{model_yaml.get('yaml_file', '<dict>')}: the last layer must be one of "
                             f"{[c.__name__ for c in TASK_OF_HEAD]}, got {type(head).__name__}")
        self.task = TASK_OF_HEAD[type(head)]
        # outputs read later by a layer other than the next one (sources are absolute or relative to that layer)
        self.saved_outputs = {s if s >= 0 else spec.index + s for spec in self.layers for s in spec.sources if s != -1}
        self.names = {i: str(i) for i in range(self.num_classes)}
        self.register_buffer("stride", torch.tensor(strides, dtype=torch.float32), persistent=False)
        if isinstance(head, Detect):  # detect and segment heads (Segment is a Detect)
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eps, module.momentum = DETECTION_BN_EPS, DETECTION_BN_MOMENTUM
            head.initialize_biases(self.stride.tolist())

    @property
    def head(self) -> nn.Module:
        return self.model[-1]

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    @property
    def is_fused(self) -> bool:
        return any(isinstance(m, Conv) and isinstance(m.bn, nn.Identity) for m in self.modules())

    def forward_raw(self, images: torch.Tensor):
        """Run the layer graph; returns the head's raw output (the training-mode output)."""
        return run_layers(self.model, self.layers, images, keep=self.saved_outputs)

    def decode(self, raw):
        """Raw head output -> decoded predictions (see the module docstring)."""
        return DECODE_OF_HEAD[type(self.head)](raw, self.stride, self.head)

    def forward(self, images: torch.Tensor):
        raw = self.forward_raw(images)
        if self.training:
            return raw
        return self.decode(raw), raw

    def fuse(self) -> "YOLOModel":
        """Fold every BatchNorm into its convolution, in place (inference only). Returns self."""
        for module in self.modules():
            if isinstance(module, Conv):
                module.fuse()
        return self

    def info(self, imgsz: int = 640, verbose: bool = True) -> tuple[int, int, float]:
        """Print a layer table and a summary line; return (layers, parameters, GFLOPs at ``imgsz``)."""
        layers = len(list(self.modules()))
        parameters = count_parameters(self)
        max_stride = int(self.stride.max().item())
        divisible = imgsz % max_stride == 0
        gflops = count_flops(self, imgsz, self.channels, scale_from=2 * max_stride if divisible else None)
        if verbose:
            print(f"{'':>3}{'from':>18}{'n':>3}{'params':>10}  {'module':<20}{'arguments'}")
            for spec, module in zip(self.layers, self.model):
                print(f"{spec.index:>3}{str(spec.source):>18}{spec.repeats:>3}{count_parameters(module):>10}  "
                      f"{spec.module_name:<20}{_format_args(spec)}")
            name = Path(str(self.yaml.get("yaml_file", "model"))).stem
            print(f"{name} summary ({self.task}, scale {self.yaml.get('scale')}): "
                  f"{layers} layers, {parameters:,} parameters, {gflops:.1f} GFLOPs")
        return layers, parameters, gflops


def _format_args(spec: LayerSpec) -> str:
    return str(spec.args)


def build_model(cfg, num_classes: int | None = None, channels: int = 3, verbose: bool = False) -> YOLOModel:
    """Build a model from a YAML name ('yolov8n.yaml'), a path, or a dict in the YOLOv8 schema.

    ``num_classes`` overrides the YAML's ``nc`` (recorded in ``model.yaml``); ``channels`` is the
    number of input image channels.
    """
    model_yaml = resolve_model_yaml(cfg if not isinstance(cfg, Path) else str(cfg))
    if num_classes is not None and num_classes != model_yaml.get("nc"):
        model_yaml["nc"] = int(num_classes)
    model_yaml["channels"] = channels
    model = YOLOModel(model_yaml, channels)
    if verbose:
        model.info()
    return model
