"""Iterative stratification: gnn_mlc against iterative-stratification and scikit-multilearn, speed and balance.

All three split the same seeded long-tailed label matrix into 5 folds. Balance is the largest gap, over labels and
folds, between a fold's positives and the label's exact share (total / 5). Libraries not installed are skipped;
each run is stopped after --timeout seconds (reported as such).
Usage: python benchmarks/split_speed.py [--rows 100000] [--labels 100] [--repeats 5] [--timeout 600]
Install the others with the ``bench`` extra (``pip install -e .[bench]``: iterative-stratification, scikit-multilearn)
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402

FOLDS = 5


def labels(rows: int, num_labels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((rows, num_labels), dtype=np.float32) < np.geomspace(0.3, 0.0005, num_labels)).astype(np.uint8)


def folds_gnn_mlc(Y: np.ndarray) -> np.ndarray:
    from gnn_mlc.data import iterative_stratification

    return iterative_stratification(Y, fractions=[1 / FOLDS] * FOLDS, seed=0)


def folds_iterstrat(Y: np.ndarray) -> np.ndarray:
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    folds = np.empty(len(Y), dtype=np.int64)
    splitter = MultilabelStratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    for fold, (_, test) in enumerate(splitter.split(np.zeros((len(Y), 1)), Y)):
        folds[test] = fold
    return folds


def folds_skmultilearn(Y: np.ndarray) -> np.ndarray:
    from skmultilearn.model_selection import IterativeStratification

    folds = np.empty(len(Y), dtype=np.int64)
    splitter = IterativeStratification(n_splits=FOLDS, order=1)
    for fold, (_, test) in enumerate(splitter.split(np.zeros((len(Y), 1)), Y)):
        folds[test] = fold
    return folds


IMPLEMENTATIONS = {"gnn_mlc": folds_gnn_mlc, "iterative-stratification": folds_iterstrat,
                   "scikit-multilearn": folds_skmultilearn}


def _run(name: str, rows: int, num_labels: int, queue: multiprocessing.Queue) -> None:
    Y = labels(rows, num_labels)
    try:
        IMPLEMENTATIONS[name](Y[:100])  # imports and warm-up outside the timing
    except ImportError as error:
        queue.put({"skipped": f"not installed ({error.name})"})
        return
    start = time.perf_counter()
    folds = IMPLEMENTATIONS[name](Y)
    seconds = time.perf_counter() - start
    gap = max(np.abs(Y[folds == fold].sum(axis=0) - Y.sum(axis=0) / FOLDS).max() for fold in range(FOLDS))
    queue.put({"seconds": seconds, "max_gap_rows": float(gap), "fold_sizes": np.bincount(folds).tolist()})


def run(name: str, rows: int, num_labels: int, timeout: float) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run, args=(name, rows, num_labels, queue))
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
        return {"timed_out_after_s": timeout}
    return queue.get()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5, help="runs of gnn_mlc (the others run once)")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    records = []
    for name in IMPLEMENTATIONS:
        repeats = args.repeats if name == "gnn_mlc" else 1
        for repeat in range(repeats):
            record = {"implementation": name, "rows": args.rows, "labels": args.labels, "repeat": repeat,
                      **run(name, args.rows, args.labels, args.timeout)}
            records.append(record)
            print(record, flush=True)
    lines = ["# Iterative stratification into 5 folds", "", "{header}",
             f"Labels: {args.rows:,} rows x {args.labels} labels, seeded, positive rates from 30% down to 0.05%. "
             "Balance: the largest gap, over labels and folds, between a fold's positives and the exact share "
             "(total / 5), in rows.", "",
             "| implementation | runs | median s | min s | max s | largest gap (rows) | fold sizes |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for name in IMPLEMENTATIONS:
        runs = [r for r in records if r["implementation"] == name]
        if "skipped" in runs[0] or "timed_out_after_s" in runs[0]:
            note = runs[0].get("skipped") or f"stopped after {runs[0]['timed_out_after_s']:.0f} s"
            lines.append(f"| {name} | {len(runs)} | {note} | | | | |")
            continue
        seconds = [r["seconds"] for r in runs]
        lines.append(f"| {name} | {len(runs)} | {np.median(seconds):.2f} | {min(seconds):.2f} | {max(seconds):.2f} | "
                     f"{max(r['max_gap_rows'] for r in runs):.1f} | {runs[0]['fold_sizes']} |")
    write_results("split", records, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
