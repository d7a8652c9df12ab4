"""The README's "How good is it" table, generated from benchmarks/results/accuracy.json (never typed by hand).

For each of the nine distinct Mulan/MEKA data sets (yeast-meka, a copy of yeast, and MovieLens are listed after
them) it shows the 3-seed mean mAP and macro-F1 of the label-graph model, the best of the three baselines
(binary relevance and classifier chains with logistic regression, the no-graph network) and the no-graph network, with
the differences in points; and it counts the targets of the accuracy issue: at least as good as the best baseline on
both figures, never more than 1 point below the no-graph network, tail mAP above it on average.

Usage: ``python benchmarks/accuracy_table.py`` rewrites the block between the README's markers;
``--check`` exits 1 when the README differs from what the results file gives (a test runs it).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_block import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "accuracy.json"
DISTINCT = ("emotions", "yeast", "scene", "birds", "genbase", "medical", "enron", "bibtex", "mediamill_small")
EXTRA = ("yeast-meka", "movielens")
BASELINES = ("br-logreg", "cc-logreg", "mlp")
MODEL = "gcn"


def means(records: list[dict]) -> dict[tuple[str, str], dict[str, float]]:
    """(dataset, model) -> metric -> mean over seeds."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        grouped.setdefault((record["dataset"], record["model"]), []).append(record)
    return {key: {metric: statistics.mean(r[metric] for r in rows) for metric in ("map", "macro_f1", "tail_map")}
            for key, rows in grouped.items()}


def separated(records: list[dict], dataset: str, metric: str) -> int:
    """+1 if every seed of the graph model beats every seed of the no-graph network on ``metric``, -1 if every seed
    loses, 0 when their ranges overlap."""
    ours = [r[metric] for r in records if r["dataset"] == dataset and r["model"] == MODEL]
    plain = [r[metric] for r in records if r["dataset"] == dataset and r["model"] == "mlp"]
    return 1 if min(ours) > max(plain) else -1 if max(ours) < min(plain) else 0


def table(records: list[dict]) -> str:
    mean = means(records)
    seeds = sorted({r["seed"] for r in records})
    lines = [
        f"Mean of {len(seeds)} seeds, from [accuracy.json](benchmarks/results/accuracy.json) by "
        "`python benchmarks/accuracy.py` (protocol and spreads: [accuracy.md](benchmarks/results/accuracy.md)). "
        "Best baseline: the better of binary relevance and classifier chains with logistic regression and the no-graph "
        "network (`use_graph=False`: same encoder, preprocessing and training). Differences in points (x100); "
        "a negative number is a loss.",
        "",
        "| data set | mAP | best baseline mAP | vs best | vs no-graph | macro-F1 | best baseline macro-F1 | vs best "
        "| vs no-graph | tail mAP vs no-graph |",
        "|---|---:|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    at_least_best = within_one = 0
    tail_differences, ahead, behind = [], [], []
    for name in DISTINCT + EXTRA:
        if (name, MODEL) not in mean:
            continue
        ours, plain = mean[(name, MODEL)], mean[(name, "mlp")]
        cells, wins, close = [], [], []
        for metric in ("map", "macro_f1"):
            best = max(BASELINES, key=lambda model: mean[(name, model)][metric])
            versus_best = 100 * (ours[metric] - mean[(name, best)][metric])
            versus_plain = 100 * (ours[metric] - plain[metric])
            wins.append(versus_best >= 0)
            close.append(versus_plain >= -1)
            cells += [f"{ours[metric]:.3f}", f"{mean[(name, best)][metric]:.3f} ({best})", f"{versus_best:+.1f}",
                      f"{versus_plain:+.1f}"]
        tail = 100 * (ours["tail_map"] - plain["tail_map"])
        for metric, label in (("map", "mAP"), ("macro_f1", "macro-F1")):
            side = separated(records, name, metric)
            (ahead if side > 0 else behind if side < 0 else []).append(f"{name} {label}")
        if name in DISTINCT:
            at_least_best += all(wins)
            within_one += all(close)
            tail_differences.append(tail)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {tail:+.1f} |")
    lines += [
        "",
        f"On the {len(tail_differences)} distinct Mulan/MEKA data sets: at least as good as the best baseline on both "
        f"mAP and macro-F1 on **{at_least_best} of {len(tail_differences)}** (target: 7); within 1 point of the "
        f"no-graph network on both on **{within_one} of {len(tail_differences)}** (target: all); tail mAP "
        f"**{statistics.mean(tail_differences):+.2f} points** above the no-graph network on average (target: > 0).",
        "",
        "Graph vs no graph where the seeds do not overlap (every seed of one above every seed of the other): "
        f"ahead on {', '.join(ahead) or 'none'}; behind on {', '.join(behind) or 'none'}; elsewhere the seed ranges "
        "overlap.",
    ]
    return "\n".join(lines)


def main() -> None:
    run("accuracy-table", lambda: table(json.loads(RESULTS.read_text())), __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
