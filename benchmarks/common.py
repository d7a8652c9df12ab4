"""Helpers shared by the benchmark scripts: machine description, timing, writing results with provenance, and the
recommender benchmarks' validation split and ranking metrics."""

from __future__ import annotations

import functools
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

import numpy as np
import scipy.sparse as sp

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package, not whichever one is installed (e.g. another worktree's)


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


@functools.cache
def commit() -> str:
    """The checked-out commit and whether the tree had changes (the results files aside, which runs rewrite):
    ``d49a87a (clean)`` or ``... (uncommitted changes)``;
    read once, at a run's first results, so a commit made while a long run goes on does not relabel its results."""
    import subprocess

    import gnn_mlc

    if Path(gnn_mlc.__file__).resolve().parents[1] != ROOT:  # the commit would not name the code that ran
        raise RuntimeError(f"the benchmark imported gnn_mlc from {gnn_mlc.__file__}, not from its checkout {ROOT}")
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":!benchmarks/results"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
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


def paired_cells(at: dict[tuple[int, str], dict], seeds: list[int], rule: str, reference: str) -> list[str]:
    """``rule`` against ``reference`` per seed (``at``: (seed, rule) -> record), in points: Recall@20 and nDCG@10 as
    ``mean [min, max]``, and the seeds ahead / level / behind on nDCG@10."""
    cells = []
    for metric in ("recall@20", "ndcg@10"):
        differences = [100 * (at[seed, rule][metric] - at[seed, reference][metric]) for seed in seeds]
        cells.append(f"{statistics.mean(differences):+.2f} [{min(differences):+.2f}, {max(differences):+.2f}]")
    ndcg = [at[seed, rule]["ndcg@10"] - at[seed, reference]["ndcg@10"] for seed in seeds]
    return cells + [f"{sum(d > 0 for d in ndcg)} / {sum(d == 0 for d in ndcg)} / {sum(d < 0 for d in ndcg)}"]


def movielens_development_main(description: str, name: str, run: Callable[[int], list[dict]],
                               markdown: Callable[[list[dict]], str]) -> None:
    """A development-rows benchmark's command line: ``--seeds`` (MovieLens development seeds, default 10-41; the
    test seeds 0-9 refused), each seed's records from ``run``, written to ``results/<name>``."""
    import argparse
    import warnings

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10, 42)),
                        help="MovieLens development seeds (10 and above; default 10-41)")
    args = parser.parse_args()
    if any(seed < 10 for seed in args.seeds):
        parser.error("development seeds are 10 and above (0-9 are the test seeds)")
    warnings.filterwarnings("ignore")
    commit()
    records = [record for seed in args.seeds for record in run(seed)]
    write_results(name, records, markdown(records))


def random_half(Y: sp.csr_matrix, rng: np.random.Generator) -> sp.csr_matrix:
    """A random half of each row's labels (at least one, at most all but one)."""
    rows, columns = [], []
    for row in range(Y.shape[0]):
        labels = Y.indices[Y.indptr[row]:Y.indptr[row + 1]]
        count = min(max(1, len(labels) // 2), len(labels) - 1)
        rows += [row] * count
        columns += rng.choice(labels, count, replace=False).tolist()
    return sp.csr_matrix((np.ones(len(rows), dtype=np.uint8), (rows, columns)), shape=Y.shape)


def paired_points(records: list[dict], dataset: str, arm: str, other: str, metric: str) -> list[float]:
    """Per seed (those both arms ran, in order), ``arm``'s ``metric`` minus ``other``'s, in points (x 100)."""
    figures = {name: {r["seed"]: r[metric] for r in records if r["dataset"] == dataset and r["arm"] == name
                      and r.get(metric) is not None} for name in (arm, other)}
    return [100 * (figures[arm][seed] - figures[other][seed]) for seed in sorted(figures[arm].keys()
                                                                                  & figures[other].keys())]


def recall_ndcg(scores: np.ndarray, known: sp.csr_matrix, targets: sp.csr_matrix) -> tuple[float, float]:
    """Recall@20 and nDCG@10 over the rows with a target, the known labels excluded from the ranking."""
    scores = np.where(known.toarray() > 0, -np.inf, scores)
    truth = targets.toarray() > 0
    rows = np.flatnonzero(truth.sum(axis=1) > 0)
    order = np.argsort(-scores[rows], axis=1, kind="stable")
    hits = np.take_along_axis(truth[rows], order, axis=1)
    counts = truth[rows].sum(axis=1)
    recall = hits[:, :20].sum(axis=1) / np.minimum(20, counts)
    discounts = 1.0 / np.log2(np.arange(2, 12))
    dcg = (hits[:, :10] * discounts).sum(axis=1)
    ideal = np.array([discounts[:min(10, count)].sum() for count in counts])
    return float(recall.mean()), float((dcg / ideal).mean())


def validation_split(full: sp.csr_matrix, seed: int) -> tuple[np.ndarray, sp.csr_matrix, sp.csr_matrix]:
    """The recommender benchmarks' tuning rows: a seeded 15% of the training rows ``full`` (rows, labels) are
    validation rows, each with >= 2 labels revealing a seeded random half of them (:func:`random_half`).

    Returns the indices of the other (fitting) rows, and the validation rows' known half and targets (the rest), as
    0/1 uint8 CSR matrices."""
    order = np.random.default_rng(seed + 11).permutation(full.shape[0])
    validation, fitting = order[: max(1, len(order) * 15 // 100)], order[max(1, len(order) * 15 // 100):]
    rows = validation[np.diff(full[validation].indptr) >= 2]
    known = random_half(sp.csr_matrix(full[rows], dtype=np.uint8), np.random.default_rng(seed + 13))
    targets = sp.csr_matrix(sp.csr_matrix(full[rows], dtype=np.uint8) - known)
    return fitting, known, targets
