"""INT8 exports: calibrated on the train split, decode kept in float, unsigned activations for onnxruntime, and an
FP32-vs-INT8 report on val after the export."""

import shutil

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import tiny_yaml
from tests.test_export import lively, write_class_folders
from yolo8 import YOLO
from yolo8.config import Config
from yolo8.export.calibration import calibration_files
from yolo8.export.int8 import LAYER_NODE
from yolo8.nn.model import YOLOModel
from yolo8.runtime.exported_model import ExportedModel


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    torch.manual_seed(0)
    return YOLO(lively(YOLOModel(tiny_yaml("yolov8.yaml")))).save(tmp_path_factory.mktemp("int8") / "best.pt")


def test_calibration_reads_the_train_split(shapes_dataset):
    files = calibration_files("detect", str(shapes_dataset), fraction=0.5)
    assert len(files) == 8 and all(file.parent.name == "train" for file in files)


@pytest.mark.parametrize("format", ["openvino", "onnx"])
def test_int8_export_runs_reports_and_keeps_detections(detector, shapes_dataset, format, caplog, tmp_path):
    weights = tmp_path / "best.pt"
    shutil.copy(detector, weights)
    with caplog.at_level("INFO", logger="yolo8"):
        path = YOLO(weights).export(format=format, imgsz=64, int8=True, data=str(shapes_dataset), fraction=0.5,
                                         project=str(tmp_path / "runs"))
    metadata = ExportedModel(path).metadata
    assert metadata.int8 and metadata.args["data"] == str(shapes_dataset) and metadata.args["fraction"] == 0.5
    report = [record.message for record in caplog.records if "INT8 accuracy" in record.message]
    assert len(report) == 1 and "FP32" in report[0] and "drop" in report[0]
    files = sorted((shapes_dataset.parent / "images" / "val").glob("*.png"))[:4]  # 64x64 images like train's
    images = torch.stack([torch.from_numpy(cv2.imread(str(file))[..., ::-1].transpose(2, 0, 1).copy()) for file in files])
    images = images.float() / 255
    int8 = YOLO(path).backend(Config(mode="predict"))(images)
    fp32 = YOLO(weights).backend(Config(mode="predict"))(images)
    # not collapsed: confident scores remain, and boxes and scores follow the float model's (a random network is
    # harder on INT8 than a trained one: measured score correlations 0.79 OpenVINO, 0.88 onnxruntime)
    assert (int8[:, 4:] > 0.25).sum() > 10
    for rows, least in ((slice(0, 4), 0.99), (slice(4, None), 0.6)):
        correlation = torch.corrcoef(torch.stack((int8[:, rows].flatten(), fp32[:, rows].flatten())))[0, 1]
        assert correlation > least, (rows, correlation)
    if format == "onnx":
        import onnx

        graph = onnx.load(str(path)).graph
        producers = {output: node for node in graph.node for output in node.output}
        quantizers = [node for node in graph.node if node.op_type == "QuantizeLinear"]
        assert quantizers
        for node in quantizers:  # only the layers' tensors are quantised: the decode stays float
            producer = producers.get(node.input[0])
            assert producer is None or LAYER_NODE.match(producer.name), producer.name
        zero_points = {init.name: init for init in graph.initializer}
        activation_zero_points = [zero_points[node.input[2]] for node in quantizers
                                  if node.input[0] not in zero_points and node.input[2] in zero_points]
        assert activation_zero_points and all(point.data_type == onnx.TensorProto.UINT8
                                              for point in activation_zero_points)


def test_calibration_fraction_spreads_over_every_class_folder(tmp_path):
    data = write_class_folders(tmp_path / "data", per_class=3)  # 2 classes, sorted by folder
    files = calibration_files("classify", str(data), fraction=0.5)
    assert len(files) == 3 and len({file.parent.name for file in files}) == 2


def test_classifier_int8_calibrates_on_class_folders_and_reports_top1(tmp_path, caplog):
    torch.manual_seed(0)
    weights = YOLO(lively(YOLOModel(tiny_yaml("yolov8-cls.yaml")))).save(tmp_path / "cls.pt")
    data = write_class_folders(tmp_path / "data", per_class=3)
    assert len(calibration_files("classify", str(data), fraction=1.0)) == 6
    with caplog.at_level("INFO", logger="yolo8"):
        path = YOLO(weights).export(format="onnx", imgsz=64, int8=True, data=str(data), project=str(tmp_path / "runs"))
    assert any("INT8 accuracy" in record.message and "top-1" in record.message for record in caplog.records)
    probabilities = YOLO(path).backend(Config(mode="predict"))(torch.rand(2, 3, 64, 64))
    torch.testing.assert_close(probabilities.sum(1), torch.ones(2), atol=1e-3, rtol=0)  # the softmax stayed float


def test_static_batched_export_calibrates_in_whole_batches(detector, shapes_dataset, tmp_path):
    from yolo8.export.int8 import calibration_arrays
    from yolo8.runtime.export_metadata import ExportMetadata

    config = Config({"data": str(shapes_dataset), "fraction": 0.5}, mode="export")  # 8 train images
    single = calibration_arrays(ExportMetadata(task="detect", names={0: "a"}, stride=32, imgsz=(64, 64)), config)
    assert len(single) == 8 and single[0].shape == (1, 3, 64, 64)
    batched = calibration_arrays(ExportMetadata(task="detect", names={0: "a"}, stride=32, imgsz=(64, 64), batch=3),
                                 config)
    assert [array.shape for array in batched] == [(3, 3, 64, 64)] * 3  # 8 images + the first again fill 3 batches
    assert (batched[2] == np.concatenate(single[6:] + single[:1])).all()
    weights = tmp_path / "best.pt"
    shutil.copy(detector, weights)
    path = YOLO(weights).export(format="onnx", imgsz=64, batch=3, int8=True, data=str(shapes_dataset), fraction=0.5,
                                project=str(tmp_path / "runs"))
    assert ExportedModel(path).metadata.int8 and ExportedModel(path).metadata.batch == 3


def test_quantiser_logging_guard_leaves_the_callers_loggers_as_they_were():
    import logging

    from yolo8.export.int8 import _root_logger_kept

    root, user = logging.getLogger(), logging.getLogger("a.user.logger")
    level, handlers = root.level, list(root.handlers)
    before = user.isEnabledFor(logging.WARNING)
    with _root_logger_kept():
        assert not user.isEnabledFor(logging.WARNING)  # quiet inside (and the answer is cached)
    assert user.isEnabledFor(logging.WARNING) == before and root.level == level and root.handlers == handlers
