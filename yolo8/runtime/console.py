"""Console output: yolo8 reports through the "yolo8" logger; this attaches a plain stdout handler to it."""

from __future__ import annotations

import logging
import sys


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
