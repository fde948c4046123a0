"""Predictor end to end: exact box mapping through the letterbox, streaming, batching, saved files."""

import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from yolo8.config import Config
from yolo8.predict.predictor import Predictor, predict
from yolo8.runtime.run_dir import increment_run_dir
from yolo8.tasks.common import input_size

RED_BGR = (0, 0, 255)



class SharedList(list):
    """A list that model copies share: predict runs a copy of the model, the test reads the original."""

    def __deepcopy__(self, memo):
        return self

class RedBoxModel(nn.Module):
    """A stand-in detector: reports one 'star' (class 1, score 0.9) around the pure-red pixels of each image.

    It follows the model convention: eval forward on (B, 3, H, W) RGB [0, 1] returns
    (decoded (B, 4 + nc, A), raw) with boxes xywh in input pixels. Anchor 0 holds the box, the
    other anchors are low-score noise that NMS must drop.
    """

    def __init__(self):
        super().__init__()
        self.names = {0: "circle", 1: "star"}
        self.task = "detect"
        self.register_buffer("stride", torch.tensor([8.0, 16.0, 32.0]), persistent=False)
        self.input_shapes = SharedList()

    def forward(self, images):
        self.input_shapes.append(tuple(images.shape))
        decoded = torch.zeros(images.shape[0], 4 + 2, 3)
        decoded[:, 2:4, 1:] = 5.0  # noise anchors: 5-pixel boxes with zero scores
        for index, image in enumerate(images.float()):
            red = (image[0] > 0.9) & (image[1] < 0.1) & (image[2] < 0.1)  # RGB order
            rows, columns = torch.nonzero(red, as_tuple=True)
            if len(rows):
                x1, x2 = columns.min().item(), columns.max().item() + 1
                y1, y2 = rows.min().item(), rows.max().item() + 1
                decoded[index, :4, 0] = torch.tensor([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])
                decoded[index, 5, 0] = 0.9
        return decoded, "raw"


def scene(height, width, box):
    """(height, width, 3) gray BGR image with a pure-red rectangle box = (x1, y1, x2, y2)."""
    image = np.full((height, width, 3), 90, np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = RED_BGR
    return image


def config(tmp_path, **overrides):
    settings = dict(mode="predict", imgsz=160, save=False, verbose=False, project=str(tmp_path / "runs"))
    return Config({**settings, **overrides})


@pytest.mark.parametrize(
    "shape, box, input_shape",
    [
        # 240x320 -> gain 0.5 -> 120x160, height padded 8 (4 top) to 128x160
        ((240, 320), (40, 80, 120, 200), (1, 3, 128, 160)),
        # 320x240 portrait -> 160x120, width padded 8 (4 left) to 160x128
        ((320, 240), (10, 30, 90, 310), (1, 3, 160, 128)),
    ],
)
def test_boxes_map_back_exactly_through_the_letterbox(tmp_path, shape, box, input_shape):
    model = RedBoxModel()
    results = predict(model, scene(*shape, box), config(tmp_path))
    assert model.input_shapes == [input_shape]
    assert len(results) == 1 and len(results[0]) == 1
    boxes = results[0].boxes
    assert boxes.xyxy.tolist() == [list(map(float, box))]
    assert boxes.cls.tolist() == [1.0] and boxes.conf.tolist() == [pytest.approx(0.9)]
    assert results[0].orig_shape == shape and results[0].names == model.names
    assert set(results[0].speed) == {"preprocess", "inference", "postprocess"}
    assert all(value >= 0 for value in results[0].speed.values())


def test_stream_yields_a_generator(tmp_path):
    images = [scene(64, 96, (8, 8, 40, 40)), scene(64, 96, (50, 20, 90, 60))]
    stream = Predictor(RedBoxModel(), config(tmp_path, imgsz=96, stream=True))(images)
    assert isinstance(stream, types.GeneratorType)
    first = next(stream)
    assert first.boxes.xyxy.tolist() == [[8.0, 8.0, 40.0, 40.0]]
    assert len(list(stream)) == 1
    as_list = Predictor(RedBoxModel(), config(tmp_path, stream=True))(images, stream=False)
    assert isinstance(as_list, list) and len(as_list) == 2


def test_batches_of_equal_shape_run_together_with_equal_results(tmp_path):
    images = [scene(64, 96, (8, 8, 40, 40)), scene(96, 64, (4, 4, 20, 20)), scene(64, 96, (50, 20, 90, 60))]
    model = RedBoxModel()
    batched = Predictor(model, config(tmp_path, imgsz=96), batch_size=3)(images)
    # the portrait image letterboxes to another shape, so it runs on its own; results keep the frame order
    assert model.input_shapes == [(2, 3, 64, 96), (1, 3, 96, 64)]
    assert [r.orig_shape for r in batched] == [(64, 96), (96, 64), (64, 96)]
    single = Predictor(RedBoxModel(), config(tmp_path, imgsz=96))(images)
    assert [r.path for r in batched] == ["image0.jpg", "image1.jpg", "image2.jpg"]
    for one, other in zip(batched, single):
        torch.testing.assert_close(one.boxes.data, other.boxes.data)


def test_thresholds_and_class_filter_reach_nms(tmp_path):
    image = scene(64, 64, (8, 8, 40, 40))
    assert len(predict(RedBoxModel(), image, config(tmp_path, conf=0.95))[0]) == 0
    assert len(predict(RedBoxModel(), image, config(tmp_path, classes=[0]))[0]) == 0
    assert len(predict(RedBoxModel(), image, config(tmp_path, classes=[1]))[0]) == 1


def test_files_are_written_to_numbered_run_dirs(tmp_path, capsys):
    image_path = tmp_path / "shot.png"
    cv2.imwrite(str(image_path), scene(240, 320, (40, 80, 120, 200)))
    settings = config(tmp_path, save=True, save_txt=True, save_conf=True, save_crop=True, verbose=True)
    predictor = Predictor(RedBoxModel(), settings)
    predictor([str(image_path), str(image_path)])
    run = tmp_path / "runs" / "predict"
    assert predictor.save_dir == run
    annotated = cv2.imread(str(run / "shot.png"))
    assert annotated.shape == (240, 320, 3)
    assert not np.array_equal(annotated, cv2.imread(str(image_path)))  # the box was drawn
    label = np.loadtxt(run / "labels" / "shot.txt")
    np.testing.assert_allclose(label, [1, 80 / 320, 140 / 240, 80 / 320, 120 / 240, 0.9], atol=1e-6)
    crop = cv2.imread(str(run / "crops" / "star" / "shot.jpg"))
    assert crop.shape == (120, 80, 3)
    printed = capsys.readouterr().out
    assert f"image 1/2 {image_path}: 128x160 1 star, " in printed
    assert f"image 2/2 {image_path}: 128x160 1 star, " in printed
    assert "Speed: " in printed and "per image at shape (1, 3, 128, 160)" in printed
    assert f"Results saved to {run}" in printed

    second = Predictor(RedBoxModel(), settings)
    second(str(image_path))
    assert second.save_dir == tmp_path / "runs" / "predict2"
    assert (second.save_dir / "shot.png").exists()


def test_run_dir_defaults_to_runs_task_predict(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    predictor = Predictor(RedBoxModel(), Config(mode="predict", imgsz=64, verbose=False))
    predictor(scene(64, 64, (8, 8, 40, 40)))
    assert predictor.save_dir == Path("runs") / "detect" / "predict"
    assert (tmp_path / "runs" / "detect" / "predict" / "image0.jpg").exists()


def test_nothing_is_written_without_save_options(tmp_path):
    predict(RedBoxModel(), scene(64, 64, (8, 8, 40, 40)), config(tmp_path))
    assert not (tmp_path / "runs").exists()


def test_video_is_predicted_and_saved_frame_by_frame(tmp_path, capsys):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (96, 64))
    for index in range(4):
        writer.write(scene(64, 96, (8 + 10 * index, 8, 40 + 10 * index, 40)))
    writer.release()
    settings = config(tmp_path, save=True, save_txt=True, verbose=True, imgsz=96)
    results = predict(RedBoxModel(), str(video), settings)
    assert len(results) == 4
    # MJPG blurs the red edges a little: compare to the drawn rectangles within 2 pixels
    for index, result in enumerate(results):
        np.testing.assert_allclose(result.boxes.xyxy[0].numpy(), [8 + 10 * index, 8, 40 + 10 * index, 40], atol=2)
    run = tmp_path / "runs" / "predict"
    capture = cv2.VideoCapture(str(run / "clip.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (96, 64)
    capture.release()
    assert sorted(p.name for p in (run / "labels").iterdir()) == [f"clip_{i}.txt" for i in range(1, 5)]
    assert f"video 1/1 (frame 3/4) {video}: 64x96 1 star" in capsys.readouterr().out

    strided = predict(RedBoxModel(), str(video), config(tmp_path, imgsz=96, vid_stride=2))
    np.testing.assert_allclose([r.boxes.xyxy[0, 0].item() for r in strided], [8, 28], atol=2)


def test_default_source_is_the_sample_images(tmp_path):
    results = predict(RedBoxModel(), None, config(tmp_path))
    assert [r.path.rsplit("/", 1)[-1] for r in results] == ["shapes1.jpg", "shapes2.jpg"]


def test_random_tiny_model_end_to_end(tmp_path):
    from yolo8.nn.model import build_model

    torch.manual_seed(0)
    model = build_model("yolov8n.yaml", num_classes=3)
    image = np.random.default_rng(0).integers(0, 255, (50, 90, 3), dtype=np.uint8)
    result = predict(model, image, config(tmp_path, imgsz=64, conf=0.0, max_det=7))[0]
    assert model.training  # predict runs a fused eval-mode copy; the caller's model is left as it was
    assert len(result) == 7
    xyxy = result.boxes.xyxy
    assert (xyxy[:, [0, 2]] >= 0).all() and (xyxy[:, [0, 2]] <= 90).all()
    assert (xyxy[:, [1, 3]] >= 0).all() and (xyxy[:, [1, 3]] <= 50).all()
    assert (result.boxes.conf.diff() <= 0).all()  # sorted by confidence


def test_input_size_and_run_dir_helpers(tmp_path):
    assert input_size(640, 32) == (640, 640)
    assert input_size([300, 500], 32) == (320, 512)
    assert increment_run_dir(tmp_path, "predict") == tmp_path / "predict"
    increment_run_dir(tmp_path, "predict", mkdir=True)
    increment_run_dir(tmp_path, "predict2", mkdir=True)
    assert increment_run_dir(tmp_path, "predict") == tmp_path / "predict3"
    assert increment_run_dir(tmp_path, "predict", exist_ok=True) == tmp_path / "predict"


def test_unsupported_task_is_explained():
    model = RedBoxModel()
    model.task = "pose"
    with pytest.raises(ValueError, match="task 'pose'"):
        Predictor(model, Config(mode="predict"))


def test_a_config_made_for_another_mode_gets_predicts_defaults():
    """conf=None means the mode's default: a Config built without mode='predict' still predicts at 0.25."""
    assert Predictor(RedBoxModel(), Config(imgsz=64)).settings.conf == 0.25
    assert Predictor(RedBoxModel(), Config(imgsz=64, conf=0.6)).settings.conf == 0.6
