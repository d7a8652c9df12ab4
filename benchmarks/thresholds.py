"""Decision strategies compared on the Mulan data sets with a train/test split: same model, different decisions.

For each data set and seed one ``LabelGCNClassifier`` with the defaults is trained; each strategy is then fitted on the
same validation rows the estimator carved out (seeded iterative stratification, as in ``fit``) and applied to the test
split. ``--split test`` (the default, seeds 0 1 2) writes results/thresholds.{json,md}; ``--split dev`` (seeds 10 11
12) applies them to development rows carved from the training split instead (``datasets.load_split``) and writes
results/thresholds_dev.{json,md}: a strategy is chosen there.
Usage: python benchmarks/thresholds.py [--split dev|test] [--seeds ...] [--datasets yeast bibtex ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import commit, write_results  # noqa: E402
from datasets import DATASETS, SPLIT, load_split, split_seeds  # noqa: E402

from gnn_mlc import LabelGCNClassifier, evaluate  # noqa: E402
from gnn_mlc._typing import STRATEGIES  # noqa: E402
from gnn_mlc.data import stratified_split_indices  # noqa: E402
from gnn_mlc.thresholds import fit_decision_rule  # noqa: E402

FIGURES = ("micro_f1", "macro_f1", "samples_f1")


def run(name: str, seed: int, split: str) -> list[dict]:
    """One model of ``name`` / ``seed`` and every strategy of ``STRATEGIES`` applied to it: one record each."""
    train, test = load_split(name, seed, split)
    model = LabelGCNClassifier(random_state=seed).fit(train.X, train.Y)
    _, validation = stratified_split_indices(train.Y, test_fraction=model.validation_fraction, seed=seed)
    y_validation = train.Y[validation]
    y_validation = y_validation.toarray() if hasattr(y_validation, "toarray") else y_validation
    validation_scores = model.predict_proba(train.X[validation])
    test_scores = model.predict_proba(test.X)
    records = []
    for strategy in STRATEGIES:
        rule = fit_decision_rule(y_validation, validation_scores, strategy=strategy, k=3,
                                 train_cardinality=train.cardinality)
        metrics = evaluate(test.Y, test_scores, y_pred=rule.decide(test_scores))
        records.append({"dataset": name, "seed": seed, "split": split, "strategy": strategy,
                        **{figure: metrics[figure] for figure in FIGURES}})
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 1 2 (test), 10 11 12 (dev)")
    parser.add_argument("--datasets", nargs="+", default=list(SPLIT))
    args = parser.parse_args()
    args.seeds = split_seeds(args.split, args.seeds)
    commit()  # the results record the commit the run started at
    if not DATASETS.is_dir():
        sys.exit(f"shared data sets not found at {DATASETS}")
    warnings.filterwarnings("ignore", category=UserWarning)
    records = []
    for name in args.datasets:
        for seed in args.seeds:
            records.extend(run(name, seed, args.split))
            print(name, seed, flush=True)
    lines = ["# Decision strategies on the Mulan train/test splits", "", "{header}",
             f"Model: `LabelGCNClassifier()` defaults; mean over seeds {args.seeds} (min-max in brackets). Every "
             f"strategy decides on the same {'test' if args.split == 'test' else 'development'} scores; `top_k` uses "
             "k = 3. Best of each row in bold.", ""]
    for figure in FIGURES:
        lines += [f"## {figure}", "", "| dataset | " + " | ".join(STRATEGIES) + " |",
                  "|---|" + "---:|" * len(STRATEGIES)]
        for name in args.datasets:
            cells = []
            means = {}
            for strategy in STRATEGIES:
                values = [r[figure] for r in records if r["dataset"] == name and r["strategy"] == strategy]
                means[strategy] = statistics.mean(values)
                cells.append((strategy, f"{means[strategy]:.3f} [{min(values):.3f}-{max(values):.3f}]"))
            best = max(means.values())
            lines.append(f"| {name} | " + " | ".join(f"**{text}**" if np.isclose(means[s], best) else text
                                                     for s, text in cells) + " |")
        lines.append("")
    write_results("thresholds" if args.split == "test" else "thresholds_dev", records, "\n".join(lines))


if __name__ == "__main__":
    main()
