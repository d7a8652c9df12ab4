"""The known -> target transition beside EASE^R, on development rows only: what the package's out-of-fold choice
(``gnn_mlc.training.transition.choose_transition``) adds to EASE^R on MovieLens, and the grids it was chosen against.

On each MovieLens development seed of ``recsys.py --split dev`` (the training users' first 80% of ratings known,
the rest their targets) these rules score the development users from their known movies, every term refitted on
every training row as the served term is:

- ``ease``: EASE^R, with the package's ``lambda`` (``regularisation.choose_regularisation``);
- ``transition``: the same plus the transition the package chooses out of fold (``TRANSITION_REGULARISATIONS`` x
  ``TRANSITION_SHARES``);
- ``grid <name>``: the same choice over a wider grid (``GRIDS``);
- ``share <w>``: EASE^R plus the transition at a fixed share with ``lambda_T`` 300 (fixed by hand on these very
  rows: the shape of the choice, not a rule).

Recall@20 / nDCG@10 as in ``recsys.py``. Writes results/transition_dev.{json,md}.
Usage: ``python benchmarks/transition.py [--seeds 10 11 ...]``.
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

from gnn_mlc.training import transition  # noqa: E402
from gnn_mlc.training.ease import ease_weights, gram  # noqa: E402
from gnn_mlc.training.regularisation import choose_regularisation, fold_of_rows  # noqa: E402

FIXED_REGULARISATION = 300.0
FIXED_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5)
GRIDS = {"3 x 6": ((30.0, 300.0, 3000.0), (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)),
         "5 x 6": ((30.0, 100.0, 300.0, 1000.0, 3000.0), (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)),
         "1 x 4": ((300.0,), (0.0, 0.1, 0.2, 0.3)),
         "3 x 4": ((100.0, 300.0, 1000.0), (0.0, 0.1, 0.2, 0.3))}
"""Wider (``lambda_T`` values, shares) grids the package's choice is held against."""


def _chosen(data: dict, every: sp.csr_matrix, total: sp.csr_matrix, regularisation: float, seed: int,
            spectra: dict, grid: tuple[tuple[float, ...], tuple[float, ...]]) -> transition.TransitionTerm | None:
    """The transition ``choose_transition`` picks over ``grid`` (``lambda_T`` values, shares)."""
    chosen, _ = transition.choose_transition(
        sp.csr_matrix(data["K"], dtype=np.uint8), sp.csr_matrix(data["Y"], dtype=np.uint8), every, None, total,
        regularisation, fold=fold_of_rows(every.shape[0], seed), seed=seed, spectra=spectra,
        regularisations=grid[0], shares=grid[1])
    return chosen


def run(seed: int) -> list[dict]:
    """One MovieLens development seed: each rule's development Recall@20 / nDCG@10."""
    data = recsys.movielens(seed, "dev")
    known, targets = sp.csr_matrix(data["K"], dtype=np.uint8), sp.csr_matrix(data["Y"], dtype=np.uint8)
    every = sp.csr_matrix(known + targets, dtype=np.uint8)
    total = gram(every)
    spectra: dict = {}  # as fit_known_term: the transition reuses the folds' decompositions
    quality = choose_regularisation(every, None, seed=seed, total=total, spectra=spectra)
    regularisation = max(quality, key=quality.get)
    B = ease_weights(total, regularisation).astype(np.float32)
    given, truth = sp.csr_matrix(data["K_test"], dtype=np.float64), sp.csr_matrix(data["Y_test"])
    item_item = np.asarray(given @ B)
    rules = {"ease": (item_item, None, 0.0)}
    grids = {"transition": (transition.TRANSITION_REGULARISATIONS, transition.TRANSITION_SHARES),
             **{f"grid {name}": grid for name, grid in GRIDS.items()}}
    for rule, grid in grids.items():
        chosen = _chosen(data, every, total, regularisation, seed, spectra, grid)
        rules[rule] = (item_item if chosen is None else given @ transition.with_transition(B, chosen.weights_without(),
                                                                                            chosen.share),
                       None if chosen is None else chosen.regularisation, 0.0 if chosen is None else chosen.share)
    moving = np.asarray(given @ transition.transition_weights(known, targets, FIXED_REGULARISATION))
    spread = item_item.std() / max(moving.std(), 1e-12)  # the fixed shares in the same units as the package's
    for share in FIXED_SHARES:
        rules[f"share {share:g}"] = (item_item + share / (1 - share) * spread * moving, FIXED_REGULARISATION, share)
    records = []
    for rule, (scores, value, share) in rules.items():
        recall, ndcg = recall_ndcg(np.asarray(scores), given, truth)
        records.append({"dataset": "movielens", "seed": seed, "split": "dev", "rule": rule, "lambda": regularisation,
                        "lambda_t": value, "share": share, "recall@20": recall, "ndcg@10": ndcg})
    print(f"seed {seed}: " + ", ".join(f"{r['rule']} {r['ndcg@10']:.4f}" for r in records[:2])
          + f" (lambda_T {records[1]['lambda_t']}, share {records[1]['share']:g})", flush=True)
    return records


def markdown(records: list[dict]) -> str:
    seeds = sorted({r["seed"] for r in records})
    rules = list(dict.fromkeys(r["rule"] for r in records))
    at = {(r["seed"], r["rule"]): r for r in records}
    lines = ["# The transition beside EASE^R, on development rows", "", "{header}",
             f"MovieLens development seeds {seeds[0]}-{seeds[-1]} ({len(seeds)}); protocol and rules in the script's "
             "docstring. Mean [min, max] over the seeds; paired against `ease` per seed, in points (mean [min, max]; "
             "seeds ahead / level / behind on nDCG@10).", "",
             "| rule | Recall@20 | nDCG@10 | paired Recall@20 | paired nDCG@10 | ahead / level / behind |",
             "|---|---:|---:|---:|---:|---|"]
    for rule in rules:
        ours = [at[seed, rule] for seed in seeds]
        cells = [f"{statistics.mean(r[m] for r in ours):.4f} [{min(r[m] for r in ours):.4f}, "
                 f"{max(r[m] for r in ours):.4f}]" for m in ("recall@20", "ndcg@10")]
        cells += paired_cells(at, seeds, rule, "ease")
        lines.append(f"| {rule} | " + " | ".join(cells) + " |")
    chosen = [at[seed, "transition"] for seed in seeds]
    transitions = sum(record["lambda_t"] is not None for record in chosen)
    lines += ["", f"The package's rule chose the transition on {transitions} of {len(seeds)} seeds."]
    return "\n".join(lines) + "\n"


def main() -> None:
    movielens_development_main(__doc__.splitlines()[0], "transition_dev", run, markdown)


if __name__ == "__main__":
    main()
