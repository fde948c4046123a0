"""A library call leaves its caller's process as it found it: thread count, random states, determinism flags,
the "yolo8" logger. What a run needs is set for the run only."""

import logging
import random

import numpy as np
import pytest
import torch

from yolo8 import YOLO
from yolo8.nn.model import build_model
from yolo8.runtime.console import console_logging
from yolo8.runtime.device import all_cores, available_cpus, seeded


def process_state():
    logger = logging.getLogger("yolo8")
    return {
        "threads": torch.get_num_threads(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "fill_uninitialized_memory": torch.utils.deterministic.fill_uninitialized_memory,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "python_random": random.getstate(),
        "numpy_random": np.random.get_state()[1].tolist(),
        "torch_random": torch.get_rng_state().tolist(),
        "logger": (list(logger.handlers), logger.propagate, logger.level),
    }


@pytest.fixture
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_seeded_sets_what_a_run_needs_and_restores_the_rest(one_thread):
    before = process_state()
    with seeded(3, deterministic=True):
        assert torch.are_deterministic_algorithms_enabled()
        # deterministic mode without its NaN-fill debugging aid (4% of a CPU training step)
        assert torch.utils.deterministic.fill_uninitialized_memory is False
        first = torch.rand(3)
    with seeded(3, deterministic=False):
        assert torch.equal(torch.rand(3), first)
    assert process_state() == before


def test_all_cores_gives_the_thread_count_back(one_thread):
    with all_cores() as cores:
        assert cores == available_cpus() == torch.get_num_threads()
    assert torch.get_num_threads() == 1


def test_console_logging_prints_during_the_call_only(capsys, monkeypatch):
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # an application that set up no logging (not pytest)
    logger = logging.getLogger("yolo8")
    before = (list(logger.handlers), logger.propagate, logger.level)
    with console_logging():
        logger.info("during the call")
    logger.info("after the call")
    assert capsys.readouterr().out == "during the call\n"
    assert (list(logger.handlers), logger.propagate, logger.level) == before


def test_an_application_that_set_up_logging_keeps_it(caplog):
    with caplog.at_level(logging.INFO):  # a handler on the root logger, as logging.basicConfig would add
        with console_logging():
            logging.getLogger("yolo8").info("routed to the application")
    assert "routed to the application" in caplog.messages
    assert not logging.getLogger("yolo8").handlers


def test_train_val_and_predict_leave_the_process_as_they_found_it(shapes_dataset, tiny_model_yaml, tmp_path,
                                                                  one_thread):
    network = build_model(tiny_model_yaml)  # (its random initialisation draws from torch's generator)
    before = process_state()
    model = YOLO(network)
    assert process_state() == before  # wrapping it attaches nothing
    model.train(data=str(shapes_dataset), epochs=1, imgsz=32, batch=4, workers=0, plots=False,
                project=str(tmp_path), name="run", nbs=4, deterministic=True)
    model.val(data=str(shapes_dataset), imgsz=32, batch=4, workers=0, plots=False, project=str(tmp_path))
    model.predict(np.zeros((32, 32, 3), np.uint8), imgsz=32, verbose=False)
    after = process_state()
    # loading best.pt builds a network, whose initialisation draws from torch's generator like any model build
    after.pop("torch_random"), before.pop("torch_random")
    assert after == before


def test_a_stream_changes_the_logger_only_while_it_makes_a_result(tiny_model_yaml, monkeypatch):
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # an application that set up no logging
    logger = logging.getLogger("yolo8")
    before = (list(logger.handlers), logger.propagate, logger.level)
    stream = YOLO(build_model(tiny_model_yaml)).predict([np.zeros((32, 32, 3), np.uint8)] * 2, stream=True,
                                                        imgsz=32, verbose=False)
    next(stream)
    assert (list(logger.handlers), logger.propagate, logger.level) == before  # the caller's code runs between
    assert len(list(stream)) == 1
    assert (list(logger.handlers), logger.propagate, logger.level) == before


def test_the_command_line_starts_without_torch():
    """`yolo8 help` and argument parsing import no torch (seconds of start-up); naming a task does."""
    import subprocess
    import sys

    code = ("import sys; from yolo8.cli import parse_arguments, run; run(['help']); parse_arguments(['train']); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
