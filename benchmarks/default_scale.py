"""The default model's graph work at scale: a label-only log with new labels, and known labels, beside the network.

``benchmarks/scale.py`` times the plain network; this times what the default model adds on the same synthetic data
(``scale.generate``: sparse features that predict power-law labels), one full epoch (``max_epochs=1``,
``batch_size=1024``) per fit, each fit in a fresh process (peak RSS = its VmHWM):

* **log**: the first half of the rows are feature rows, the second half a label-only log (their labels alone);
  20% of the labels with >= 5 positives in the log (seeded) are **new**: absent from the feature rows, present in
  the log. ``plain`` fits the feature rows; ``log`` the same with ``graph_data=`` the log (the cold-label teacher
  and the distilled label vectors of ``gnn_mlc.training.graph_labels``).
* **known labels**: ``plain (all rows)`` fits every row; ``known`` the same with ``known_labels="split"`` (the
  item-item term of ``gnn_mlc.training.known_labels``: exact EASE^R up to 8,192 labels, the neighbourhood form
  above; lambda, calibration and blend).

A fit that does not end within ``--timeout`` seconds is recorded as such. Writes results/default_scale.{json,md}
(``--results-name`` another name, e.g. for a cell that takes hours; ``--arms`` a subset of the arms: a ratio needs
its plain fit, from this run or, with ``--baseline FILE.json``, from an earlier run on the same cells, named in the
table). Usage: ``python benchmarks/default_scale.py [--cells 50000x2000 200000x10000] [--arms plain log]
[--timeout 1800] [--work DIR] [--results-name default_scale] [--baseline results/default_scale_2m.json]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import commit, rss_mb, write_results  # noqa: E402
from scale import BATCH, generate, load  # noqa: E402

ARMS = ("plain", "log", "plain (all rows)", "known")
NEW_SHARE = 0.2


def split(path: Path) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix, list[str], list[str]]:
    """The feature rows' X and labels (the new labels' columns removed), the log's labels, and the label names of
    the feature rows and of the log."""
    X, Y = load(path)
    half = X.shape[0] // 2
    log = Y[half:]
    eligible = np.flatnonzero(np.asarray(log.sum(axis=0)).ravel() >= 5)
    new = np.random.default_rng(0).choice(eligible, int(round(NEW_SHARE * len(eligible))), replace=False)
    warm = np.setdiff1d(np.arange(Y.shape[1]), new)
    names = [f"l{j}" for j in range(Y.shape[1])]
    return X[:half], Y[:half][:, warm], log, [names[j] for j in warm], names


def fit(arm: str, path: Path) -> dict:
    """Fit one arm on the data at ``path``; its seconds, peak RSS and label count."""
    from gnn_mlc import LabelGCNClassifier

    model = LabelGCNClassifier(max_epochs=1, batch_size=BATCH, device="cpu")
    if arm in ("plain", "log"):
        X, Y, log, warm_names, names = split(path)
        start = time.perf_counter()
        model.fit(X, Y, label_names=warm_names, **({"graph_data": log, "graph_label_names": names}
                                                   if arm == "log" else {}))
    else:
        X, Y = load(path)
        start = time.perf_counter()
        model.fit(X, Y, **({"known_labels": "split"} if arm == "known" else {}))
    return {"fit_seconds": time.perf_counter() - start, "peak_rss_mb": rss_mb("VmHWM"),
            "labels": len(model.classes_)}


def run_arm(arm: str, path: Path, timeout: float) -> dict:
    """:func:`fit` in a fresh process, or ``{"timed_out": timeout}``."""
    try:
        result = subprocess.run([sys.executable, __file__, "--arm", arm, "--data", str(path)], capture_output=True,
                                text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timed_out": timeout}
    if result.returncode != 0:
        raise RuntimeError(f"arm {arm} on {path} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def markdown(records: list[dict], baseline: list[dict], baseline_name: str | None) -> str:
    """The table of ``records``; a ratio's plain fit from ``records``, else from ``baseline`` (an earlier run's
    records, the file ``baseline_name``)."""
    lines = ["# The default model's graph work at scale", "", "{header}",
             "One epoch per fit, each in a fresh process; protocol in `benchmarks/default_scale.py`. Ratios: `log` "
             "over `plain` (the same feature rows), `known` over `plain (all rows)` (issue target: <= 2x the plain "
             "network's fit and <= 8 GiB at 2,000,000 x 50,000)."
             + (f" A ratio marked * is to the plain fit of `{baseline_name}` (an earlier run, its own commit, the same "
                "data), which is not re-run here." if baseline_name else ""), "",
             "| rows | labels | arm | labels fitted | fit s | peak RSS (MiB) | ratio to its plain fit |",
             "|---:|---:|---|---:|---:|---:|---:|"]
    for record in records:
        plain, mark = _plain_fit(record, records), ""
        if plain is None:
            plain, mark = _plain_fit(record, baseline), "*"
        if "timed_out" in record:
            lines.append(f"| {record['rows']:,} | {record['labels_in_data']:,} | {record['arm']} | | did not end in "
                         f"{record['timed_out']:.0f} s | | |")
            continue
        ratio = f"{record['fit_seconds'] / plain['fit_seconds']:.2f}{mark}" if plain and "fit_seconds" in plain else ""
        lines.append(f"| {record['rows']:,} | {record['labels_in_data']:,} | {record['arm']} | {record['labels']:,} | "
                     f"{record['fit_seconds']:.1f} | {record['peak_rss_mb']:,.0f} | {ratio} |")
    return "\n".join(lines) + "\n"


def _plain_fit(record: dict, candidates: list[dict]) -> dict | None:
    """The record among ``candidates`` of the plain fit ``record``'s ratio is to (same cell), or ``None``."""
    arm = {"log": "plain", "known": "plain (all rows)"}.get(record["arm"])
    return next((r for r in candidates if r["arm"] == arm
                 and (r["rows"], r["labels_in_data"]) == (record["rows"], record["labels_in_data"])), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["50000x2000", "200000x10000"])
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--work", type=Path, default=None, help="where the generated data sets go")
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS), help="the arms to fit (in order)")
    parser.add_argument("--results-name", default="default_scale", help="write results/NAME.{json,md}")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="an earlier results .json whose plain fits the ratios fall back to")
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        import logging
        import warnings

        warnings.filterwarnings("ignore")
        logging.disable(logging.WARNING)
        print(json.dumps(fit(args.arm, args.data)))
        return
    commit()
    baseline = json.loads(args.baseline.read_text()) if args.baseline else []
    work = args.work or Path(tempfile.mkdtemp(prefix="gnn-mlc-default-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    for cell in args.cells:
        rows, labels = (int(part) for part in cell.split("x"))
        path = work / f"data-{rows}-{labels}.npz"
        if not path.exists():
            generate(rows, labels, 0, path)
        for arm in args.arms:
            records.append({"rows": rows, "labels_in_data": labels, "arm": arm, **run_arm(arm, path, args.timeout)})
            print(f"{cell} {arm}: {records[-1]}", flush=True)
            write_results(args.results_name, records,
                          markdown(records, baseline, args.baseline.name if args.baseline else None))


if __name__ == "__main__":
    main()
