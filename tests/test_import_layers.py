"""Imports point down only: the layers contract in pyproject.toml, checked by import-linter."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def lint(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT_IMPORTS, "--config", str(config), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_the_package_keeps_its_layers():
    result = lint(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 1 kept, 0 broken." in result.stdout


def test_an_upward_import_would_break_the_contract(tmp_path):
    """The check is real: with ops placed above nn, nn's imports of ops are reported."""
    text = (ROOT / "pyproject.toml").read_text()
    layers_start = text.index("[tool.importlinter]")
    swapped = text[layers_start:].replace('"yolo8.ops | yolo8.unsupported_settings | yolo8.setting_parsers",', '').replace(
        '"yolo8.cli",', '"yolo8.cli",\n    "yolo8.ops",')
    config = tmp_path / "pyproject.toml"
    config.write_text(swapped)
    result = lint(config)
    assert result.returncode != 0
    assert "yolo8.nn is not allowed to import yolo8.ops" in result.stdout


@pytest.mark.parametrize("module", ["yolo8.ops.boxes", "yolo8.ops.dfl", "yolo8.ops.letterbox", "yolo8.ops.masks"])
def test_ops_import_nothing_of_yolo8_but_ops(module):
    code = (f"import sys, {module}; "
            "print(sorted(m for m in sys.modules if m.startswith('yolo8.') and not m.startswith('yolo8.ops')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
