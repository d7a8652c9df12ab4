"""Recommend from what a user already has: known labels through the label graph, against item-based CF.

Protocol (BENCHMARKS.md, "Known labels"), 3 seeds:

* **MovieLens** (``movielens-latest-small``): the movies with >= 20 ratings are the labels. Each user's ratings of
  them, by time: the first 80% are the user's history (known labels, and the source of the user's features: the
  genre shares and mean ratings of the history, its log length), the rest are the targets. Users are split at random
  into 80% training and 20% test users (a seeded 15% of the training users are the validation users that tune
  EASE^R's lambda).
* **Basket completion** on every ARFF set in ../shared with >= 14 labels (its train/test split, a seeded 70/30 one
  where it has none): each test row (with >= 2 labels) reveals a seeded half of its labels as known (at least one),
  the rest are the targets; features are the data set's.

Arms: ``popularity`` (training label frequency); ``itemknn`` (cosine item-item similarity of the training rows'
labels, a candidate scored by the sum of its similarities to the known labels); ``ease`` (EASE^R, Steck 2019: B = I -
P diagMat(1/diag(P)), P = (G + lambda I)^-1, G = X^T X over the training rows' labels, lambda tuned on validation
rows among 1, 3, 10, ..., 3000); the recommender anchors of ``benchmarks/anchors.py``, tuned on the same validation
rows, test rows folded in as new users (grids and references there): ``rp3beta`` (RP3beta, Paudel et al. 2017),
``ials`` (iALS, Hu et al. 2008, by the ``implicit`` package of the ``bench`` extra), ``mult-vae`` (Mult-VAE, Liang et
al. 2018) and ``lightgcn`` (LightGCN, He et al. 2020, by PyG), each recorded with its chosen hyperparameters and its
seconds (tuning, refit and test scoring) as ``fit_seconds`` (``score_seconds`` null); ``no-graph``
(``LabelGCNClassifier(use_graph=False)`` on the features alone); ``no-graph+known-features`` (the same with the
known labels appended to the features; training rows get a seeded random known half, or their history);
``graph+known`` (``LabelGCNClassifier().fit(X, Y, known_labels=K)``: the features-only network and the EASE^R term
fitted out of fold, blended by the validation rows, see ``gnn_mlc.training.known_labels``; MovieLens's training users
with their history as K, so the term may add the known -> target transition, ``gnn_mlc.training.transition``, and
the record says which it chose; basket sets with ``known_labels="split"``); ``term`` (that model's own term alone,
``K_test @ B``, ``B`` with its transition, its fit time the model's). Known labels are excluded from every ranking.

``--split dev`` (the default) evaluates on development rows carved from the training rows (other rows for every
seed, on the sets with a fixed split too): every choice is made there, on development seeds (10 11 12);
``--split test`` is run once per reported commit, on the test rows (seeds 0-4 for MovieLens, 0-2 for the others).

Metrics over the targets of the test rows: Recall@20 (hits / min(20, targets), as in Liang et al. 2018) and binary
nDCG@10; fit and scoring seconds; for ``graph+known``, the scoring time of the ``Scorer`` with and without the known
column (median of 5 on the test rows repeated to >= 50,000 rows). Writes results/recsys.{json,md}.
Usage: ``python benchmarks/recsys.py [--split dev|test] [--seeds 0 1 2] [--datasets ...]``; ``--scoring-only``
refits the features-only network and the graph+known model of each set (first seed, one after the other) and
writes only their fit times and the scoring-time comparison, to results/recsys_scoring.{json,md} (run it alone on
the machine: the ratios are its point).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import anchors  # noqa: E402
from common import RESULTS, paired_points, recall_ndcg, time_repeats, validation_split, write_results  # noqa: E402
from common import random_half as _half  # noqa: E402
from datasets import DATASETS, load, start_run  # noqa: E402

from gnn_mlc import LabelGCNClassifier, Scorer  # noqa: E402

SETS = ("movielens", "yeast", "birds", "genbase", "medical", "enron", "bibtex", "mediamill_small", "yeast-meka")
ARMS = ("popularity", "itemknn", "ease", "rp3beta", "ials", "mult-vae", "lightgcn", "no-graph",
        "no-graph+known-features", "term", "graph+known")
LAMBDAS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)


def movielens(seed: int, split: str = "test") -> dict:
    """Features, known labels and targets of MovieLens users (see the module docstring), split by user; with
    ``split="dev"``, the training users are split again (80/20) and the development users stand in for the test."""
    folder = DATASETS / "movielens-latest-small"
    with open(folder / "movies.csv", newline="", encoding="utf-8") as handle:
        genres = {int(row["movieId"]): [g for g in row["genres"].split("|") if g != "(no genres listed)"]
                  for row in csv.DictReader(handle)}
    ratings: dict[int, list[tuple[int, int, float]]] = {}
    counts: dict[int, int] = {}
    with open(folder / "ratings.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            movie = int(row["movieId"])
            counts[movie] = counts.get(movie, 0) + 1
            ratings.setdefault(int(row["userId"]), []).append((int(row["timestamp"]), movie, float(row["rating"])))
    movies = sorted(movie for movie, count in counts.items() if count >= 20)
    column = {movie: index for index, movie in enumerate(movies)}
    genre_names = sorted({genre for values in genres.values() for genre in values})
    features, known, targets = [], [], []
    for user in sorted(ratings):
        history = sorted(entry for entry in ratings[user] if entry[1] in column)
        cut = int(round(0.8 * len(history)))
        if cut == 0 or cut == len(history):
            continue
        share, total = np.zeros(len(genre_names)), np.zeros(len(genre_names))
        for _, movie, rating in history[:cut]:
            for genre in genres[movie]:
                share[genre_names.index(genre)] += 1
                total[genre_names.index(genre)] += rating
        mean = np.divide(total, share, out=np.zeros_like(share), where=share > 0)
        features.append(np.concatenate([share / cut, mean / 5, [np.log1p(cut)]]))
        known.append([column[movie] for _, movie, _ in history[:cut]])
        targets.append([column[movie] for _, movie, _ in history[cut:]])
    K, Y = (_indicator(rows, len(movies)) for rows in (known, targets))
    order = np.random.default_rng(seed).permutation(len(features))
    test, train = np.sort(order[: len(order) // 5]), np.sort(order[len(order) // 5:])
    if split == "dev":
        train = np.random.default_rng(seed + 100).permutation(train)
        test, train = np.sort(train[: len(train) // 5]), np.sort(train[len(train) // 5:])
    X = np.asarray(features, dtype=np.float32)
    return {"X": X[train], "K": K[train], "Y": Y[train], "X_test": X[test], "K_test": K[test], "Y_test": Y[test],
            "labels": [str(movie) for movie in movies], "split_training": False}


def baskets(name: str, seed: int, split: str = "test") -> dict:
    """An ARFF set's rows with a seeded half of each test row's labels revealed (see the module docstring); with
    ``split="dev"``, a seeded 30% of the training rows stand in for the test rows (other rows per seed, also on the
    sets with a fixed split)."""
    train, test = load(name, seed)
    if split == "dev":
        order = np.random.default_rng(seed + 100).permutation(train.num_rows)
        held = len(order) * 3 // 10
        train, test = train.subset(np.sort(order[held:])), train.subset(np.sort(order[:held]))
    Y_test = sp.csr_matrix(test.Y, dtype=np.uint8)
    rows = np.flatnonzero(np.diff(Y_test.indptr) >= 2)
    K_test = _half(Y_test[rows], np.random.default_rng(seed))
    return {"X": train.X, "Y": sp.csr_matrix(train.Y, dtype=np.uint8), "K": None,
            "X_test": test.X[rows], "K_test": K_test, "Y_test": sp.csr_matrix(Y_test[rows] - K_test),
            "labels": list(train.label_names), "split_training": True}


def _indicator(rows: list[list[int]], width: int) -> sp.csr_matrix:
    indptr = np.concatenate([[0], np.cumsum([len(row) for row in rows])])
    indices = np.array([index for row in rows for index in row], dtype=np.int64)
    matrix = sp.csr_matrix((np.ones(len(indices), dtype=np.uint8), indices, indptr), shape=(len(rows), width))
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def ease(G: np.ndarray, regularisation: float) -> np.ndarray:
    """EASE^R's item-item matrix for the Gram matrix ``G`` (labels, labels)."""
    P = np.linalg.inv(G + regularisation * np.eye(len(G)))
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    return B


MODEL_ARMS = ("graph+known", "term")
"""The arms that depend on the package's code (the others are baselines and anchors)."""


def run(name: str, seed: int, split: str, *, with_anchors: bool = True, earlier: list[dict] | None = None
        ) -> list[dict]:
    """Every arm's records of one data set and seed; with ``earlier`` (records of a results file), only the model's
    arms (:data:`MODEL_ARMS`) are computed, the others taken from ``earlier`` as they were (they do not depend on
    the package's code)."""
    data = movielens(seed, split) if name == "movielens" else baskets(name, seed, split)
    X, Y, K, labels = data["X"], data["Y"], data["K"], data["labels"]
    full = sp.csr_matrix(Y if K is None else Y + K, dtype=np.float64)  # every training label, known or target
    full.data[:] = 1.0
    records = []

    def record(arm: str, scores: np.ndarray, fit_seconds: float, score_seconds: float | None, **extra) -> None:
        recall, ndcg = recall_ndcg(scores, data["K_test"], data["Y_test"])
        records.append({"dataset": name, "seed": seed, "split": split, "arm": arm, "recall@20": recall, "ndcg@10": ndcg,
                        "fit_seconds": fit_seconds, "score_seconds": score_seconds, **extra})
        print(f"{name} seed {seed} {arm}: recall@20 {recall:.4f} ndcg@10 {ndcg:.4f}", flush=True)

    known_test = sp.csr_matrix(data["K_test"], dtype=np.float64)
    targets = Y if K is not None else sp.csr_matrix(Y, dtype=np.uint8)
    if earlier is None:
        _baseline_arms(data, full, known_test, targets, seed, record, with_anchors=with_anchors)
    else:
        records.extend(r for r in earlier if (r["dataset"], r["seed"], r.get("split")) == (name, seed, split)
                       and r["arm"] not in MODEL_ARMS)
    start = time.perf_counter()
    model = LabelGCNClassifier(random_state=seed).fit(
        X, targets, label_names=labels, known_labels="split" if data["split_training"] else K)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = model.predict_proba(data["X_test"], known_labels=data["K_test"])
    score_seconds = time.perf_counter() - start
    chosen = model.fitted_.metrics["known_term"]
    record("graph+known", scores, fit_seconds, score_seconds, blend=chosen["blend"],
           term_lambda=chosen["regularisation"], selection_rows=chosen["held_out_rows"],
           transition=chosen.get("transition"), **_scorer_times(model, data, labels))
    term = model.fitted_.known_term  # the model's own term alone: its B, without the network
    term_scores = known_test @ term.matrix
    record("term", term_scores.toarray() if sp.issparse(term_scores) else np.asarray(term_scores), fit_seconds, 0.0)
    return records


def _baseline_arms(data: dict, full: sp.csr_matrix, known_test: sp.csr_matrix, targets: sp.csr_matrix, seed: int,
                   record: Callable[..., None], *, with_anchors: bool) -> None:
    """Record popularity, ItemKNN, EASE^R, the anchors and the no-graph networks (see the module docstring)."""
    X, K, labels = data["X"], data["K"], data["labels"]
    record("popularity", np.tile(np.asarray(full.mean(axis=0)), (known_test.shape[0], 1)), 0.0, 0.0)
    start = time.perf_counter()
    G = (full.T @ full).toarray()
    norms = np.sqrt(np.maximum(np.diag(G), 1e-12))
    similarity = G / norms[:, None] / norms[None, :]
    np.fill_diagonal(similarity, 0.0)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    record("itemknn", known_test @ similarity, fit_seconds, time.perf_counter() - start)
    start = time.perf_counter()
    regularisation = _tune_ease(full, seed)
    B = ease(G, regularisation)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    record("ease", known_test @ B, fit_seconds, time.perf_counter() - start, ease_lambda=regularisation)
    for arm, anchor in anchors.ANCHORS.items() if with_anchors else ():
        scores, chosen, seconds = anchors.timed(anchor, full, known_test, seed)
        record(arm, scores, seconds, None, **chosen)  # fit_seconds: tuning, refit and scoring the test rows together
    for arm in ("no-graph", "no-graph+known-features"):
        features, test_features = X, data["X_test"]
        train_targets = targets
        if arm.endswith("known-features"):
            train_known = K if K is not None else _half_all(targets, np.random.default_rng(seed + 7))
            if K is None:
                train_targets = sp.csr_matrix(targets - train_known)
            features, test_features = _with_known(X, train_known), _with_known(data["X_test"], data["K_test"])
        start = time.perf_counter()
        model = LabelGCNClassifier(use_graph=False, random_state=seed).fit(features, train_targets, label_names=labels)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        scores = model.predict_proba(test_features)
        record(arm, scores, fit_seconds, time.perf_counter() - start)


def _half_all(Y: sp.csr_matrix, rng: np.random.Generator) -> sp.csr_matrix:
    """A random half of the labels of every row with two or more (none of a row with one)."""
    Y = sp.csr_matrix(Y, dtype=np.uint8)
    rows = np.flatnonzero(np.diff(Y.indptr) >= 2)
    known = sp.lil_matrix(Y.shape, dtype=np.uint8)
    half = _half(Y[rows], rng)
    known[rows] = half
    return sp.csr_matrix(known)


def _with_known(X, known) -> np.ndarray | sp.csr_matrix:
    known = sp.csr_matrix(known, dtype=np.float32)
    return sp.hstack([sp.csr_matrix(X, dtype=np.float32), known]).tocsr() if sp.issparse(X) \
        else np.hstack([np.asarray(X, dtype=np.float32), known.toarray()])


def _tune_ease(full: sp.csr_matrix, seed: int) -> float:
    """EASE^R's lambda with the best nDCG@10 on validation rows (15% of the training rows, a random known half)."""
    fitting, known, targets = validation_split(full, seed)
    G = (full[fitting].T @ full[fitting]).toarray()
    results = {value: recall_ndcg(sp.csr_matrix(known, dtype=np.float64) @ ease(G, value), known, targets)[1]
               for value in LAMBDAS}
    return max(results, key=results.get)


def _scorer_times(model: LabelGCNClassifier, data: dict, labels: list[str]) -> dict:
    """Scoring seconds of the model's Scorer on the test rows repeated to >= 50,000 rows, with and without the
    known column (median of 5 runs of each, alternating)."""
    import tempfile

    X = data["X_test"].toarray() if sp.issparse(data["X_test"]) else np.asarray(data["X_test"])
    known = sp.csr_matrix(data["K_test"])
    names = np.asarray(labels, dtype=object)
    repeats = max(1, -(-50_000 // X.shape[0]))
    columns = {f"f{j}": pa.array(np.tile(X[:, j], repeats)) for j in range(X.shape[1])}
    lists = [list(names[known.indices[known.indptr[row]:known.indptr[row + 1]]]) for row in range(known.shape[0])]
    table = pa.table({"id": pa.array(np.arange(X.shape[0] * repeats)), **columns,
                      "owned": pa.array(lists * repeats, pa.list_(pa.string()))})
    with tempfile.TemporaryDirectory() as directory:
        model.set_params(device="cpu")
        model.fitted_ = replace(model.fitted_, feature_names=[f"f{j}" for j in range(X.shape[1])])
        model.to_directory(Path(directory) / "model")
        plain = Scorer(Path(directory) / "model", top_k=20, device="cpu", without_history=True)
        with_known = Scorer(Path(directory) / "model", top_k=20, device="cpu", known_column="owned")
        runs: dict[str, list[float]] = {"plain": [], "known": []}
        for _ in range(5):  # alternating, so a slow spell of the machine falls on both
            for arm, scorer in (("plain", plain), ("known", with_known)):
                runs[arm].append(time_repeats(lambda scorer=scorer: scorer.score_table(table), 1)["median_s"])
        timings = {arm: statistics.median(seconds) for arm, seconds in runs.items()}
    return {"scoring_rows": table.num_rows, "scorer_seconds_plain": timings["plain"],
            "scorer_seconds_known": timings["known"], "known_time_ratio": timings["known"] / timings["plain"]}


def markdown(records: list[dict], seeds: list[int]) -> str:
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    lines = ["# Recommendation from known labels: the label graph against item-based CF", "", "{header}",
             f"Mean [min, max] over the seeds of each data set (all seeds: {seeds}); protocol and arms in the "
             "script's docstring "
             "(`benchmarks/recsys.py`). Known labels are excluded from every ranking. The best arm of a row is in "
             "bold.", ""]
    for metric in ("recall@20", "ndcg@10", "fit_seconds"):
        lines += [f"## {metric}", "", "| data set | " + " | ".join(ARMS) + " |", "|---|" + "---:|" * len(ARMS)]
        for name in datasets:
            runs = {arm: [r[metric] for r in records if r["dataset"] == name and r["arm"] == arm] for arm in ARMS}
            values = {arm: statistics.mean(figures) for arm, figures in runs.items() if figures}
            best = (min if metric == "fit_seconds" else max)(values.values())
            lines.append(f"| {name} | " + " | ".join(
                "" if arm not in values else (f"**{values[arm]:.3f}**" if values[arm] == best else f"{values[arm]:.3f}")
                + ("" if len(runs[arm]) < 2 else f" [{min(runs[arm]):.3f}, {max(runs[arm]):.3f}]")
                for arm in ARMS) + " |")
        lines.append("")
    return "\n".join(lines + paired_section(records, datasets)
                     + scoring_section([r for r in records if r["arm"] == "graph+known"], alone=False)) + "\n"


def paired_section(records: list[dict], datasets: list[str]) -> list[str]:
    """The Markdown lines of graph+known's per-seed difference to the best baseline or anchor of each data set (by
    its mean, per metric): mean [min, max] over the seeds, in points."""
    lines = ["## Paired difference to the best baseline", "",
             "graph+known minus the best of popularity, ItemKNN, EASE^R and (where they ran) the anchors, seed by "
             "seed, in points: mean [min, max] over the seeds.", "",
             "| data set | best on recall@20 | difference | best on ndcg@10 | difference |", "|---|---|---:|---|---:|"]
    baselines = ARMS[:ARMS.index("no-graph")]
    for name in datasets:
        cells = []
        for metric in ("recall@20", "ndcg@10"):
            ran = {arm: [r[metric] for r in records if r["dataset"] == name and r["arm"] == arm
                         and r.get(metric) is not None] for arm in baselines}
            best = max((arm for arm in baselines if ran[arm]), key=lambda arm: statistics.mean(ran[arm]), default=None)
            difference = [] if best is None else paired_points(records, name, "graph+known", best, metric)
            cells += [best or "", f"{statistics.mean(difference):+.2f} [{min(difference):+.2f}, {max(difference):+.2f}]"
                      if difference else "not paired"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def scoring_section(records: list[dict], *, alone: bool = True) -> list[str]:
    """The Markdown lines of the scoring-time comparison (records carrying :func:`_scorer_times`'s fields); unless
    ``alone`` (timed on an otherwise idle machine, as ``--scoring-only`` is run), a line points to those figures."""
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    ratios = [r["known_time_ratio"] for r in records]
    lines = ["## Scoring with known labels", "",
             f"`Scorer` seconds with the known column over seconds without it, the same model and rows (>= 50,000, "
             f"top 20), median of 5 runs each, alternating: mean ratio {statistics.mean(ratios):.2f}, "
             f"max {max(ratios):.2f} (target <= 1.5).", ""]
    if not alone:
        lines += ["Timed within this run, which may share the machine with another (benchmarks/README.md says how "
                  "each file ran): the cost figures the README quotes come from `--scoring-only` alone on the "
                  "machine (recsys_scoring.md).", ""]
    lines += ["| data set | rows | without (s) | with (s) | ratio |", "|---|---:|---:|---:|---:|"]
    for name in datasets:
        rows = [r for r in records if r["dataset"] == name]
        lines.append(f"| {name} | {rows[0]['scoring_rows']:,} | "
                     f"{statistics.mean(r['scorer_seconds_plain'] for r in rows):.3f} | "
                     f"{statistics.mean(r['scorer_seconds_known'] for r in rows):.3f} | "
                     f"{statistics.mean(r['known_time_ratio'] for r in rows):.2f} |")
    return lines


FIT_REPEATS = 3
"""Fits of each arm per data set in ``--scoring-only`` (alternating; the median is reported)."""


def scoring_only(datasets: list[str], seed: int) -> None:
    """Only the cost comparison: the features-only network's and the graph+known model's fit seconds on each data
    set (one seed; :data:`FIT_REPEATS` fits of each, alternating, median), and that model's scoring timed by
    :func:`_scorer_times`; writes results/recsys_scoring.{json,md}."""
    records = []
    for name in datasets:
        data = movielens(seed, "test") if name == "movielens" else baskets(name, seed, "test")
        targets = data["Y"] if data["K"] is not None else sp.csr_matrix(data["Y"], dtype=np.uint8)
        network_times, known_times = [], []
        for _ in range(FIT_REPEATS):
            start = time.perf_counter()
            LabelGCNClassifier(use_graph=False, random_state=seed).fit(data["X"], targets, label_names=data["labels"])
            network_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            model = LabelGCNClassifier(random_state=seed).fit(
                data["X"], targets, label_names=data["labels"],
                known_labels="split" if data["split_training"] else data["K"])
            known_times.append(time.perf_counter() - start)
        network_seconds, known_seconds = statistics.median(network_times), statistics.median(known_times)
        records.append({"dataset": name, "seed": seed, "fit_seconds_network": network_seconds,
                        "fit_seconds_known": known_seconds, "fit_ratio": known_seconds / network_seconds,
                        "fit_seconds_network_all": network_times, "fit_seconds_known_all": known_times,
                        "blend": model.fitted_.metrics["known_term"]["blend"],
                        **_scorer_times(model, data, data["labels"])})
        print(f"{name}: {records[-1]}", flush=True)
        text = ["# Known labels: the time they add to fitting and scoring", "", "{header}",
                f"The graph+known model of `benchmarks/recsys.py` (seed {seed}, test split's training rows) per data "
                "set, and the features-only network (`use_graph=False`, the `no-graph` arm) on the same rows, fitted "
                f"{FIT_REPEATS} times each, alternating, in one process on an otherwise idle machine "
                "(`--scoring-only`): medians, [min, max]; the quality figures are in recsys.md.", "",
                "## Fitting with known labels", "",
                "| data set | features-only network (s) | with known labels (s) | ratio of medians | "
                "blend (term, network) |", "|---|---:|---:|---:|---|"]
        text += [f"| {r['dataset']} | {r['fit_seconds_network']:.2f} [{min(r['fit_seconds_network_all']):.2f}, "
                 f"{max(r['fit_seconds_network_all']):.2f}] | {r['fit_seconds_known']:.2f} "
                 f"[{min(r['fit_seconds_known_all']):.2f}, {max(r['fit_seconds_known_all']):.2f}] | "
                 f"{r['fit_ratio']:.2f} | {r['blend']} |" for r in records] + [""]
        write_results("recsys_scoring", records, "\n".join(text + scoring_section(records)) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(SETS))
    parser.add_argument("--anchors", choices=("movielens", "all"), default="movielens",
                        help="where the anchors of benchmarks/anchors.py run: MovieLens (where the model is held to "
                             "them; LightGCN alone takes minutes a seed) or every data set")
    parser.add_argument("--results-name", default=None,
                        help="write results/NAME.{json,md} (default: recsys for --split test, recsys_dev for dev)")
    parser.add_argument("--model-only", action="store_true",
                        help="compute only the model's arms (graph+known, term); take the baselines and anchors of "
                             "the same data set, seed and split from the results file as they were")
    parser.add_argument("--append", action="store_true",
                        help="keep the results file's records of the other data sets (run data sets with their own "
                             "seeds: MovieLens 0-4, the basket sets 0-2)")
    parser.add_argument("--split", choices=("dev", "test"), default="dev",
                        help="dev: development rows carved from the training rows, for exploring and choosing "
                             "(results/recsys_dev); test: the test rows, run once to report (results/recsys)")
    parser.add_argument("--scoring-only", action="store_true",
                        help="only time fitting and scoring with and without known labels (first seed); "
                             "results/recsys_scoring")
    args = parser.parse_args()
    start_run()  # the results record the commit the run started at
    if args.scoring_only:
        scoring_only(args.datasets, args.seeds[0])
        return
    name_of_results = args.results_name or ("recsys" if args.split == "test" else "recsys_dev")
    records: list[dict] = []
    existing = json.loads((RESULTS / f"{name_of_results}.json").read_text()) \
        if (RESULTS / f"{name_of_results}.json").exists() else []
    earlier = existing if args.model_only else None
    if args.append:  # other data sets' records are kept
        records = [record for record in existing if record["dataset"] not in args.datasets]
    for name in args.datasets:
        for seed in args.seeds:
            records.extend(run(name, seed, args.split, with_anchors=args.anchors == "all" or name == "movielens",
                               earlier=earlier))
            # partial results survive a stop
            write_results(name_of_results, records, markdown(records, sorted({r["seed"] for r in records})))


if __name__ == "__main__":
    main()
