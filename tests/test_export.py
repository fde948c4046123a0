"""Export: every format x task reloads through YOLO(path) and equals the eager model; metadata round trip; dynamic
batch; static letterboxing; predict and val through file backends; nms=True against the Python NMS; clear errors."""

import itertools
import json
import shutil

import numpy as np
import pytest
import torch

from tests.conftest import tiny_yaml
from yolo8 import YOLO
from yolo8.cli import run
from yolo8.config import Config, ConfigError
from yolo8.nn.model import YOLOModel
from yolo8.ops.nms import non_max_suppression
from yolo8.runtime.exported_model import ExportedModel
from yolo8.runtime.file_backends import FileBackend

FORMATS = ("torchscript", "onnx", "openvino")
YAMLS = {"detect": "yolov8.yaml", "segment": "yolov8-seg.yaml", "classify": "yolov8-cls.yaml"}
# exported vs eager, in output units: box pixels at 64-96 px inputs, probabilities (and prototype values). The test
# network has random heads with large logits, which amplifies float rounding (ONNX Runtime, OpenVINO and torch sum in
# different orders; CPUs differ in the last bits, AVX2 vs AVX-512): measured up to 4.5e-3 px and 3.9e-4
BOX_ATOL, SCORE_ATOL = 1e-2, 1e-3


def lively(model: YOLOModel, seed: int = 0) -> YOLOModel:
    """A fresh model whose outputs vary from anchor to anchor: the last convolution of every box and class branch
    gets random weights scaled so its logits have a standard deviation of about 2 on random images (an untrained
    head predicts nearly the same box and a 0.5 score everywhere, which would make NMS and comparisons trivial)."""
    generator = torch.Generator().manual_seed(seed)
    # a fresh network's activations fade layer by layer (to ~1e-10 at the head): set every BatchNorm's statistics
    # from one batch so each layer's output is normalised, as in a trained network (and INT8 ranges are meaningful)
    norms = [module for module in model.modules() if isinstance(module, torch.nn.BatchNorm2d)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average: after one batch, exactly that batch's statistics
    with torch.no_grad():
        model.train()(torch.rand(4, 3, 64, 64, generator=generator))
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    head = model.head
    last_convs = [branch[-1] for name in ("cv2", "cv3") for branch in getattr(head, name, [])]
    if not last_convs:
        return model
    inputs = {}
    hooks = [conv.register_forward_pre_hook(lambda module, args: inputs.__setitem__(module, args[0])) for conv in last_convs]
    with torch.no_grad():
        model.eval()(torch.rand(2, 3, 64, 64, generator=generator))
        for conv in last_convs:
            scale = 2.0 / (inputs[conv].square().mean().sqrt() * conv.weight[0].numel() ** 0.5 + 1e-12)
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * scale)
            conv.bias.fill_(-1.0)
    for hook in hooks:
        hook.remove()
    return model.train()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """task -> a saved tiny .pt (2 classes) with varied outputs."""
    folder = tmp_path_factory.mktemp("export_models")
    torch.manual_seed(0)
    saved = {}
    for task, name in YAMLS.items():
        model = lively(YOLOModel(tiny_yaml(name)))
        model.names = {0: "square", 1: "disc"}
        saved[task] = YOLO(model).save(folder / f"{task}.pt")
    return saved


_EXPORTS: dict = {}
_FOLDERS = itertools.count()


def export_of(checkpoints, task: str, **settings):
    """The export of ``checkpoints[task]`` with ``settings``, made once per module: each settings combination writes
    beside its own copy of the .pt, so one export never overwrites another."""
    key = (task, tuple(sorted((name, str(value)) for name, value in settings.items())))
    if key not in _EXPORTS:
        folder = checkpoints[task].parent / f"{task}_{next(_FOLDERS)}"
        folder.mkdir()
        copy = folder / checkpoints[task].name
        shutil.copy(checkpoints[task], copy)
        _EXPORTS[key] = YOLO(copy).export(**settings)
    return _EXPORTS[key]


def close(exported, eager, task: str) -> None:
    if task == "segment":
        close(exported[0], eager[0], "detect")
        torch.testing.assert_close(exported[1], eager[1], rtol=1e-4, atol=SCORE_ATOL)
    elif task == "classify":
        torch.testing.assert_close(exported, eager, rtol=1e-4, atol=SCORE_ATOL)
    else:
        torch.testing.assert_close(exported[:, :4], eager[:, :4], rtol=1e-4, atol=BOX_ATOL)
        torch.testing.assert_close(exported[:, 4:], eager[:, 4:], rtol=1e-4, atol=SCORE_ATOL)


def same_rows(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """The same detections (n, 6+) in any order: scores of the random test heads saturate near 1, so rows whose
    scores differ in the last bits may swap places between runtimes."""
    assert actual.shape == expected.shape
    distance = torch.cdist(expected.double(), actual.double())  # (n, n)
    tolerance = BOX_ATOL + 1e-4 * float(expected.abs().max()) if len(expected) else 0  # boxes reach ~500 px here
    assert (distance.min(1).values < tolerance).all() and (distance.min(0).values < tolerance).all(), distance.min(1)


def eager(path, images):
    model = YOLO(path)
    return model.backend(Config(mode="predict", device="cpu"))(images)


@pytest.mark.parametrize("task", list(YAMLS))
@pytest.mark.parametrize("format", FORMATS)
def test_static_export_equals_eager(checkpoints, task, format):
    path = export_of(checkpoints, task, format=format, imgsz=64)
    assert path.name == {"onnx": f"{task}.onnx", "openvino": f"{task}_openvino_model",
                         "torchscript": f"{task}.torchscript"}[format]
    assert (path.parent / f"{task}.pt").is_file()  # beside the weights
    exported = YOLO(path)
    assert (exported.task, exported.names) == (task, {0: "square", 1: "disc"})
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))  # batch 2 through a batch-1 file
    close(exported.backend(Config(mode="predict")).__call__(images), eager(checkpoints[task], images), task)


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("batch", [1, 3])
def test_dynamic_export_runs_any_batch_and_rectangle(checkpoints, format, batch):
    path = export_of(checkpoints, "segment", format=format, imgsz=64, dynamic=True)
    images = torch.rand(batch, 3, 64, 96, generator=torch.Generator().manual_seed(2))
    close(YOLO(path).backend(Config(mode="predict"))(images), eager(checkpoints["segment"], images), "segment")


@pytest.mark.parametrize("format", FORMATS)
def test_metadata_round_trip(checkpoints, format):
    path = export_of(checkpoints, "detect", format=format, imgsz=[64, 96], batch=2)
    metadata = ExportedModel(path).metadata
    assert (metadata.task, metadata.names, metadata.stride, metadata.imgsz) == ("detect", {0: "square", 1: "disc"},
                                                                                 32, (64, 96))
    assert (metadata.batch, metadata.dynamic, metadata.nms, metadata.int8) == (2, False, False, False)
    assert metadata.version == "0.1.0" and metadata.args["format"] == format
    if format == "openvino":  # the IR carries it too, in rt_info
        import openvino

        model = openvino.Core().read_model(str(next(path.glob("*.xml"))))
        assert json.loads(model.get_rt_info(["yolo8", "names"]).astype(str)) == {"0": "square", "1": "disc"}


def test_static_export_letterboxes_other_shapes_and_says_so(checkpoints, caplog):
    path = export_of(checkpoints, "detect", format="onnx", imgsz=64)
    backend = YOLO(path).backend(Config(mode="predict"))
    images = torch.rand(1, 3, 64, 128, generator=torch.Generator().manual_seed(3))  # twice as wide: scaled by 1/2
    with caplog.at_level("INFO", logger="yolo8"):
        decoded = backend(images)
        backend(images)
    assert decoded.shape[1] == 6 and sum("letterboxed" in record.message for record in caplog.records) == 1
    # boxes come back in the 64x128 input's pixels: the letterboxed eager run, scaled by 2
    reference = eager(checkpoints["detect"], torch.cat((torch.nn.functional.interpolate(
        images, size=(32, 64), mode="bilinear", align_corners=False), torch.full((1, 3, 32, 64), 114 / 255)), 2))
    torch.testing.assert_close(decoded[:, :4], reference[:, :4] * 2, rtol=1e-4, atol=2 * BOX_ATOL)


def shapes_images(dataset, count=3):
    return sorted((dataset.parent / "images" / "val").glob("*.png"))[:count]


@pytest.mark.parametrize("format", FORMATS)
def test_predict_through_file_backend_equals_pt(checkpoints, shapes_dataset, format):
    path = export_of(checkpoints, "detect", format=format, imgsz=64, dynamic=True)
    sources = [str(file) for file in shapes_images(shapes_dataset)]
    ours = YOLO(checkpoints["detect"]).predict(sources, imgsz=64, conf=0.3, verbose=False)
    exported = YOLO(path).predict(sources, imgsz=64, conf=0.3, verbose=False)
    assert sum(len(result.boxes) for result in ours) > 0
    for a, b in zip(ours, exported):
        assert type(a) is type(b) and a.names == b.names and a.orig_shape == b.orig_shape
        same_rows(b.boxes.data, a.boxes.data)


def test_segment_predict_through_static_onnx(checkpoints, shapes_dataset):
    path = export_of(checkpoints, "segment", format="onnx", imgsz=64)
    sources = [str(file) for file in shapes_images(shapes_dataset)]
    ours = YOLO(checkpoints["segment"]).predict(sources, imgsz=64, conf=0.3, verbose=False)
    exported = YOLO(path).predict(sources, conf=0.3, verbose=False)  # imgsz from the file's metadata: 64
    for a, b in zip(ours, exported):
        same_rows(b.boxes.data, a.boxes.data)
        assert (a.masks is None) == (b.masks is None)
        if a.masks is not None:
            assert a.masks.data.shape == b.masks.data.shape  # rows may swap (see same_rows): compare their union
            assert (a.masks.data.any(0) != b.masks.data.any(0)).float().mean() < 1e-3


@pytest.mark.parametrize("format", ["onnx", "openvino"])
def test_val_through_file_backend_equals_pt(checkpoints, shapes_dataset, format, tmp_path):
    path = export_of(checkpoints, "detect", format=format, imgsz=64, dynamic=True)
    settings = dict(data=str(shapes_dataset), imgsz=64, batch=4, plots=False, verbose=False, project=str(tmp_path))
    ours, exported = YOLO(checkpoints["detect"]).val(**settings), YOLO(path).val(**settings)
    assert abs(ours.box.map - exported.box.map) < 1e-3 and abs(ours.box.map50 - exported.box.map50) < 1e-3


def write_class_folders(root, per_class: int = 2):
    """A two-class folder dataset (train/ and val/, classes square and disc) of flat grey images; returns root."""
    import cv2

    generator = np.random.default_rng(0)
    for split in ("train", "val"):
        for index, name in enumerate(("square", "disc")):
            folder = root / split / name
            folder.mkdir(parents=True)
            for k in range(per_class):
                image = np.full((40, 48, 3), 60 + 100 * index + k, np.uint8) + generator.integers(0, 20, (40, 48, 3),
                                                                                                  dtype=np.uint8)
                cv2.imwrite(str(folder / f"{k}.png"), image)
    return root


def test_classify_val_through_torchscript(checkpoints, tmp_path):
    write_class_folders(tmp_path / "data")
    path = export_of(checkpoints, "classify", format="torchscript", imgsz=64)
    settings = dict(data=str(tmp_path / "data"), imgsz=64, batch=2, plots=False, verbose=False,
                    project=str(tmp_path / "runs"))
    assert YOLO(path).val(**settings).top1 == YOLO(checkpoints["classify"]).val(**settings).top1


@pytest.mark.parametrize("format", ["onnx", "openvino"])
@pytest.mark.parametrize("task", ["detect", "segment"])
def test_nms_in_graph_equals_python_nms(checkpoints, format, task):
    path = export_of(checkpoints, task, format=format, imgsz=64, dynamic=True, nms=True, conf=0.3, iou=0.5,
                                          max_det=50)
    backend = YOLO(path).backend(Config(mode="predict"))
    for batch in (1, 3):
        images = torch.rand(batch, 3, 64, 96, generator=torch.Generator().manual_seed(batch))
        rows = backend.runner(images)[0]  # (B, max_det, 6 + nm) straight from the file
        assert rows.shape[:2] == (batch, 50)
        decoded = eager(checkpoints[task], images)
        decoded = decoded[0] if task == "segment" else decoded
        expected = non_max_suppression(decoded, 0.3, 0.5, max_det=50, num_masks=decoded.shape[1] - 6)
        assert sum(len(found) for found in expected) > batch  # several boxes per image: the NMS has work to do
        for found, image_rows in zip(expected, rows):
            same_rows(image_rows[:len(found)], found)
            assert not image_rows[len(found):].any()


def test_nms_export_predicts_through_the_same_api(checkpoints, shapes_dataset):
    path = export_of(checkpoints, "detect", format="onnx", imgsz=64, dynamic=True, nms=True, conf=0.3)
    sources = [str(file) for file in shapes_images(shapes_dataset)]
    ours = YOLO(checkpoints["detect"]).predict(sources, imgsz=64, conf=0.3, verbose=False)
    exported = YOLO(path).predict(sources, imgsz=64, conf=0.3, verbose=False)
    for a, b in zip(ours, exported):
        same_rows(b.boxes.data, a.boxes.data)


@pytest.mark.parametrize("settings, message", [
    ({"format": "onxx"}, "Did you mean 'onnx'"),
    ({"format": "engine"}, "does not write"),
    ({"format": "onnx", "half": True, "device": "cpu"}, "CUDA only"),
    ({"format": "openvino", "int8": True}, "pass data="),
    ({"format": "torchscript", "int8": True, "data": "x.yaml"}, "TorchScript is exported in float"),
    ({"format": "torchscript", "nms": True}, "nms=True puts NMS inside ONNX"),
])
def test_clear_errors(checkpoints, settings, message):
    with pytest.raises(ValueError, match=message):
        export_of(checkpoints, "detect", **settings)


def test_nms_refused_for_classify(checkpoints):
    with pytest.raises(ValueError, match="detect and segment"):
        export_of(checkpoints, "classify", format="onnx", nms=True)


def test_exported_file_refuses_torch_only_modes(checkpoints):
    model = YOLO(export_of(checkpoints, "detect", format="onnx", imgsz=64))
    for action in (model.train, model.export, model.info):
        with pytest.raises(ValueError, match="needs a PyTorch model"):
            action()


def test_export_settings_are_real_and_others_still_refused():
    config = Config(mode="export", format="onnx", dynamic=True, simplify=False, opset=12, nms=True, int8=False)
    assert (config.format, config.dynamic, config.opset) == ("onnx", True, 12)
    with pytest.raises(ConfigError, match="does not support"):
        Config(mode="export", workspace=4)


def test_cli_export_prints_the_path(checkpoints, capsys):
    assert run(["export", f"model={checkpoints['detect']}", "format=onnx", "imgsz=64", "simplify=False"]) == 0
    assert capsys.readouterr().out.strip().endswith("detect.onnx")
    assert run(["export", f"model={checkpoints['detect']}", "format=tflite"]) == 1
    assert "does not write" in capsys.readouterr().err


def test_file_backend_is_a_backend(checkpoints):
    backend = YOLO(export_of(checkpoints, "detect", format="onnx", imgsz=64)).backend(Config(mode="predict"))
    assert isinstance(backend, FileBackend)
    assert (backend.task, backend.stride, backend.num_classes, backend.fp16, backend.augment) == ("detect", 32, 2,
                                                                                                   False, False)


def test_export_and_benchmark_help_list_their_settings(capsys, tmp_path, monkeypatch):
    from yolo8.checkpoints import load

    monkeypatch.setattr(load, "SHIPPED_WEIGHTS_DIR", tmp_path)  # else benchmark without model= runs the shipped one
    assert run(["export", "help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {key} " in out for key in ("format", "dynamic", "simplify", "opset", "nms", "int8", "fraction"))
    assert run(["benchmark", "help"]) == 0
    assert "  data " in capsys.readouterr().out
    assert run(["benchmark"]) == 1  # no model: one line naming model=
    assert "needs model=" in capsys.readouterr().err


def test_a_pt_run_as_a_static_file_validates_like_the_static_export(checkpoints, shapes_dataset, tmp_path):
    """The FP32 side of an INT8 report of a static file: the .pt through the file's letterboxing scores as the file."""
    from yolo8.runtime.backend import TorchBackend
    from yolo8.runtime.fixed_input import FixedShapeBackend
    from yolo8.val.validator import validate_model

    path = export_of(checkpoints, "detect", format="onnx", imgsz=64)
    settings = dict(data=str(shapes_dataset), imgsz=64, batch=4, plots=False, verbose=False, project=str(tmp_path))
    model = YOLO(checkpoints["detect"])
    backend = FixedShapeBackend(TorchBackend(model.model, torch.device("cpu")), (64, 64), 1)
    ours = validate_model(model.model, Config(settings, mode="val"), backend=backend)
    exported = YOLO(path).val(**settings)
    assert ours.box.map50 > 0 or exported.box.map50 == 0
    assert abs(ours.box.map - exported.box.map) < 1e-3 and abs(ours.box.map50 - exported.box.map50) < 1e-3


def test_a_static_export_validates_on_images_letterboxed_to_its_size_once(checkpoints, shapes_dataset, tmp_path,
                                                                          caplog):
    """Val's rect batches are padded by half a stride (64 -> 96 here): letterboxing those again into a static file's
    64x64 input shrank every image. A static file's val letterboxes each image straight to its size instead."""
    from yolo8.runtime.backend import TorchBackend
    from yolo8.runtime.fixed_input import FixedShapeBackend
    from yolo8.tasks import task_spec

    path = export_of(checkpoints, "detect", format="onnx", imgsz=64)
    settings = dict(data=str(shapes_dataset), imgsz=64, batch=4, plots=False, verbose=False, project=str(tmp_path))
    backend = YOLO(path).backend(Config(settings, mode="val"))
    assert backend.fixed_input == (64, 64)
    loader = task_spec("detect").evaluation_data(Config(settings, mode="val"), backend).loader
    assert {tuple(batch.images.shape[2:]) for batch in loader} == {(64, 64)}
    with caplog.at_level("INFO", logger="yolo8"):
        exported = YOLO(path).val(**settings)
    assert not any("letterboxed to it" in record.message for record in caplog.records)
    model = YOLO(checkpoints["detect"])  # the .pt preprocessed the same way scores the same
    from yolo8.val.validator import validate_model

    eager = validate_model(model.model, Config(settings, mode="val"),
                           backend=FixedShapeBackend(TorchBackend(model.model, torch.device("cpu")), (64, 64), 1))
    assert abs(eager.box.map - exported.box.map) < 1e-3 and abs(eager.box.map50 - exported.box.map50) < 1e-3


def test_metadata_of_other_exporters_is_read_as_literals_never_code():
    from yolo8.runtime.export_metadata import ExportMetadata

    foreign = {"task": "detect", "names": "{0: 'person', 1: 'bicycle'}", "stride": "32", "imgsz": "[64, 64]",
               "batch": "1", "args": "{'dynamic': True, 'nms': None, 'batch': 1}", "author": "someone"}
    metadata = ExportMetadata.from_mapping(foreign, "their.onnx")
    assert (metadata.names, metadata.imgsz, metadata.dynamic, metadata.producer) == ({0: "person", 1: "bicycle"},
                                                                                      (64, 64), True, "")
    with pytest.raises(ValueError, match="class names"):  # a call is not a literal: refused, not evaluated
        ExportMetadata.from_mapping({**foreign, "names": "{0: __import__('os').getcwd()}"}, "their.onnx")
    with pytest.raises(ValueError, match="another tool with NMS inside"):
        ExportMetadata.from_mapping({**foreign, "args": "{'nms': True}"}, "their.onnx")


def test_another_tools_export_of_an_unknown_task_is_refused_at_load(checkpoints, tmp_path):
    import onnx

    model = onnx.load(str(export_of(checkpoints, "detect", format="onnx")))
    for prop in model.metadata_props:
        if prop.key == "task":
            prop.value = "pose"
    path = tmp_path / "pose.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ValueError, match=r"pose\.onnx: task 'pose' is not available"):
        YOLO(path)


def test_a_cuda_device_without_onnxruntime_gpu_runs_on_the_cpu_and_says_so(checkpoints, caplog):
    from yolo8.runtime.file_backends import OnnxRunner

    path = export_of(checkpoints, "detect", format="onnx")
    with caplog.at_level("WARNING", logger="yolo8"):
        runner = OnnxRunner(path, torch.device("cuda", 0))
    assert runner.session.get_providers()[-1] == "CPUExecutionProvider"
    if "CUDAExecutionProvider" not in runner.session.get_providers():
        assert any("onnxruntime-gpu" in record.message for record in caplog.records)


@pytest.mark.parametrize("format", ["onnx", "openvino"])
def test_exported_models_track_through_the_same_predictor(checkpoints, format):
    exported = YOLO(export_of(checkpoints, "detect", format=format, dynamic=True))
    eager = YOLO(checkpoints["detect"])
    frames = [np.random.default_rng(k).integers(0, 255, (96, 128, 3), dtype=np.uint8) for k in range(3)]
    tracked = 0
    for frame in frames:
        mine = exported.track(frame, persist=True, imgsz=64, conf=0.01, tracker="bytetrack.yaml", verbose=False)[0]
        reference = eager.track(frame, persist=True, imgsz=64, conf=0.01, tracker="bytetrack.yaml", verbose=False)[0]
        assert mine.boxes.is_track == reference.boxes.is_track
        if reference.boxes.is_track:  # the same detections give the same tracks, ids included
            assert mine.boxes.id.tolist() == reference.boxes.id.tolist()
            torch.testing.assert_close(mine.boxes.xyxy, reference.boxes.xyxy, atol=BOX_ATOL * 10, rtol=1e-4)
            tracked += len(mine.boxes)
    assert tracked > 0
