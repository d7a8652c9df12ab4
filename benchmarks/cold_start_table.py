"""The README's "When the label graph pays" table, generated from benchmarks/results/cold_start.json (never typed).

Per data set, 3-seed means of the cold-start protocol (benchmarks/cold_start.py): cold-label mAP of the no-graph
network (cold labels by log frequency), of score propagation with P(c|j) and with lift weights, and of the defaults
with the label-only log (``graph+log``); its cold mAP relative to the same labels warm without the log (the script's
``recovery``: over the ``oracle`` arm, which never sees the log, so it can pass 100%); its warm-label mAP against the
no-graph network's; and the few-shot variant. Then the issue's targets, counted over distinct data sets (yeast-meka
is yeast again: listed, not counted), on the mean and on every seed, against the better of the two propagations.

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


REPEATS = {"yeast-meka": "yeast"}
"""Data sets that repeat another (the same data in another format): shown, never counted twice."""

PROPAGATIONS = ("propagation-P", "propagation-lift")


def mean(records: list[dict], dataset: str, variant: str, arm: str, metric: str, seed: int | None = None) -> float:
    return statistics.mean(r[metric] for r in records
                           if r["dataset"] == dataset and r["variant"] == variant and r["arm"] == arm
                           and (seed is None or r["seed"] == seed))


def spread(records: list[dict], dataset: str, variant: str, arm: str, metric: str) -> str:
    """``mean [min, max]`` of ``metric`` over the seeds."""
    values = [r[metric] for r in records if r["dataset"] == dataset and r["variant"] == variant and r["arm"] == arm]
    return f"{statistics.mean(values):.3f} [{min(values):.3f}, {max(values):.3f}]"


def margin(records: list[dict], dataset: str, seed: int | None = None) -> float:
    """Cold mAP of ``graph+log`` minus the better propagation's, in points (on one seed, or on the seed means)."""
    return 100 * (mean(records, dataset, "zero-shot", "graph+log", "cold_map", seed)
                  - max(mean(records, dataset, "zero-shot", arm, "cold_map", seed) for arm in PROPAGATIONS))


def table(records: list[dict]) -> str:
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    counted = [name for name in datasets if name not in REPEATS]
    seeds = sorted({r["seed"] for r in records})
    lines = [
        f"Mean [min, max] over {len(seeds)} seeds, from [cold_start.json](benchmarks/results/cold_start.json) by "
        "`python benchmarks/cold_start.py` (protocol and every arm: [cold_start.md](benchmarks/results/cold_start.md))."
        " Half of each training split keeps its features, the other half becomes a label-only log; 20% of the labels "
        "with >= 5 positives are cold (absent from the feature rows). Cold mAP: mean AP of the cold labels on the "
        "test rows; propagation: a cold label's score is the sum of the no-graph network's warm probabilities "
        "weighted by P(c|j) or by lift, from the log; graph + log: `fit(..., graph_data=log)` with the defaults. "
        "vs warm without log: graph + log's cold mAP over the mAP the same labels reach when they are warm (labelled "
        "in the feature rows) and no log is given (`oracle` in cold_start.md, called recovery there); it can pass "
        "100% because the cold model also learns from the log, half of the training rows, which that reference "
        "never sees.",
        "",
        "| data set | cold mAP: no graph | propagation P(c\\|j) | propagation lift | **graph + log** "
        "| vs warm without log | warm mAP vs no graph | few-shot: own heads | few-shot: graph + log |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    relative, warm_deltas, warm_seed_deltas = {}, {}, {}
    for name in datasets:
        cold = {arm: spread(records, name, "zero-shot", arm, "cold_map")
                for arm in ("no-graph", *PROPAGATIONS, "graph+log")}
        relative[name] = mean(records, name, "zero-shot", "graph+log", "recovery")
        warm_deltas[name] = 100 * (mean(records, name, "zero-shot", "graph+log", "warm_map")
                                   - mean(records, name, "zero-shot", "no-graph", "warm_map"))
        warm_seed_deltas[name] = min(100 * (mean(records, name, "zero-shot", "graph+log", "warm_map", seed)
                                            - mean(records, name, "zero-shot", "no-graph", "warm_map", seed))
                                     for seed in seeds)
        few = {arm: spread(records, name, "few-shot", arm, "cold_map") for arm in ("no-graph", "graph+log")}
        shown = f"{name} (= {REPEATS[name]}, not counted)" if name in REPEATS else name
        lines.append(f"| {shown} | {cold['no-graph']} | {cold['propagation-P']} | {cold['propagation-lift']} | "
                     f"{cold['graph+log']} | {relative[name]:.0%} | {warm_deltas[name]:+.1f} | {few['no-graph']} | "
                     f"{few['graph+log']} |")
    above = [name for name in counted if margin(records, name) > 0]
    every_seed = [name for name in counted if all(margin(records, name, seed) > 0 for seed in seeds)]
    seed_means = [statistics.mean(margin(records, name, seed) for name in counted) for seed in seeds]
    worst = min(counted, key=lambda name: warm_deltas[name])
    worst_seed = min(counted, key=lambda name: warm_seed_deltas[name])
    lines += [
        "",
        f"Targets, over the {len(counted)} distinct data sets: cold mAP above both propagation baselines on the mean "
        f"on **{len(above)} of {len(counted)}** (target: 5), and on every seed on **{len(every_seed)} of "
        f"{len(counted)}** ({', '.join(every_seed) or 'none'}); "
        f"**{statistics.mean(margin(records, name) for name in counted):+.1f} points** above the better of the two "
        f"propagations on the mean (per seed {min(seed_means):+.1f} to {max(seed_means):+.1f}; target: +2); "
        f"cold mAP **{statistics.mean(relative[name] for name in counted):.0%}** of the same labels' warm without "
        "the log on the mean (target: 60%). Warm labels: by construction the trained labels keep the network's own "
        "vectors, so only the rare labels (at most `rare_label_positives` positive feature rows, their vectors mixed "
        "with the log's) can move; warm-label mAP never more than "
        f"**{max(0.0, -warm_deltas[worst]):.1f} points** below the no-graph network on the mean (worst: {worst}; "
        f"target: 0.5), {max(0.0, -warm_seed_deltas[worst_seed]):.2f} on the worst seed ({worst_seed}).",
    ]
    return "\n".join(lines)


def main() -> None:
    run("cold-start-table", lambda: table(json.loads(RESULTS.read_text())), __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
