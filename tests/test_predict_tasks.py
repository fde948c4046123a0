"""Prediction for segmentation and classification: a stub segmenter with known masks (exact placement
through the letterbox), the Ultralytics fixture checkpoints end to end against the incumbent's recorded
outputs (tests/fixtures/make_ul_predict_reference.py), saved files, and the CLI."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from tests.tolerance import assert_close_to_scale, assert_detections_close
from yolo8.api import YOLO
from yolo8.cli import run
from yolo8.config import Config
from yolo8.data.transforms.classify import classification_input
from yolo8.ops.letterbox import LetterboxInfo
from yolo8.ops.masks import masks_from_letterbox
from yolo8.predict.predictor import predict

FIXTURES = Path(__file__).parent / "fixtures"
SEG_CHECKPOINT = FIXTURES / "ul_yolov8n-seg_rand.pt"
CLS_CHECKPOINT = FIXTURES / "ul_yolov8n-cls_rand.pt"
SAMPLE = Path(__file__).parents[1] / "yolo8" / "assets" / "shapes1.jpg"
RED_BGR = (0, 0, 255)



class SharedList(list):
    """A list that model copies share: predict runs a copy of the model, the test reads the original."""

    def __deepcopy__(self, memo):
        return self

class RedMaskModel(nn.Module):
    """A stand-in segmenter (nc=1, nm=1) following the model convention: eval forward on (B, 3, H, W)
    RGB [0, 1] returns ((decoded (B, 4 + 1 + 1, A), prototypes (B, 1, H/4, W/4)), raw).

    Anchor 0: the box around the pure-red pixels, score 0.9, coefficient +1 on a prototype that is +10
    everywhere, so its mask is exactly its box. Anchor 1: a 10-pixel box at the top-left corner, score
    0.8, coefficient -1: an empty mask, which prediction drops.
    """

    def __init__(self):
        super().__init__()
        self.names = {0: "blob"}
        self.task = "segment"
        self.register_buffer("stride", torch.tensor([8.0, 16.0, 32.0]), persistent=False)

    def forward(self, images):
        batch, _, height, width = images.shape
        decoded = torch.zeros(batch, 6, 2)
        decoded[:, :4, 1] = torch.tensor([5.0, 5.0, 10.0, 10.0])
        decoded[:, 4, 1], decoded[:, 5, 1] = 0.8, -1.0
        for index, image in enumerate(images.float()):
            red = (image[0] > 0.9) & (image[1] < 0.1) & (image[2] < 0.1)  # RGB order
            rows, columns = torch.nonzero(red, as_tuple=True)
            x1, x2 = columns.min().item(), columns.max().item() + 1
            y1, y2 = rows.min().item(), rows.max().item() + 1
            decoded[index, :4, 0] = torch.tensor([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])
            decoded[index, 4, 0], decoded[index, 5, 0] = 0.9, 1.0
        prototypes = torch.full((batch, 1, height // 4, width // 4), 10.0)
        return (decoded, prototypes), "raw"


def scene(height, width, box):
    image = np.full((height, width, 3), 90, np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = RED_BGR
    return image


def settings(tmp_path, **overrides):
    return Config({"mode": "predict", "imgsz": 160, "save": False, "verbose": False,
                   "project": str(tmp_path / "runs"), **overrides})


@pytest.mark.parametrize(
    "shape, box",
    [
        ((240, 320), (40, 80, 120, 200)),  # 160 x 120 input, 4 rows of padding at the top
        ((320, 240), (10, 30, 90, 310)),  # 120 x 160 input, 4 columns of padding at the left
    ],
)
def test_stub_masks_land_exactly_on_the_original_image(tmp_path, shape, box):
    image = scene(*shape, box)
    result = predict(RedMaskModel(), image, settings(tmp_path, save=True, save_txt=True))[0]
    assert len(result) == 1  # the empty-mask detection is gone
    assert result.boxes.xyxy.tolist() == [list(map(float, box))]
    assert result.masks.data.shape == (1, *shape) and result.masks.data.dtype == torch.bool
    red = np.all(image == RED_BGR, axis=2)
    np.testing.assert_array_equal(result.masks.data[0].numpy(), red)
    x1, y1, x2, y2 = box
    corners = [(x1, y1), (x1, y2 - 1), (x2 - 1, y1), (x2 - 1, y2 - 1)]
    assert sorted(map(tuple, result.masks.xy[0].tolist())) == sorted(corners)
    label = Path(tmp_path / "runs" / "predict" / "labels" / "image0.txt").read_text().split()
    assert label[0] == "0" and len(label) == 9
    height, width = shape
    polygon = np.array(label[1:], dtype=float).reshape(-1, 2)
    expected = sorted((x / width, y / height) for x, y in corners)
    np.testing.assert_allclose(sorted(map(tuple, polygon)), expected, atol=1e-6)
    annotated = cv2.imread(str(tmp_path / "runs" / "predict" / "image0.jpg"))
    inside = annotated[y1 + 10 : y2 - 10, x1 + 10 : x2 - 10].astype(int)
    assert np.abs(inside - np.array(RED_BGR)).max() > 40  # the translucent mask tinted the red region


@pytest.fixture(scope="module")
def reference():
    return np.load(FIXTURES / "ul_predict_reference.npz")


@pytest.fixture(scope="module")
def segmenter():
    return YOLO(SEG_CHECKPOINT)


@pytest.fixture(scope="module")
def classifier():
    return YOLO(CLS_CHECKPOINT)


def test_segmentation_checkpoint_matches_the_incumbent(segmenter, reference, tmp_path):
    result = segmenter.predict(str(SAMPLE), imgsz=160, conf=0.001, max_det=20, verbose=False,
                               save=True, save_txt=True, project=str(tmp_path), name="seg")[0]
    expected_boxes = reference["seg_boxes_160"]
    assert len(result) == len(expected_boxes) == 20
    # boxes within 1e-4 x 320 px (measured 7e-4 px), confidences from their logits' 1e-4, classes exact
    assert_detections_close(result.boxes.data, expected_boxes)
    # the incumbent returns masks at the 160 x 160 input; shapes1 (320 x 320) letterboxed at ratio 0.5, no padding
    packed = reference["seg_masks_160_packed"]
    theirs = torch.from_numpy(np.unpackbits(packed, axis=-1)[..., :160].astype(bool))
    theirs = masks_from_letterbox(theirs, LetterboxInfo((0.5, 0.5), (0.0, 0.0)), (320, 320))
    ours = result.masks.data
    assert ours.shape == (20, 320, 320) and ours.dtype == torch.bool
    differing = (ours != theirs).sum().item()
    assert differing <= 1e-4 * theirs.sum().item()  # measured: 12 of 1.2 million mask pixels (float noise)
    labels = (tmp_path / "seg" / "labels" / "shapes1.txt").read_text().splitlines()
    assert 0 < len(labels) <= 20
    for line in labels:
        class_id, *coordinates = line.split()
        assert int(class_id) in segmenter.names and len(coordinates) % 2 == 0 and len(coordinates) >= 2
        assert all(0.0 <= float(value) <= 1.0 for value in coordinates)
    assert cv2.imread(str(tmp_path / "seg" / "shapes1.jpg")).shape == (320, 320, 3)


def test_classification_checkpoint_matches_the_incumbent(classifier, reference, tmp_path):
    result = classifier.predict(str(SAMPLE), imgsz=224, verbose=False, save=True, save_txt=True,
                                project=str(tmp_path), name="cls")[0]
    # 1000 softmax probabilities within 1e-4 x the largest (2.9e-7; measured 1.4e-9)
    assert_close_to_scale(result.probs.data, reference["cls_probs_224"], axis_names=("class",), name="probs at 224")
    assert len(result) == 1000 and result.boxes is None and result.masks is None
    expected_top5 = np.argsort(-reference["cls_probs_224"], kind="stable")[:5].tolist()
    assert result.probs.top5 == expected_top5 and result.probs.top1 == expected_top5[0]
    lines = (tmp_path / "cls" / "labels" / "shapes1.txt").read_text().splitlines()
    probs = reference["cls_probs_224"]
    assert lines == [f"{probs[c]:.2f} {classifier.names[c]}" for c in expected_top5]
    annotated = cv2.imread(str(tmp_path / "cls" / "shapes1.jpg"))
    assert annotated.shape == (320, 320, 3) and not np.array_equal(annotated, cv2.imread(str(SAMPLE)))
    # a [height, width] size resizes to it without keeping the aspect ratio, as the incumbent does
    pair = classifier.predict(str(SAMPLE), imgsz=[96, 128], verbose=False)[0]
    assert_close_to_scale(pair.probs.data, reference["cls_probs_96x128"], axis_names=("class",), name="probs at 96x128")


def test_classification_input_resizes_the_short_side_and_crops_the_centre():
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, 16:64] = (255, 0, 0)  # blue middle in BGR
    # 40 x 80 -> 20 x 40 (blue columns 8-31, edges softened by the antialiasing) -> centre 20 x 20 = columns 10-29
    out = classification_input(image, 20)
    assert out.shape == (20, 20, 3)
    assert (out == (255, 0, 0)).all()
    stretched = classification_input(image, (10, 40))  # 40 x 80 -> 10 x 40 directly
    assert stretched.shape == (10, 40, 3)
    assert (stretched[:, 10:30] == (255, 0, 0)).all() and (stretched[:, :6] == 0).all()


class MeanColourClassifier(nn.Module):
    """A stand-in classifier (3 classes: red, green, blue) whose probabilities are the input's mean RGB,
    normalised; records the input shapes. Eval forward returns (probs (B, 3), logits)."""

    def __init__(self):
        super().__init__()
        self.names = {0: "red", 1: "green", 2: "blue"}
        self.task = "classify"
        self.register_buffer("stride", torch.tensor([32.0]), persistent=False)
        self.input_shapes = SharedList()

    def forward(self, images):
        self.input_shapes.append(tuple(images.shape))
        means = images.float().mean(dim=(2, 3))  # (B, 3, H, W) -> (B, 3) RGB
        return means / means.sum(dim=1, keepdim=True), means


def test_stub_classifier_sees_rgb_centre_crops_batched_in_order(tmp_path):
    red, blue = np.zeros((40, 60, 3), np.uint8), np.zeros((90, 30, 3), np.uint8)
    red[:, :, 2] = 200
    red[:, :5, 1] = 255  # green strip outside the centre crop (40 x 60 -> 32 x 48, crop columns 8-39)
    blue[:, :, 0] = 100
    model = MeanColourClassifier()
    results = predict(model, [red, blue], settings(tmp_path, imgsz=32), batch_size=2)
    assert model.input_shapes == [(2, 3, 32, 32)]  # different originals, one shape after the crop
    assert [r.probs.top1 for r in results] == [0, 2]
    assert results[0].probs.data.tolist() == pytest.approx([1.0, 0.0, 0.0])
    assert [r.orig_shape for r in results] == [(40, 60), (90, 30)]


def test_cli_predict_segmentation_writes_outputs(tmp_path, capsys):
    code = run(["predict", f"model={SEG_CHECKPOINT}", f"source={SAMPLE}", f"project={tmp_path}", "name=cli",
                "imgsz=128", "max_det=3", "save_txt=True"])
    assert code == 0
    run_dir = tmp_path / "cli"
    assert cv2.imread(str(run_dir / "shapes1.jpg")).shape == (320, 320, 3)
    labels = (run_dir / "labels" / "shapes1.txt").read_text().splitlines()
    assert 1 <= len(labels) <= 3
    assert f"Results saved to {run_dir}" in capsys.readouterr().out
