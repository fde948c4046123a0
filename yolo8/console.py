"""Console output: yolo8 reports through the "yolo8" logger; this attaches a plain stdout handler to it."""

from __future__ import annotations

import logging
import sys


def enable_console_logging(verbose: bool = True) -> logging.Logger:
    """Print the "yolo8" logger's messages as plain lines on stdout, once (idempotent).

    Applications that configure logging themselves (a handler on "yolo8" already) are left alone.
    """
    logger = logging.getLogger("yolo8")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    return logger
