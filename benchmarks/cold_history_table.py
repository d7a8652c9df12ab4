"""The README's "new items from a user's history" table, generated from benchmarks/results/cold_history.json.

Per data set, the seed means of the protocol of benchmarks/cold_history.py (--split test): the new items' mAP of every
arm, the model's paired difference to the strongest other arm (the best mean of both propagations and EASE^R with the
log) with the seeds it is ahead of and behind, and Recall@20 / nDCG@10 with the new items among the candidates for the
arms that rank every item; then issue
22's targets, counted: the model's new-item mAP above both propagations and EASE^R with the log on MovieLens and on
at least 3 distinct basket sets (yeast-meka is yeast again), and per-row Recall@20 with the log at least that without.

Usage: ``python benchmarks/cold_history_table.py`` rewrites the block between the README's markers; ``--check`` exits
1 when the README differs from what the results file gives (a test runs it).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_block import run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MAP_ARMS = (("chance", "chance"), ("propagation-P", "propagation P(c \\| j)"), ("propagation-lift", "propagation lift"),
            ("ease+log", "EASE^R + log"), ("model", "**model**"))
TITLES = dict(MAP_ARMS)
REPEATS = {"yeast-meka": "yeast"}
"""Data sets that are another set again: counted once in the targets."""


def mean(records: list[dict], dataset: str, arm: str, metric: str) -> float:
    figures = [r[metric] for r in records if r["dataset"] == dataset and r["arm"] == arm and r.get(metric) is not None]
    return statistics.mean(figures) if figures else float("nan")


OTHERS = ("propagation-P", "propagation-lift", "ease+log")
"""The arms the model's new-item mAP is held to."""


def paired(records: list[dict], dataset: str) -> str:
    """The model's new-item mAP less the strongest other arm's, seed by seed: mean in points, seeds ahead / behind."""
    strongest = max(OTHERS, key=lambda arm: mean(records, dataset, arm, "new_map"))
    figures = {(r["arm"], r["seed"]): r["new_map"] for r in records
               if r["dataset"] == dataset and r.get("new_map") is not None}
    differences = [figures[("model", seed)] - figures[(strongest, seed)] for arm, seed in figures
                   if arm == "model" and (strongest, seed) in figures]
    if not differences:  # no seed's evaluated rows hold a new item among their targets
        return "n/a"
    return (f"{100 * statistics.mean(differences):+.2f} ({sum(d > 0 for d in differences)} / "
            f"{sum(d < 0 for d in differences)}; {TITLES[strongest]})")


def table(records: list[dict]) -> str:
    """The block's Markdown from the cold-history records."""
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    counts = {name: len({r["seed"] for r in records if r["dataset"] == name}) for name in datasets}
    seeds = "; ".join(f"{count} seeds: {', '.join(name for name in datasets if counts[name] == count)}"
                      for count in sorted(set(counts.values()), reverse=True))
    lines = [
        f"Seed means ({seeds}), from [cold_history.json](benchmarks/results/cold_history.json) by "
        "`python benchmarks/cold_history.py --split test` (protocol and spreads: "
        "[cold_history.md](benchmarks/results/cold_history.md)). \"new mAP\": mean AP of the new items (absent from "
        "every feature row and training history, present in a log of half the training rows) over the test rows; "
        "\"model - strongest\": the model's new mAP less the strongest other arm's, paired by seed, in points (seeds "
        "ahead / behind; which arm). Recall@20 / nDCG@10 rank every item for each test row, new ones among the "
        "candidates.",
        "",
        "| data set | " + " | ".join(f"new mAP: {title}" for _, title in MAP_ARMS)
        + " | model - strongest | R@20 / nDCG@10 without the log | R@20 / nDCG@10 with the log |",
        "|---|" + "---:|" * (len(MAP_ARMS) + 3),
    ]
    for name in datasets:
        lines.append(f"| {name} | " + " | ".join(f"{mean(records, name, arm, 'new_map'):.3f}" for arm, _ in MAP_ARMS)
                     + f" | {paired(records, name)}" + "".join(f" | {mean(records, name, arm, 'recall@20'):.3f} / "
                               f"{mean(records, name, arm, 'ndcg@10'):.3f}" for arm in ("model-without-log", "model"))
                     + " |")
    distinct = [name for name in datasets if name not in REPEATS]
    above = {name: all(mean(records, name, "model", "new_map") > mean(records, name, other, "new_map")
                       for other in OTHERS) for name in distinct}
    baskets = [name for name in distinct if name != "movielens"]
    kept = [name for name in distinct if mean(records, name, "model", "recall@20")
            >= mean(records, name, "model-without-log", "recall@20")]
    lines += ["", "Targets:",
              "- New-item mAP above both propagations and EASE^R with the log: MovieLens **"
              + ("met" if above.get("movielens") else "not met") + f"**; basket sets **{sum(above[n] for n in baskets)}"
              f" of {len(baskets)}** distinct sets (target: at least 3).",
              f"- Per-row Recall@20 with the log at least that without it: **{len(kept)} of {len(distinct)}** distinct "
              "sets" + ("" if len(kept) == len(distinct) else
                        f" (not on {', '.join(name for name in distinct if name not in kept)})") + "."]
    return "\n".join(lines)


def load() -> str:
    return table(json.loads((RESULTS / "cold_history.json").read_text()))


def main() -> None:
    run("cold-history-table", load, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
