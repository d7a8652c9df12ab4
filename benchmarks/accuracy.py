"""Accuracy of the label-graph GCN against the baselines on every data set in ../shared/datasets (BENCHMARKS.md).

Models, all on the same split and the same preprocessing (gnn_mlc's FeatureScaler: dense standardised, sparse scaled
by column maximum with rows L2-normalised to the training rows' mean norm, fitted on the training rows):

* ``br-logreg``: binary relevance, one scikit-learn LogisticRegression per label;
* ``cc-logreg``: scikit-learn ClassifierChain of LogisticRegression (random order, seeded);
* ``mlp``: ``LabelGCNClassifier(use_graph=False)``, the shared network with independent sigmoid heads: the same
  encoder, preprocessing, loss and training as ``gcn``, without the graph;
* ``gcn``: ``LabelGCNClassifier(num_gcn_layers=1)``, the label-graph model with its labels' vectors propagated over
  the co-occurrence graph (the default when these figures were made; the default is now 0 layers, which on data
  without graph sources is the ``mlp`` arm exactly);
* ``popularity``: every test row ranked by the training label frequencies
  (:class:`gnn_mlc.evaluation.baselines.PopularityBaseline`; decisions: the round(cardinality) most popular labels).

Every model is fitted on the same 85% of the training split; its decisions use the project's default strategy (one
global threshold tuned for micro-F1 on the remaining 15%, seeded iterative stratification). Data sets with no
predefined split get a seeded 70/30 split. MovieLens is a recommendation task: each user's features are the genre
shares and mean ratings of their first 70% of ratings (by time), the labels are the genres of the movies they rated
>= 4 in the last 30%.

``--split test`` (the default: the reported figures) evaluates on the test split, seeds 0 1 2, and writes
results/accuracy.{json,md}; ``--split dev`` evaluates on development rows carved from the training split
(``datasets.load_split``: other rows per seed, on the sets with a fixed split too), seeds 10 11 12, and writes
results/accuracy_dev.{json,md}: choices are made there. Records: dataset, model, seed, split, fit_seconds,
predict_seconds and every metric of gnn_mlc.evaluation.metrics.evaluate. Usage: python benchmarks/accuracy.py
[--split dev|test] [--seeds ...] [--datasets ...] [--models ...] [--merge] (``--merge`` keeps the other models'
records of the results file and replaces only those of the models run, e.g. ``--models popularity --merge``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, commit, write_results  # noqa: E402
from datasets import DATASETS, SPLIT, WHOLE, load_split, split_seeds  # noqa: E402

from gnn_mlc import LabelGCNClassifier, evaluate  # noqa: E402
from gnn_mlc.data import stratified_split_indices  # noqa: E402
from gnn_mlc.data.preprocessing import FeatureScaler  # noqa: E402
from gnn_mlc.evaluation.baselines import PopularityBaseline  # noqa: E402
from gnn_mlc.thresholds import fit_decision_rule  # noqa: E402

MODELS = ("popularity", "br-logreg", "cc-logreg", "mlp", "gcn")
TABLE_METRICS = ("map", "p@5", "ndcg@5", "macro_f1", "micro_f1", "tail_map", "p@1", "fit_seconds")


class _Sklearn:
    """A scikit-learn baseline behind the estimator's fit / predict_proba interface."""

    def __init__(self, kind: str, seed: int) -> None:
        self.kind, self.seed = kind, seed

    def fit(self, X, Y):
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.multioutput import ClassifierChain

        Y = Y.toarray() if sp.issparse(Y) else np.asarray(Y)
        self.constant = Y.min(axis=0) == Y.max(axis=0)  # labels without both classes: predicted as their prior
        self.prior = Y.mean(axis=0)
        base = LogisticRegression(max_iter=1000)
        if self.kind == "br-logreg":
            self.model = OneVsRestClassifier(base).fit(X, Y)
        else:
            self.model = ClassifierChain(base, order="random", random_state=self.seed).fit(X, Y[:, ~self.constant])
        return self

    def predict_proba(self, X):
        if self.kind == "br-logreg":
            return self.model.predict_proba(X)
        scores = np.tile(self.prior, (X.shape[0], 1))
        scores[:, ~self.constant] = self.model.predict_proba(X)
        return scores


def run(name: str, model_name: str, seed: int, split: str = "test") -> dict:
    train, test = load_split(name, seed, split)
    fit_rows, validation_rows = stratified_split_indices(train.Y, test_fraction=0.15, seed=seed)
    y_validation = train.Y[validation_rows]
    y_validation = y_validation.toarray() if sp.issparse(y_validation) else y_validation
    start = time.perf_counter()
    if model_name == "popularity":
        model = PopularityBaseline(train.label_names, np.asarray(train.Y.sum(axis=0)).ravel(), train.num_rows)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        scores = model.predict_proba(test.X)
        predict_seconds = time.perf_counter() - start
        decisions = model.decision_rule.decide(scores)
    elif model_name in ("mlp", "gcn"):
        # The estimator carves the same 15% itself (same function, same seed) for early stopping and thresholds.
        model = LabelGCNClassifier(use_graph=model_name == "gcn", num_gcn_layers=int(model_name == "gcn"),
                                   random_state=seed).fit(train.X, train.Y)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        scores = model.predict_proba(test.X)
        predict_seconds = time.perf_counter() - start
        decisions = model.predict(test.X)
    else:
        scaler = FeatureScaler.fit(train.X[fit_rows])
        model = _Sklearn(model_name, seed).fit(scaler.transform(train.X[fit_rows]), train.Y[fit_rows])
        rule = fit_decision_rule(y_validation, model.predict_proba(scaler.transform(train.X[validation_rows])),
                                 strategy="global")
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        scores = model.predict_proba(scaler.transform(test.X))
        predict_seconds = time.perf_counter() - start
        decisions = rule.decide(scores)
    train_counts = np.asarray(train.Y.sum(axis=0)).ravel()
    metrics = evaluate(test.Y, scores, y_pred=decisions, train_counts=train_counts)
    return {"dataset": name, "model": model_name, "seed": seed, "split": split, "fit_seconds": fit_seconds,
            "predict_seconds": predict_seconds, **metrics}


def markdown(records: list[dict], seeds: list[int]) -> str:
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    models = [m for m in MODELS if any(r["model"] == m for r in records)]
    lines = ["# Accuracy: label-graph GCN against the baselines", "", "{header}",
             f"Mean over seeds {seeds} with the spread (min-max) in brackets; F1 at the default decision strategy "
             "(one global threshold tuned for micro-F1 on a 15% validation split of the training data). mAP over "
             "labels with a positive in the test split. See the script's docstring for the protocol.", ""]
    for metric in TABLE_METRICS:
        lines += [f"## {metric}", "", "| dataset | " + " | ".join(models) + " |", "|---|" + "---:|" * len(models)]
        for name in datasets:
            means, cells = {}, []
            for model in models:
                values = [r[metric] for r in records if r["dataset"] == name and r["model"] == model]
                if not values:
                    cells.append("")
                    continue
                means[model] = statistics.mean(values)
                cells.append(f"{means[model]:.3f} [{min(values):.3f}-{max(values):.3f}]")
            best = (min if metric == "fit_seconds" else max)(means.values()) if means else None
            lines.append(f"| {name} | " + " | ".join(
                f"**{cell}**" if model in means and means[model] == best else cell
                for model, cell in zip(models, cells)) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 1 2 (test), 10 11 12 (dev)")
    parser.add_argument("--datasets", nargs="+", default=[*SPLIT, *WHOLE, "movielens"])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--merge", action="store_true", help="keep the other models' records of the results file")
    args = parser.parse_args()
    args.seeds = split_seeds(args.split, args.seeds)
    results = "accuracy" if args.split == "test" else "accuracy_dev"
    commit()  # the results record the commit the run started at
    if not DATASETS.is_dir():
        sys.exit(f"shared data sets not found at {DATASETS}")
    warnings.filterwarnings("ignore")
    records, note = [], ""
    if args.merge and (RESULTS / f"{results}.json").exists():
        records = [r for r in json.loads((RESULTS / f"{results}.json").read_text()) if r["model"] not in args.models]
        previous = (RESULTS / f"{results}.md").read_text()
        dated = [line for line in previous.splitlines() if line.startswith(("Date:", "Command:"))][:2]
        note = (f"Merged run: only {', '.join(args.models)} ran on this date; the other models' records are those "
                f"of the earlier run ({'; '.join(dated)}).\n\n")
    for name in args.datasets:
        for seed in args.seeds:
            for model_name in args.models:
                records.append(run(name, model_name, seed, args.split))
                r = records[-1]
                print(f"{name} {model_name} seed {seed}: map {r['map']:.4f} macro_f1 {r['macro_f1']:.4f} "
                      f"fit {r['fit_seconds']:.1f}s", flush=True)
                text = markdown(records, args.seeds).replace("{header}", "{header}" + note)
                write_results(results, records, text)  # partial results survive a stop


if __name__ == "__main__":
    main()
