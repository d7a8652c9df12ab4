"""The known-label term scored in float16 (the package's rule for a dense term) against float32, on development rows.

Summing rows of a dense ``scale * B`` is bound by memory traffic, so the fitted model holds it in float16 for scoring
(``gnn_mlc.fitted._term_tensor``; ``embedding_bag`` adds in float32 and rounds each sum once). This measures what
that costs in quality: the graph+known model of ``benchmarks/recsys.py`` is fitted once per data set and seed on the
development split (``--split dev``: rows carved from the training rows, development seeds), and its held-out rows are
scored twice, with the term as the package holds it and with the same weights in float32. Reported per fit:
Recall@20 / nDCG@10 of both, the largest probability difference, the share of rows whose top-20 list (known labels
excluded) is the same list in the same order, and the dtype the package chose (float32 where the sums could approach
float16's range).

Usage: ``python benchmarks/half_term.py [--datasets movielens yeast medical] [--seeds 10 11 12]``. Writes
results/half_term_dev.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recsys  # noqa: E402
from common import recall_ndcg, write_results  # noqa: E402
from datasets import start_run  # noqa: E402

import gnn_mlc.fitted as fitted_module  # noqa: E402
from gnn_mlc import LabelGCNClassifier  # noqa: E402

PACKAGE_TERM = fitted_module._term_tensor


def single_precision_term(matrix: np.ndarray | sp.csr_matrix, scale: float) -> torch.Tensor:
    """The reference: ``scale * B`` as the package builds it, a dense one kept in float32."""
    if isinstance(matrix, np.ndarray):
        return torch.from_numpy(np.asarray(matrix, dtype=np.float32) * np.float32(scale))
    return PACKAGE_TERM(matrix, scale)


def top_lists(scores: np.ndarray, known: sp.csr_matrix, k: int = 20) -> np.ndarray:
    """(rows, k) each row's best ``k`` labels, its known labels excluded."""
    scores = scores.copy()
    scores[sp.csr_matrix(known).nonzero()] = -np.inf
    return torch.topk(torch.from_numpy(scores), k, dim=1).indices.numpy()


def compare(name: str, seed: int) -> dict:
    """One fit of the graph+known model, its development rows scored with the term in float16 and in float32."""
    data = recsys.movielens(seed, "dev") if name == "movielens" else recsys.baskets(name, seed, "dev")
    model = LabelGCNClassifier(random_state=seed).fit(
        data["X"], data["Y"] if data["K"] is not None else sp.csr_matrix(data["Y"], dtype=np.uint8),
        label_names=data["labels"], known_labels="split" if data["split_training"] else data["K"])
    scored = {}
    for precision, build in (("float16", PACKAGE_TERM), ("float32", single_precision_term)):
        fitted_module._term_tensor = build
        model.fitted_._on_device.clear()  # the scoring tensors are rebuilt with this term
        scored[precision] = model.predict_proba(data["X_test"], known_labels=data["K_test"])
        if precision == "float16":
            dtype = str(model.fitted_.on_device(torch.device("cpu")).known.dtype).removeprefix("torch.")
    fitted_module._term_tensor = PACKAGE_TERM
    k = min(20, len(data["labels"]))
    same = np.all(top_lists(scored["float16"], data["K_test"], k) == top_lists(scored["float32"], data["K_test"], k),
                  axis=1)
    record = {"dataset": name, "seed": seed, "split": "dev", "term_dtype": dtype,
              "blend": model.fitted_.metrics["known_term"]["blend"],
              "largest_probability_difference": float(np.abs(scored["float16"] - scored["float32"]).max()),
              "same_top_list_share": float(same.mean())}
    for precision, scores in scored.items():
        record[f"recall@20_{precision}"], record[f"ndcg@10_{precision}"] = recall_ndcg(
            scores, data["K_test"], data["Y_test"])
    print(record, flush=True)
    return record


def markdown(records: list[dict]) -> str:
    lines = ["# The known-label term in float16 against float32 (development rows)", "", "{header}",
             "Per fit (protocol in the script's docstring, `benchmarks/half_term.py`): the graph+known model's "
             "development rows scored with the term as the package holds it (`term dtype`) and with the same weights "
             "in float32.", "",
             "| data set | seed | term dtype | blend | Recall@20 float16 / float32 | nDCG@10 float16 / float32 | "
             "largest probability difference | same top-20 list |", "|---|---:|---|---|---:|---:|---:|---:|"]
    lines += [f"| {r['dataset']} | {r['seed']} | {r['term_dtype']} | {r['blend']} | {r['recall@20_float16']:.4f} / "
              f"{r['recall@20_float32']:.4f} | {r['ndcg@10_float16']:.4f} / {r['ndcg@10_float32']:.4f} | "
              f"{r['largest_probability_difference']:.1e} | {r['same_top_list_share']:.1%} |" for r in records]
    worst = max(max(abs(r[f"{metric}_float16"] - r[f"{metric}_float32"]) for metric in ("recall@20", "ndcg@10"))
                for r in records)
    return "\n".join(lines + ["", f"Largest difference of a metric between the two: {worst:.4f}.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["movielens", "yeast", "medical"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12])
    args = parser.parse_args()
    start_run()
    records = [compare(name, seed) for name in args.datasets for seed in args.seeds]
    write_results("half_term_dev", records, markdown(records))


if __name__ == "__main__":
    main()
