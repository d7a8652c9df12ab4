"""Does embedding similarity recover co-occurrence neighbours? The label-graph GCN against the no-graph baseline.

For each data set and seed, both models are trained with their defaults, and ``gnn_mlc.inspection.neighbours.agreement_score``
is computed on each model's label vectors (GCN output / output-layer weights). Writes results/agreement.{json,md}.
Usage: python benchmarks/agreement.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402

from gnn_mlc import LabelGCNClassifier, read_dataset  # noqa: E402
from gnn_mlc.inspection.neighbours import agreement_score  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATASETS = {
    "demo (shop)": ROOT / "data" / "shop_train.parquet",
    "yeast": ROOT.parent / "shared" / "datasets" / "yeast" / "yeast-train.arff",
    "enron": ROOT.parent / "shared" / "datasets" / "enron" / "enron-train.arff",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    records = []
    for name, path in DATASETS.items():
        if not path.exists():
            print(f"skipping {name}: {path} not found", flush=True)
            continue
        data = read_dataset(path)
        for seed in args.seeds:
            for model_name, use_graph in (("gcn", True), ("no-graph", False)):
                model = LabelGCNClassifier(use_graph=use_graph, num_gcn_layers=int(use_graph),
                                           random_state=seed).fit(data.X, data.Y)
                score = agreement_score(model.label_embeddings_, model.cooccurrence_, num_rows=data.num_rows)
                records.append({"dataset": name, "seed": seed, "model": model_name, **score})
                print(records[-1], flush=True)
    lines = ["# Agreement of label embeddings with co-occurrence", "", "{header}",
             "`neighbour_map`: for each label with co-occurrence neighbours (seen together >= 3 times, lift > 1), "
             "the average precision of those neighbours when all other labels are ranked by cosine similarity of "
             "the model's label vectors; mean over labels. `chance_map`: a random ranking's expected score. "
             f"Mean over seeds {args.seeds}, min-max in brackets; models trained with their defaults on the "
             "training file.", "",
             "| data set | labels scored | chance_map | gcn neighbour_map | no-graph neighbour_map |",
             "|---|---:|---:|---:|---:|"]
    for name in dict.fromkeys(record["dataset"] for record in records):
        cells = []
        for model_name in ("gcn", "no-graph"):
            values = [r["neighbour_map"] for r in records if r["dataset"] == name and r["model"] == model_name]
            cells.append(f"{statistics.mean(values):.3f} [{min(values):.3f}-{max(values):.3f}]")
        first = next(r for r in records if r["dataset"] == name)
        lines.append(f"| {name} | {first['labels_scored']} | {first['chance_map']:.3f} | {cells[0]} | {cells[1]} |")
    write_results("agreement", records, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
