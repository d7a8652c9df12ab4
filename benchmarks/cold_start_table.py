"""The README's "When the label graph pays" table, generated from benchmarks/results/cold_start.json (never typed).

Per data set, 3-seed means of the cold-start protocol (benchmarks/cold_start.py): cold-label mAP of the no-graph
network (cold labels by log frequency), of score propagation with P(c|j) and with lift weights, and of the defaults
with the label-only log (``graph+log``); its recovery; its warm-label mAP against the no-graph network's; and the
few-shot variant. Then the issue's targets, counted.

Usage: ``python benchmarks/cold_start_table.py`` rewrites the block between the README's markers; ``--check`` exits 1
when the README differs from what the results file gives (a test runs it).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_block import run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "cold_start.json"


def mean(records: list[dict], dataset: str, variant: str, arm: str, metric: str) -> float:
    return statistics.mean(r[metric] for r in records
                           if r["dataset"] == dataset and r["variant"] == variant and r["arm"] == arm)


def table(records: list[dict]) -> str:
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    seeds = sorted({r["seed"] for r in records})
    lines = [
        f"Mean of {len(seeds)} seeds, from [cold_start.json](benchmarks/results/cold_start.json) by "
        "`python benchmarks/cold_start.py` (protocol and every arm: [cold_start.md](benchmarks/results/cold_start.md))."
        " Half of each training split keeps its features, the other half becomes a label-only log; 20% of the labels "
        "with >= 5 positives are cold (absent from the feature rows). Cold mAP: mean AP of the cold labels on the "
        "test rows; propagation: a cold label's score is the sum of the no-graph network's warm probabilities "
        "weighted by P(c|j) or by lift, from the log; graph + log: `fit(..., graph_data=log)` with the defaults.",
        "",
        "| data set | cold mAP: no graph | propagation P(c\\|j) | propagation lift | **graph + log** | recovery "
        "| warm mAP vs no graph | few-shot: own heads | few-shot: graph + log |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    above, margins, recoveries, warm_deltas = 0, [], [], []
    for name in datasets:
        cold = {arm: mean(records, name, "zero-shot", arm, "cold_map")
                for arm in ("no-graph", "propagation-P", "propagation-lift", "graph+log")}
        recovery = mean(records, name, "zero-shot", "graph+log", "recovery")
        warm = 100 * (mean(records, name, "zero-shot", "graph+log", "warm_map")
                      - mean(records, name, "zero-shot", "no-graph", "warm_map"))
        few = {arm: mean(records, name, "few-shot", arm, "cold_map") for arm in ("no-graph", "graph+log")}
        above += cold["graph+log"] > max(cold["propagation-P"], cold["propagation-lift"])
        margins.append(100 * (cold["graph+log"] - cold["propagation-P"]))
        recoveries.append(recovery)
        warm_deltas.append(warm)
        lines.append(f"| {name} | {cold['no-graph']:.3f} | {cold['propagation-P']:.3f} | "
                     f"{cold['propagation-lift']:.3f} | {cold['graph+log']:.3f} | {recovery:.0%} | {warm:+.1f} | "
                     f"{few['no-graph']:.3f} | {few['graph+log']:.3f} |")
    worst = min(range(len(datasets)), key=lambda index: warm_deltas[index])
    lines += [
        "",
        f"Targets: cold mAP above both propagation baselines on **{above} of {len(datasets)}** data sets (target: 5); "
        f"**{statistics.mean(margins):+.1f} points** above P(c|j) propagation on the mean (target: +2); recovery "
        f"**{statistics.mean(recoveries):.0%}** on the mean (target: 60%); warm-label mAP never more than "
        f"**{-min(warm_deltas):.1f} points** below the no-graph network (worst: {datasets[worst]}; target: 0.5).",
    ]
    return "\n".join(lines)


def main() -> None:
    run("cold-start-table", lambda: table(json.loads(RESULTS.read_text())), __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
