"""imgsz that is not a multiple of the model's largest stride is rounded up, and said once."""

import logging

import numpy as np

from tests.test_predictor import RedBoxModel
from yolo8.config import Config
from yolo8.predict.predictor import Predictor
from yolo8.tasks.common import image_size_setting


def test_predict_says_once_what_it_uses(caplog):
    with caplog.at_level(logging.WARNING, logger="yolo8"):
        predictor = Predictor(RedBoxModel(), Config(mode="predict", imgsz=65, verbose=False))
        predictor(np.zeros((40, 60, 3), np.uint8))
    assert predictor.imgsz == (96, 96)
    said = [message for message in caplog.messages if "imgsz=65" in message]
    assert said == ["imgsz=65 is not a multiple of the model's largest stride 32: using imgsz=96"]


def test_a_stride_multiple_is_used_as_it_is(caplog):
    with caplog.at_level(logging.WARNING, logger="yolo8"):
        Predictor(RedBoxModel(), Config(mode="predict", imgsz=[320, 640]))
    assert not caplog.messages
    assert image_size_setting(640, 32) == 640 and image_size_setting(65, 32) == 96 and image_size_setting([65, 70]) == 70


def test_training_rounds_up_and_says_so(shapes_dataset, tiny_model_yaml, tmp_path, caplog):
    from yolo8 import YOLO
    from yolo8.nn.model import build_model

    model = YOLO(build_model(tiny_model_yaml))
    with caplog.at_level(logging.WARNING, logger="yolo8"):
        model.train(data=str(shapes_dataset), epochs=1, imgsz=65, batch=4, nbs=4, workers=0, plots=False,
                    project=str(tmp_path), name="run")
    assert model.trainer.image_size == 96
    said = [message for message in caplog.messages if "imgsz=65" in message]
    assert said == ["imgsz=65 is not a multiple of the model's largest stride 32: using imgsz=96"]  # once
