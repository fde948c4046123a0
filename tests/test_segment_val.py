"""Segmentation validation: polygon rasterisation, mask AP against pycocotools' COCOeval (segm), the
validator end to end with a stub segmenter that reproduces the ground-truth masks, the fixture
YOLOv8n-seg checkpoint and the CLI."""

import contextlib
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from yolo8.config import Config
from yolo8.metrics.segmentation import MaskMetrics, mask_iou, polygon_to_mask, polygons_to_masks

mask_api = pytest.importorskip("pycocotools.mask")
coco_module = pytest.importorskip("pycocotools.coco")
cocoeval_module = pytest.importorskip("pycocotools.cocoeval")

FIXTURES = Path(__file__).parent / "fixtures"
SEG_CHECKPOINT = FIXTURES / "ul_yolov8n-seg_rand.pt"


def encode(mask):
    rle = mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def cocoeval_segm(images, num_classes):
    """images: dicts with pred_masks (N, H, W), pred_scores, pred_classes, gt_masks (M, H, W), gt_classes, image_id."""
    annotations, results = [], []
    for image in images:
        for mask, cls in zip(image["gt_masks"], image["gt_classes"]):
            annotations.append(dict(id=len(annotations) + 1, image_id=image["image_id"], category_id=int(cls),
                                    segmentation=encode(mask), area=float(mask.sum()), iscrowd=0,
                                    bbox=[0.0, 0.0, 1.0, 1.0]))
        for mask, score, cls in zip(image["pred_masks"], image["pred_scores"], image["pred_classes"]):
            results.append(dict(image_id=image["image_id"], category_id=int(cls), segmentation=encode(mask),
                                score=float(score)))
    height, width = images[0]["gt_masks"].shape[1:]
    truth = coco_module.COCO()
    truth.dataset = dict(images=[dict(id=image["image_id"], height=height, width=width) for image in images],
                         annotations=annotations, categories=[dict(id=k) for k in range(num_classes)])
    with contextlib.redirect_stdout(io.StringIO()):
        truth.createIndex()
        evaluator = cocoeval_module.COCOeval(truth, truth.loadRes(results), "segm")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def random_blob(rng, height, width):
    """A random polygon's mask, sometimes an ellipse: small and medium COCO areas."""
    if rng.random() < 0.3:
        mask = np.zeros((height, width), np.uint8)
        centre = tuple(int(v) for v in rng.integers(4, (width - 4, height - 4)))
        axes = tuple(int(v) for v in rng.integers(2, 30, 2))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        return mask.astype(bool)
    count = int(rng.integers(3, 8))
    centre = rng.uniform((4, 4), (width - 4, height - 4))
    angles = np.sort(rng.uniform(0, 2 * np.pi, count))
    radius = rng.uniform(1, 30, count)
    points = np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], 1)
    return polygon_to_mask(points, height, width)


def perturbed(rng, mask):
    """A prediction near ``mask``: shifted by up to 2 pixels and grown or shrunk a little."""
    shifted = np.roll(mask, tuple(int(v) for v in rng.integers(-2, 3, 2)), axis=(0, 1))
    kernel = np.ones((3, 3), np.uint8)
    operation = rng.integers(3)
    if operation == 1:
        shifted = cv2.dilate(shifted.astype(np.uint8), kernel).astype(bool)
    elif operation == 2:
        shifted = cv2.erode(shifted.astype(np.uint8), kernel).astype(bool)
    return shifted


def random_case(seed, num_images=4, num_classes=3, height=96, width=128):
    rng = np.random.default_rng(seed)
    images = []
    for image_id in range(num_images):
        gt_count = int(rng.integers(0, 6))
        gt_masks = np.stack([random_blob(rng, height, width) for _ in range(gt_count)]) if gt_count else \
            np.zeros((0, height, width), bool)
        gt_masks = gt_masks[gt_masks.reshape(len(gt_masks), height * width).any(1)]
        gt_classes = rng.integers(0, num_classes, len(gt_masks))
        preds, classes = [], []
        for mask, cls in zip(gt_masks, gt_classes):
            for _ in range(int(rng.integers(0, 3))):
                preds.append(perturbed(rng, mask))
                classes.append(cls if rng.random() < 0.8 else rng.integers(num_classes))
        for _ in range(int(rng.integers(0, 4))):  # false positives
            preds.append(random_blob(rng, height, width))
            classes.append(rng.integers(num_classes))
        keep = [i for i, mask in enumerate(preds) if mask.any()]  # COCO results need a non-empty mask
        pred_masks = np.stack([preds[i] for i in keep]) if keep else np.zeros((0, height, width), bool)
        scores = np.round(rng.uniform(0.05, 1.0, len(keep)), 2)  # rounded: some equal scores
        images.append(dict(pred_masks=pred_masks, pred_scores=scores,
                           pred_classes=np.array([classes[i] for i in keep], np.int64),
                           gt_masks=gt_masks, gt_classes=gt_classes, image_id=image_id + 1))
    return images


def ours(images, num_classes):
    metrics = MaskMetrics(num_classes, {k: str(k) for k in range(num_classes)})
    for image in images:
        pred, truth = torch.from_numpy(image["pred_masks"]), torch.from_numpy(image["gt_masks"])
        metrics.update(mask_iou(pred, truth), pred.flatten(1).sum(1), image["pred_scores"], image["pred_classes"],
                       truth.flatten(1).sum(1), image["gt_classes"], image_id=image["image_id"])
    return metrics


def test_polygon_rasterisation_takes_pixel_centres():
    square = polygon_to_mask(np.array([[2, 3], [6, 3], [6, 8], [2, 8]]), 10, 10)
    expected = np.zeros((10, 10), bool)
    expected[3:8, 2:6] = True
    np.testing.assert_array_equal(square, expected)
    shifted = polygon_to_mask(np.array([[2.6, 3.4], [6.6, 3.4], [6.6, 8.4], [2.6, 8.4]]), 10, 10)
    np.testing.assert_array_equal(shifted, np.roll(expected, 1, axis=1))  # centres 3.5 .. 6.5 inside
    triangle = polygon_to_mask(np.array([[0, 0], [4, 0], [0, 4]]), 4, 4)
    # centre (c + .5, r + .5) inside when c + r + 1 < 4; centres on the hypotenuse are on a right edge: out
    np.testing.assert_array_equal(triangle, np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], bool))
    clipped = polygons_to_masks([np.array([[-5.0, -5.0], [3.0, -5.0], [3.0, 2.0], [-5.0, 2.0]])], 4, 4)
    assert clipped.shape == (1, 4, 4) and clipped.sum() == 6


def test_polygon_rasterisation_close_to_pycocotools():
    rng = np.random.default_rng(1)
    differing = total = 0
    for _ in range(40):
        count = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0, 2 * np.pi, count))
        radius = rng.uniform(3, 12, count)
        points = np.stack([25 + radius * np.cos(angles), 20 + radius * np.sin(angles)], 1)
        mask = polygon_to_mask(points, 40, 50)
        reference = mask_api.decode(mask_api.frPyObjects([points.ravel().tolist()], 40, 50))[:, :, 0].astype(bool)
        differing += int((mask != reference).sum())
        total += int(reference.sum())
    assert differing / total < 0.04  # boundary pixels only: COCO scan-converts at 5x and rounds


def test_mask_iou_matrix():
    a = torch.zeros(2, 4, 4, dtype=torch.bool)
    a[0, :2, :2] = True  # 4 pixels
    b = torch.zeros(3, 4, 4, dtype=torch.bool)
    b[0, :2, :] = True  # 8 pixels, 4 shared with a[0]
    b[1] = True
    iou = mask_iou(a, b)
    assert iou.dtype == torch.float64 and iou.shape == (2, 3)
    np.testing.assert_allclose(iou.numpy(), [[0.5, 0.25, 0.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("seed", range(6))
def test_mask_ap_equals_cocoeval_segm(seed):
    images = random_case(seed)
    evaluator = cocoeval_segm(images, 3)
    summary = ours(images, 3).compute()
    got = [summary.map, summary.map50, summary.map75, summary.map_small, summary.map_medium, summary.map_large,
           summary.ar1, summary.ar10, summary.ar100, summary.ar_small, summary.ar_medium, summary.ar_large]
    np.testing.assert_allclose(got, evaluator.stats, atol=1e-4)  # all 12: six AP then six AR
    precision = evaluator.eval["precision"][:, :, :, :, 2]  # (T, R, K, A) at maxDets 100
    np.testing.assert_allclose(summary.coco_precision, precision, atol=1e-4)
    recall = evaluator.eval["recall"].transpose(3, 0, 1, 2)  # (T, K, A, M) -> (M, T, K, A)
    np.testing.assert_allclose(ours(images, 3).coco_tables().recall_at_max_dets, recall, atol=1e-4)


# --- the validator end to end -------------------------------------------------------------------------

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)  # RGB


def write_polygon_dataset(root: Path, images: int = 6, seed: int = 0, size=(64, 64), names=("rect", "tri")) -> Path:
    """64 x 64 pictures, each with a red rectangle (class 0, left half) and a right triangle (class 1,
    right half: legs along the top and left sides of its w x (w + 1) box; box painted green, triangle blue).
    Labels are polygons with vertices on whole pixels. Returns data.yaml."""
    rng = np.random.default_rng(seed)
    height, width = size
    for folder in ("images", "labels"):
        (root / folder / "val").mkdir(parents=True, exist_ok=True)
    for index in range(images):
        image = np.full((height, width, 3), 100, np.uint8)  # RGB here, BGR on disk
        w, h = (int(v) for v in rng.integers(8, 20, 2))
        x, y = int(rng.integers(2, width // 2 - w - 1)), int(rng.integers(2, height - h - 2))
        image[y : y + h, x : x + w] = RED
        rows = [(0, [(x, y), (x + w, y), (x + w, y + h), (x, y + h)])]
        w = int(rng.integers(10, 20))
        h = w + 1  # no pixel centre lies on the hypotenuse (see the stub)
        x, y = int(rng.integers(width // 2 + 1, width - w - 1)), int(rng.integers(2, height - h - 2))
        triangle = [(x, y), (x + w, y), (x, y + h)]
        image[y : y + h, x : x + w] = GREEN
        image[polygon_to_mask(np.array(triangle, float), height, width)] = BLUE
        rows.append((1, triangle))
        cv2.imwrite(str(root / "images" / "val" / f"{index:03d}.png"), image[..., ::-1])
        text = "".join(f"{cls} " + " ".join(f"{px / width:.8f} {py / height:.8f}" for px, py in points) + "\n"
                       for cls, points in rows)
        (root / "labels" / "val" / f"{index:03d}.txt").write_text(text)
    data_yaml = root / "data.yaml"
    data_yaml.write_text(f"path: {root}\ntrain: images/val\nval: images/val\nnames: {list(names)}\n")
    return data_yaml


def colour_box(image, colours):
    """(x1, y1, x2, y2) input pixels around the pixels of any of ``colours`` in a (3, H, W) RGB [0, 1] image."""
    hit = torch.zeros(image.shape[1:], dtype=torch.bool)
    for colour in colours:
        hit |= (image.permute(1, 2, 0) == torch.tensor(colour, dtype=image.dtype) / 255).all(-1)  # (3,H,W)->(H,W,3)
    rows, columns = torch.nonzero(hit, as_tuple=True)
    return columns.min().item(), rows.min().item(), columns.max().item() + 1, rows.max().item() + 1


class PolygonStub(nn.Module):
    """A stand-in segmenter (nc=2, nm=3) following the eval convention: (B, 3, H, W) RGB [0, 1] ->
    ((decoded (B, 4 + 2 + 3, 3), prototypes (B, 3, H/4, W/4)), raw).

    Prototypes: 1 everywhere, the input column j and the input row i (as values at the cell centres,
    so bilinear upsampling reproduces them exactly), so a detection's mask logit is any affine
    function a + b j + c i. Anchor 0: the red box, class 0, score 0.9, logit +1 (mask = box).
    Anchor 1: the green/blue box, class 1, score 0.9, logit -1 (empty mask: a box hit, a mask miss).
    Anchor 2: the same box, class 1, score 0.8, logit > 0 exactly on the pixel centres inside the
    triangle: w h - h (j + 0.5 - x1) - w (i + 0.5 - y1) > 0.
    """

    def __init__(self):
        super().__init__()
        self.names = {0: "rect", 1: "tri"}
        self.num_classes = 2
        self.task = "segment"
        self.register_buffer("stride", torch.tensor([8.0, 16.0, 32.0]), persistent=False)

    def fuse(self):
        return self

    def forward(self, images):
        batch, _, height, width = images.shape
        decoded = torch.zeros(batch, 9, 3)
        for index, image in enumerate(images.float()):
            x1, y1, x2, y2 = colour_box(image, [RED])
            decoded[index, :, 0] = torch.tensor([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, 0.9, 0, 1, 0, 0])
            x1, y1, x2, y2 = colour_box(image, [GREEN, BLUE])
            w, h = x2 - x1, y2 - y1
            box = [(x1 + x2) / 2, (y1 + y2) / 2, w, h]
            decoded[index, :, 1] = torch.tensor([*box, 0, 0.9, -1, 0, 0])
            decoded[index, :, 2] = torch.tensor([*box, 0, 0.8, w * h + h * (x1 - 0.5) + w * (y1 - 0.5), -h, -w],
                                                dtype=torch.float64).float()
        cells_y, cells_x = torch.meshgrid(torch.arange(height // 4), torch.arange(width // 4), indexing="ij")
        prototypes = torch.stack([torch.ones(height // 4, width // 4), 4 * cells_x + 1.5, 4 * cells_y + 1.5])
        return (decoded, prototypes.expand(batch, -1, -1, -1).float()), "raw"


def val_config(tmp_path, data, **overrides):
    return Config({"mode": "val", "task": "segment", "data": str(data), "imgsz": 64, "batch": 4, "workers": 0,
                   "project": str(tmp_path / "runs"), "plots": False, **overrides})


def test_stub_segmenter_scores_exactly(tmp_path, caplog):
    from yolo8.val.validator import validate_model

    data = write_polygon_dataset(tmp_path / "data")
    with caplog.at_level("INFO", logger="yolo8"):
        # iou=1.0: the two class-1 detections share a box and must both survive NMS
        result = validate_model(PolygonStub(), val_config(tmp_path, data, iou=1.0, plots=True, save_json=True))
    box, seg = result.box, result.seg
    assert box.num_images == 6 and box.instances_per_class.tolist() == [6, 6]
    assert (box.map, box.map50, box.map75) == (1.0, 1.0, 1.0)  # the empty-mask decoys are correct boxes
    np.testing.assert_allclose(seg.ap_per_class, [1.0, 0.5])  # triangles: 6 misses ranked above 6 exact hits
    np.testing.assert_allclose([seg.map, seg.map50, seg.map75, seg.map_small], 0.75)
    assert (seg.map_medium, seg.map_large) == (-1.0, -1.0)
    assert result.fitness == pytest.approx(1.0 + 0.75)
    assert result.results_dict["metrics/mAP50-95(M)"] == pytest.approx(0.75)
    table = next(line for line in caplog.messages if "Mask(P" in line).splitlines()
    header = table[0].split()
    # a second COCO line per kind: AR1 AR10 AR100 small medium large; each triangle's miss outranks its
    # hit in the image, so mask AR1 = (rectangles 1 + triangles 0) / 2 while AR10 finds every hit
    assert "COCO box AR1 1.0000  AR10 1.0000  AR100 1.0000  small 1.0000  medium -1.0000  large -1.0000" in table
    assert "COCO mask AR1 0.5000  AR10 1.0000  AR100 1.0000  small 1.0000  medium -1.0000  large -1.0000" in table
    assert (seg.ar1, seg.ar10, seg.ar100, seg.ar_small) == (0.5, 1.0, 1.0, 1.0)
    assert header == ["Class", "Images", "Instances", "Box(P", "R", "mAP50", "mAP50-95)",
                      "Mask(P", "R", "mAP50", "mAP50-95)"]
    saved = {path.name for path in result.save_dir.iterdir()}
    assert {f"{kind}{curve}_curve.png" for kind in ("Box", "Mask") for curve in ("PR", "F1", "P", "R")} <= saved
    assert {"confusion_matrix.png", "confusion_matrix_normalized.png"} <= saved
    assert {"val_batch0_labels.jpg", "val_batch0_pred.jpg", "val_batch1_pred.jpg"} <= saved
    assert {"predictions.json", "ground_truth.json"} <= saved  # boxes only


def test_box_only_labels_are_refused(tmp_path):
    from tests.conftest import write_shapes_dataset
    from yolo8.val.validator import validate_model

    data = write_shapes_dataset(tmp_path / "boxes", images=2)
    with pytest.raises(ValueError, match="box-only labels"):
        validate_model(PolygonStub(), val_config(tmp_path, data))


def test_fixture_checkpoint_validates(tmp_path):
    from yolo8.api import YOLO

    data = write_polygon_dataset(tmp_path / "data", images=3, size=(60, 80), names=[f"c{k}" for k in range(80)])
    model = YOLO(SEG_CHECKPOINT)
    result = model.val(data=str(data), imgsz=64, batch=2, workers=0, project=str(tmp_path / "runs"), plots=False)
    for summary in (result.box, result.seg):
        assert summary.num_images == 3 and int(summary.instances_per_class.sum()) == 6
        values = [summary.map, summary.map50, summary.precision, summary.recall]
        assert all(np.isfinite(values)) and all(0.0 <= v <= 1.0 for v in values)
        assert summary.coco_precision.shape == (10, 101, 80, 4)
    assert set(result.speed) == {"preprocess", "inference", "postprocess"}


def test_cli_val_segmentation(tmp_path, capsys):
    from yolo8.cli import run

    data = write_polygon_dataset(tmp_path / "data", images=2, names=[f"c{k}" for k in range(80)])
    run(["val", f"model={SEG_CHECKPOINT}", f"data={data}", "imgsz=64", "workers=0", "plots=False",
         f"project={tmp_path / 'runs'}"])
    output = capsys.readouterr()
    text = output.out + output.err
    assert "Mask(P" in text and "Box(P" in text


def test_ground_truth_masks_follow_the_letterbox_back(tmp_path):
    """Polygons from the letterboxed batch, mapped back and rasterised, equal the label files rasterised
    at the original size (80 x 60 images letterboxed to 64: scaled by 0.8 and padded)."""
    from yolo8.data.build import evaluation_loader, resolve_data
    from yolo8.tasks.segment import ground_truth_masks

    data_yaml = write_polygon_dataset(tmp_path / "data", images=3, size=(60, 80))
    config = val_config(tmp_path, data_yaml)
    loader = evaluation_loader(resolve_data(str(data_yaml)), config, "val", 64, 2, 32, 0)
    checked = 0
    for batch in loader:
        height, width = batch.images.shape[2:]
        for i, path in enumerate(batch.paths):
            assert batch.letterbox[i].ratio == (0.8, 0.8) and batch.original_shapes[i] == (60, 80)
            masks = ground_truth_masks(batch, i, (height, width))
            rows = (Path(path).parents[2] / "labels" / "val" / (Path(path).stem + ".txt")).read_text().splitlines()
            polygons = [np.array(row.split()[1:], float).reshape(-1, 2) * (80, 60) for row in rows]
            np.testing.assert_array_equal(masks, polygons_to_masks(polygons, 60, 80))
            checked += 1
    assert checked == 3
