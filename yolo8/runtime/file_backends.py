"""Backends for exported files: onnxruntime, OpenVINO and TorchScript behind the :class:`~yolo8.runtime.backend.Backend`
protocol, so val and predict run an export exactly as they run a ``.pt``.

A *runner* maps a float32 (B, 3, H, W) CPU tensor to the file's raw outputs (a list of tensors). :class:`FileBackend`
turns those into the task's decoded form: it fits batches to a static export (:mod:`yolo8.runtime.fixed_input`,
said once), and unpacks ``nms=True`` rows back into the decoded layout (a kept row is one anchor whose only
class score is its score; yolo8's NMS then keeps it unchanged).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from yolo8.ops.boxes import xyxy_to_xywh
from yolo8.runtime.export_metadata import ExportMetadata
from yolo8.runtime.fixed_input import run_fixed_shape
from yolo8.runtime.optional_dependencies import require

LOGGER = logging.getLogger("yolo8")


class OnnxRunner:
    """onnxruntime with as many CPU threads as torch uses (the caller's setting); on a CUDA ``device`` through
    onnxruntime-gpu's CUDA provider when it is installed (else on the CPU, said once)."""

    def __init__(self, path: Path, device: torch.device = torch.device("cpu")):
        onnxruntime = require("onnxruntime", purpose=f"running {path}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.log_severity_level = 3  # errors only: the graph-optimizer notes are not the user's business
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda":
            if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
                providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
            else:
                LOGGER.warning("%s runs on the CPU: this onnxruntime has no CUDA provider (pip install "
                               "onnxruntime-gpu to run ONNX files on %s).", path.name, device)
        self.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        self.input_name = self.session.get_inputs()[0].name
        self.half = self.session.get_inputs()[0].type == "tensor(float16)"

    def __call__(self, images: torch.Tensor) -> list[torch.Tensor]:
        array = images.numpy().astype("float16" if self.half else "float32")
        return [torch.from_numpy(output).float() for output in self.session.run(None, {self.input_name: array})]


class OpenVINORunner:
    """OpenVINO on the CPU, float32 precision (not the BF16 an AVX-512 CPU would pick by itself: outputs then match
    the ``.pt``), as many threads as torch uses."""

    def __init__(self, path: Path, device: torch.device = torch.device("cpu")):
        from yolo8.runtime.exported_model import openvino_xml

        if device.type != "cpu":  # OpenVINO's GPU plugin is Intel graphics, not the CUDA device asked for
            LOGGER.warning("%s runs on the CPU: yolo8 runs OpenVINO files on the CPU plugin only, not on %s.",
                           path.name, device)

        openvino = require("openvino", purpose=f"running {path}")
        core = openvino.Core()
        model = core.read_model(str(openvino_xml(path)))
        self.compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": torch.get_num_threads(),
                                                          "INFERENCE_PRECISION_HINT": "f32"})

    def __call__(self, images: torch.Tensor) -> list[torch.Tensor]:
        results = self.compiled(images.numpy())
        return [torch.from_numpy(results[output].copy()).float() for output in self.compiled.outputs]


class TorchScriptRunner:
    """A TorchScript export on any torch device."""

    def __init__(self, path: Path, device: torch.device, half: bool):
        with warnings.catch_warnings():  # torch.jit.load's deprecation notice: TorchScript files still load
            warnings.simplefilter("ignore", FutureWarning)
            self.module = torch.jit.load(str(path), map_location=device).eval()
        self.device, self.half = device, half

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> list[torch.Tensor]:
        images = images.to(self.device)
        outputs = self.module(images.half() if self.half else images)
        return [output.float() for output in (outputs if isinstance(outputs, (tuple, list)) else [outputs])]


def make_runner(path: Path, format: str, device: torch.device, metadata: ExportMetadata):
    """The runner of ``format`` on ``device`` (OpenVINO, and ONNX without onnxruntime-gpu: the CPU, said once)."""
    if format == "onnx":
        return OnnxRunner(path, device)
    if format == "openvino":
        return OpenVINORunner(path, device)
    return TorchScriptRunner(path, device, metadata.half)


def rows_to_decoded(rows: torch.Tensor, num_classes: int) -> torch.Tensor:
    """NMS'd rows (B, K, 6 + nm): x1, y1, x2, y2, score, class, coefficients -> decoded (B, 4 + nc + nm, K) with
    boxes xywh and each row's score in its class's row (zero rows stay all zero)."""
    classes = F.one_hot(rows[..., 5].long().clamp(0, num_classes - 1), num_classes).to(rows.dtype)  # (B, K, nc)
    scores = classes * rows[..., 4:5]
    # (B, K, 4 + nc + nm) -> (B, 4 + nc + nm, K)
    return torch.cat((xyxy_to_xywh(rows[..., :4]), scores, rows[..., 6:]), -1).transpose(1, 2)


class FileBackend:
    """Runs an exported file for val and predict (see the module docstring).

    Args:
        exported: the :class:`yolo8.runtime.exported_model.ExportedModel` (path, format, metadata).
        runner: float32 (B, 3, H, W) CPU tensor -> the file's outputs.
    """

    def __init__(self, exported, runner):
        metadata: ExportMetadata = exported.metadata
        self.exported, self.runner, self.metadata = exported, runner, metadata
        self.task, self.names, self.stride = metadata.task, dict(metadata.names), int(metadata.stride)
        self.num_classes = len(self.names)
        self.device = runner.device if isinstance(runner, TorchScriptRunner) else torch.device("cpu")
        self.fp16, self.augment = False, False  # inputs arrive as float32; the runner casts for a half export
        self.said_letterbox = False
        # a static file's (height, width): val letterboxes images straight to it (see tasks.detect.evaluation_data)
        self.fixed_input = None if metadata.dynamic else tuple(metadata.imgsz)
        if metadata.nms:
            LOGGER.info("%s runs NMS inside (conf=%s, iou=%s, max_det=%s): lower conf settings cannot recover the "
                        "boxes it dropped.", exported.path.name, metadata.args.get("conf"), metadata.args.get("iou"),
                        metadata.args.get("max_det"))

    def is_current(self, model) -> bool:
        return model is self.exported

    def _run(self, images: torch.Tensor):
        outputs = self.runner(images.float().cpu())
        if self.metadata.nms:
            outputs[0] = rows_to_decoded(outputs[0], self.num_classes)
        outputs = [output.to(self.device) for output in outputs]
        return (outputs[0], outputs[1]) if self.task == "segment" else outputs[0]

    @torch.no_grad()
    def __call__(self, images: torch.Tensor):
        """(B, 3, H, W) RGB [0, 1] -> decoded outputs in the task's form, in the pixels of ``images``."""
        if self.metadata.dynamic:
            return self._run(images)
        if tuple(images.shape[2:]) != tuple(self.metadata.imgsz):
            self._say_letterbox(tuple(images.shape[2:]))
        return run_fixed_shape(self._run, images, self.task, self.metadata.imgsz, self.metadata.batch)

    def _say_letterbox(self, shape: tuple[int, int]) -> None:
        if not self.said_letterbox:
            self.said_letterbox = True
            height, width = self.metadata.imgsz
            LOGGER.info("%s has a fixed %dx%d input: %dx%d inputs are letterboxed to it (export with dynamic=True "
                        "to run rectangular inputs like the .pt).", self.exported.path.name, height, width, *shape)
