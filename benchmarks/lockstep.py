"""Training in lockstep with the incumbent: same initial weights, same images, augmentation off.

    python benchmarks/lockstep.py [--model tiny|yolov8n.yaml] [--optimizer SGD] [--epochs 6]
                                  [--peer /work/ul_venv/bin/python] [--record tests/fixtures/lockstep_sgd_tiny.json]

Both trainers start from one set of weights and see the same 16 generated images as one batch per epoch
(so the order they shuffle them in cannot matter), with every random augmentation off. What is left to
differ is the training mechanics: loss, assigner, gradients, accumulation to ``nbs``, warm-up, optimizer
groups and schedule, EMA. The script prints both sides' losses per epoch and how far apart the final
weights are, relative to how far training moved them: float-rounding level (~1e-4 with SGD) means the
mechanics are the same. Adam amplifies rounding more (~1e-2 after a few steps).

``--record`` saves the settings, a checksum of the initial weights (which ``torch.manual_seed(0)`` rebuilds)
and a signature of how far the incumbent's training moved each weight tensor (:func:`movement_signature`),
for the test that replays the run without the incumbent (``tests/test_lockstep.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TINY_SCALE = [0.33, 0.125, 1024]  # depth, width, max channels: the test suite's tiny YOLOv8

PEER_SCRIPT = r"""
import json, os, sys, torch
os.environ["YOLO_OFFLINE"] = "1"
from ultralytics import YOLO
model_yaml, init_file, out_file, settings = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
initial = torch.load(init_file)
losses = []

def load_initial(trainer):
    trainer.model.load_state_dict(initial)
    trainer.ema.ema.load_state_dict(initial)

def record_losses(trainer):
    losses.append([float(value) for value in trainer.tloss.values()] if isinstance(trainer.tloss, dict)
                  else [float(value) for value in trainer.tloss])

def save(trainer):
    torch.save({"model": {k: v.detach().clone() for k, v in trainer.model.state_dict().items()},
                "ema": {k: v.detach().clone() for k, v in trainer.ema.ema.state_dict().items()},
                "losses": losses}, out_file)

model = YOLO(model_yaml)
model.add_callback("on_train_start", load_initial)
model.add_callback("on_train_epoch_end", record_losses)
model.add_callback("on_train_end", save)
model.train(amp=False, **settings)
"""


def lockstep_settings(data_yaml: Path, optimizer: str, epochs: int, project: Path) -> dict:
    """Settings both trainers get: one batch of all 16 images per epoch, an optimizer step every 2 epochs
    (nbs 32), 2 warm-up epochs, no augmentation, no validation during training."""
    return dict(data=str(data_yaml), epochs=epochs, imgsz=64, batch=16, nbs=32, workers=0, device="cpu",
                mosaic=0.0, close_mosaic=0, hsv_h=0.0, hsv_s=0.0, hsv_v=0.0, fliplr=0.0, translate=0.0, scale=0.0,
                val=False, plots=False, optimizer=optimizer, warmup_epochs=2, exist_ok=True, seed=0,
                project=str(project))


def write_model_yaml(model: str, folder: Path) -> Path:
    """The model YAML both sides build: yolov8n.yaml as shipped, or the tiny scale written to a file."""
    import yaml

    from yolo8.nn.model import resolve_model_yaml

    if model != "tiny":
        return Path(model)
    config = resolve_model_yaml("yolov8.yaml")
    config["scales"] = {"n": TINY_SCALE}  # one scale: both tools take it without a scale letter in the name
    config["nc"] = 2
    path = folder / "lockstep-tiny.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def train_ours(model_yaml: Path, initial: dict, settings: dict) -> dict:
    from yolo8 import YOLO
    from yolo8.nn.model import build_model
    from yolo8.train.ema import unwrap

    model = build_model(str(model_yaml), num_classes=2)
    model.load_state_dict(initial)
    result: dict = {"losses": []}

    def record_losses(trainer):
        result["losses"].append(trainer.loss_items.tolist())

    def save(trainer):
        result["model"] = {k: v.detach().clone() for k, v in unwrap(trainer.model).state_dict().items()}
        result["ema"] = {k: v.detach().clone() for k, v in trainer.ema.ema.state_dict().items()}

    runner = YOLO(model)
    runner.add_callback("on_train_epoch_end", record_losses)
    runner.add_callback("on_train_end", save)
    runner.train(name="yolo8", **settings)
    return result


def movement_signature(final: dict, initial: dict) -> dict:
    """Per float tensor, three numbers describing ``final - initial``: its sum, its norm, and its dot product
    with a fixed pattern (sin of the element index), which any change of direction shows in.
    Returns {name: [sum, norm, projection]}."""
    signature = {}
    for name, start in initial.items():
        if not start.is_floating_point():
            continue
        moved = (final[name].double() - start.double()).flatten()  # (N,)
        pattern = torch.sin(torch.arange(moved.numel(), dtype=torch.float64))  # (N,)
        signature[name] = [float(moved.sum()), float(moved.norm()), float(moved @ pattern)]
    return signature


def signature_difference(ours: dict, theirs: dict) -> float:
    """Median over tensors of |ours - theirs| / |theirs| (each signature's 3 numbers as a vector).

    The median weighs every tensor alike: the first warm-up step moves biases (lr 0.1) far more than
    weights, so a norm over everything would barely see a wrong weight learning rate.
    """
    distances = sorted(
        math.dist(ours[name], values) / max(math.hypot(*values), 1e-30) for name, values in theirs.items()
        if values[1] > 0  # tensors training did not move (frozen DFL weights) carry no information
    )
    return statistics.median(distances)


def weights_checksum(weights: dict) -> float:
    """Sum of |w| over every float tensor: shows when the seeded initial weights are no longer the recorded ones."""
    return float(sum(value.double().abs().sum() for value in weights.values() if value.is_floating_point()))


def relative_difference(ours: dict, theirs: dict, initial: dict) -> float:
    """|ours - theirs| / |theirs - initial| over every float tensor: 0 is identical, 1 as far apart as training moved."""
    apart = moved = 0.0
    for name, value in ours.items():
        if not value.is_floating_point():
            continue
        other, start = theirs[name].float(), initial[name].float()
        apart += float((value.float() - other).pow(2).sum())
        moved += float((other - start).pow(2).sum())
    return (apart / max(moved, 1e-30)) ** 0.5


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny", help="'tiny' (the test suite's scale) or a model YAML")
    parser.add_argument("--optimizer", default="SGD", choices=["SGD", "AdamW", "Adam", "auto"])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--peer", default=None, help="python of a venv with ultralytics installed")
    parser.add_argument("--record", default=None, help="save initial weights, settings and the peer's result here")
    args = parser.parse_args(argv)
    if args.record and not args.peer:
        parser.error("--record needs --peer: it records the incumbent's result")

    from tests.conftest import write_shapes_dataset

    folder = Path(tempfile.mkdtemp(prefix="yolo8-lockstep-"))
    data_yaml = write_shapes_dataset(folder / "data", images=16, size=64, seed=3)
    model_yaml = write_model_yaml(args.model, folder)
    settings = lockstep_settings(data_yaml, args.optimizer, args.epochs, folder / "runs")
    from yolo8.nn.model import build_model

    torch.manual_seed(0)
    initial = {k: v.clone() for k, v in build_model(str(model_yaml), num_classes=2).state_dict().items()}
    ours = train_ours(model_yaml, initial, settings)
    print(f"\nrun directories under {folder}")
    print("epoch  yolo8 box/cls/dfl" + " " * 14 + ("incumbent box/cls/dfl" if args.peer else ""))
    theirs = None
    if args.peer:
        torch.save(initial, folder / "initial.pt")
        peer_settings = {**settings, "name": "ultralytics"}
        subprocess.run([args.peer, "-c", PEER_SCRIPT, str(model_yaml), str(folder / "initial.pt"),
                        str(folder / "peer.pt"), json.dumps(peer_settings)], check=True, capture_output=True)
        theirs = torch.load(folder / "peer.pt")
    for epoch, losses in enumerate(ours["losses"]):
        peer_losses = "" if theirs is None else " ".join(f"{v:8.4f}" for v in theirs["losses"][epoch])
        print(f"{epoch + 1:5d}  {' '.join(f'{v:8.4f}' for v in losses)}     {peer_losses}")
    if theirs is None:
        return
    for part in ("model", "ema"):
        print(f"{part}: |yolo8 - incumbent| / |incumbent - initial| = "
              f"{relative_difference(ours[part], theirs[part], initial):.2e}")
    print("movement signature difference (EMA, median per tensor):",
          f"{signature_difference(movement_signature(ours['ema'], initial), movement_signature(theirs['ema'], initial)):.2e}")
    if args.record:
        record = {"model": args.model, "optimizer": args.optimizer, "epochs": args.epochs,
                  "initial_checksum": weights_checksum(initial), "incumbent_losses": theirs["losses"],
                  "incumbent_ema_movement": movement_signature(theirs["ema"], initial)}
        Path(args.record).write_text(json.dumps(record))
        print(f"recorded {args.record}")


if __name__ == "__main__":
    main()
