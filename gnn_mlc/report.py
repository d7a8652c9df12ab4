"""Readable reports: metric tables in Markdown (printed and written) and JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from gnn_mlc.outputs import write_text

HEADLINE_METRICS: tuple[str, ...] = (
    "map", "micro_f1", "macro_f1", "samples_f1", "hamming_loss", "subset_accuracy", "lrap", "p@1", "p@3", "p@5",
)
LOWER_IS_BETTER = frozenset({"hamming_loss"})


def metrics_table(results: Mapping[str, Mapping[str, float]], metrics: Sequence[str] = HEADLINE_METRICS) -> str:
    """Markdown table: one row per metric, one column per model; the best value of a row is in bold."""
    names = list(results)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for metric in metrics:
        values = [results[name].get(metric) for name in names]
        present = [value for value in values if value is not None]
        best = (min if metric in LOWER_IS_BETTER else max)(present) if len(present) > 1 else None
        cells = [
            "" if value is None else (f"**{value:.4f}**" if value == best else f"{value:.4f}") for value in values
        ]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_json(path: str | Path, value: object) -> None:
    """Write ``value`` as indented JSON, atomically."""
    write_text(path, json.dumps(value, indent=2) + "\n")
