"""The demo's cold-start check: how well are the interests no training user has scored for the held-out users?

Usage: ``python data/demo_new_interests.py OUT`` after ``run_demo.sh`` trained ``OUT/model_gcn`` (with the baskets
log) and ``OUT/model_mlp`` (no graph, no log). Prints, over the new interests, the mAP of the label-graph model, of
the no-graph model (it cannot know them: their basket frequency, a constant per interest, ranks no user above
another) and of score propagation (a new interest's score = sum over known interests j of P(new | j) in the baskets
times the no-graph model's probability of j), then a few held-out users' recommendations.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from gnn_mlc import load_model, read_dataset
from gnn_mlc.evaluation import per_label_metrics
from gnn_mlc.graph.sources import read_label_log

DATA = Path(__file__).resolve().parent


def mean_ap(truth: np.ndarray, scores: np.ndarray) -> float:
    present = truth.sum(axis=0) > 0
    figures = per_label_metrics(truth[:, present], scores[:, present], np.zeros_like(truth[:, present]))
    return float(np.mean(figures["average_precision"]))


def main() -> None:
    out = Path(sys.argv[1])
    graph, plain = load_model(out / "model_gcn"), load_model(out / "model_mlp")
    test = read_dataset(DATA / "shop_test.parquet")
    baskets = read_label_log(DATA / "shop_baskets.parquet")
    new = [name for name in graph.classes_ if name not in set(plain.classes_)]
    truth = np.asarray(test.Y)[:, [test.label_names.index(name) for name in new]]
    X = test.X
    graph_scores = graph.predict_proba(X)[:, [list(graph.classes_).index(name) for name in new]]
    log = baskets.aligned([*plain.classes_, *new]).toarray().astype(np.float64)
    known, cold = np.arange(len(plain.classes_)), np.arange(len(plain.classes_), log.shape[1])
    conditional = (log.T @ log) / np.maximum(log.sum(axis=0), 1)[None, :]  # [c, j] = P(c | j)
    propagated = plain.predict_proba(X) @ conditional[np.ix_(cold, known)].T
    frequency = np.tile(log[:, cold].mean(axis=0), (X.shape[0], 1))
    figures = {"label graph + baskets": mean_ap(truth, graph_scores),
               "no graph (basket frequency)": mean_ap(truth, frequency),
               "score propagation": mean_ap(truth, propagated)}
    print(f"{len(new)} interests no training user has ({', '.join(new)}), held-out users, mAP:")
    for arm, value in figures.items():
        print(f"  {arm:<28} {value:.3f}")
    ours = figures["label graph + baskets"]
    print(f"  gain of the label graph: {ours - figures['no graph (basket frequency)']:+.3f} over no graph, "
          f"{ours - figures['score propagation']:+.3f} over score propagation")
    best = np.argsort(-graph_scores, axis=0)[0]
    for column, row in list(enumerate(best))[:3]:
        print(f"  top user for {new[column]!r}: {test.ids[row]} (score {graph_scores[row, column]:.2f}; "
              f"has it: {'yes' if truth[row, column] else 'no'})")


if __name__ == "__main__":
    main()
