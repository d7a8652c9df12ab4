"""Is the full loss over every label worth its time at 10,000-50,000 labels? A sampled-negatives loss against it.

The training step of the network at many labels is dominated by its output layer: the logits of every row of a batch
for every label, their binary cross-entropy and its gradient (``benchmarks/results/scale.md``). The usual shortcut in
extreme classification and recommendation is to score, per batch, only the labels that are positive in it plus a
uniform sample of ``S`` others, and to weight the sampled negatives' loss by ``(L - |P|) / S`` so that the sum is an
unbiased estimate of the full loss (``P``: the batch's positive labels, every row's loss on them exact).

Protocol: the synthetic recommender data of ``benchmarks/scale.py`` (200,000 rows, D = 100,000 sparse features,
power-law labels, ~5 a row) at 10,000 and 50,000 labels; the no-graph network (``IndependentLabelModel``, the
default model's architecture: 256 hidden, 128-dimensional label vectors, dropout 0.3), AdamW (lr 1e-3, weight decay
1e-4), batch 1024, seed 0, one epoch over the first 190,000 rows for each arm (the same batches); the last 10,000
rows are the test rows. Arms: the full loss, and sampled negatives with S = 2,048 and 8,192. Reported: seconds of
the epoch, and P@5, Recall@20 and nDCG@10 of the test rows' labels.

Usage: ``python benchmarks/sampled_loss.py --work DIR [--device cuda]`` (DIR holds or receives the scale data sets).
Writes results/sampled_loss_{cpu,cuda}.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402
from scale import BATCH, generate, load  # noqa: E402

from gnn_mlc._torch import dense_float, to_tensor  # noqa: E402
from gnn_mlc.nn import IndependentLabelModel  # noqa: E402
from gnn_mlc.training.loss import sample_label_columns  # noqa: E402

ROWS, TEST = 200_000, 10_000
ARMS = (None, 2_048, 8_192)


def sampled_loss(model: IndependentLabelModel, x: torch.Tensor, targets: sp.csr_matrix, samples: int,
                 generator: torch.Generator) -> torch.Tensor:
    """The batch's BCE over the columns of :func:`gnn_mlc.training.loss.sample_label_columns` (what
    ``LabelGCNClassifier(negative_samples=...)`` trains on), weighted: an unbiased estimate of the full sum.
    ``x``: (rows, features); ``targets``: (rows, L)."""
    columns, weights = sample_label_columns(targets, samples, generator)
    y = dense_float(targets[:, columns.numpy()], x.device)
    columns = columns.to(x.device)
    losses = F.binary_cross_entropy_with_logits(model(x, columns), y, reduction="none")
    return (losses * weights.to(x.device)).sum()


def train(X: sp.csr_matrix, Y: sp.csr_matrix, samples: int | None, device: torch.device
          ) -> tuple[IndependentLabelModel, float]:
    """One epoch of the no-graph network over (X, Y) on ``device``; returns the model and the epoch's seconds."""
    torch.manual_seed(0)
    model = IndependentLabelModel(X.shape[1], Y.shape[1], hidden_channels=256, embedding_dim=128,
                                  dropout=0.3).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4, fused=True)
    order = np.random.default_rng(0).permutation(X.shape[0])
    generator = torch.Generator().manual_seed(0)
    model.train()
    start = time.perf_counter()
    for first in range(0, X.shape[0], BATCH):
        rows = order[first:first + BATCH]
        x = to_tensor(X[rows], device)
        if samples is None:
            loss = F.binary_cross_entropy_with_logits(model(x), dense_float(Y[rows], device), reduction="sum")
        else:
            loss = sampled_loss(model, x, Y[rows], samples, generator)
        optimizer.zero_grad(set_to_none=True)
        (loss / (len(rows) * Y.shape[1])).backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return model, time.perf_counter() - start


@torch.no_grad()
def ranking_metrics(model: IndependentLabelModel, X: sp.csr_matrix, Y: sp.csr_matrix) -> dict:
    """P@5, Recall@20 (hits / min(20, positives)) and binary nDCG@10 over the rows of (X, Y) with a label."""
    model.eval()
    device = next(model.parameters()).device
    top = torch.topk(model(to_tensor(X, device)), 20, dim=1).indices.cpu().numpy()
    hits = np.take_along_axis(Y.toarray().astype(bool), top, axis=1)
    positives = np.asarray(Y.sum(axis=1)).ravel()
    keep = positives > 0
    discounts = 1.0 / np.log2(np.arange(2, 12))
    ideal = np.array([discounts[: min(int(n), 10)].sum() for n in positives[keep]])
    return {"p@5": float(hits[keep, :5].mean()),
            "recall@20": float((hits[keep].sum(axis=1) / np.minimum(20, positives[keep])).mean()),
            "ndcg@10": float(((hits[keep, :10] * discounts).sum(axis=1) / ideal).mean())}


def markdown(records: list[dict]) -> str:
    lines = ["# Full loss against sampled negatives at many labels", "", "{header}",
             "Protocol in the script's docstring (`benchmarks/sampled_loss.py`): one epoch of the no-graph network on "
             f"190,000 synthetic rows, 10,000 test rows, one seed; device: {records[0]['device']}.", "",
             "| labels | loss | epoch s | x faster | P@5 | Recall@20 | nDCG@10 |", "|---:|---|---:|---:|---:|---:|---:|"]
    for r in records:
        full = next(f for f in records if f["labels"] == r["labels"] and f["samples"] is None)
        name = "full" if r["samples"] is None else f"sampled, S = {r['samples']:,}"
        lines.append(f"| {r['labels']:,} | {name} | {r['epoch_seconds']:.0f} | "
                     f"{full['epoch_seconds'] / r['epoch_seconds']:.1f} | {r['p@5']:.4f} | {r['recall@20']:.4f} | "
                     f"{r['ndcg@10']:.4f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="where the scale data sets are (or go)")
    parser.add_argument("--labels", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    args.work.mkdir(parents=True, exist_ok=True)
    records = []
    for labels in args.labels:
        path = args.work / f"data-{ROWS}-{labels}.npz"
        if not path.exists():
            generate(ROWS, labels, 0, path)
        X, Y = load(path)
        for samples in ARMS:
            model, seconds = train(X[: ROWS - TEST], Y[: ROWS - TEST], samples, device)
            name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
            records.append({"labels": labels, "samples": samples, "epoch_seconds": seconds, "device": name,
                            **ranking_metrics(model, X[ROWS - TEST:], Y[ROWS - TEST:])})
            print(records[-1], flush=True)
            write_results(f"sampled_loss_{device.type}", records, markdown(records))


if __name__ == "__main__":
    main()
