"""Headless Blender for the glTF import checks: run scripts/check_glb_in_blender.py on a
file and return its report line (the test is skipped when Blender cannot run the check:
not installed, or a Blender whose Python lacks numpy, which its glTF importer needs)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
needs_blender = pytest.mark.skipif(shutil.which("blender") is None, reason="Blender is not installed")


def blender_glb_report(path: Path, shape: str) -> str:
    result = subprocess.run(
        ["blender", "-b", "--factory-startup", "--python", str(ROOT / "scripts" / "check_glb_in_blender.py"),
         "--", str(path), shape], capture_output=True, text=True, timeout=300)
    if "No module named 'numpy'" in result.stdout + result.stderr:
        pytest.skip("Blender's Python has no numpy, which its glTF importer needs (apt install python3-numpy)")
    report = [line for line in result.stdout.splitlines() if line.startswith("CHECK_GLB ")]
    assert result.returncode == 0 and report, result.stdout[-2000:] + result.stderr[-2000:]
    return report[0]
