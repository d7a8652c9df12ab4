"""The scalable item-item term against exact EASE^R: completion quality, time and size where both run.

Above ``DENSE_TERM_LABELS`` (8,192) labels the known-label term is EASE^R solved on each label's co-occurrence
neighbourhood (``gnn_mlc.training.ease.neighbourhood_ease_weights``: the ``NEIGHBOURS`` labels of largest
cosine with it); up to it, exact EASE^R.
Both are fitted here on the same Gram matrix with the same ``lambda`` (the one the model would choose:
``choose_regularisation``), so the figures measure the approximation alone:

* **MovieLens at its size** (``recsys.py``'s protocol: 1,297 movies, the training users' ratings; the test users'
  first 80% known, the rest the targets), seeds 0-2 of the test split.
* **A synthetic completion task** (``--rows`` x ``--labels``, default 1,000,000 x 10,000): 400 topics, each a Zipf
  distribution over a random 300 labels (the labels themselves Zipf-popular); each row draws 1-2 topics and 4-16
  labels from them. 5,000 other rows drawn the same way reveal a seeded half of their labels; the rest are the
  targets.

Metrics: Recall@20 and nDCG@10 over the targets (known labels excluded), fit seconds, and the stored weights. Writes
results/item_item.{json,md}. ``--split dev`` is where the neighbourhood's size and ranking were chosen: the synthetic
task at 300,000 x 4,000, development seed 10, neighbourhoods of 256 and 512 labels ranked by cosine or by raw
co-occurrence counts, and the package's form at a third of and three times the chosen lambda (whether lambda chosen
for exact EASE^R on the frequent labels suits it); it writes results/item_item_dev.{json,md}. Usage: ``python benchmarks/item_item.py
[--split dev|test] [--rows 1000000] [--labels 10000] [--seeds 0 1 2]``. About 20 minutes on 2 cores at the test
defaults (exact EASE^R's inversion at 10,000 labels, the neighbourhood form's 10,000 systems of 512 labels).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recsys  # noqa: E402
from common import commit, random_half, recall_ndcg, write_results  # noqa: E402

import gnn_mlc.training.ease as ease  # noqa: E402
from gnn_mlc.training.ease import NEIGHBOURS, ease_weights, gram, neighbourhood_ease_weights  # noqa: E402
from gnn_mlc.training.regularisation import choose_regularisation  # noqa: E402

TOPICS, TOPIC_LABELS, TEST_ROWS = 400, 300, 5_000


def synthetic(rows: int, labels: int, seed: int) -> sp.csr_matrix:
    """(rows, labels) 0/1 CSR baskets drawn from topics (see the module docstring)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, labels + 1) ** 0.7
    members = np.stack([rng.choice(labels, TOPIC_LABELS, replace=False, p=popularity / popularity.sum())
                        for _ in range(TOPICS)])
    within = 1.0 / np.arange(1, TOPIC_LABELS + 1) ** 0.9
    within /= within.sum()
    sizes = rng.integers(4, 17, rows)
    second = rng.random(rows) < 0.5
    first_topic, second_topic = rng.integers(0, TOPICS, rows), rng.integers(0, TOPICS, rows)
    row = np.repeat(np.arange(rows), sizes)
    topic = np.where(second[row] & (rng.random(len(row)) < 0.5), second_topic[row], first_topic[row])
    column = members[topic, rng.choice(TOPIC_LABELS, len(row), p=within)]
    baskets = sp.csr_matrix((np.ones(len(row)), (row, column)), shape=(rows, labels))
    baskets.data[:] = 1.0
    return baskets


def _by_count(G: sp.csr_matrix, norms: np.ndarray, label: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The neighbourhood ranked by raw co-occurrence counts (the development variant)."""
    return _COSINE(G, np.ones_like(norms), label, size)


_COSINE = ease._neighbourhood


def _neighbourhood_form(G: sp.csr_matrix, regularisation: float, size: int, ranking: str) -> sp.csr_matrix:
    ease._neighbourhood = _COSINE if ranking == "cosine" else _by_count
    try:
        return neighbourhood_ease_weights(G, regularisation, size)
    finally:
        ease._neighbourhood = _COSINE


def compare(name: str, seed: int, train: sp.csr_matrix, known: sp.csr_matrix, targets: sp.csr_matrix, *,
            variants: tuple[tuple[int, str, float], ...] = ((NEIGHBOURS, "cosine", 1.0),)) -> list[dict]:
    """Exact EASE^R and the neighbourhood form (each of ``variants``: size, ranking, a factor on ``lambda``)
    fitted on ``train`` (rows, L) with one chosen ``lambda``, scored on the test rows."""
    G = gram(train)
    quality = choose_regularisation(train, None, seed=seed, total=G)
    regularisation = max(quality, key=quality.get)
    records = []
    forms = {"exact": lambda: ease_weights(G, regularisation).astype(np.float32)}
    for size, ranking, factor in variants:
        label = "neighbourhood" if (size, ranking) == (NEIGHBOURS, "cosine") else f"neighbourhood {size} by {ranking}"
        label += "" if factor == 1.0 else f", lambda x{factor:g}"
        forms[label] = lambda size=size, ranking=ranking, factor=factor: _neighbourhood_form(
            G, factor * regularisation, size, ranking)
    for form, fit in forms.items():
        start = time.perf_counter()
        B = fit()
        seconds = time.perf_counter() - start
        scores = known @ B
        recall, ndcg = recall_ndcg(np.asarray(scores.toarray() if sp.issparse(scores) else scores), known, targets)
        records.append({"task": name, "seed": seed, "form": form, "labels": G.shape[0], "rows": train.shape[0],
                        "lambda": regularisation, "recall@20": recall, "ndcg@10": ndcg, "fit_seconds": seconds,
                        "stored_weights": int(B.nnz if sp.issparse(B) else B.size)})
        print(f"{name} seed {seed} {form}: recall@20 {recall:.4f} ndcg@10 {ndcg:.4f} {seconds:.1f}s", flush=True)
    return records


def movielens_task(seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    data = recsys.movielens(seed, "test")
    train = sp.csr_matrix(sp.csr_matrix(data["Y"]) + sp.csr_matrix(data["K"]), dtype=np.float64)
    train.data[:] = 1.0
    return train, sp.csr_matrix(data["K_test"], dtype=np.float64), sp.csr_matrix(data["Y_test"])


def synthetic_task(rows: int, labels: int, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    baskets = synthetic(rows + TEST_ROWS, labels, seed)
    train, test = baskets[:rows], baskets[rows:]
    test = test[np.diff(test.indptr) >= 2]
    known = random_half(test, np.random.default_rng(seed + 1))
    return train, sp.csr_matrix(known, dtype=np.float64), sp.csr_matrix(test - known)


def markdown(records: list[dict]) -> str:
    lines = ["# The scalable item-item term against exact EASE^R", "", "{header}",
             "Mean [min, max] over seeds; the same Gram matrix and lambda for both forms (protocol in "
             "`benchmarks/item_item.py`). Neighbourhood: each label's EASE^R column solved on the "
             f"{NEIGHBOURS} labels of largest cosine with it (the package's form).", "",
             "| task | labels | rows | form | Recall@20 | nDCG@10 | fit s | stored weights |",
             "|---|---:|---:|---|---:|---:|---:|---:|"]
    for task in dict.fromkeys(r["task"] for r in records):
        for form in dict.fromkeys(r["form"] for r in records if r["task"] == task):
            ours = [r for r in records if r["task"] == task and r["form"] == form]

            def cell(key: str, digits: int) -> str:
                values = [r[key] for r in ours]
                return f"{statistics.mean(values):.{digits}f} [{min(values):.{digits}f}, {max(values):.{digits}f}]"
            lines.append(f"| {task} | {ours[0]['labels']:,} | {ours[0]['rows']:,} | {form} | {cell('recall@20', 4)} | "
                         f"{cell('ndcg@10', 4)} | {cell('fit_seconds', 1)} | {ours[0]['stored_weights']:,} |")
    tasks = dict.fromkeys(r["task"] for r in records)
    forms = [form for form in dict.fromkeys(r["form"] for r in records) if form != "exact"]

    def mean(task: str, form: str, metric: str) -> float:
        return statistics.mean(r[metric] for r in records if r["task"] == task and r["form"] == form)
    gaps = [f"{task} {form} {metric} {100 * (mean(task, 'exact', metric) - mean(task, form, metric)):+.2f}"
            for task in tasks for form in forms for metric in ("recall@20", "ndcg@10")
            if any(r["task"] == task and r["form"] == form for r in records)]
    lines += ["", "Exact minus neighbourhood, points of the means (target: within 1): " + "; ".join(gaps) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--rows", type=int, default=None, help="default: 1,000,000 (test), 300,000 (dev)")
    parser.add_argument("--labels", type=int, default=None, help="default: 10,000 (test), 4,000 (dev)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 1 2 (test), 10 (dev)")
    args = parser.parse_args()
    development = args.split == "dev"
    rows = args.rows or (300_000 if development else 1_000_000)
    labels = args.labels or (4_000 if development else 10_000)
    seeds = args.seeds or ([10] if development else [0, 1, 2])
    warnings.filterwarnings("ignore")
    commit()
    records: list[dict] = []
    if development:
        variants = (*((size, ranking, 1.0) for size in (256, 512) for ranking in ("count", "cosine")),
                    (NEIGHBOURS, "cosine", 1 / 3), (NEIGHBOURS, "cosine", 3.0))
        for seed in seeds:
            records += compare("synthetic", seed, *synthetic_task(rows, labels, seed), variants=variants)
            write_results("item_item_dev", records, markdown(records))
        return
    for seed in seeds:
        records += compare("movielens", seed, *movielens_task(seed))
        write_results("item_item", records, markdown(records))
    for seed in seeds:
        records += compare("synthetic", seed, *synthetic_task(rows, labels, seed))
        write_results("item_item", records, markdown(records))


if __name__ == "__main__":
    main()
