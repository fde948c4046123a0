"""The built wheel carries every data file the package reads at run time: model YAMLs, sample images and the
shipped built-in weights with their records."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "yolo8"


def test_wheel_holds_the_package_data(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("yolo8-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [path for pattern in ("cfg/models/*.yaml", "assets/*", "weights/*.pt", "weights/*.json")
                for path in PACKAGE.glob(pattern)]
    assert any(path.parent.name == "weights" for path in expected), "yolo8/weights/ ships no weights"
    missing = [str(path.relative_to(ROOT)) for path in expected if str(path.relative_to(ROOT)) not in names]
    assert not missing, f"not in {wheel.name}: {missing}"
