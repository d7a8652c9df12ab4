"""Time and memory of gnn_mlc.evaluation.metrics.evaluate against scikit-learn computing the same figures on the same arrays.

Each measurement runs in a fresh process that builds the seeded arrays (y_true uint8, y_score float32), records its
peak RSS, runs the metric code, and reports the extra peak RSS the metric code needed above the arrays.
Usage: python benchmarks/metrics_speed.py [--rows 200000] [--labels 1000] [--repeats 5] [--sklearn-repeats 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import reset_peak_rss, rss_mb, time_repeats, write_results  # noqa: E402


def make_arrays(rows: int, labels: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Long-tailed labels (2% to 0.05% positive) and scores correlated with them; generated in chunks."""
    rng = np.random.default_rng(seed)
    rates = np.geomspace(0.02, 0.0005, labels).astype(np.float32)
    y_true = np.empty((rows, labels), dtype=np.uint8)
    y_score = np.empty((rows, labels), dtype=np.float32)
    for start in range(0, rows, 10_000):
        block = slice(start, min(start + 10_000, rows))
        truth = rng.random((block.stop - block.start, labels), dtype=np.float32) < rates
        y_true[block] = truth
        y_score[block] = rng.random(truth.shape, dtype=np.float32) * 0.7 + truth * 0.3
    return y_true, y_score


def ours(y_true: np.ndarray, y_score: np.ndarray) -> dict:
    from gnn_mlc.evaluation.metrics import evaluate

    return evaluate(y_true, y_score, ks=(1, 3, 5), train_counts=y_true.sum(axis=0))


def sklearn_same_figures(y_true: np.ndarray, y_score: np.ndarray) -> dict:
    """The figures of ``evaluate`` that scikit-learn computes, the way a user would call it."""
    from sklearn import metrics

    y_pred = (y_score >= 0.5).astype(np.uint8)
    result = {
        "hamming_loss": metrics.hamming_loss(y_true, y_pred),
        "subset_accuracy": metrics.accuracy_score(y_true, y_pred),
        "jaccard_samples": metrics.jaccard_score(y_true, y_pred, average="samples", zero_division=0),
        "samples_f1": metrics.f1_score(y_true, y_pred, average="samples", zero_division=0),
    }
    for average in ("micro", "macro"):
        result[average] = metrics.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
    kept = y_true.any(axis=0)
    result["map"] = metrics.average_precision_score(y_true[:, kept], y_score[:, kept], average="macro")
    result["lrap"] = metrics.label_ranking_average_precision_score(y_true, y_score)
    result["coverage"] = metrics.coverage_error(y_true, y_score)
    result["ranking_loss"] = metrics.label_ranking_loss(y_true, y_score)
    has = y_true.any(axis=1)
    for k in (1, 3, 5):
        result[f"ndcg@{k}"] = metrics.ndcg_score(y_true[has], y_score[has], k=k)
    return result


def _measure(name: str, rows: int, labels: int, repeats: int, queue: multiprocessing.Queue) -> None:
    y_true, y_score = make_arrays(rows, labels)
    before = rss_mb()
    reset_peak_rss()
    function = {"gnn_mlc": ours, "scikit-learn": sklearn_same_figures}[name]
    timing = time_repeats(lambda: function(y_true, y_score), repeats)
    after = rss_mb("VmHWM")
    figures = function(y_true, y_score) if name == "gnn_mlc" and rows <= 20_000 else None
    queue.put({**timing, "rss_before_mb": before, "extra_peak_rss_mb": after - before, "figures": figures})


def measure(name: str, rows: int, labels: int, repeats: int) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(name, rows, labels, repeats, queue))
    process.start()
    result = queue.get()
    process.join()
    return {"implementation": name, "rows": rows, "labels": labels, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--small-rows", type=int, default=20_000, help="a second size, for repeated sklearn runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sklearn-repeats", type=int, default=1, help="scikit-learn repeats at the full size")
    args = parser.parse_args()

    # Agreement first: on the small arrays every shared figure must match scikit-learn's.
    y_true, y_score = make_arrays(args.small_rows, args.labels)
    mine, reference = ours(y_true, y_score), sklearn_same_figures(y_true, y_score)
    for key in ("hamming_loss", "subset_accuracy", "jaccard_samples", "samples_f1", "map", "lrap", "coverage",
                "ranking_loss", "ndcg@1", "ndcg@3", "ndcg@5"):
        assert abs(mine[key] - reference[key]) < 1e-6, (key, mine[key], reference[key])
    print("agreement with scikit-learn on the small arrays: every shared figure within 1e-6", flush=True)

    records = []
    for rows, sklearn_repeats in ((args.small_rows, args.repeats), (args.rows, args.sklearn_repeats)):
        for name, repeats in (("gnn_mlc", args.repeats), ("scikit-learn", sklearn_repeats)):
            record = measure(name, rows, args.labels, repeats)
            record.pop("figures")
            records.append(record)
            print(record, flush=True)
    lines = ["# Metric suite: gnn_mlc.evaluation.metrics.evaluate vs scikit-learn", "", "{header}",
             "Arrays: y_true uint8 and y_score float32, seeded, long-tailed labels (2% to 0.05% positive). "
             "scikit-learn computes the figures it shares with `evaluate` (hamming, subset accuracy, micro/macro "
             "P/R/F1, samples F1 and Jaccard, macro AP, LRAP, coverage, ranking loss, nDCG@1/3/5); `evaluate` also "
             "computes one-error, P@k, R@k and the tail figures. Extra peak RSS is measured in a fresh process: "
             "the peak RSS during the metric calls (imports included) minus the RSS once the arrays exist.", "",
             "| rows x labels | implementation | repeats | median s | min s | max s | extra peak RSS (MB) | "
             "speed-up |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for ours_record, theirs in zip(records[::2], records[1::2]):
        for record in (ours_record, theirs):
            speedup = theirs["median_s"] / ours_record["median_s"] if record is ours_record else 1.0
            lines.append(f"| {record['rows']:,} x {record['labels']:,} | {record['implementation']} | "
                         f"{record['repeats']} | {record['median_s']:.2f} | {record['min_s']:.2f} | "
                         f"{record['max_s']:.2f} | {record['extra_peak_rss_mb']:.0f} | {speedup:.1f}x |")
    lines += ["", "Agreement: on the smaller arrays every shared figure equals scikit-learn's within 1e-6 "
              "(checked by the script before timing)."]
    write_results("metrics", records, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
