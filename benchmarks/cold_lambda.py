"""How EASE^R's ``lambda`` moves the new items' mAP, on development rows only: the lead left by issue 22's last
unmet target (cold-with-history new-item mAP on MovieLens, where the model's new items are ranked by EASE^R's
column at the model's ``lambda``).

On each data set and development seed of ``cold_history.py`` (the same protocol: 20% of the items new, absent from
every feature row, present in a log of half the training rows), EASE^R is fitted on the feature rows' labels and the
log at each ``lambda`` of ``LAMBDAS``, and the new items' mAP over the development rows is recorded; beside it, the
``lambda`` the package's term takes (``regularisation.choose_regularisation`` over the feature rows and the log) and
the one ``recsys.py``'s EASE^R tuning takes. A new-item mAP that rises with ``lambda`` past the package's choice
says that the new items' columns would be better solved with a ``lambda`` of their own. No rule is chosen here.
Writes results/cold_lambda_dev.{json,md}.
Usage: ``python benchmarks/cold_lambda.py [--seeds 10 11 12] [--datasets ...]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cold_history import protocol  # noqa: E402
from cold_start import mean_ap  # noqa: E402
from common import write_results  # noqa: E402
from datasets import start_run  # noqa: E402
from recsys import SETS, _tune_ease, baskets, ease, movielens  # noqa: E402

from gnn_mlc.training.regularisation import choose_regularisation  # noqa: E402

LAMBDAS = (30.0, 100.0, 300.0, 1000.0, 3000.0)


def run(name: str, seed: int) -> dict | None:
    """One data set and development seed: the new items' mAP at each ``lambda``, and the two choices of it."""
    data = movielens(seed, "dev") if name == "movielens" else baskets(name, seed, "dev")
    part = protocol(data, seed, data["split_training"])
    truth, new = sp.csr_matrix(data["Y_test"]).toarray(), part["new"]
    if not len(new) or not truth[:, new].any():
        return None  # no development row holds a new item among its targets
    every = part["Y"] if part["K"] is None else sp.csr_matrix(part["Y"] + part["K"])
    full = sp.csr_matrix(sp.vstack([every, part["log"]]), dtype=np.float64)
    full.data[:] = 1.0
    G = (full.T @ full).toarray()
    known = sp.csr_matrix(data["K_test"], dtype=np.float64)
    new_map = {str(value): mean_ap(truth, np.asarray(known @ ease(G, value)), new) for value in LAMBDAS}
    quality = choose_regularisation(sp.csr_matrix(every, dtype=np.uint8), part["log"], seed=seed)
    record = {"dataset": name, "seed": seed, "split": "dev", "new_map_by_lambda": new_map,
              "model_lambda": max(quality, key=quality.get), "ease_lambda": _tune_ease(full, seed)}
    print(f"{name} seed {seed}: " + " ".join(f"{key} {value:.4f}" for key, value in new_map.items())
          + f" (model {record['model_lambda']:g}, EASE^R {record['ease_lambda']:g})", flush=True)
    return record


def markdown(records: list[dict]) -> str:
    lines = ["# The new items' mAP against EASE^R's lambda, on development rows", "", "{header}",
             "Protocol in the script's docstring. Mean new-item mAP over the development seeds [min, max]; the "
             "lambda the package's term took and the one EASE^R's tuning took, per seed.", "",
             "| data set | seeds | " + " | ".join(f"lambda {value:g}" for value in LAMBDAS)
             + " | package's lambda | EASE^R's lambda |", "|---|---|" + "---:|" * len(LAMBDAS) + "---|---|"]
    for name in dict.fromkeys(r["dataset"] for r in records):
        ours = [r for r in records if r["dataset"] == name]
        cells = []
        for value in LAMBDAS:
            figures = [r["new_map_by_lambda"][str(value)] for r in ours]
            cells.append(f"{statistics.mean(figures):.3f} [{min(figures):.3f}, {max(figures):.3f}]")
        lines.append(f"| {name} | {', '.join(str(r['seed']) for r in ours)} | " + " | ".join(cells) + " | "
                     + ", ".join(f"{r['model_lambda']:g}" for r in ours) + " | "
                     + ", ".join(f"{r['ease_lambda']:g}" for r in ours) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12])
    parser.add_argument("--datasets", nargs="+", default=list(SETS))
    args = parser.parse_args()
    if any(seed < 10 for seed in args.seeds):
        parser.error("development seeds are 10 and above (0-9 are the test seeds)")
    warnings.filterwarnings("ignore")
    start_run()  # the results record the commit the run started at
    records = [record for name in args.datasets for seed in args.seeds
               if (record := run(name, seed)) is not None]
    write_results("cold_lambda_dev", records, markdown(records))


if __name__ == "__main__":
    main()
