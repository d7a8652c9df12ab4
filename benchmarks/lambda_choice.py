"""How the known-label term's EASE^R ``lambda`` is chosen, on development rows only: the package's choice against
EASE^R's own tuning and a finer grid.

``gnn_mlc.training.regularisation.choose_regularisation`` picks ``lambda`` among ``regularisation.REGULARISATIONS`` by
the completion nDCG@10 of 3 folds of every training row, each row revealing a random half of its labels. The EASE^R
arm of ``recsys.py`` instead tunes it on 15% of the training rows held out (``recsys._tune_ease``). On a seed the two
can differ. This script compares the choices over many MovieLens development seeds of ``recsys.py --split dev``. The three rules:

- ``model``: the package's choice;
- ``finer``: the same rule over ``FINER``, the grid with a value between each neighbouring pair from 10 to 3000;
- ``ease-validation``: EASE^R's tuning.

Each chosen ``lambda`` is scored as EASE^R fitted on every training row, on the development rows (their known
labels given, their targets ranked; Recall@20 / nDCG@10 as in ``recsys.py``). Writes
results/lambda_choice_dev.{json,md}.
Usage: ``python benchmarks/lambda_choice.py [--seeds 10 11 ...]``.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recsys  # noqa: E402
from common import movielens_development_main, paired_cells, recall_ndcg  # noqa: E402

import gnn_mlc.training.regularisation as regularisation  # noqa: E402
from gnn_mlc.training.ease import ease_weights, gram  # noqa: E402

FINER = tuple(sorted({*regularisation.REGULARISATIONS, 17.0, 56.0, 170.0, 560.0, 1700.0}))
RULES = ("model", "finer", "ease-validation")


def _choose(every: sp.csr_matrix, seed: int, grid: tuple[float, ...]) -> float:
    """The package's ``lambda`` for the training rows' labels ``every`` (rows, L), over ``grid``."""
    quality = regularisation.choose_regularisation(every, None, seed=seed, regularisations=grid)
    return max(quality, key=quality.get)


def run(seed: int) -> list[dict]:
    """One MovieLens development seed: each rule's ``lambda`` and its development Recall@20 / nDCG@10."""
    data = recsys.movielens(seed, "dev")
    every = sp.csr_matrix(data["K"] + data["Y"], dtype=np.uint8)
    chosen = {"model": _choose(every, seed, regularisation.REGULARISATIONS), "finer": _choose(every, seed, FINER),
              "ease-validation": recsys._tune_ease(every, seed)}
    G = gram(every).toarray()  # dense once: every lambda below solves it
    known, targets = sp.csr_matrix(data["K_test"], dtype=np.float64), sp.csr_matrix(data["Y_test"])
    figures = {value: recall_ndcg(known @ ease_weights(G, value), known, targets) for value in set(chosen.values())}
    records = [{"dataset": "movielens", "seed": seed, "split": "dev", "rule": rule, "lambda": value,
                "recall@20": figures[value][0], "ndcg@10": figures[value][1]} for rule, value in chosen.items()]
    print(f"seed {seed}: " + ", ".join(f"{r['rule']} {r['lambda']:g} ({r['ndcg@10']:.4f})" for r in records),
          flush=True)
    return records


def markdown(records: list[dict]) -> str:
    seeds = sorted({r["seed"] for r in records})
    at = {(r["seed"], r["rule"]): r for r in records}
    lines = ["# How the term's lambda is chosen, on development rows", "", "{header}",
             f"MovieLens development seeds {seeds[0]}-{seeds[-1]} ({len(seeds)}); protocol and rules in the script's "
             "docstring. Mean [min, max] over the seeds of EASE^R on every training row with each rule's lambda.", "",
             "| rule | Recall@20 | nDCG@10 | lambda chosen (seeds) |", "|---|---:|---:|---|"]
    for rule in RULES:
        ours = [at[seed, rule] for seed in seeds]
        cells = [f"{statistics.mean(r[m] for r in ours):.4f} [{min(r[m] for r in ours):.4f}, "
                 f"{max(r[m] for r in ours):.4f}]" for m in ("recall@20", "ndcg@10")]
        counts = {value: sum(r["lambda"] == value for r in ours) for value in sorted({r["lambda"] for r in ours})}
        lines.append(f"| {rule} | " + " | ".join(cells) + " | "
                     + ", ".join(f"{value:g} ({count})" for value, count in counts.items()) + " |")
    lines += ["", "Paired per seed against `ease-validation`, in points (mean [min, max]; seeds ahead / level / "
              "behind on nDCG@10):", "", "| rule | Recall@20 | nDCG@10 | ahead / level / behind |", "|---|---:|---:|---|"]
    for rule in RULES[:2]:
        lines.append(f"| {rule} | " + " | ".join(paired_cells(at, seeds, rule, "ease-validation")) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    movielens_development_main(__doc__.splitlines()[0], "lambda_choice_dev", run, markdown)


if __name__ == "__main__":
    main()
