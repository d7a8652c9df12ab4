"""A quick reproduction check: one small row of each benchmark, re-run and held against its results file.

Each check re-runs one data set and seed of a benchmark through the script's own ``run`` (the same code that wrote
the results file) and compares every figure it produces with the recorded one. A figure passes when it is within
the larger of :data:`TOLERANCE` and the spread (max - min over seeds) of the same arm and metric in the results file:
training is deterministic on CPU for a seed, so a larger gap means the code no longer reproduces the file. Fit and
scoring times are not compared. Exits 1, naming every figure that moved, when any check fails.

Rows (about 30 s on 2 CPU cores in all): accuracy ``emotions`` seed 0 (gcn, mlp, br-logreg); cold start
``genbase`` seed 0; recommendation ``yeast`` seed 0 (every arm); new items from history ``yeast`` seed 0; the
scalable item-item term against exact EASE^R, MovieLens seed 0; decision strategies ``emotions`` seed 0. The timing
benchmarks (``scale``, ``scoring``, ``metrics_speed``, ``default_scale``) have no row: they record no figure that
reproduces within a spread on a shared machine.
Usage: ``python benchmarks/smoke.py`` (``make bench-smoke``); not part of ``make test``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS  # noqa: E402
from datasets import DATASETS  # noqa: E402

TOLERANCE = 0.01
"""The smallest gap (absolute, on a 0-1 figure) counted as a change."""
COMPARED = ("map", "micro_f1", "macro_f1", "samples_f1", "p@5", "ndcg@5", "cold_map", "warm_map", "recall@20",
            "ndcg@10", "new_map")


def accuracy() -> list[dict]:
    import accuracy as benchmark

    return [benchmark.run("emotions", model, 0) for model in ("gcn", "mlp", "br-logreg")]


def cold_start() -> list[dict]:
    import cold_start as benchmark

    return benchmark.run("genbase", 0)


def recommendation() -> list[dict]:
    import recsys as benchmark

    return benchmark.run("yeast", 0, "test", with_anchors=False)  # the anchors run on MovieLens only


def cold_history() -> list[dict]:
    import cold_history as benchmark

    return benchmark.run("yeast", 0, "test")


def thresholds() -> list[dict]:
    import thresholds as benchmark

    return benchmark.run("emotions", 0, "test")


def item_item() -> list[dict]:
    import item_item as benchmark

    return benchmark.compare("movielens", 0, *benchmark.movielens_task(0))


CHECKS: dict[str, tuple[str, Callable[[], list[dict]], tuple[str, ...]]] = {
    "accuracy": ("accuracy.json", accuracy, ("dataset", "model", "seed")),
    "cold start": ("cold_start.json", cold_start, ("dataset", "seed", "variant", "arm")),
    "recommendation": ("recsys.json", recommendation, ("dataset", "seed", "arm")),
    "new items from history": ("cold_history.json", cold_history, ("dataset", "seed", "arm")),
    "item-item term": ("item_item.json", item_item, ("task", "seed", "form")),
    "decision strategies": ("thresholds.json", thresholds, ("dataset", "seed", "strategy")),
}


def compare(fresh: list[dict], recorded: list[dict], keys: tuple[str, ...]) -> list[str]:
    """The figures of ``fresh`` that moved beyond tolerance from ``recorded`` (or that it lacks), one line each."""
    problems = []
    for record in fresh:
        key = tuple(record.get(name) for name in keys)
        match = [r for r in recorded if tuple(r.get(name) for name in keys) == key]
        if not match:
            problems.append(f"{dict(zip(keys, key))}: not in the results file")
            continue
        group = [r for r in recorded if all(r.get(name) == record.get(name) for name in keys if name != "seed")]
        for metric in COMPARED:
            if record.get(metric) is None or match[0].get(metric) is None:
                continue
            seeds = [r[metric] for r in group if r.get(metric) is not None]
            allowed = max(TOLERANCE, max(seeds) - min(seeds))
            if abs(record[metric] - match[0][metric]) > allowed:
                problems.append(f"{dict(zip(keys, key))} {metric}: {record[metric]:.4f} now, "
                                f"{match[0][metric]:.4f} recorded (allowed gap {allowed:.4f})")
    return problems


def main() -> int:
    if not DATASETS.is_dir():
        sys.exit(f"shared data sets not found at {DATASETS}")
    warnings.filterwarnings("ignore")
    import logging

    logging.disable(logging.WARNING)
    failed = False
    for name, (file, check, keys) in CHECKS.items():
        if not (RESULTS / file).exists():
            print(f"FAIL {name}: results/{file} is missing")
            failed = True
            continue
        start = time.perf_counter()
        problems = compare(check(), json.loads((RESULTS / file).read_text()), keys)
        seconds = time.perf_counter() - start
        print(f"{'FAIL' if problems else 'ok  '} {name} ({seconds:.0f} s)" + "".join(f"\n     {p}" for p in problems))
        failed |= bool(problems)
    print("bench-smoke: " + ("FAILED: the code no longer reproduces the results files above" if failed
                             else "every row reproduces its results file"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
