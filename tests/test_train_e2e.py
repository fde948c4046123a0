"""End to end on generated data: train -> the loss falls and mAP rises; an interrupted run resumes."""

import csv

import pytest
import torch

from tests.conftest import train_interrupted_after
from yolo8 import YOLO
from yolo8.checkpoints.native import load_checkpoint
from yolo8.nn.model import build_model

# An optimizer step per batch of 4 (nbs = batch) gives 120 steps in 30 epochs of 16 images: enough for a tiny model
# to find the shapes. Validation runs at the end only (val=False), where best.pt is scored.
TRAIN_SETTINGS = dict(imgsz=64, batch=4, nbs=4, workers=0, warmup_epochs=0, mosaic=0.0, close_mosaic=0, plots=False,
                      optimizer="AdamW", lr0=0.002, val=False)


def read_results(run_dir):
    with open(run_dir / "results.csv") as file:
        return list(csv.DictReader(file))


def test_training_lowers_loss_and_finds_objects(shapes_dataset, tiny_model_yaml, tmp_path):
    torch.manual_seed(0)  # the initial weights come from the global RNG, whatever ran before this test
    model = YOLO(build_model(tiny_model_yaml))
    metrics = model.train(data=str(shapes_dataset), epochs=30, project=str(tmp_path), name="run", **TRAIN_SETTINGS)
    rows = read_results(tmp_path / "run")
    assert [int(row["epoch"]) for row in rows] == list(range(1, 31))
    first = sum(float(rows[0][f"train/{name}_loss"]) for name in ("box", "cls", "dfl"))
    last = sum(float(rows[-1][f"train/{name}_loss"]) for name in ("box", "cls", "dfl"))
    assert last < 0.8 * first
    assert metrics.box.map50 > 0.05 and metrics.box.map > 0.01
    for name in ("best.pt", "last.pt"):
        assert (tmp_path / "run" / "weights" / name).is_file()
    assert model.source.endswith("best.pt") and model.names == {0: "square", 1: "disc"}
    results = model.predict(str(shapes_dataset.parent / "images" / "val"), conf=0.1)
    assert len(results) == 16 and sum(len(r.boxes) for r in results) > 0


def test_resume_finishes_with_same_epoch_count(shapes_dataset, tiny_model_yaml, tmp_path):
    stop_after = 2
    train_interrupted_after(YOLO(build_model(tiny_model_yaml)), stop_after, data=str(shapes_dataset), epochs=4,
                            project=str(tmp_path), name="run", **{**TRAIN_SETTINGS, "val": True})
    last = tmp_path / "run" / "weights" / "last.pt"
    state = load_checkpoint(last)["train_state"]
    assert state["epoch"] == stop_after - 1
    assert set(state["hooks"]) == {"EarlyStopping"}  # the early-stop count resumes where it was
    assert 0 < state["hooks"]["EarlyStopping"]["patience_left"] <= TRAIN_SETTINGS.get("patience", 100)

    resumed = YOLO(last)
    resumed.train(resume=str(last))
    rows = read_results(tmp_path / "run")
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3, 4]
    seconds = [float(row["time"]) for row in rows]
    assert all(later > earlier for earlier, later in zip(seconds, seconds[1:]))  # the resumed run adds to the time
    best = YOLO(tmp_path / "run" / "weights" / "best.pt")
    assert best.task == "detect" and best.names == {0: "square", 1: "disc"}
    assert load_checkpoint(tmp_path / "run" / "weights" / "last.pt")["train_state"]["epoch"] == 3
    with torch.no_grad():
        decoded, _ = best.model.eval()(torch.zeros(1, 3, 64, 64))
    assert decoded.shape == (1, 4 + 2, 84)



def test_ctrl_c_stops_with_one_line_that_says_how_to_resume(shapes_dataset, tiny_model_yaml, tmp_path, monkeypatch,
                                                            capsys):
    from yolo8.train.trainer import TrainingInterrupted

    def press_ctrl_c(trainer):
        if trainer.epoch == 1:
            raise KeyboardInterrupt

    model = YOLO(build_model(tiny_model_yaml))
    model.add_callback("on_train_batch_end", press_ctrl_c)
    with pytest.raises(KeyboardInterrupt) as stopped:  # still a KeyboardInterrupt for scripts that catch one
        model.train(data=str(shapes_dataset), epochs=3, project=str(tmp_path), name="run", **TRAIN_SETTINGS)
    last = tmp_path / "run" / "weights" / "last.pt"
    assert isinstance(stopped.value, TrainingInterrupted)
    assert str(stopped.value) == (f"training interrupted in epoch 2; {last} holds the last completed epoch. "
                                  f"Resume with: yolo8 train resume={last}")
    assert load_checkpoint(last)["train_state"]["epoch"] == 0  # epoch 1, intact

    import yolo8.api
    from yolo8.cli import run

    def interrupted_run(config):
        raise stopped.value

    monkeypatch.setattr(yolo8.api, "run_mode", interrupted_run)
    capsys.readouterr()
    assert run(["train", f"data={shapes_dataset}"]) == 130
    assert capsys.readouterr().err == f"yolo8: {stopped.value}\n"

    def plain_ctrl_c(config):  # during val or predict: no resume to suggest
        raise KeyboardInterrupt

    monkeypatch.setattr(yolo8.api, "run_mode", plain_ctrl_c)
    assert run(["predict", "model=yolov8n.yaml"]) == 130
    assert capsys.readouterr().err == "yolo8: interrupted\n"


def test_resume_applies_the_settings_that_may_change_and_refuses_the_others(shapes_dataset, tiny_model_yaml,
                                                                            tmp_path, caplog):
    model = YOLO(build_model(tiny_model_yaml))
    model.train(data=str(shapes_dataset), epochs=2, project=str(tmp_path), name="run", **TRAIN_SETTINGS)
    last = tmp_path / "run" / "weights" / "last.pt"
    with pytest.raises(ValueError, match=r"imgsz=96 \(the run trained with imgsz=64\).*model=") as refused:
        YOLO(last).train(resume=str(last), epochs=3, imgsz=96)
    assert "only device, workers, batch, epochs" in str(refused.value)
    with pytest.raises(ValueError, match="already finished all 2 epochs.*epochs=N"):
        YOLO(last).train(resume=str(last))
    with caplog.at_level("INFO", logger="yolo8"):
        YOLO(last).train(resume=str(last), epochs=3, batch=2, workers=0)  # extend a finished run, smaller batch
    assert "Resumed with changed settings: epochs=3 (was 2), batch=2 (was 4)" in caplog.text
    rows = read_results(tmp_path / "run")
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    state = load_checkpoint(last)
    assert state["train_state"]["epoch"] == 2 and state["train_args"]["batch"] == 2


def test_resuming_a_run_on_own_data_does_not_predict_on_the_samples(shapes_dataset, tiny_model_yaml, tmp_path,
                                                                    monkeypatch):
    import yolo8.api

    model = YOLO(build_model(tiny_model_yaml))
    stop = {"after": 1}

    def interrupt(trainer):
        if trainer.epoch + 1 == stop["after"]:
            raise KeyboardInterrupt

    model.add_callback("on_fit_epoch_end", interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.train(data=str(shapes_dataset), epochs=2, project=str(tmp_path), name="run", **TRAIN_SETTINGS)
    last = tmp_path / "run" / "weights" / "last.pt"
    predicted = []
    monkeypatch.setattr(yolo8.api.YOLO, "predict", lambda self, *args, **kwargs: predicted.append(kwargs))
    from yolo8.config import Config

    yolo8.api.run_mode(Config({"resume": str(last)}, mode="train"))
    assert predicted == []
