"""The optional packages each export format needs, and the error that names the extra to install."""

from __future__ import annotations

import importlib
import importlib.util

EXTRA = 'pip install "yolo8[export]"'


class MissingExportDependency(ValueError):
    """An export (or an exported file) needs a package that is not installed."""


def require(*modules: str, purpose: str):
    """Import and return ``modules`` (one module, or a tuple of them); a missing one is an error naming the extra."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExportDependency(f"{purpose} needs {', '.join(missing)}, which is not installed: {EXTRA} "
                                      f"(or pip install {' '.join(missing)}).")
    imported = tuple(importlib.import_module(name) for name in modules)
    return imported[0] if len(imported) == 1 else imported
