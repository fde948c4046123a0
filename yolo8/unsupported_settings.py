"""YOLOv8 settings that yolo8 does not have, each with the reason a user reads when passing one.

A YOLOv8 user's command line or script may carry any key of YOLOv8's ``default.yaml``. Telling them that
``show`` is "not a valid setting" would suggest a typo; these keys get an error that says yolo8 knows the
setting and what to do instead. Keys not listed here and not in :mod:`yolo8.config` are treated as typos.
"""

from __future__ import annotations

_EXPORT = "an export setting of a format yolo8 does not write (it exports torchscript, onnx and openvino)"
_POSE = "a pose-estimation setting: yolo8 has no pose task"
_DEPTH = "a depth-estimation setting: yolo8 has no depth task"
_DISTILL = "knowledge distillation from a teacher model"

UNSUPPORTED_YOLOV8_SETTINGS: dict[str, str] = {
    "profile": "profiling of export formats during training",
    "label_smoothing": "label smoothing, deprecated in YOLOv8 itself",
    "show": "results shown in a window; yolo8 saves them (save=True) under the run directory instead",
    "visualize": "saving feature maps of every layer",
    "embed": "returning feature embeddings instead of detections",
    "retina_masks": "yolo8 always returns masks at the original image resolution, which is what it asks for",
    "save_frames": "saving single video frames as images",
    "save_hybrid": "mixing labels into predictions when validating",
    "dnn": "OpenCV's DNN module as an ONNX backend",
    "cfg": "a YAML of settings replacing the defaults; pass the settings as key=value instead",
    "keras": _EXPORT, "optimize": _EXPORT, "workspace": _EXPORT,
    "pose": _POSE, "kobj": _POSE, "rle": _POSE,
    "angle": "an oriented-box loss gain: yolo8 has no OBB task",
    "dlog": _DEPTH, "dgrad": _DEPTH, "dlam": _DEPTH,
    "cutmix": "CutMix augmentation; mixup (mixup=0.1) is available",
    "cls_pw": "class weights for imbalanced data",
    "cls_remap": "remapping class rows of a pretrained head by name",
    "compile": "torch.compile of the model",
    "channels_last": "yolo8 always trains and predicts in the channels-last memory layout",
    "quantize": _EXPORT,
    "stream_buffer": "buffering every frame of a live stream",
    "distill_model": _DISTILL, "dis": _DISTILL,
}
