"""The built-in weights shipped in ``yolo8/weights/``: safe to load, scored as recorded on the built-in val set,
and good enough that the first run shows objects found (``tools/make_builtin_weights.py`` makes them)."""

import json

import pytest
import torch

from yolo8 import YOLO
from yolo8.checkpoints.load import shipped_weights
from yolo8.data.synthetic import found_sample_objects, sample_images
from yolo8.tasks import TASKS

SHIPPED = [spec for spec in TASKS.values() if spec.builtin_weights]

# Fixed from what the shipped files score (their .json records), a little below it so that another CPU's rounding
# cannot fail them, far above what an untrained or broken model finds (0).
MIN_SAMPLE_OBJECTS_FOUND = {"detect": 10, "segment": 8}  # of the samples' 17 objects at conf 0.25 (shipped: 11, 9)
MIN_SAMPLE_CROPS_CORRECT = {"classify": 14}  # of the 17 crops of those objects, top-1 (shipped: 15)


def record_of(spec) -> dict:
    return json.loads(shipped_weights(spec.builtin_weights).with_suffix(".json").read_text())


def test_every_model_task_ships_built_in_weights():
    assert {spec.name for spec in SHIPPED} == set(TASKS)
    for spec in SHIPPED:
        assert shipped_weights(spec.builtin_weights) is not None, f"yolo8/weights/{spec.builtin_weights} is missing"


@pytest.mark.parametrize("spec", SHIPPED, ids=lambda spec: spec.name)
def test_shipped_checkpoint_is_small_float16_and_loads_with_weights_only(spec):
    path = shipped_weights(spec.builtin_weights)
    assert path.stat().st_size < 8e6
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # raises on anything but tensors and data
    floats = [value for value in checkpoint["state_dict"].values() if value.is_floating_point()]
    assert floats and all(value.dtype == torch.float16 for value in floats)
    assert YOLO(spec.builtin_weights).model.task == spec.name


@pytest.mark.parametrize("spec", SHIPPED, ids=lambda spec: spec.name)
def test_recorded_scores_match_a_fresh_val_on_the_built_in_set(spec):
    recorded = record_of(spec)["val"]
    metrics = YOLO(spec.builtin_weights).val(plots=False, verbose=False).results_dict
    assert recorded.keys() == metrics.keys()
    for key, value in recorded.items():
        assert metrics[key] == pytest.approx(value, abs=1e-3), key


@pytest.mark.parametrize("spec", [spec for spec in SHIPPED if spec.name in MIN_SAMPLE_OBJECTS_FOUND],
                         ids=lambda spec: spec.name)
def test_predict_default_finds_the_sample_objects(spec):
    model = YOLO(spec.builtin_weights)
    found = 0
    for path in sample_images():
        result = model.predict(str(path), verbose=False)[0]  # the default conf 0.25
        found += found_sample_objects(path.name, result.boxes.xyxy, result.boxes.cls)[0]
        if result.masks is not None:
            assert len(result.masks.data) == len(result.boxes)
    assert found >= MIN_SAMPLE_OBJECTS_FOUND[spec.name]


@pytest.mark.parametrize("spec", [spec for spec in SHIPPED if spec.name in MIN_SAMPLE_CROPS_CORRECT],
                         ids=lambda spec: spec.name)
def test_classifier_names_the_sample_crops(spec):
    from yolo8.data.crops import sample_crop_class, sample_crops

    model = YOLO(spec.builtin_weights)
    crops = sample_crops()
    correct = sum(result.names[int(result.probs.top1)] == sample_crop_class(result.path)
                  for result in model.predict([str(path) for path in crops], verbose=False))
    assert correct >= MIN_SAMPLE_CROPS_CORRECT[spec.name]
