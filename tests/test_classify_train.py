"""Classification training: the recipe's transforms, the loss, folder hygiene, and end-to-end runs on generated folders."""

import csv
import math
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from yolo8 import YOLO
from yolo8.checkpoints.native import load_checkpoint
from yolo8.config import Config, ConfigError
from yolo8.data.classification import ClassificationDataset, build_classification_training_loader
from yolo8.data.classification_data import resolve_classification_data
from yolo8.data.classification_scan import (
    ClassificationDataError,
    LooseImagesWarning,
    MissingClassWarning,
    NonImageFilesWarning,
    UnreadableImagesWarning,
    load_classification_split,
)
from yolo8.data.crops import crop_box, sample_crops, write_object_crops
from yolo8.data.transforms.classify import ClassificationAugment, ClassificationEval, random_resized_crop
from yolo8.losses.classification import ClassificationLoss
from yolo8.nn.graph import resolve_model_yaml
from yolo8.nn.model import build_model
from yolo8.tasks import task_spec
from yolo8.train.model_setup import set_dropout
from yolo8.train.results_log import instances

FIXTURES = Path(__file__).parent / "fixtures"
# class 0, 1, 2 by sorted folder name; distinct in hue, so a few epochs separate them
COLOURS_BGR = {"a_red": (30, 30, 220), "b_green": (30, 200, 30), "c_blue": (220, 60, 30)}


def write_colour_folders(root: Path, per_class: int, size: int = 32, splits=("train", "val"), seed: int = 0) -> Path:
    """root/<split>/<class>/<i>.png: noisy solid-colour images of three classes."""
    rng = np.random.default_rng(seed)
    for split in splits:
        for name, colour in COLOURS_BGR.items():
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for index in range(per_class):
                noise = rng.integers(-25, 25, (size, size + 6, 3))
                image = np.clip(np.array(colour, np.int16) + noise, 0, 255).astype(np.uint8)
                cv2.imwrite(str(root / split / name / f"{index}.png"), image)
    return root


def tiny_classifier_yaml() -> dict:
    config = resolve_model_yaml("yolov8-cls.yaml")
    config["scales"] = {"t": [0.33, 0.125, 256]}
    config["scale"] = "t"
    config["nc"] = 3
    return config


def coordinate_image(size: int = 256) -> np.ndarray:
    """(size, size, 3) BGR: red = x, green = y (0..255), so a crop's pixel values say where it came from."""
    levels = (np.arange(size) * 256 // size).astype(np.uint8)
    image = np.zeros((size, size, 3), np.uint8)
    image[..., 2] = levels[None, :]
    image[..., 1] = levels[:, None]
    return image


# ------------------------------------------------------------------ transforms
def test_random_resized_crop_area_follows_scale_as_yolov8_reads_it():
    image = coordinate_image()
    torch.manual_seed(0)
    for scale, low in ((0.5, 0.5), (0.2, 0.8), (0.9, 0.1)):
        augment = ClassificationAugment(64, scale=scale)
        assert augment.area_range == pytest.approx((low, 1.0))
        areas = []
        for _ in range(200):
            crop = random_resized_crop(image, 64, augment.area_range)
            assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
            width = (int(crop[..., 2].max()) - int(crop[..., 2].min()) + 1) / 256
            height = (int(crop[..., 1].max()) - int(crop[..., 1].min()) + 1) / 256
            areas.append(width * height)
        assert low - 0.03 <= min(areas) < low + 0.1 and max(areas) <= 1.0


def test_augmented_samples_keep_labels_shapes_and_repeat_under_a_seed(tmp_path):
    root = write_colour_folders(tmp_path / "colours", per_class=2, size=40)
    split = load_classification_split(root, "train")
    transform = ClassificationAugment(32, erasing=1.0)  # every sample erased: the erasing step always runs

    def samples(seed):
        torch.manual_seed(seed)
        dataset = ClassificationDataset(split, transform, seed=seed)
        return [dataset[index] for index in range(len(dataset))]

    first, again, other = samples(0), samples(0), samples(1)
    assert [label for _, _, label in first] == [0, 0, 1, 1, 2, 2]
    assert [Path(path).parent.name for _, path, _ in first] == ["a_red", "a_red", "b_green", "b_green",
                                                                "c_blue", "c_blue"]
    for (image, _, _), (repeat, _, _) in zip(first, again):
        assert image.shape == (3, 32, 32) and image.dtype == torch.uint8
        assert torch.equal(image, repeat)
    assert not all(torch.equal(a, b) for (a, _, _), (b, _, _) in zip(first, other))
    assert all((image == 0).all(dim=0).any() for image, _, _ in first)  # an erased patch is black in every image


def test_flip_only_pipeline_mirrors_the_crop_exactly():
    image = coordinate_image(64)
    plain = ClassificationAugment(64, scale=0.0, fliplr=0.0, hsv_h=0, hsv_s=0, hsv_v=0, auto_augment=None, erasing=0)
    flipped = ClassificationAugment(64, scale=0.0, fliplr=1.0, hsv_h=0, hsv_s=0, hsv_v=0, auto_augment=None, erasing=0)
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    out = plain(image, rng)  # scale 0: the crop is the whole image; RGB out of BGR in
    assert torch.equal(out, torch.from_numpy(image[..., ::-1].transpose(2, 0, 1).copy()))
    torch.manual_seed(0)
    assert torch.equal(flipped(image, rng), out.flip(-1))


def test_eval_transform_crops_the_centre_crop_fraction_of_the_short_side():
    image = np.zeros((50, 100, 3), np.uint8)
    image[:, 50:] = 255  # right half white
    out = ClassificationEval(40, crop_fraction=0.8)(image)  # short side 50 (= 40 / 0.8): no resize, centre 40 x 40
    assert out.shape == (3, 40, 40)
    assert torch.equal(out, torch.from_numpy(np.ascontiguousarray(image[5:45, 30:70][..., ::-1].transpose(2, 0, 1))))


def test_auto_augment_policies_and_settings_are_checked():
    for policy in ("randaugment", "autoaugment", "augmix"):
        out = ClassificationAugment(16, auto_augment=policy)(coordinate_image(32), np.random.default_rng(0))
        assert out.shape == (3, 16, 16) and out.dtype == torch.uint8
    assert Config(auto_augment="none").auto_augment is None
    assert Config(auto_augment="AugMix").auto_augment == "augmix"
    for bad in ({"auto_augment": "trivial"}, {"dropout": 1.0}, {"erasing": 0.95}, {"crop_fraction": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            Config(bad)
    defaults = Config()
    assert (defaults.dropout, defaults.auto_augment, defaults.erasing, defaults.crop_fraction) == \
        (0.0, "randaugment", 0.4, 1.0)


# ------------------------------------------------------------------ loss
def test_loss_equals_cross_entropy_on_a_hand_made_batch():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([0, 2, 1])
    total, items = ClassificationLoss()(logits, labels)
    by_hand = (-(2 - math.log(math.exp(2) + 2)) - (0 - math.log(math.e + 2)) + math.log(3)) / 3
    assert total.item() == pytest.approx(by_hand, abs=1e-6)
    assert torch.equal(total, F.cross_entropy(logits, labels))
    assert items.shape == (1,) and not items.requires_grad


def test_the_head_gives_logits_in_training_and_softmax_in_eval():
    model = build_model(tiny_classifier_yaml())
    images = torch.rand(2, 3, 32, 32)
    model.train()
    logits = model(images)
    model.eval()
    probabilities, raw = model(images)
    torch.testing.assert_close(probabilities, raw.softmax(1))
    assert logits.shape == raw.shape == (2, 3)


def test_dropout_setting_reaches_the_head():
    model = build_model(tiny_classifier_yaml())
    assert set_dropout(model, 0.25) == 1 and model.head.drop.p == 0.25


# ------------------------------------------------------------------ folder hygiene
def test_empty_class_folder_is_an_error_naming_it(tmp_path):
    root = write_colour_folders(tmp_path / "c", per_class=1)
    (root / "train" / "d_empty").mkdir()
    with pytest.raises(ClassificationDataError, match=r"class folder '.*train/d_empty' holds no images"):
        load_classification_split(root, "train")


def test_class_in_val_but_not_in_train_is_an_error_with_a_case_hint(tmp_path):
    root = write_colour_folders(tmp_path / "c", per_class=1)
    (root / "val" / "a_red").rename(root / "val" / "A_Red")
    with pytest.raises(ClassificationDataError, match=r"\['A_Red'\].*'A_Red' differs only in case from 'a_red'"):
        load_classification_split(root, "val")


def test_class_missing_from_val_warns_that_it_is_not_scored(tmp_path):
    root = write_colour_folders(tmp_path / "c", per_class=1)
    for file in (root / "val" / "c_blue").iterdir():
        file.unlink()
    (root / "val" / "c_blue").rmdir()
    with pytest.warns(MissingClassWarning, match="c_blue"):
        split = load_classification_split(root, "val")
    assert split.num_classes == 3 and split.labels.tolist() == [0, 1]


def test_non_image_files_and_loose_images_are_named_and_skipped(tmp_path):
    root = write_colour_folders(tmp_path / "c", per_class=1)
    (root / "train" / "a_red" / "notes.txt").write_text("not a picture")
    (root / "train" / ".DS_Store").write_bytes(b"")  # hidden: ignored silently
    cv2.imwrite(str(root / "train" / "stray.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.warns(NonImageFilesWarning, match="notes.txt") as caught:
        split = load_classification_split(root, "train")
    assert any(issubclass(w.category, LooseImagesWarning) and "stray.png" in str(w.message) for w in caught)
    assert len(split.image_files) == 3


def test_mixed_case_extensions_are_images_of_their_folder(tmp_path):
    root = write_colour_folders(tmp_path / "c", per_class=1)
    image = cv2.imread(str(root / "train" / "b_green" / "0.png"))
    cv2.imwrite(str(root / "train" / "b_green" / "UPPER.JPG"), image)
    cv2.imwrite(str(root / "train" / "b_green" / "mixed.Png"), image)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        split = load_classification_split(root, "train")
    assert sorted(Path(p).name for p, label in zip(split.image_files, split.labels) if label == 1) == \
        ["0.png", "UPPER.JPG", "mixed.Png"]


def test_corrupt_training_images_are_left_out_with_a_warning(tmp_path):
    root = write_colour_folders(tmp_path / "c", per_class=2)
    (root / "train" / "a_red" / "broken.jpg").write_bytes(b"this is not a jpeg")
    (root / "train" / "b_green" / "empty.png").write_bytes(b"")
    with pytest.warns(UnreadableImagesWarning, match=r"2 of 8 images .*broken.jpg.*empty.png.*empty file"):
        data = resolve_classification_data(str(root))
    assert len(data.train.image_files) == 6 and data.train.labels.tolist() == [0, 0, 1, 1, 2, 2]


def test_unreadable_image_at_load_time_is_dropped_from_its_batch_not_mislabelled(tmp_path):
    root = write_colour_folders(tmp_path / "c", per_class=2)
    split = load_classification_split(root, "train")
    Path(split.image_files[2]).write_bytes(b"\xff\xd8 truncated")  # b_green/0.png, broken after the scan
    loader = build_classification_training_loader(split, ClassificationEval(16), batch_size=6, workers=0)
    batch = next(iter(loader))
    assert len(batch) == 5 and len(batch.skipped) == 1 and split.image_files[2] in batch.skipped[0]
    for path, label in zip(batch.paths, batch.labels.tolist()):
        assert split.labels[split.image_files.index(path)] == label
    assert instances(batch) == 5


def test_ram_and_disk_caches_give_the_same_samples(tmp_path):
    root = write_colour_folders(tmp_path / "c", per_class=2)
    split = load_classification_split(root, "train")
    transform = ClassificationAugment(24)

    def samples(cache):
        torch.manual_seed(3)
        dataset = ClassificationDataset(split, transform, cache=cache, seed=3)
        return dataset, [dataset[index][0] for index in range(len(dataset))]

    _, plain = samples(False)
    in_ram, from_ram = samples("ram")
    assert len(in_ram.images) == 6 and in_ram.images[0].shape == (32, 38, 3)
    _, from_disk = samples("disk")
    assert sorted(p.name for p in (root / "train" / "a_red").iterdir()) == ["0.npy", "0.png", "1.npy", "1.png"]
    for a, b, c in zip(plain, from_ram, from_disk):
        assert torch.equal(a, b) and torch.equal(a, c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the .npy copies are not reported as stray non-image files
        assert load_classification_split(root, "train").image_files == split.image_files


def test_object_crops_are_filed_by_class(shapes_dataset, tmp_path):
    assert crop_box(np.array([0.5, 0.5, 0.2, 0.4]), 100, 200, margin=0.1) == (76, 26, 124, 74)
    root = write_object_crops(shapes_dataset, tmp_path / "crops", longest_side=24)
    crops = sorted((root / "train").rglob("*.jpg"))
    assert crops and {path.parent.name for path in crops} <= {"square", "disc"}
    assert all(max(cv2.imread(str(path)).shape[:2]) == 24 for path in crops)
    assert write_object_crops(shapes_dataset, tmp_path / "crops", longest_side=24) == root  # made once


# ------------------------------------------------------------------ end to end
# An optimizer step per batch (nbs = batch): 36 steps in 6 epochs of 24 images. Enough forwards, too, for the
# BatchNorm running statistics that eval mode uses to forget their initial variance of 1 (0.9 ** 36 = 0.02).
# The colour classes are told apart by hue: auto-augment policies (solarize, posterize, equalize) would hide
# it, so the test trains with the HSV jitter that replaces them (auto_augment=None) and erasing as default.
TRAIN = dict(imgsz=32, batch=4, nbs=4, workers=0, epochs=10, warmup_epochs=0, optimizer="AdamW", lr0=0.003, seed=0,
             auto_augment=None)


def read_results(run_dir: Path) -> list[dict]:
    with open(run_dir / "results.csv") as file:
        return list(csv.DictReader(file))


WEIGHTS_SEED = 0


def test_training_on_folders_rises_well_above_chance(tmp_path):
    root = write_colour_folders(tmp_path / "colours", per_class=8)
    torch.manual_seed(WEIGHTS_SEED)  # the initial weights come from the global RNG, whatever ran before this test
    model = YOLO(build_model(tiny_classifier_yaml()))
    metrics = model.train(data=str(root), project=str(tmp_path), name="run", **TRAIN)
    assert metrics.top1 >= 0.9 and metrics.top5 == 1.0  # chance is 1/3
    run = tmp_path / "run"
    rows = read_results(run)
    assert len(rows) == TRAIN["epochs"] and [key.strip() for key in rows[0]][:6] == [
        "epoch", "time", "train/loss", "metrics/accuracy_top1", "metrics/accuracy_top5", "val/loss"]
    # 24 tiny images under random crops and erasing: the epoch losses are noisy, so the last epochs' best is compared
    assert min(float(row["train/loss"]) for row in rows[-3:]) < float(rows[0]["train/loss"])
    assert min(float(row["val/loss"]) for row in rows[-3:]) < float(rows[0]["val/loss"])
    for name in ("results.png", "train_batch0.jpg", "val_batch0_labels.jpg", "val_batch0_pred.jpg",
                 "confusion_matrix.png", "weights/best.pt", "weights/last.pt"):
        assert (run / name).is_file(), name
    best = YOLO(run / "weights" / "best.pt")
    assert best.task == "classify" and best.names == {0: "a_red", 1: "b_green", 2: "c_blue"}
    predicted = best(str(root / "val" / "c_blue" / "0.png"))[0]
    assert int(predicted.probs.top1) == 2


def test_resume_finishes_the_planned_epochs(tmp_path):
    root = write_colour_folders(tmp_path / "colours", per_class=3)

    class Interrupt(Exception):
        pass

    def interrupt(trainer):
        if trainer.epoch == 0:
            raise Interrupt

    model = YOLO(build_model(tiny_classifier_yaml()))
    model.add_callback("on_fit_epoch_end", interrupt)
    with pytest.raises(Interrupt):
        model.train(data=str(root), project=str(tmp_path), name="run", **{**TRAIN, "epochs": 3})
    last = tmp_path / "run" / "weights" / "last.pt"
    assert load_checkpoint(last)["train_state"]["epoch"] == 0
    YOLO(last).train(resume=str(last))
    assert [int(row["epoch"]) for row in read_results(tmp_path / "run")] == [1, 2, 3]
    assert load_checkpoint(last)["train_state"]["epoch"] == 2


def test_cli_trains_from_an_incumbent_cls_checkpoint(tmp_path, capsys):
    from yolo8.cli import run

    root = write_colour_folders(tmp_path / "colours", per_class=2)
    code = run(["classify", "train", f"model={FIXTURES / 'ul_yolov8n-cls_rand.pt'}", f"data={root}", "imgsz=32",
                "epochs=1", "batch=6", "workers=0", f"project={tmp_path}", "name=run", "plots=False"])
    assert code == 0
    best = YOLO(tmp_path / "run" / "weights" / "best.pt")
    assert best.model.num_classes == 3 and best.names[2] == "c_blue"


def test_task_table_entry_for_classification_training():
    spec = task_spec("classify")
    assert spec.build_loss is not None and spec.loss_names == ("loss",)
    assert spec.builtin_defaults["imgsz"] == 64 and spec.default_model == "yolov8n-cls.yaml"


def test_classify_train_without_data_uses_crops_of_the_builtin_scenes(tmp_path, monkeypatch):
    import yolo8.data.synthetic as synthetic
    from yolo8.cli import run
    from yolo8.data.synthetic import CLASS_NAMES, builtin_dataset

    small = builtin_dataset(tmp_path / "scenes", train_images=12, val_images=6, image_size=96)
    monkeypatch.setattr(synthetic, "builtin_dataset", lambda: small)  # a small built-in set, in tmp_path
    data = resolve_classification_data(None)
    assert data.yaml_file == tmp_path / "scenes-crops"
    assert set(data.names.values()) <= set(CLASS_NAMES) and len(data.train.image_files) > 12
    monkeypatch.chdir(tmp_path)
    code = run(["classify", "train", "epochs=1", "imgsz=32", "batch=16", "workers=0", "plots=False"])
    assert code == 0
    best = YOLO(tmp_path / "runs" / "classify" / "train" / "weights" / "best.pt")
    assert best.task == "classify" and best.names == data.names
    train_args = load_checkpoint(tmp_path / "runs" / "classify" / "train" / "weights" / "best.pt")["train_args"]
    assert train_args["data"] == str(tmp_path / "scenes-crops") and train_args["imgsz"] == 32
    # the main job ends by classifying crops of the sample scenes' objects, each file named with its true class
    predicted = sorted(p.name for p in (tmp_path / "runs" / "classify" / "predict").iterdir())
    assert predicted == sorted(Path(path).name for path in sample_crops()) and len(predicted) == 17
