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

    @property
    def drop(self) -> float:
        return self.fp32 - self.int8

    def __str__(self) -> str:
        return (f"INT8 accuracy on the val split ({self.metric}; calibrated on train): FP32 {self.fp32:.4f}, "
                f"INT8 {self.int8:.4f}, drop {self.drop:+.4f}")


def headline(result) -> tuple[str, float]:
    """The one number a format is judged by: box mAP50-95 (detect, segment) or top-1 accuracy (classify)."""
    if hasattr(result, "box"):
        return "mAP50-95(B)", float(result.box.map)
    return "top-1", float(result.top1)


def report_int8(model, path: Path, config: Config) -> Int8Report:
    """Validate ``model`` (a ``YOLO`` holding the FP32 PyTorch model) and the INT8 export at ``path`` on the val
    split of ``config.data`` at the export's size; log and return the comparison."""
    settings = {"data": config.data, "imgsz": config.imgsz, "verbose": False, "plots": False, "device": config.device,
                "project": config.project}
    if "batch" in config.overrides:
        settings["batch"] = config.batch
    LOGGER.info("Validating the FP32 model and the INT8 export on the val split of %s ...", config.data)
    metric, fp32 = headline(model.val(**settings))
    _, int8 = headline(type(model)(path).val(**settings))
    report = Int8Report(metric, fp32, int8)
    LOGGER.info("%s", report)
    return report
