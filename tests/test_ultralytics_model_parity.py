"""Models built from the incumbent's checkpoints reproduce its recorded eval outputs.

Fixtures (tests/fixtures/README.md): ``ul_yolov8n*_rand.pt`` and ``reference_outputs.npz``. Tolerances are
in each output's units (tests/tolerance.py): boxes 1e-4 x the largest |box|, scores from their logits' 1e-4,
mask coefficients, prototypes and class probabilities 1e-4 x their largest |value|.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.tolerance import assert_close_to_scale, assert_decoded_close, close_to_scale_block
from yolo8.checkpoints.ultralytics_checkpoint import read_ultralytics_checkpoint
from yolo8.checkpoints.ultralytics_model import load_ultralytics_model, model_from_foreign_checkpoint

FIXTURES = Path(__file__).parent / "fixtures"
CASES = {  # stem -> (input prefix, input side, recorded arrays)
    "yolov8n_rand": ("det", 320, ["det_output"]),
    "yolov8n-seg_rand": ("seg", 320, ["seg_output", "seg_proto"]),
    "yolov8n-cls_rand": ("cls", 224, ["cls_probs"]),
}


pytestmark = pytest.mark.usefixtures("recording_thread_count")


@pytest.fixture(scope="module")
def reference():
    with np.load(FIXTURES / "reference_outputs.npz") as arrays:
        return {name: arrays[name] for name in arrays.files}


@pytest.fixture(scope="module")
def classify_checkpoint():
    """Read once; tests that change fields work on a ``dataclasses.replace`` copy."""
    return read_ultralytics_checkpoint(FIXTURES / "ul_yolov8n-cls_rand.pt")


def generated_input(prefix: str, side: int, reference: dict) -> torch.Tensor:
    torch.manual_seed(0)
    images = torch.rand(1, 3, side, side)
    # the incumbent's recorded input came from the same two calls; its bytes hash is in the fixture
    assert hashlib.sha256(images.numpy().tobytes()).hexdigest() == str(reference[f"{prefix}_input_sha256"])
    return images


@pytest.mark.parametrize("stem", list(CASES))
def test_outputs_match_incumbent(stem, reference):
    prefix, side, names = CASES[stem]
    model = load_ultralytics_model(FIXTURES / f"ul_{stem}.pt")
    assert not model.training and model.task == {"det": "detect", "seg": "segment", "cls": "classify"}[prefix]
    assert len(model.names) == (1000 if prefix == "cls" else 80)
    with torch.no_grad():
        decoded, _ = model(generated_input(prefix, side, reference))
    ours = list(decoded) if prefix == "seg" else [decoded]  # seg: (predictions, prototypes)
    for array, name in zip(ours, names):
        theirs = reference[name]
        assert array.shape == theirs.shape, name
        if name in ("det_output", "seg_output"):  # (1, 4 + 80 [+ 32], A)
            assert_decoded_close(array, theirs, num_classes=80, name=name)
        else:  # prototypes (1, 32, 80, 80), softmax probabilities (1, 1000)
            axes = ("batch", "prototype", "y", "x") if name == "seg_proto" else ("batch", "class")
            assert_close_to_scale(array, theirs, axis_names=axes, name=name)


def test_batchnorm_eps_from_checkpoint_is_applied(classify_checkpoint):
    checkpoint = dataclasses.replace(classify_checkpoint,
                                     batchnorm_eps={path: 0.25 for path in classify_checkpoint.batchnorm_eps})
    model = model_from_foreign_checkpoint(checkpoint)
    assert {m.eps for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {0.25}


def test_bare_state_dict_needs_and_accepts_an_architecture(tmp_path, reference, classify_checkpoint):
    path = tmp_path / "weights.pt"
    torch.save(classify_checkpoint.state_dict, path)
    with pytest.raises(ValueError, match="pass model_yaml="):
        load_ultralytics_model(path)
    model = load_ultralytics_model(path, model_yaml=classify_checkpoint.model_yaml)
    with torch.no_grad():
        probabilities, _ = model(generated_input("cls", 224, reference))
    assert_close_to_scale(probabilities, reference["cls_probs"], axis_names=("batch", "class"), name="cls_probs")


def test_swapped_top_two_class_probabilities_fail_the_check(reference):
    """The tolerance of the 1000 softmax probabilities (1e-4 x the largest, 3.6e-7) catches the two most
    likely classes swapped (3.7e-4 apart)."""
    model = load_ultralytics_model(FIXTURES / "ul_yolov8n-cls_rand.pt")
    with torch.no_grad():
        probabilities, _ = model(generated_input("cls", 224, reference))
    first, second = probabilities[0].topk(2).indices.tolist()
    swapped = probabilities.clone()
    swapped[0, [first, second]] = probabilities[0, [second, first]]
    tolerance = close_to_scale_block(reference["cls_probs"]).atol
    assert (probabilities[0, first] - probabilities[0, second]).item() > 100 * tolerance
    message = rf"cls_probs values: 2 of 1000 .*\n.*\[batch 0, class ({first}|{second})\]"
    with pytest.raises(AssertionError, match=message):
        assert_close_to_scale(swapped, reference["cls_probs"], axis_names=("batch", "class"), name="cls_probs")
