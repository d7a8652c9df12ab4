"""Cold-start and rare interests: does the label graph score labels that have few or no labelled feature rows?

Protocol (BENCHMARKS.md, "Cold labels"), per data set and seed: the training rows are split at random in halves,
"feature rows" (features and labels) and a label-only log (labels only). 20% (rounded, at least 1) of the labels with
>= 5 training positives are **cold**: removed from the feature rows (the model never sees them there), kept in the
log (its rows with no label at all are dropped). A **few-shot** variant keeps 1-3 (seeded) positive feature rows of
each cold label. Test: the data set's test split (a seeded 70/30 split where it has none), all labels.

Arms (every network with the package defaults unless named):

* ``no-graph``: ``LabelGCNClassifier(use_graph=False)`` on the feature rows; cold labels scored by their log
  frequency (one constant per label: it ranks no row above another);
* ``popularity``: every label by its frequency in the feature rows and the log;
* ``propagation-P``, ``propagation-lift``: a cold label's score is ``sum_j w(j, c) p_j(x)`` over the no-graph
  network's warm probabilities ``p_j``, with ``w = P(c | j)`` and ``w = max(0, P(c | j) - P(c))`` from the log;
* ``graph+log``: ``LabelGCNClassifier().fit(..., graph_data=log)``, the defaults: the log enters the label graph,
  the cold labels (and the rare ones) are scored through it (:mod:`gnn_mlc.training.graph_labels`); the trained
  labels keep the network's own vectors. Without the log the defaults are the no-graph network exactly;
* ``graph+log``'s parts (the attribution of its cold-label gain): ``distilled``, its cold labels scored by their
  distilled vectors alone (the package before the teacher was served, :class:`gnn_mlc.fitted.ColdLabelTeacher`
  removed); ``undistilled``, by the teacher alone: the package's per-label regression over the warm labels
  (:func:`gnn_mlc.training.graph_labels.fit_label_teacher`, fitted on the log) applied to the no-graph network's
  warm probabilities, computed here (a second code path: ``graph+log`` serves the mean of the two arms'
  probabilities, ``graph_labels.TEACHER_SHARE``; the halves are approximate where a set has rare labels, whose
  probabilities the served teacher takes from their mixed vectors and this arm from the no-graph network);
* ``gcn``, ``gcn+log``: the same with ``num_gcn_layers=1`` (the trained labels' vectors propagated over the graph,
  the default before the cold-start work), without and with the log;
* ``oracle``: the defaults on the feature rows with the cold labels visible: the mAP the same labels reach when
  they are warm (recovery = cold mAP / oracle cold mAP).

Metrics on the test rows: cold-label mAP (mean AP over the cold labels with a test positive), warm-label mAP, and
P@5 / nDCG@5 over all labels. ``--split test`` (the default: the reported figures, seeds 0 1 2) uses the test rows
and writes results/cold_start.{json,md}; ``--split dev`` (seeds 10 11 12) carves development rows from the training
rows (``datasets.load_split``) and writes results/cold_start_dev.{json,md}: choices are made there.
``--mini-batch`` fits the teacher and the distilled heads by mini-batch Adam on every set (the path the package
takes above ``graph_labels.FULL_BATCH_ENTRIES`` values, which no benchmark set reaches) and writes
results/cold_start[_dev]_minibatch.{json,md}: the scalable path's quality against full-batch L-BFGS's.
``--teacher-inputs N`` scores each cold label from at most N inputs (``label_propagation.TEACHER_INPUTS``, 512 in the
package: above it, each target's most similar and most frequent inputs) and writes
results/cold_start[_dev]_inputsN.{json,md}: with a small N the cut graph's quality against the complete one, on sets
whose labels are all below the package's cap. ``--rare-own-share X`` gives a rare label (the few-shot variant's cold
labels) X of its own vector and 1 - X of the one inferred from the log (``label_vectors.RARE_OWN_SHARE``, 0.5) and
writes results/cold_start[_dev]_rareX.{json,md}. (``cold_start_dev_cooccurring`` came from a flag of 6d17db2 that cut
the graph to co-occurring pairs, a rule since replaced.) Usage: ``python benchmarks/cold_start.py [--split dev|test]
[--seeds ...] [--datasets ...] [--mini-batch] [--teacher-inputs N] [--rare-own-share X]``.
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
from datasets import load_split, split_seeds, start_run  # noqa: E402

from gnn_mlc import LabelGCNClassifier  # noqa: E402
from gnn_mlc.evaluation import evaluate, per_label_metrics  # noqa: E402
from gnn_mlc.fitted import FittedModel  # noqa: E402
from gnn_mlc.graph.cooccurrence import cooccurrence_counts  # noqa: E402
from gnn_mlc.nn import label_propagation  # noqa: E402
from gnn_mlc.training import graph_labels, label_vectors  # noqa: E402

SETS = ("yeast", "birds", "genbase", "medical", "enron", "bibtex", "mediamill_small", "yeast-meka", "movielens")
ZERO_SHOT = ("no-graph", "popularity", "propagation-P", "propagation-lift", "gcn", "gcn+log", "graph+log",
             "distilled", "undistilled", "oracle")
FEW_SHOT = ("no-graph", "propagation-P", "propagation-lift", "graph+log")


def protocol(Y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """Feature rows, log rows, cold labels, and the 1-3 positive feature rows each cold label keeps (few-shot)."""
    rng = np.random.default_rng(1000 + seed)
    order = rng.permutation(Y.shape[0])
    feature, log = np.sort(order[: Y.shape[0] // 2]), np.sort(order[Y.shape[0] // 2:])
    eligible = np.flatnonzero(Y.sum(axis=0) >= 5)
    cold = np.sort(rng.choice(eligible, max(1, int(round(0.2 * len(eligible)))), replace=False))
    shots = {}
    for label in cold:
        positives = np.flatnonzero(Y[feature, label])
        shots[int(label)] = np.sort(rng.choice(positives, min(int(rng.integers(1, 4)), len(positives)),
                                               replace=False))
    return feature, log, cold, shots


def mean_ap(Y: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean average precision over ``labels`` that have a positive in ``Y``."""
    labels = labels[Y[:, labels].sum(axis=0) > 0]
    figures = per_label_metrics(Y[:, labels], scores[:, labels], np.zeros((Y.shape[0], len(labels)), np.uint8))
    return float(np.mean(figures["average_precision"]))


def run(name: str, seed: int, split: str = "test") -> list[dict]:
    train, test = load_split(name, seed, split)
    X, Y = train.X, np.asarray(train.Y.toarray() if sp.issparse(train.Y) else train.Y)
    Y_test = np.asarray(test.Y.toarray() if sp.issparse(test.Y) else test.Y)
    feature, log, cold, shots = protocol(Y, seed)
    names = list(train.label_names)
    warm = np.setdiff1d(np.arange(len(names)), cold)
    log_rows = Y[log]
    log_rows = log_rows[log_rows.sum(axis=1) > 0]  # a label-only row with no label says nothing (birds has many)
    log_frequency = log_rows.mean(axis=0)
    conditional = (log_rows.T @ log_rows) / np.maximum(log_rows.sum(axis=0), 1)[None, :]  # [c, j] = P(c | j)
    records = []

    def record(variant: str, arm: str, scores: np.ndarray, seconds: float, oracle: float | None = None) -> None:
        cold_map = mean_ap(Y_test, scores, cold)
        ranking = evaluate(Y_test, scores, ks=(5,))
        records.append({"dataset": name, "seed": seed, "split": split, "variant": variant, "arm": arm,
                        "cold_map": cold_map,
                        "warm_map": mean_ap(Y_test, scores, warm), "p@5": ranking["p@5"],
                        "ndcg@5": ranking["ndcg@5"], "num_cold": int(len(cold)), "fit_seconds": seconds,
                        "recovery": None if oracle is None else cold_map / oracle})
        print(f"{name} seed {seed} {variant} {arm}: cold mAP {cold_map:.4f} warm mAP {records[-1]['warm_map']:.4f}",
              flush=True)

    def fit(variant: str, layers: int, with_log: bool, visible: bool = False
            ) -> tuple[np.ndarray, float, FittedModel]:
        """Test scores over all labels (in the data's label order) of a model fitted on the feature rows."""
        Y_feature = Y[feature].copy()
        keep = np.ones(len(names), dtype=bool)
        if not visible:
            if variant == "few-shot":
                for label in cold:
                    Y_feature[:, label] = 0
                    Y_feature[shots[int(label)], label] = 1
            else:
                keep[cold] = False  # absent from the feature rows' labels
        columns = np.flatnonzero(keep)
        start = time.perf_counter()
        model = LabelGCNClassifier(num_gcn_layers=layers, random_state=seed).fit(
            X[feature], Y_feature[:, columns], label_names=[names[index] for index in columns],
            graph_data=log_rows if with_log else None, graph_label_names=names if with_log else None)
        seconds = time.perf_counter() - start
        return in_data_order(model.fitted_), seconds, model.fitted_

    def in_data_order(fitted: FittedModel) -> np.ndarray:
        """Test probabilities over all labels in the data's order (a label unknown to the model: by the log)."""
        scores = np.tile(log_frequency, (Y_test.shape[0], 1)).astype(np.float32)
        position = {label: index for index, label in enumerate(fitted.label_names)}
        known = [index for index, label in enumerate(names) if label in position]
        scores[:, known] = fitted.predict_proba(test.X)[:, [position[names[index]] for index in known]]
        return scores

    oracle_scores, oracle_seconds, _ = fit("zero-shot", 0, False, visible=True)
    oracle = mean_ap(Y_test, oracle_scores, cold)
    for variant in ("zero-shot", "few-shot"):
        arms = ZERO_SHOT if variant == "zero-shot" else FEW_SHOT
        plain, plain_seconds, _ = fit(variant, 0, False)  # the defaults without graph sources: the no-graph network
        if variant == "few-shot":
            record(variant, "no-graph", plain, plain_seconds, oracle)  # the network's own few-shot heads
        else:
            by_frequency = plain.copy()
            by_frequency[:, cold] = log_frequency[cold]
            record(variant, "no-graph", by_frequency, plain_seconds, oracle)
        frequency = (Y[feature].sum(axis=0) + log_rows.sum(axis=0)) / len(Y)
        if "popularity" in arms:
            record(variant, "popularity", np.tile(frequency, (Y_test.shape[0], 1)), 0.0, oracle)
        for arm, weights in (("propagation-P", conditional),
                             ("propagation-lift", np.maximum(0.0, conditional - log_frequency[:, None]))):
            propagated = plain.copy()
            propagated[:, cold] = plain[:, warm] @ weights[np.ix_(cold, warm)].T
            record(variant, arm, propagated, plain_seconds, oracle)
        for arm, layers, with_log in (("gcn", 1, False), ("gcn+log", 1, True), ("graph+log", 0, True)):
            if arm in arms:
                scores, seconds, fitted = fit(variant, layers, with_log)
                record(variant, arm, scores, seconds, oracle)
        if "distilled" in arms:  # graph+log's parts: its cold labels' vectors alone, and their teacher alone
            record(variant, "distilled", in_data_order(replace(fitted, cold_teacher=None)), seconds, oracle)
            start = time.perf_counter()
            undistilled = plain.copy()
            undistilled[:, cold] = _teacher_on_probabilities(log_rows, Y[feature], plain, warm, cold)
            record(variant, "undistilled", undistilled, plain_seconds + time.perf_counter() - start, oracle)
    records.append({"dataset": name, "seed": seed, "split": split, "variant": "zero-shot", "arm": "oracle",
                    "cold_map": oracle,
                    "warm_map": mean_ap(Y_test, oracle_scores, warm), "num_cold": int(len(cold)),
                    "fit_seconds": oracle_seconds, "recovery": 1.0,
                    **{key: evaluate(Y_test, oracle_scores, ks=(5,))[key] for key in ("p@5", "ndcg@5")}})
    return records


def _teacher_on_probabilities(log_rows: np.ndarray, feature_labels: np.ndarray, probabilities: np.ndarray,
                               warm: np.ndarray, cold: np.ndarray) -> np.ndarray:
    """(n, len(cold)) the package's teacher, fitted on the log as ``fit`` fits it, applied to ``probabilities``.

    Args:
        log_rows: (m, L) 0/1 label-only rows; feature_labels: (n_feature, L) the feature rows' labels (for the
            co-occurrence counts that cut the graph at scale, as in the package).
        probabilities: (n, L) the no-graph network's probabilities; its warm columns are the teacher's inputs.
    """
    log = sp.csr_matrix(log_rows.astype(np.uint8))
    labels = feature_labels.astype(np.uint8).copy()
    labels[:, cold] = 0
    cooccurrence = cooccurrence_counts(sp.vstack([log, sp.csr_matrix(labels)]).tocsr())
    teacher = graph_labels.fit_label_teacher(log, None, warm, cold, cooccurrence)
    signals = np.zeros_like(probabilities, dtype=np.float32)
    signals[:, warm] = probabilities[:, warm]
    return graph_labels.teacher_probabilities(teacher, sp.csr_matrix(signals), warm, cold)


def markdown(records: list[dict], seeds: list[int], split: str = "test") -> str:
    """The results table: each cell the mean [min, max] over the seeds (the ``mean`` row: of the per-seed means over
    the data sets)."""
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    rows_of = "test rows" if split == "test" else "development rows"
    lines = ["# Cold-start and rare interests: labels with few or no labelled feature rows", "", "{header}",
             f"Mean [min, max] over seeds {seeds}; protocol and arms in the script's docstring "
             f"(`benchmarks/cold_start.py`). Cold mAP: mean average precision of the cold labels over the {rows_of}; "
             "recovery: cold mAP / the mAP the same labels reach trained warm (`oracle`, without the log). The best "
             "arm of a row (by its mean) is in bold.", ""]
    for variant, arms in (("zero-shot", ZERO_SHOT), ("few-shot", FEW_SHOT)):
        for metric in ("cold_map", "recovery", "warm_map", "p@5", "ndcg@5"):
            if variant == "few-shot" and metric not in ("cold_map", "recovery", "warm_map"):
                continue
            shown = [arm for arm in arms if arm != "oracle" or metric in ("cold_map", "warm_map")]
            lines += [f"## {variant}: {metric}", "", "| data set | " + " | ".join(shown) + " |",
                      "|---|" + "---:|" * len(shown)]
            for name in [*datasets, "mean"]:
                values = {arm: _per_seed(records, variant, arm, metric, datasets if name == "mean" else [name])
                          for arm in shown}
                best = max((statistics.mean(v) for a, v in values.items() if v and a != "oracle"), default=None)
                cells = []
                for arm in shown:
                    if not values[arm]:
                        cells.append("")
                        continue
                    centre = statistics.mean(values[arm])
                    text = f"{centre:.3f} [{min(values[arm]):.3f}, {max(values[arm]):.3f}]"
                    cells.append(f"**{text}**" if centre == best and arm != "oracle" else text)
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def _per_seed(records: list[dict], variant: str, arm: str, metric: str, datasets: list[str]) -> list[float]:
    """Per seed, the mean of ``metric`` over ``datasets`` (those of them with a figure) for ``variant`` / ``arm``."""
    by_seed: dict[int, list[float]] = {}
    for r in records:
        if r["variant"] == variant and r["arm"] == arm and r["dataset"] in datasets and r[metric] is not None:
            by_seed.setdefault(r["seed"], []).append(r[metric])
    return [statistics.mean(values) for _, values in sorted(by_seed.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 1 2 (test), 10 11 12 (dev)")
    parser.add_argument("--datasets", nargs="+", default=list(SETS))
    parser.add_argument("--mini-batch", action="store_true",
                        help="fit the teacher and the distilled heads by mini-batch Adam at every size (the path above "
                             "graph_labels.FULL_BATCH_ENTRIES), to measure it against full-batch L-BFGS; writes "
                             "results/cold_start[_dev]_minibatch")
    parser.add_argument("--teacher-inputs", type=int, default=None,
                        help="score each cold label from at most this many inputs (label_propagation.TEACHER_INPUTS); "
                             "writes results/cold_start[_dev]_inputsN")
    parser.add_argument("--rare-own-share", type=float, default=None,
                        help="a rare label's share of its own vector (label_vectors.RARE_OWN_SHARE, 0.5 in the "
                             "package); writes results/cold_start[_dev]_rareX")
    args = parser.parse_args()
    args.seeds = split_seeds(args.split, args.seeds)
    if args.rare_own_share is not None:
        label_vectors.RARE_OWN_SHARE = args.rare_own_share
    if args.mini_batch:
        graph_labels.FULL_BATCH_ENTRIES = 0
    if args.teacher_inputs is not None:
        label_propagation.TEACHER_INPUTS = args.teacher_inputs
    start_run()  # the results record the commit the run started at
    name_of_results = ("cold_start" if args.split == "test" else "cold_start_dev") + (
        "_minibatch" if args.mini_batch else "") + (
        "" if args.teacher_inputs is None else f"_inputs{args.teacher_inputs}") + (
        "" if args.rare_own_share is None else f"_rare{args.rare_own_share:g}")
    records: list[dict] = []
    for name in args.datasets:
        for seed in args.seeds:
            records.extend(run(name, seed, args.split))
            # written after every seed: partial results survive a stop
            write_results(name_of_results, records, markdown(records, args.seeds, args.split))


if __name__ == "__main__":
    main()
