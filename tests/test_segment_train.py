"""Segmentation training end to end on generated shapes with polygon labels: masks learnt, resume, the CLI."""

import csv

import pytest
import torch

from tests.conftest import train_interrupted_after
from yolo8 import YOLO
from yolo8.checkpoints.native import load_checkpoint
from yolo8.nn.model import build_model
from yolo8.tasks import TASKS

TRAIN_SETTINGS = dict(imgsz=64, batch=4, nbs=4, workers=0, warmup_epochs=0, mosaic=0.0, close_mosaic=0, plots=False,
                      optimizer="AdamW", lr0=0.002, val=False)
LOSS_COLUMNS = ["train/box_loss", "train/seg_loss", "train/cls_loss", "train/dfl_loss"]


def read_results(run_dir):
    with open(run_dir / "results.csv") as file:
        return list(csv.DictReader(file))


def test_the_segment_entry_resolves_every_part():
    spec = TASKS["segment"]
    for part in ("prepare_image", "postprocess", "evaluator", "evaluation_data", "build_loss", "training_loader",
                 "validation_loader", "plot_training_batch"):
        assert callable(getattr(spec, part)), part
    assert spec.loss_names == ("box_loss", "seg_loss", "cls_loss", "dfl_loss")
    assert spec.default_model == "yolov8n-seg.yaml"
    assert "metrics/mAP50-95(M)" in spec.metric_keys


def test_training_learns_masks(shapes_segment_dataset, tiny_segment_yaml, tmp_path):
    torch.manual_seed(0)
    untrained = YOLO(build_model(tiny_segment_yaml)).val(data=str(shapes_segment_dataset), imgsz=64, batch=4,
                                                        workers=0, plots=False, project=str(tmp_path), name="before")
    model = YOLO(build_model(tiny_segment_yaml))
    metrics = model.train(data=str(shapes_segment_dataset), epochs=30, project=str(tmp_path), name="run",
                          **TRAIN_SETTINGS)
    rows = read_results(tmp_path / "run")
    assert list(rows[0])[2:6] == LOSS_COLUMNS
    first, last = float(rows[0]["train/seg_loss"]), float(rows[-1]["train/seg_loss"])
    assert last < 0.7 * first
    assert metrics.seg.map50 > untrained.seg.map50 + 0.2, (untrained.seg.map50, metrics.seg.map50)
    assert metrics.box.map50 > untrained.box.map50 + 0.2
    results = model.predict(str(shapes_segment_dataset.parent / "images" / "val"), conf=0.1)
    assert sum(len(r.masks) for r in results if r.masks is not None) > 0


def test_resume_of_a_segmentation_run(shapes_segment_dataset, tiny_segment_yaml, tmp_path):
    train_interrupted_after(YOLO(build_model(tiny_segment_yaml)), 2, data=str(shapes_segment_dataset), epochs=3,
                            project=str(tmp_path), name="run", **{**TRAIN_SETTINGS, "val": True})
    last = tmp_path / "run" / "weights" / "last.pt"
    assert load_checkpoint(last)["train_state"]["epoch"] == 1
    resumed = YOLO(str(last))
    metrics = resumed.train(resume=str(last))
    rows = read_results(tmp_path / "run")
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    assert all(float(row["val/seg_loss"]) > 0 for row in rows)
    assert resumed.task == "segment" and metrics.seg is not None


@pytest.mark.parametrize("overlap_mask, mask_ratio", [(False, 4), (True, 2)])
def test_cli_segment_train_with_mask_settings(shapes_segment_dataset, tiny_segment_yaml, tmp_path, overlap_mask,
                                              mask_ratio):
    import yaml

    from yolo8.cli import run

    model_yaml = tmp_path / "tiny-seg.yaml"
    model_yaml.write_text(yaml.safe_dump(tiny_segment_yaml))
    code = run(["segment", "train", f"model={model_yaml}", f"data={shapes_segment_dataset}", "epochs=1",
                "imgsz=64", "batch=8", "workers=0", f"project={tmp_path}", "name=run", "plots=True",
                f"overlap_mask={overlap_mask}", f"mask_ratio={mask_ratio}"])
    assert code == 0
    run_dir = tmp_path / "run"
    rows = read_results(run_dir)
    assert float(rows[0]["train/seg_loss"]) > 0 and "metrics/mAP50(M)" in rows[0]
    for name in ("train_batch0.jpg", "val_batch0_pred.jpg", "results.png", "MaskPR_curve.png"):
        assert (run_dir / name).is_file(), name
    assert load_checkpoint(run_dir / "weights" / "last.pt")["train_args"]["overlap_mask"] is overlap_mask


def test_box_only_images_are_left_out_with_a_named_warning(shapes_dataset, shapes_segment_dataset, tmp_path):
    """A segmentation dataset where some label files are boxes only: those images are left out (warning); all
    box-only is an error that says what to do."""
    import shutil

    from yolo8.config import Config
    from yolo8.data.build import load_dataset_config
    from yolo8.tasks.segment import BoxOnlyLabelsWarning, training_loader

    root = tmp_path / "mixed"
    shutil.copytree(shapes_segment_dataset.parent, root)
    box_rows = (shapes_dataset.parent / "labels" / "train" / "000.txt").read_text()
    (root / "labels" / "train" / "000.txt").write_text(box_rows)  # a box-only label file
    (root / "data.yaml").write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames: [square, disc]\n")
    config = Config({"data": str(root)}, mode="train")
    with pytest.warns(BoxOnlyLabelsWarning, match="1 of 16 'train' images have box-only labels"):
        loader = training_loader(load_dataset_config(root / "data.yaml"), config, 64, 4, 32, 0)
    assert len(loader.dataset) == 15
    batch = next(iter(loader))
    assert batch.masks.shape == (4, 16, 16) and batch.masks.dtype == torch.int16

    with pytest.raises(ValueError, match="box-only labels.*polygon rows"):
        training_loader(load_dataset_config(shapes_dataset), config, 64, 4, 32, 0)

    # boxes plus background images: the backgrounds alone are nothing to train a segmenter on
    background_root = tmp_path / "backgrounds"
    shutil.copytree(shapes_dataset.parent, background_root)
    (background_root / "labels" / "train" / "001.txt").write_text("")
    (background_root / "data.yaml").write_text(
        f"path: {background_root}\ntrain: images/train\nval: images/val\nnames: [square, disc]\n")
    with pytest.raises(ValueError, match="box-only labels.*polygon rows"):
        training_loader(load_dataset_config(background_root / "data.yaml"), config, 64, 4, 32, 0)


def test_training_starts_from_an_incumbent_segmentation_checkpoint(shapes_segment_dataset, tmp_path):
    """The incumbent's yolov8n-seg (80 classes) fine-tunes on a 2-class set: the head is rebuilt for 2 classes and
    every other weight is carried over."""
    from pathlib import Path

    source = Path(__file__).parent / "fixtures" / "ul_yolov8n-seg_rand.pt"
    model = YOLO(str(source))
    before = {name: tensor.clone() for name, tensor in model.model.state_dict().items()}
    model.train(data=str(shapes_segment_dataset), epochs=1, project=str(tmp_path), name="run",
                **{**TRAIN_SETTINGS, "lr0": 1e-9})
    assert model.task == "segment" and model.names == {0: "square", 1: "disc"}
    trained = model.model.state_dict()
    assert trained["model.22.cv3.0.2.weight"].shape[0] == 2  # the class branch, rebuilt for 2 classes
    proto = "model.22.proto.cv1.conv.weight"
    assert torch.allclose(trained[proto].float(), before[proto].float(), atol=1e-3)  # carried over (lr0 ~ 0)


def test_validation_scores_and_plots_labels_from_the_cpu_batch(shapes_segment_dataset, tiny_segment_yaml, tmp_path,
                                                               monkeypatch):
    """On a GPU the batch moved for the network has its labels on the GPU, where numpy cannot read them: scoring and
    plotting must use the CPU batch. Here the moved batch's labels go to the 'meta' device, which numpy cannot read
    either, so any use of them fails the run."""
    from yolo8.data.loader import Batch

    original_to = Batch.to

    def to_with_unreadable_labels(self, device, non_blocking=False):
        moved = original_to(self, device, non_blocking)
        moved.targets = moved.targets.to("meta")
        return moved

    monkeypatch.setattr(Batch, "to", to_with_unreadable_labels)
    metrics = YOLO(build_model(tiny_segment_yaml)).val(data=str(shapes_segment_dataset), imgsz=64, batch=8,
                                                       workers=0, plots=True, project=str(tmp_path), name="val")
    assert (tmp_path / "val" / "val_batch0_labels.jpg").is_file() and metrics.seg is not None


@pytest.mark.parametrize("settings", [{"multi_scale": 0.5}, {"rect": True}, {"copy_paste": 0.5, "mixup": 0.5,
                                                                             "mosaic": 1.0}])
def test_segmentation_trains_with_other_batch_shapes_and_augmentations(shapes_segment_dataset, tiny_segment_yaml,
                                                                       tmp_path, settings):
    """multi_scale (masks at another size than the prototypes), rect batches (non-square masks), copy-paste and
    mixup (polygons pasted and blended): a finite loss with a mask term."""
    model = YOLO(build_model(tiny_segment_yaml))
    model.train(data=str(shapes_segment_dataset), epochs=1, project=str(tmp_path), name="run",
                **{**TRAIN_SETTINGS, **settings})
    row = read_results(tmp_path / "run")[0]
    losses = [float(row[column]) for column in LOSS_COLUMNS]
    assert all(0 < value < 1e3 for value in losses), losses
