"""The README's "recommendation quality" table, generated from benchmarks/results/recsys.json (never typed).

Per data set, the seed means of the known-labels protocol (benchmarks/recsys.py --split test): Recall@20 / nDCG@10 of
every arm, then issue 22's targets, counted: on MovieLens, graph+known at least as good as every anchor (EASE^R,
RP3beta, iALS, Mult-VAE, LightGCN) on both means (with the per-seed paired difference to the best of them) and never
below its own term alone by more than 0.5 points on a seed; on every distinct basket set (yeast-meka is yeast
again), not below the better of the term alone and the features-only network by more than its seed spread; and,
from benchmarks/results/recsys_scoring.json (``recsys.py --scoring-only``, run alone on the machine), the fit with
known labels against the features-only network's on MovieLens (target <= x3) and the scoring time with known labels
over without on every set (target <= x1.5).

Usage: ``python benchmarks/recsys_table.py`` rewrites the block between the README's markers; ``--check`` exits 1
when the README differs from what the results files give (a test runs it).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import paired_points  # noqa: E402
from readme_block import run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ARMS = (("popularity", "popularity"), ("itemknn", "ItemKNN"), ("ease", "EASE^R"), ("rp3beta", "RP3beta"),
        ("ials", "iALS"), ("mult-vae", "Mult-VAE"), ("lightgcn", "LightGCN"), ("no-graph", "network alone"),
        ("term", "term alone"), ("graph+known", "**graph + known**"))
ANCHORS = ("ease", "rp3beta", "ials", "mult-vae", "lightgcn")
METRICS = ("recall@20", "ndcg@10")
REPEATS = {"yeast-meka": "yeast"}
"""Data sets that are another set again (MEKA's Yeast is Mulan's yeast): counted once in the targets."""


def runs(records: list[dict], dataset: str, arm: str, metric: str) -> list[float]:
    """The per-seed figures of one arm, in seed order."""
    return [r[metric] for r in sorted(records, key=lambda r: r["seed"]) if r["dataset"] == dataset
            and r["arm"] == arm and r.get(metric) is not None]


def mean(records: list[dict], dataset: str, arm: str, metric: str) -> float:
    figures = runs(records, dataset, arm, metric)
    return statistics.mean(figures) if figures else float("nan")


def table(records: list[dict], cost: list[dict]) -> str:
    """The block's Markdown from the recsys records."""
    datasets = sorted(dict.fromkeys(r["dataset"] for r in records),  # MovieLens first, whatever order the runs took
                      key=lambda name: (name != "movielens"))
    arms = [(arm, title) for arm, title in ARMS if any(r["arm"] == arm for r in records)]
    seeds = {name: len({r["seed"] for r in records if r["dataset"] == name}) for name in datasets}
    lines = [
        "Seed means (MovieLens " + f"{seeds.get('movielens', 0)} seeds, the other sets "
        f"{max((count for name, count in seeds.items() if name != 'movielens'), default=0)}), from "
        "[recsys.json](benchmarks/results/recsys.json) by `python benchmarks/recsys.py --split test` (protocol, "
        "spreads and fit times: [recsys.md](benchmarks/results/recsys.md)). Each cell is Recall@20 / nDCG@10 over the "
        "test rows' targets, their known labels excluded from every ranking. MovieLens: each user's earlier 80% of "
        "ratings known, the rest targets; the other sets: basket completion, half of each test row's labels known. "
        "\"term alone\" is the model's own item-item term without its network.",
        "",
        "| data set | " + " | ".join(title for _, title in arms) + " |",
        "|---|" + "---:|" * len(arms),
    ]
    for name in datasets:
        lines.append(f"| {name} | " + " | ".join(
            f"{mean(records, name, arm, METRICS[0]):.3f} / {mean(records, name, arm, METRICS[1]):.3f}"
            if runs(records, name, arm, METRICS[0]) else "not run" for arm, _ in arms) + " |")
    lines += ["", "Targets:"]
    anchors = [arm for arm in ANCHORS if runs(records, "movielens", arm, METRICS[0])]
    if "movielens" in datasets and anchors and runs(records, "movielens", "term", METRICS[0]):
        ours = [mean(records, "movielens", "graph+known", metric) for metric in METRICS]
        best = [max(anchors, key=lambda arm: mean(records, "movielens", arm, metric)) for metric in METRICS]
        ahead = all(ours[i] >= mean(records, "movielens", best[i], METRICS[i]) for i in range(2))
        below_term = max(100 * (term - model) for metric in METRICS for term, model in zip(
            runs(records, "movielens", "term", metric), runs(records, "movielens", "graph+known", metric)))
        lines.append(
            "- MovieLens, at least as good as every anchor on both means: **" + ("met" if ahead else "not met")
            + "** (Recall@20 " + f"{ours[0]:.3f} vs {mean(records, 'movielens', best[0], METRICS[0]):.3f} for "
            f"{best[0]}, nDCG@10 {ours[1]:.3f} vs {mean(records, 'movielens', best[1], METRICS[1]):.3f} for "
            f"{best[1]}; paired per seed, in points: "
            + ", ".join(f"{title} {statistics.mean(d):+.2f} [{min(d):+.2f}, {max(d):+.2f}] against {best[i]}"
                        for i, title in enumerate(("Recall@20", "nDCG@10"))
                        for d in [paired_points(records, "movielens", "graph+known", best[i], METRICS[i])])
            + "); never more than 0.5 points below its term alone on a seed: **"
            + ("met" if below_term <= 0.5 else "not met") + f"** (worst seed: {below_term:+.1f} points below).")
    baskets = [name for name in datasets if name != "movielens" and name not in REPEATS
               and runs(records, name, "term", METRICS[0])]
    held = []
    for name in baskets:
        shortfalls = []
        for metric in METRICS:
            parts = max(mean(records, name, "term", metric), mean(records, name, "no-graph", metric))
            ours = runs(records, name, "graph+known", metric)
            shortfalls.append(parts - statistics.mean(ours) <= max(ours) - min(ours) + 1e-12)
        held.append(all(shortfalls))
    if baskets:
        missed = [name for name, ok in zip(baskets, held) if not ok]
        lines.append(f"- Basket sets, not below the better of the term alone and the network alone by more than the "
                     f"seed spread on either metric: **{sum(held)} of {len(baskets)}** distinct sets (target: all)"
                     + (f"; missed on {', '.join(missed)}" if missed else "") + ".")
    if cost:
        fit = {r["dataset"]: r["fit_ratio"] for r in cost}
        if "movielens" in fit:
            repeats = len(next(r for r in cost if r["dataset"] == "movielens").get("fit_seconds_known_all", [0]))
            how = (f"medians of {repeats} alternating fits" if repeats > 1
                   else "the two fits one after the other")
            lines.append(f"- MovieLens fit with known labels over the features-only network's: "
                         f"**x{fit['movielens']:.2f}** (target <= x3; one seed, {how} on an idle machine: "
                         "[recsys_scoring.md](benchmarks/results/recsys_scoring.md)).")
        ratios = {r["dataset"]: r["known_time_ratio"] for r in cost}
        worst = max(ratios, key=ratios.get)
        lines.append("- Scoring with known labels over scoring without (the `Scorer` on >= 50,000 rows, median of 5 runs "
                     f"each, alternating, "
                     f"same file): median **x{statistics.median(ratios.values()):.2f}** over the sets, worst "
                     f"x{ratios[worst]:.2f} ({worst}); target <= x1.5 on every set.")
    return "\n".join(lines)


def load() -> str:
    cost = RESULTS / "recsys_scoring.json"
    return table(json.loads((RESULTS / "recsys.json").read_text()),
                 json.loads(cost.read_text()) if cost.exists() else [])


def main() -> None:
    run("recsys-table", load, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
