"""Regenerate the built-in weights shipped in ``yolo8/weights/`` (``yolov8n-builtin.pt`` and its record).

    python tools/make_builtin_weights.py [--task detect|segment|classify] [--epochs 50] [--train-images 640]
                                         [--pretrained PATH] [--seed 0] [--out yolo8/weights] [--workdir DIR]
                                         [--resume]

Recipe: the task's default model YAML (yolov8n, yolov8n-seg, yolov8n-cls) trained with yolo8 on a built-in
dataset drawn from another random stream than the one users get (generator seed 1, ``--train-images`` train /
64 val scenes, 320 px; classify: the objects' 64 px crops), so the shipped weights are scored on images they
never saw: the user's built-in val set (seed 0). Detection and segmentation use the main job's settings for the
built-in data (AdamW, lr0 0.002, 320 px, batch 16), classification its own (64 px, batch 64); ``--pretrained``
starts from another checkpoint's weights (the segmentation weights start from the detection ones). ``seed`` and
``deterministic`` are fixed, so a rerun on the same machine gives the same file; another CPU gives one within
float rounding of it.

The checkpoint is a native yolo8 checkpoint in float16 (half the size; loads with ``weights_only=True``) whose
``train_args`` keep only what val and predict take from a checkpoint: ``imgsz`` (and no ``data``, so
``yolo8 val`` scores it on the built-in val set). Beside it, ``<name>.json`` records the recipe, the scores of
a fresh val of the saved file on the user's built-in val set, and the sample images' objects found at
conf 0.25 (what the tests check the file against).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's yolo8

TRAINING_DATA_SEED = 1  # the users' built-in dataset is seed 0: the weights never see its images


def record_of(model_file: Path, task_name: str) -> dict:
    """Fresh scores of ``model_file``: val on the built-in val set, sample objects found at conf 0.25."""
    from yolo8 import YOLO
    from yolo8.data.synthetic import found_sample_objects, sample_images

    model = YOLO(str(model_file))
    metrics = model.val(plots=False, verbose=False)
    record = {"val": {key: round(float(value), 6) for key, value in metrics.results_dict.items()}}
    if task_name != "classify":
        found = total = 0
        per_image = {}
        for path in sample_images():
            result = model.predict(str(path), verbose=False)[0]
            hits, objects = found_sample_objects(path.name, result.boxes.xyxy, result.boxes.cls)
            per_image[path.name] = f"{hits}/{objects}"
            found, total = found + hits, total + objects
        record["samples_found_at_conf_0.25"] = {"found": found, "objects": total, "per_image": per_image}
    else:
        from yolo8.data.crops import sample_crop_class, sample_crops

        results = model.predict([str(path) for path in sample_crops()], verbose=False)
        correct = sum(result.names[int(result.probs.top1)] == sample_crop_class(result.path) for result in results)
        record["sample_crops_correct"] = {"correct": int(correct), "crops": len(results)}
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="detect", choices=("detect", "segment", "classify"))
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--train-images", type=int, default=640, help="train scenes")
    parser.add_argument("--pretrained", default=None, help="start from this checkpoint's weights")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--out", default=str(ROOT / "yolo8" / "weights"))
    parser.add_argument("--workdir", default=None, help="where the training run goes (default: a temp dir)")
    parser.add_argument("--resume", action="store_true", help="finish the interrupted training run in --workdir")
    args = parser.parse_args()

    import torch

    from yolo8 import YOLO, __version__
    from yolo8.checkpoints.load import load_model
    from yolo8.checkpoints.native import model_to_checkpoint, save_checkpoint
    from yolo8.data.synthetic import builtin_dataset
    from yolo8.tasks import task_spec

    spec = task_spec(args.task)
    if spec.builtin_weights is None:
        raise SystemExit(f"the task table names no built-in weights file for '{args.task}'")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="yolo8-builtin-weights-"))
    data = builtin_dataset(workdir / "data", train_images=args.train_images, val_images=64, image_size=320,
                           seed=TRAINING_DATA_SEED)
    if args.task == "classify":
        from yolo8.data.crops import write_object_crops

        data = write_object_crops(data, workdir / "crops")
        settings = {"data": str(data), "epochs": args.epochs, "imgsz": 64, "batch": 64}
    else:
        settings = {"data": str(data), "epochs": args.epochs, "imgsz": 320, "batch": 16, "nbs": 16,
                    "optimizer": "AdamW", "lr0": 0.002, "warmup_epochs": 1}
    settings.update({"seed": args.seed, "deterministic": True, "workers": 2, "project": str(workdir / "runs"),
                     "name": "train", "plots": False, "device": "cpu", "pretrained": args.pretrained or True})
    image_size = settings["imgsz"]
    started = time.perf_counter()
    last = workdir / "runs" / "train" / "weights" / "last.pt"
    trained_before = False
    if args.resume:
        if not last.is_file():
            raise SystemExit(f"--resume: no interrupted run in {workdir} ({last} is missing)")
        if torch.load(last, map_location="cpu", weights_only=True).get("epoch", -1) + 1 < args.epochs:
            YOLO(last).train(resume=str(last))
        else:  # the training ran to its end before: only the shipped file and its record are left to write
            print(f"{last}: all {args.epochs} epochs done; writing the weights from its best.pt")
            trained_before = True
    else:
        YOLO(spec.default_model).train(**settings)
    train_minutes = (time.perf_counter() - started) / 60 if not trained_before else None

    model, train_args = load_model(workdir / "runs" / "train" / "weights" / "best.pt")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights_file = out / spec.builtin_weights
    # float16 halves the file; loaders cast back to float32 for CPU inference (see runtime.backend.inference_copy)
    save_checkpoint(model_to_checkpoint(model.half(), train_args={"imgsz": image_size, "task": args.task}),
                    weights_file)
    record = {
        "file": weights_file.name,
        "sha256": hashlib.sha256(weights_file.read_bytes()).hexdigest(),
        "recipe": {"command": " ".join(["python tools/make_builtin_weights.py",
                                        *(arg for arg in sys.argv[1:] if arg != "--resume")]),
                   "model": spec.default_model, "training_data": {"generator_seed": TRAINING_DATA_SEED,
                                                                  "train_scenes": args.train_images,
                                                                  "val_scenes": 64, "image_size": 320,
                                                                  "object_crops": args.task == "classify"},
                   "settings": {key: value for key, value in settings.items()
                                if key not in ("data", "project", "name")}},
        "made_with": {"yolo8": __version__, "torch": torch.__version__, "python": platform.python_version(),
                      "machine": platform.machine(),
                      "train_minutes": None if train_minutes is None else round(train_minutes, 1)},
        **record_of(weights_file, args.task),
    }
    record_file = weights_file.with_suffix(".json")
    record_file.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    print(f"wrote {weights_file} ({weights_file.stat().st_size / 1e6:.1f} MB) and {record_file}")


if __name__ == "__main__":
    main()
