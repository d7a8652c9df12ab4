"""How conservative the known-label blend should be: one or two standard errors, on development rows only.

``gnn_mlc.training.known_labels.choose_blend`` keeps the term-heaviest blend whose held-out nDCG@10 is within
``MARGIN_ERRORS`` standard errors (or half a point) of the best. This script fits the model with each margin on the
development rows of ``recsys.py --split dev`` (MovieLens seeds 10-17; yeast, birds, medical, genbase and enron seeds
10-11) and records its Recall@20 / nDCG@10 beside the model's own term alone. Writes results/blend_margin_dev.{json,md}.
Usage: ``python benchmarks/blend_margin.py [--margins 1 2]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recsys  # noqa: E402
from common import commit, write_results  # noqa: E402

import gnn_mlc.training.known_labels as known_labels  # noqa: E402

ROWS = (("movielens", tuple(range(10, 18))),
        *((name, (10, 11)) for name in ("yeast", "birds", "medical", "genbase", "enron")))


def run(margin: float) -> list[dict]:
    known_labels.MARGIN_ERRORS = margin
    records = []
    for name, seeds in ROWS:
        for seed in seeds:
            for record in recsys.run(name, seed, "dev", earlier=[]):
                records.append({key: record[key] for key in ("dataset", "seed", "arm", "recall@20", "ndcg@10")}
                               | {"blend": record.get("blend"), "margin_errors": margin})
    return records


def markdown(records: list[dict]) -> str:
    lines = ["# The known-label blend's margin, on development rows", "", "{header}",
             "Mean nDCG@10 [worst seed's shortfall against the term alone, points] of graph+known per margin "
             "(standard errors); protocol in the script's docstring.", "",
             "| data set | term alone | " + " | ".join(f"{m:g} SE" for m in sorted({r['margin_errors'] for r in records}))
             + " |", "|---|---:|" + "---:|" * len({r["margin_errors"] for r in records})]
    for name, _ in ROWS:
        margins = sorted({r["margin_errors"] for r in records})
        term = [r for r in records if r["dataset"] == name and r["arm"] == "term" and r["margin_errors"] == margins[0]]
        cells = []
        for margin in margins:
            ours = sorted((r for r in records if r["dataset"] == name and r["arm"] == "graph+known"
                           and r["margin_errors"] == margin), key=lambda r: r["seed"])
            worst = max(100 * (t["ndcg@10"] - o["ndcg@10"]) for t, o in zip(sorted(term, key=lambda r: r["seed"]), ours))
            cells.append(f"{statistics.mean(r['ndcg@10'] for r in ours):.4f} [{worst:+.1f}]")
        lines.append(f"| {name} | {statistics.mean(r['ndcg@10'] for r in term):.4f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--margins", type=float, nargs="+", default=[1.0, 2.0])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    commit()
    records = [record for margin in args.margins for record in run(margin)]
    write_results("blend_margin_dev", records, markdown(records))


if __name__ == "__main__":
    main()
