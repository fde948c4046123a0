"""`yolo8 benchmark`: one row per deployment format (file size, accuracy on val, ms per image at batch 1), the table a
user reads to pick a format.

Rows: PyTorch, TorchScript, ONNX, OpenVINO, OpenVINO INT8, ONNX INT8. Exports are dynamic (val then sees the same
rectangular batches as the ``.pt``, so accuracy differences are the format's own) and written into the
benchmark's run directory, not beside the weights. Latency is the median of ``runs`` timed calls of the backend
on one ``imgsz`` square image after ``warmup`` calls, preprocessing and NMS excluded. A format that cannot be
written here (a package missing) gets a row saying why instead of stopping the table.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from yolo8.config import Config
from yolo8.export.exporter import export_model
from yolo8.export.int8_report import headline
from yolo8.runtime.run_dir import increment_run_dir

LOGGER = logging.getLogger("yolo8")

# (row name, export settings); None: the PyTorch model itself
ROWS = (("PyTorch", None), ("TorchScript", {"format": "torchscript"}), ("ONNX", {"format": "onnx"}),
        ("OpenVINO", {"format": "openvino"}), ("OpenVINO INT8", {"format": "openvino", "int8": True}),
        ("ONNX INT8", {"format": "onnx", "int8": True}))


@dataclass
class BenchmarkRow:
    """One format: ``size_mb`` of its file(s), ``metric`` ('mAP50-95(B)' / 'top-1') and its value on val,
    ``ms`` median milliseconds per image at batch 1; ``error`` when the format could not be measured."""

    format: str
    size_mb: float | None = None
    metric: str = ""
    value: float | None = None
    ms: float | None = None
    error: str = ""


def time_backend(backend, imgsz: int, runs: int = 20, warmup: int = 3) -> float:
    """Median milliseconds of ``backend`` on one (1, 3, imgsz, imgsz) image."""
    image = torch.rand(1, 3, imgsz, imgsz, generator=torch.Generator().manual_seed(0)).to(backend.device)
    for _ in range(warmup):
        backend(image)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        backend(image)
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def files_size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [file for file in path.rglob("*") if file.is_file()]
    return sum(file.stat().st_size for file in files) / 1e6


def benchmark_formats(model, config: Config, runs: int = 20) -> list[BenchmarkRow]:
    """Benchmark ``model`` (a ``YOLO`` holding a PyTorch model) in every format; logs the table and returns it.

    ``config`` reads data (default: the built-in dataset), imgsz, device, project, name; INT8 calibrates on the
    train split of ``data``.
    """
    if not config.data and model.task != "classify":
        from yolo8.data.synthetic import builtin_dataset

        config = config.merge(data=str(builtin_dataset()))
    imgsz = config.imgsz if isinstance(config.imgsz, int) else max(config.imgsz)
    run_dir = increment_run_dir(config.project or Path("runs") / model.task, config.name or "benchmark",
                                config.exist_ok, mkdir=True)
    stem = Path(model.source).stem if isinstance(model.source, str) else "model"
    validation = {"data": config.data, "imgsz": imgsz, "verbose": False, "plots": False, "device": config.device,
                  "project": str(run_dir), "name": "val"}
    rows = []
    for name, settings in ROWS:
        row = BenchmarkRow(name)
        try:
            if settings is None:
                runner, row.size_mb = model, files_size_mb(Path(model.source)) if isinstance(model.source, str) else None
            else:
                export_config = Config({"imgsz": imgsz, "dynamic": True, "device": config.device, "data": config.data,
                                        **settings}, mode="export")
                path = export_model(model.model, export_config, str(run_dir / f"{stem}.pt"))
                runner, row.size_mb = type(model)(path), files_size_mb(path)
            row.metric, row.value = headline(runner.val(**validation))
            row.ms = time_backend(runner.backend(Config(mode="predict", device=config.device)), imgsz, runs)
        except (ValueError, OSError, RuntimeError) as error:  # a format that cannot run here still gets its row
            row.error = str(error).splitlines()[0][:100]
        rows.append(row)
    LOGGER.info("Benchmark of %s at %d px, batch 1, %d threads (%s):\n%s", model.source, imgsz,
                torch.get_num_threads(), config.data, format_rows(rows))
    return rows


def format_rows(rows: list[BenchmarkRow]) -> str:
    """The table: format, size (MB), metric, ms/image; errors in place of numbers."""
    metric = next((row.metric for row in rows if row.metric), "metric")
    lines = [f"{'Format':<15}{'Size (MB)':>10}{metric:>14}{'ms/image':>10}"]
    for row in rows:
        if row.error:
            lines.append(f"{row.format:<15}  failed: {row.error}")
        else:
            size = f"{row.size_mb:.1f}" if row.size_mb is not None else "-"
            lines.append(f"{row.format:<15}{size:>10}{row.value:>14.4f}{row.ms:>10.1f}")
    return "\n".join(lines)
