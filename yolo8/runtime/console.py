"""Console output: yolo8 reports through the "yolo8" logger; these attach a plain stdout handler to it.

A library call uses :func:`console_logging`, which prints for the length of the call only, and only when the
application has not set up logging itself; the command line, which owns its process, uses
:func:`enable_console_logging`.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Iterator


class _CurrentStdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is when a message is emitted (it may be redirected after set-up)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler assigns it in __init__; the live sys.stdout wins
        pass


def enable_console_logging(verbose: bool = True) -> logging.Logger:
    """Print the "yolo8" logger's messages as plain lines on stdout, once (idempotent).

    Applications that configure logging themselves (a handler on "yolo8" already) are left alone.
    """
    logger = logging.getLogger("yolo8")
    if not logger.handlers:
        handler = _CurrentStdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    return logger


@contextmanager
def console_logging() -> Iterator[logging.Logger]:
    """Print the "yolo8" logger's INFO messages on stdout for the length of the block, then leave the logger as
    it was. An application that set up logging (a handler on "yolo8" or on an ancestor, such as the root logger's
    from ``logging.basicConfig``) keeps its own handlers: yolo8 only opens the level to INFO for the block."""
    logger = logging.getLogger("yolo8")
    level = logger.level
    handler = None
    if not logger.hasHandlers():
        handler = _CurrentStdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield logger
    finally:
        logger.setLevel(level)
        if handler is not None:
            logger.removeHandler(handler)
