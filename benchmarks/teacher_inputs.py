"""The cold-label teacher's capped graph against the complete one, where both run: new labels' mAP on synthetic data.

Above ``label_propagation.TEACHER_INPUTS`` (512) warm labels each new label is scored from 512 inputs (its 256 most
similar co-occurring labels and the most frequent others) instead of every warm label. The cold-start benchmark's
sets have fewer than 512 labels, so there the graph is complete; this measures the cap where it applies.

Data (seeded): labels whose co-occurrence carries information, as ``item_item.py``'s synthetic baskets (400 topics,
each a Zipf distribution over 300 labels; a row draws 1-2 topics and 4-16 labels from them; ``scale.py``'s data has
independent labels, from which no label says anything of another), and features in ``scale.py``'s way: each label
has 8 signature features among 100,000, and a row carries :data:`SIGNATURE_DRAWS` draws from each of its labels'
signatures (``scale.py``: 8) plus 10 noise features. Split as ``default_scale.py``'s log arm: the first half of the rows are feature rows, the second half a
label-only log, and 20% of the labels with >= 5 positives in the log are **new** (absent from the feature rows). The
last :data:`TEST_SHARE` of the feature rows are test rows (never fitted on); the model is fitted on the others with
``graph_data=`` the log and ``max_epochs`` :data:`EPOCHS`, once per cap of :data:`CAPS` and once with the cap lifted
(every warm label an input of every new label), per seed. New-label mAP: scikit-learn's macro average precision over
the new labels with a positive among the test rows (warm mAP likewise over the warm labels).

Usage: ``python benchmarks/teacher_inputs.py [--cell 100000x2000] [--seeds 0 1]``. Writes
results/teacher_inputs.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import commit, write_results  # noqa: E402
from item_item import synthetic  # noqa: E402
from scale import BATCH, FEATURES, NOISE, SIGNATURE  # noqa: E402

TEST_SHARE = 0.1
"""The share of the feature rows kept for testing (the last ones)."""
EPOCHS = 3
"""``max_epochs`` of every fit."""
CAPS = (64, 512)
"""The caps measured (the package's is ``label_propagation.TEACHER_INPUTS``, 512)."""
NEW_SHARE = 0.2
"""The share of the labels with >= 5 positives in the log that are made new."""
SIGNATURE_DRAWS = 4
"""Features a row draws from each of its labels' signatures."""
COMPLETE = 10**9
"""A cap no catalogue reaches: every warm label is an input of every new label."""


def mean_ap(Y: sp.csr_matrix, scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean average precision (scikit-learn's) over the ``labels`` that have a positive in ``Y``."""
    from sklearn.metrics import average_precision_score

    truth = Y[:, labels].toarray()
    kept = truth.sum(axis=0) > 0
    return float(average_precision_score(truth[:, kept], scores[:, labels][:, kept], average="macro"))


def data(rows: int, labels: int, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(rows, FEATURES) float32 features and (rows, labels) uint8 labels (see the module docstring)."""
    Y = sp.csr_matrix(synthetic(rows, labels, seed), dtype=np.uint8)
    rng = np.random.default_rng(seed + 1)
    signatures = rng.integers(FEATURES, size=(labels, SIGNATURE))
    row_of, label_of = np.repeat(np.arange(rows), np.diff(Y.indptr)), Y.indices
    drawn = signatures[label_of[:, None], rng.integers(SIGNATURE, size=(len(label_of), SIGNATURE_DRAWS))]
    columns = np.concatenate([drawn.ravel(), rng.integers(FEATURES, size=rows * NOISE)])
    owners = np.concatenate([np.repeat(row_of, SIGNATURE_DRAWS), np.repeat(np.arange(rows), NOISE)])
    X = sp.csr_matrix((np.ones(len(columns), dtype=np.float32), (owners, columns)), shape=(rows, FEATURES))
    X.data[:] = 1.0  # a feature drawn twice is still 1
    return X, Y


def run(X: sp.csr_matrix, Y: sp.csr_matrix, seed: int, inputs: int) -> dict:
    """One fit with at most ``inputs`` teacher inputs per new label; its new- and warm-label mAP on the test rows."""
    from gnn_mlc import LabelGCNClassifier
    from gnn_mlc.nn import label_propagation

    half = X.shape[0] // 2
    log = Y[half:]
    eligible = np.flatnonzero(np.asarray(log.sum(axis=0)).ravel() >= 5)
    new = np.sort(np.random.default_rng(seed).choice(eligible, int(round(NEW_SHARE * len(eligible))), replace=False))
    warm = np.setdiff1d(np.arange(Y.shape[1]), new)
    names = [f"l{j}" for j in range(Y.shape[1])]
    rows = half - int(round(TEST_SHARE * half))  # the feature rows fitted on; rows..half are tested
    label_propagation.TEACHER_INPUTS = inputs
    model = LabelGCNClassifier(max_epochs=EPOCHS, batch_size=BATCH, device="cpu", random_state=seed)
    start = time.perf_counter()
    model.fit(X[:rows], Y[:rows][:, warm], label_names=[names[j] for j in warm], graph_data=log,
              graph_label_names=names)
    seconds = time.perf_counter() - start
    column = {name: index for index, name in enumerate(model.classes_)}
    scores = model.predict_proba(X[rows:half])[:, [column[name] for name in names]]  # the data's label order
    return {"seed": seed, "inputs": inputs, "warm_labels": int(len(warm)), "new_labels": int(len(new)),
            "new_map": mean_ap(Y[rows:half], scores, new), "warm_map": mean_ap(Y[rows:half], scores, warm),
            "fit_seconds": seconds}


def markdown(records: list[dict], cell: str) -> str:
    """The table of ``records`` (one per seed and cap) on the data ``cell`` (rows x labels)."""
    lines = ["# The cold-label teacher: the capped graph against the complete one", "", "{header}",
             f"Synthetic data `{cell}` (rows x labels; protocol in `benchmarks/teacher_inputs.py`): new-label and "
             "warm-label mAP on the test rows, mean [min, max] over seeds.", "",
             "| teacher inputs per new label | warm labels | new labels | new-label mAP | warm-label mAP | fit s |",
             "|---|---:|---:|---:|---:|---:|"]
    for inputs in sorted({record["inputs"] for record in records}):
        mine = [record for record in records if record["inputs"] == inputs]
        cells = [f"{np.mean(v):.4f} [{np.min(v):.4f}, {np.max(v):.4f}]" for v in (
            [r["new_map"] for r in mine], [r["warm_map"] for r in mine])]
        name = "every warm label (complete)" if inputs >= COMPLETE else f"{inputs:,} (capped)"
        lines.append(f"| {name} | {mine[0]['warm_labels']:,} | {mine[0]['new_labels']:,} | {cells[0]} | {cells[1]} | "
                     f"{np.mean([r['fit_seconds'] for r in mine]):.0f} |")
    complete = {r["seed"]: r["new_map"] for r in records if r["inputs"] >= COMPLETE}
    for cap in sorted({r["inputs"] for r in records if r["inputs"] < COMPLETE}):
        paired = [100 * (r["new_map"] - complete[r["seed"]]) for r in records
                  if r["inputs"] == cap and r["seed"] in complete]
        if paired:
            lines.append(f"\nCapped at {cap} minus complete, new-label mAP, points per seed: "
                         f"{', '.join(f'{d:+.2f}' for d in paired)} (mean {np.mean(paired):+.2f}).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="100000x2000", help="rows x labels")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    args = parser.parse_args()
    commit()
    rows, labels = (int(part) for part in args.cell.split("x"))
    records: list[dict] = []
    for seed in args.seeds:
        X, Y = data(rows, labels, seed)
        for inputs in (*CAPS, COMPLETE):
            records.append(run(X, Y, seed, inputs))
            print(records[-1], flush=True)
            write_results("teacher_inputs", records, markdown(records, args.cell))


if __name__ == "__main__":
    main()
