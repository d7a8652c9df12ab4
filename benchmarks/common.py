"""Helpers shared by the benchmark scripts: machine description, timing, and writing results with provenance."""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    """One line: CPU model, cores, memory, GPU (if torch sees one), Python and torch versions."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def command() -> str:
    return "python " + " ".join(shlex.quote(argument) for argument in sys.argv)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def time_repeats(function: Callable[[], object], repeats: int) -> dict[str, float]:
    """Run ``function`` ``repeats`` times; return median, min and max seconds."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds), "repeats": repeats}


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (``VmRSS``) or its peak since the last :func:`reset_peak_rss` (``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found in /proc/self/status")


def reset_peak_rss() -> None:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0). ``ru_maxrss`` cannot be used: it is not
    reset by exec, so a spawned child would report its parent's peak."""
    Path("/proc/self/clear_refs").write_text("5")


def commit() -> str:
    """The checked-out commit and whether the tree had changes: ``d49a87a (clean)`` or ``... (uncommitted changes)``."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{sha} ({'uncommitted changes' if dirty else 'clean'})"


def write_results(name: str, records: list[dict], markdown: str) -> None:
    """Write ``results/<name>.json`` (records) and ``results/<name>.md`` (the text, with command, commit, machine,
    date)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(records, indent=2) + "\n")
    header = f"Command: `{command()}`\n\nCommit: {commit()}\n\nMachine: {machine()}\n\nDate: {now()}\n\n"
    (RESULTS / f"{name}.md").write_text(markdown.replace("{header}", header))
