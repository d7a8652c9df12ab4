"""The README's "recommendation quality" table, generated from benchmarks/results/recsys.json (never typed).

Per data set, 3-seed means of the known-labels protocol (benchmarks/recsys.py): Recall@20 / nDCG@10 of every arm,
the graph model's margin over the better item-item baseline (EASE^R or ItemKNN) on each metric, then the issue's
targets, counted: at least as good as both baselines on both metrics on MovieLens and on the basket sets, ahead of the
no-graph network with known labels as features on the mean, and the scoring time with known labels over without
(from results/recsys_scoring.json when it exists: the re-measurement on the current scoring path).

Usage: ``python benchmarks/recsys_table.py`` rewrites the block between the README's markers; ``--check`` exits 1
when the README differs from what the results files give (a test runs it).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_block import run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ARMS = (("popularity", "popularity"), ("itemknn", "ItemKNN"), ("ease", "EASE^R"), ("no-graph", "no graph"),
        ("no-graph+known-features", "no graph, known as features"), ("graph+known", "**graph + known**"))
METRICS = ("recall@20", "ndcg@10")


def mean(records: list[dict], dataset: str, arm: str, metric: str) -> float:
    return statistics.mean(r[metric] for r in records if r["dataset"] == dataset and r["arm"] == arm)


def table(records: list[dict], timings: list[dict] | None = None) -> str:
    """The block's Markdown from the recsys records (and the scoring re-measurement, when given)."""
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    seeds = sorted({r["seed"] for r in records})
    lines = [
        f"Mean of {len(seeds)} seeds, from [recsys.json](benchmarks/results/recsys.json) by `python "
        "benchmarks/recsys.py` (protocol: [recsys.md](benchmarks/results/recsys.md)). Each cell is Recall@20 / "
        "nDCG@10 over the test rows' targets, their known labels excluded from every ranking. MovieLens: each user's "
        "earlier 80% of ratings known, the rest targets; the other sets: basket completion, half of each test row's "
        "labels known. \"vs best CF\": the graph model minus the better of ItemKNN and EASE^R, in points (x100); "
        "a negative number is a loss.",
        "",
        "| data set | " + " | ".join(title for _, title in ARMS) + " | vs best CF |",
        "|---|" + "---:|" * (len(ARMS) + 1),
    ]
    wins, baskets = {}, [name for name in datasets if name != "movielens"]
    ours_sum, features_sum = [0.0, 0.0], [0.0, 0.0]
    for name in datasets:
        cells = {arm: [mean(records, name, arm, metric) for metric in METRICS] for arm, _ in ARMS}
        best_cf = [max(cells["itemknn"][i], cells["ease"][i]) for i in range(2)]
        margins = [100 * (cells["graph+known"][i] - best_cf[i]) for i in range(2)]
        wins[name] = all(cells["graph+known"][i] >= best_cf[i] for i in range(2))
        for i in range(2):
            ours_sum[i] += cells["graph+known"][i]
            features_sum[i] += cells["no-graph+known-features"][i]
        lines.append(f"| {name} | " + " | ".join(f"{cells[arm][0]:.3f} / {cells[arm][1]:.3f}" for arm, _ in ARMS)
                     + f" | {margins[0]:+.1f} / {margins[1]:+.1f} |")
    count = len(datasets)
    lines += [
        "",
        "Targets: at least as good as both ItemKNN and EASE^R on both metrics on MovieLens: **"
        + ("met" if wins.get("movielens") else "not met") + f"**; on **{sum(wins[name] for name in baskets)} of "
        f"{len(baskets)}** basket sets (target: 5); against the no-graph network with the known labels as features, "
        f"mean Recall@20 **{ours_sum[0] / count:.3f}** vs {features_sum[0] / count:.3f} and nDCG@10 "
        f"**{ours_sum[1] / count:.3f}** vs {features_sum[1] / count:.3f} (target: ahead).",
    ]
    if timings:
        ratios = {r["dataset"]: r["known_time_ratio"] for r in timings}
        worst = max(ratios, key=ratios.get)
        lines[-1] += (f" Scoring with known labels over scoring without ([recsys_scoring.md]"
                      f"(benchmarks/results/recsys_scoring.md), the `Scorer` on >= 50,000 rows): mean "
                      f"**x{statistics.mean(ratios.values()):.2f}**, worst x{ratios[worst]:.2f} ({worst}); target "
                      "<= x1.5.")
    return "\n".join(lines)


def load() -> str:
    timings = RESULTS / "recsys_scoring.json"
    return table(json.loads((RESULTS / "recsys.json").read_text()),
                 json.loads(timings.read_text()) if timings.exists() else None)


def main() -> None:
    run("recsys-table", load, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
