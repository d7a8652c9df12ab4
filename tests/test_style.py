"""The code's layout: ruff (configured in pyproject.toml) finds no slip in the package, tests, benchmarks or data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "gnn_mlc", "tests", "benchmarks",
                             "data"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
