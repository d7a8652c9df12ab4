"""Training choices first made on test figures, checked on development rows: the positive weight's power and the
row norm of sparse input.

Two defaults were chosen on the test splits of an earlier protocol (benchmarks/results/model_selection.md) and are
checked here on development rows carved from the training splits (``datasets.load_split``, seeds 10 11 12), never
on test rows:

* ``pos_weight_power`` (:func:`gnn_mlc.training.loss.positive_weights`): each label's positive terms weigh
  ``max(1, negatives / positives) ** power``; variants ``power=0`` (plain BCE), ``0.5`` (the default) and ``1``;
* sparse rows L2-normalised to the training rows' **mean** norm (:class:`gnn_mlc.data.preprocessing.FeatureScaler`,
  the default) against rows of **unit** norm (only on the sets whose features are sparse; on dense sets both are the
  same model).

Every variant is ``LabelGCNClassifier()`` with the defaults otherwise (no graph sources: the features-only network),
on the same rows as ``accuracy.py --split dev``; metrics on the development rows: mAP, micro-F1 and macro-F1 at the
default decision strategy. Usage: ``python benchmarks/training_choices.py [--seeds ...] [--datasets ...]``; writes
results/training_choices_dev.{json,md}.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402
from datasets import SPLIT, WHOLE, load_split, split_seeds, start_run  # noqa: E402

from gnn_mlc import LabelGCNClassifier, evaluate  # noqa: E402
from gnn_mlc.data import preprocessing  # noqa: E402

VARIANTS = ("default", "power 0", "power 1", "unit rows")
METRICS = ("map", "micro_f1", "macro_f1")


def run(name: str, seed: int, variant: str) -> dict | None:
    """One fit of ``variant`` on a development split; ``None`` for ``unit rows`` on a set of dense features."""
    train, test = load_split(name, seed, "dev")
    if variant == "unit rows" and not sp.issparse(train.X):
        return None
    power = {"power 0": 0.0, "power 1": 1.0}.get(variant, 0.5)
    original = preprocessing.FeatureScaler.__dict__["fit"]
    fit_scaler = preprocessing.FeatureScaler.fit
    if variant == "unit rows":  # the scaler's fitted mean norm replaced by 1, nothing else
        preprocessing.FeatureScaler.fit = classmethod(
            lambda cls, X, **options: replace(fit_scaler(X, **options), row_norm=1.0))
    try:
        start = time.perf_counter()
        model = LabelGCNClassifier(pos_weight_power=power, random_state=seed).fit(train.X, train.Y)
        seconds = time.perf_counter() - start
    finally:
        preprocessing.FeatureScaler.fit = original
    scores = model.predict_proba(test.X)
    metrics = evaluate(test.Y, scores, y_pred=model.predict(test.X),
                       train_counts=np.asarray(train.Y.sum(axis=0)).ravel())
    print(f"{name} seed {seed} {variant}: mAP {metrics['map']:.4f} micro-F1 {metrics['micro_f1']:.4f} "
          f"macro-F1 {metrics['macro_f1']:.4f}", flush=True)
    return {"dataset": name, "seed": seed, "split": "dev", "variant": variant, "fit_seconds": seconds,
            **{metric: metrics[metric] for metric in METRICS}}


def markdown(records: list[dict], seeds: list[int]) -> str:
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    lines = ["# Training choices on development rows: the positive weight's power, the sparse rows' norm", "",
             "{header}", f"Mean [min, max] over development seeds {seeds} (rows carved from each training split); "
             "protocol in the script's docstring. `unit rows` only where the features are sparse. Per metric, the "
             "variant's wins against `default` count the sets where its mean is higher.", ""]
    for metric in METRICS:
        lines += [f"## {metric}", "", "| data set | " + " | ".join(VARIANTS) + " |", "|---|" + "---:|" * len(VARIANTS)]
        means: dict[str, dict[str, float]] = {variant: {} for variant in VARIANTS}
        for name in datasets:
            cells = []
            for variant in VARIANTS:
                values = [r[metric] for r in records if r["dataset"] == name and r["variant"] == variant]
                if values:
                    means[variant][name] = statistics.mean(values)
                    cells.append(f"{means[variant][name]:.3f} [{min(values):.3f}, {max(values):.3f}]")
                else:
                    cells.append("")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        summary = []
        for variant in VARIANTS[1:]:
            shared = [name for name in means[variant] if name in means["default"]]
            if shared:
                gain = statistics.mean(means[variant][n] - means["default"][n] for n in shared)
                wins = sum(means[variant][n] > means["default"][n] for n in shared)
                summary.append(f"`{variant}` against `default`: {gain * 100:+.2f} points on the mean over "
                               f"{len(shared)} sets, higher on {wins}")
        lines += ["", "; ".join(summary) + ".", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", help="default: the development seeds, 10 11 12")
    parser.add_argument("--datasets", nargs="+", default=[*SPLIT, *WHOLE, "movielens"])
    args = parser.parse_args()
    seeds = split_seeds("dev", args.seeds)
    start_run()
    records: list[dict] = []
    for name in args.datasets:
        for seed in seeds:
            for variant in VARIANTS:
                record = run(name, seed, variant)
                if record is not None:
                    records.append(record)
        write_results("training_choices_dev", records, markdown(records, seeds))  # after every set


if __name__ == "__main__":
    main()
