"""Deployment formats side by side: latency of the exported files at batch 1 with 2 threads, and accuracy on val.

    python benchmarks/export.py [--model yolov8n-builtin.pt | best.pt | an Ultralytics .pt] [--imgsz 640] [--data DATA]
                                        [--runs 20] [--warmup 5] [--peer /work/ul_venv/bin/python]

Ours: the model is exported by yolo8 (static, batch 1, ``imgsz``) to TorchScript, ONNX, OpenVINO, OpenVINO INT8 and
ONNX INT8 (INT8 needs ``--data``: calibration on its train split). With ``--peer``, the incumbent exports the same
weights in its own interpreter (YOLO_OFFLINE=1, its ``torch_utils.NUM_THREADS`` = 2) to the formats it has:
torchscript, onnx, openvino, openvino int8. Every file, ours and the peer's, is then timed by one timer in one
interpreter with the runtime alone (onnxruntime / OpenVINO / torch.jit, 2 threads, one random image, median of
``--runs`` after ``--warmup``), so the figures compare the files, not the Python around them. OpenVINO is timed
at f32 precision and at the runtime's default (BF16 on CPUs that have it). With ``--data``, the accuracy column is
val mAP50-95 through each side's own ``YOLO(file).val``.

A yolo8 checkpoint (``--model``, a path or a shipped name) reaches the incumbent as the same weights
(:mod:`peer_weights`); an Ultralytics ``.pt`` is given to both sides as it is.

Prints a table (format, ours ms, peer ms, ours/peer) and the accuracy table; the last line is the ratio of our
ONNX FP32 latency to the peer's (ours alone without --peer).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_weights import model_path, peer_checkpoint  # noqa: E402

OUR_EXPORTS = r"""
import json, sys, shutil, torch
torch.set_num_threads(2)
sys.path.insert(0, sys.argv[1])
from yolo8 import YOLO
model_file, out, imgsz, data = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
weights = shutil.copy(model_file, out + "/ours.pt")
rows = {"torchscript": {"format": "torchscript"}, "onnx": {"format": "onnx"}, "openvino": {"format": "openvino"}}
if data:
    rows.update({"openvino int8": {"format": "openvino", "int8": True, "data": data},
                 "onnx int8": {"format": "onnx", "int8": True, "data": data}})
paths, accuracy = {}, {}
for name, settings in rows.items():
    target = shutil.copy(weights, out + "/ours_" + name.replace(" ", "_") + ".pt")
    model = YOLO(target)
    paths[name] = str(model.export(imgsz=imgsz, verbose=False, **settings))
    if data:
        accuracy[name] = YOLO(paths[name]).val(data=data, imgsz=imgsz, plots=False, verbose=False,
                                               project=out + "/runs").box.map
if data:
    accuracy["pytorch"] = YOLO(weights).val(data=data, imgsz=imgsz, plots=False, verbose=False, project=out + "/runs").box.map
print(json.dumps({"paths": paths, "accuracy": accuracy}))
"""

PEER_EXPORTS = r"""
import json, os, sys, shutil, contextlib
os.environ["YOLO_OFFLINE"] = "1"
import torch
import ultralytics.utils.torch_utils as torch_utils
torch_utils.NUM_THREADS = 2
torch.set_num_threads(2)
from ultralytics import YOLO
model_file, out, imgsz, data = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = {"torchscript": {"format": "torchscript"}, "onnx": {"format": "onnx"}, "openvino": {"format": "openvino"}}
if data:
    rows["openvino int8"] = {"format": "openvino", "int8": True, "data": data}
paths, accuracy, errors = {}, {}, {}
for name, settings in rows.items():
    target = shutil.copy(model_file, out + "/peer_" + name.replace(" ", "_") + ".pt")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            paths[name] = str(YOLO(target).export(imgsz=imgsz, **settings))
            if data:
                accuracy[name] = YOLO(paths[name], task="detect").val(data=data, imgsz=imgsz, plots=False,
                                                                       project=out + "/peer_runs").box.map
    except Exception as error:  # a format the peer cannot write here gets a note, not a crash
        errors[name] = f"{type(error).__name__}: {error}"[:200]
print(json.dumps({"paths": paths, "accuracy": accuracy, "errors": errors}))
"""

TIMER = r"""
import glob, json, statistics, sys, time
import numpy as np
path, kind, imgsz, runs, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
image = np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32)
if kind == "onnx":
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    run = lambda: session.run(None, {name: image})
elif kind.startswith("openvino"):
    import openvino
    xml = path if path.endswith(".xml") else sorted(glob.glob(path + "/*.xml"))[0]
    settings = {"INFERENCE_NUM_THREADS": 2}
    if kind == "openvino-f32":
        settings["INFERENCE_PRECISION_HINT"] = "f32"
    compiled = openvino.Core().compile_model(xml, "CPU", settings)
    request = compiled.create_infer_request()
    run = lambda: request.infer({0: image})
else:
    import torch
    torch.set_num_threads(2)
    module = torch.jit.load(path).eval()
    tensor = torch.from_numpy(image)
    def run():
        with torch.inference_mode():
            module(tensor)
for _ in range(warmup):
    run()
times = []
for _ in range(runs):
    started = time.perf_counter()
    run()
    times.append((time.perf_counter() - started) * 1e3)
print(json.dumps(statistics.median(times)))
"""


def run_json(command: list[str], env: dict | None = None) -> dict:
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def timer_kinds(name: str) -> list[str]:
    """How a file is timed: its runtime (OpenVINO twice: f32 and the runtime's default precision)."""
    if name.startswith("openvino"):
        return ["openvino-f32", "openvino-default"]
    return ["onnx"] if name.startswith("onnx") else ["torchscript"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="yolov8n-builtin.pt", help="a .pt path or a shipped name")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--data", default="", help="dataset YAML: INT8 calibration (train) and val accuracy")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--peer", default=None, help="python of a venv with the incumbent (ultralytics) installed")
    args = parser.parse_args(argv)
    args.model = str(model_path(args.model))
    with tempfile.TemporaryDirectory(prefix="yolo8_export_bench_") as scratch:
        peer_model = str(peer_checkpoint(args.model, scratch, args.peer)) if args.peer else args.model
        ours = run_json([sys.executable, "-c", OUR_EXPORTS, REPOSITORY, args.model, scratch, str(args.imgsz), args.data])
        peer = {"paths": {}, "accuracy": {}, "errors": {}}
        if args.peer:
            peer = run_json([args.peer, "-c", PEER_EXPORTS, peer_model, scratch, str(args.imgsz), args.data])
        names = list(dict.fromkeys([*ours["paths"], *peer["paths"]]))
        print(f"{'format':<26}{'ours ms':>10}{'peer ms':>10}{'ours/peer':>11}")
        headline = None
        for name in names:
            for kind in timer_kinds(name):
                times = [run_json([sys.executable, "-c", TIMER, side["paths"][name], kind, str(args.imgsz),
                                   str(args.runs), str(args.warmup)]) if name in side["paths"] else None
                         for side in (ours, peer)]
                ratio = times[0] / times[1] if None not in times else None
                label = f"{name} ({kind.split('-')[1]})" if "-" in kind else name
                print(f"{label:<26}{_ms(times[0]):>10}{_ms(times[1]):>10}{'-' if ratio is None else f'{ratio:.2f}':>11}")
                if name == "onnx":
                    headline = ratio if ratio is not None else times[0]
        for name, error in peer.get("errors", {}).items():
            print(f"peer {name}: {error}")
        if args.data:
            print(f"\n{'format':<26}{'ours mAP50-95':>15}{'peer mAP50-95':>15}")
            for name in dict.fromkeys([*ours["accuracy"], *peer["accuracy"]]):
                print(f"{name:<26}{_map(ours['accuracy'].get(name)):>15}{_map(peer['accuracy'].get(name)):>15}")
    print(f"{headline:.3f}" if headline is not None else "nan")
    return 0


def _ms(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def _map(value) -> str:
    return "-" if value is None else f"{value:.4f}"


if __name__ == "__main__":
    sys.exit(main())
