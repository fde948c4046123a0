"""The honest INT8 report: after an INT8 export, the FP32 model and the INT8 file are both validated on the val
split (calibration used train) and their accuracy is printed side by side with the drop."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from yolo8.config import Config

LOGGER = logging.getLogger("yolo8")


@dataclass(frozen=True)
class Int8Report:
    """``metric``: 'mAP50-95(B)' or 'top-1'; ``fp32`` / ``int8``: its value for each model; ``drop`` = fp32 - int8."""

    metric: str
    fp32: float
    int8: float
    note: str = ""

    @property
    def drop(self) -> float:
        return self.fp32 - self.int8

    def __str__(self) -> str:
        return (f"INT8 accuracy on the val split ({self.metric}; calibrated on train): FP32 {self.fp32:.4f}, "
                f"INT8 {self.int8:.4f}, drop {self.drop:+.4f}{self.note}")


def headline(result) -> tuple[str, float]:
    """The one number a format is judged by: box mAP50-95 (detect, segment) or top-1 accuracy (classify)."""
    if hasattr(result, "box"):
        return "mAP50-95(B)", float(result.box.map)
    return "top-1", float(result.top1)


def report_int8(model, path: Path, config: Config) -> Int8Report:
    """Validate ``model`` (a ``YOLO`` holding the FP32 PyTorch model) and the INT8 export at ``path`` on the val
    split of ``config.data`` at the export's size; log and return the comparison.

    A static INT8 file letterboxes val's rectangular batches to its fixed input; the FP32 model is then run through
    the same letterboxing, so the drop measures quantisation alone, not a change of preprocessing.
    """
    from yolo8.runtime.backend import TorchBackend
    from yolo8.runtime.device import select_device
    from yolo8.runtime.fixed_input import FixedShapeBackend
    from yolo8.val.validator import validate_model

    settings = {"data": config.data, "imgsz": config.imgsz, "verbose": False, "plots": False, "device": config.device,
                "project": config.project}
    if "batch" in config.overrides:
        settings["batch"] = config.batch
    LOGGER.info("Validating the FP32 model and the INT8 export on the val split of %s ...", config.data)
    int8_model = type(model)(path)
    metadata = int8_model.model.metadata
    if metadata.dynamic:
        fp32_result = model.val(**settings)
    else:
        val_config = Config(settings, mode="val", task=model.task)
        backend = FixedShapeBackend(TorchBackend(model.model, select_device(config.device)), metadata.imgsz,
                                    metadata.batch)
        fp32_result = validate_model(model.model, val_config, backend=backend)
    metric, fp32 = headline(fp32_result)
    _, int8 = headline(int8_model.val(**settings))
    note = ""
    if metadata.nms:  # val's low threshold cannot bring back what the file's own NMS dropped
        note = (f" (the INT8 file runs NMS inside at conf={metadata.args.get('conf')}: it is scored on those boxes "
                "only; export without nms=True to compare quantisation alone)")
    report = Int8Report(metric, fp32, int8, note)
    LOGGER.info("%s", report)
    return report
