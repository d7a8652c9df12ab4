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


def test_docstring_references_name_what_exists():
    """Every ``:func:``/``:class:``/``:mod:``... reference written with its full ``gnn_mlc.`` path resolves."""
    import importlib
    import re

    def resolves(dotted: str) -> bool:
        parts = dotted.split(".")
        for split in range(len(parts), 0, -1):
            try:
                target = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            for part in parts[split:]:
                if not hasattr(target, part):
                    return False
                target = getattr(target, part)
            return True
        return False

    reference = re.compile(r":(?:func|mod|class|meth|data|attr):`~?(gnn_mlc\.[\w.]+)`")
    broken = [f"{path.relative_to(ROOT)}: {match}" for path in sorted((ROOT / "gnn_mlc").rglob("*.py"))
              for match in reference.findall(path.read_text()) if not resolves(match)]
    assert broken == []
