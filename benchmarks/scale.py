"""Recommender scale: training, the label graph and scoring at up to 2,000,000 rows and 50,000 labels.

What the default model adds at these sizes, a label-only log with new labels and known labels, is timed on the same
data by ``benchmarks/default_scale.py`` (results/default_scale*.md); the quality of its scalable paths against the
exact ones by ``benchmarks/item_item.py`` (the item-item term) and ``benchmarks/teacher_inputs.py`` (the cold-label
teacher's input cap). Here ``train`` is the default model without graph sources, and the epoch ratio times the
non-default GCN layer.

Synthetic data as a recommender has it (seeded): D = 100,000 sparse binary features, ~50 non-zeros a row; labels
with power-law (Zipf, exponent 1) frequencies, 5 draws a row (~5 labels); each label has 8 signature features and a
row carries 8 draws from each of its labels' signatures plus 10 noise features, so the features predict the labels.

Cells: rows in {200,000, 2,000,000} x labels in {1,000, 10,000, 50,000}. Every measurement runs in a fresh process
(peak RSS = the process's VmHWM, the data loaded from a file written by another process):

* **train**: ``LabelGCNClassifier(max_epochs=1, batch_size=1024)`` (the defaults otherwise: free label vectors) for
  one full epoch: seconds of the epoch (training steps and the validation pass), the whole ``fit``, peak RSS;
* **epoch ratio**: seconds per training step of the graph model (``num_gcn_layers=1``: the label vectors propagated
  over the co-occurrence graph every step) and of the no-graph network (``use_graph=False``), 60 steps each after 5
  warm-up steps, on the same batches; an epoch is extrapolated as steps x (training rows / batch);
* **graph**: co-occurrence counts to PyG ``edge_index`` for both weightings (``probability``: every co-occurring
  pair; ``mlgcn``), and ``LabelGraph.to_networkx()`` against networkx's own ``from_scipy_sparse_array`` on the same
  matrix (the floor for building a networkx graph), median of 3; scikit-multilearn's
  ``LabelCooccurrenceGraphBuilder(weighted=True)`` at 100,000 rows;
* **scoring** (50,000 labels): ``Scorer`` rows/s on 200,000 in-memory rows against the bare floor (the same encoder,
  one matmul against the precomputed label vectors and a top-10, in slices of the same size), median of 3.

Usage: ``python benchmarks/scale.py [--cells 200000x1000 ...] [--work DIR]`` (the driver; it calls itself with
``--step NAME`` for each measurement, and keeps each step's result in the work folder: run again with the same
``--work`` and it resumes after the last finished step). Writes results/scale.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import rss_mb, time_repeats, write_results  # noqa: E402

FEATURES, NOISE, SIGNATURE, DRAWS = 100_000, 10, 8, 5
CELLS = [(200_000, 1_000), (200_000, 10_000), (200_000, 50_000), (2_000_000, 1_000), (2_000_000, 10_000),
         (2_000_000, 50_000)]
BATCH = 1024


def generate(rows: int, labels: int, seed: int, path: Path) -> None:
    """Write the synthetic data set of a cell to ``path`` (.npz: X, Y as CSR parts)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, labels + 1)
    popularity /= popularity.sum()
    Y_index = rng.choice(labels, size=(rows, DRAWS), p=popularity)
    signatures = rng.integers(FEATURES, size=(labels, SIGNATURE))
    X_index = np.concatenate([
        signatures[Y_index[:, :, None], rng.integers(SIGNATURE, size=(rows, DRAWS, SIGNATURE))].reshape(rows, -1),
        rng.integers(FEATURES, size=(rows, NOISE))], axis=1)
    X = _binary_rows(X_index, FEATURES, np.float32)
    Y = _binary_rows(Y_index, labels, np.uint8)
    np.savez(path, X_indptr=X.indptr, X_indices=X.indices, Y_indptr=Y.indptr, Y_indices=Y.indices,
             shape=np.array([rows, FEATURES, labels]))


def _binary_rows(index: np.ndarray, width: int, dtype: type) -> sp.csr_matrix:
    rows = np.repeat(np.arange(index.shape[0]), index.shape[1])
    matrix = sp.csr_matrix((np.ones(index.size, dtype=dtype), (rows, index.ravel())), shape=(index.shape[0], width))
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def load(path: Path) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    data = np.load(path)
    rows, features, labels = data["shape"]
    X = sp.csr_matrix((np.ones(len(data["X_indices"]), np.float32), data["X_indices"], data["X_indptr"]),
                      shape=(rows, features))
    Y = sp.csr_matrix((np.ones(len(data["Y_indices"]), np.uint8), data["Y_indices"], data["Y_indptr"]),
                      shape=(rows, labels))
    return X, Y


def step_train(path: Path) -> dict:
    """One full epoch of the defaults; epoch seconds from the loop's own pieces, fit seconds, peak RSS."""
    import gnn_mlc.training.loop as loop
    from gnn_mlc import LabelGCNClassifier

    X, Y = load(path)
    timings = {"train": 0.0, "validation": 0.0}
    for name, key in (("_train_epoch", "train"), ("validation_score", "validation")):
        original = getattr(loop, name)

        def timed(*args, _original=original, _key=key, **kwargs):
            start = time.perf_counter()
            result = _original(*args, **kwargs)
            timings[_key] += time.perf_counter() - start
            return result

        setattr(loop, name, timed)
    start = time.perf_counter()
    model = LabelGCNClassifier(max_epochs=1, batch_size=BATCH, device="cpu").fit(X, Y)
    return {"fit_seconds": time.perf_counter() - start, "epoch_seconds": timings["train"] + timings["validation"],
            "validation_seconds": timings["validation"], "peak_rss_mb": rss_mb("VmHWM"),
            "validation_rows": min(10_000, int(round(0.15 * X.shape[0]))), "labels": len(model.classes_)}


def step_ratio(path: Path, device: str = "cpu") -> dict:
    """Seconds per training step of the graph model (num_gcn_layers=1) and the no-graph network, same batches."""
    import torch
    import torch.nn.functional as F

    from gnn_mlc._torch import dense_float, to_tensor
    from gnn_mlc.graph import build_label_graph
    from gnn_mlc.nn import IndependentLabelModel, LabelGCNModel

    X, Y = load(path)
    on = torch.device(device)
    graph = build_label_graph(Y, [f"l{j}" for j in range(Y.shape[1])])
    edge_index, edge_weight = graph.edge_index()
    torch.manual_seed(0)
    models = {"graph": LabelGCNModel(X.shape[1], Y.shape[1], edge_index, edge_weight, hidden_channels=256,
                                     embedding_dim=128, num_gcn_layers=1, dropout=0.3),
              "no-graph": IndependentLabelModel(X.shape[1], Y.shape[1], hidden_channels=256, embedding_dim=128,
                                                dropout=0.3)}
    rng = np.random.default_rng(0)
    batches = [rng.choice(X.shape[0], BATCH, replace=False) for _ in range(65)]
    result = {"graph_edges": int(edge_index.shape[1])}
    for name, model in models.items():
        model.to(on)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
        model.train()
        for index, rows in enumerate(batches):
            if index == 5:
                _synchronize(on)
                start = time.perf_counter()
            loss = F.binary_cross_entropy_with_logits(model(to_tensor(X[rows], on)), dense_float(Y[rows], on))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        _synchronize(on)
        step = (time.perf_counter() - start) / 60
        result[f"{name}_step_seconds"] = step
        result[f"{name}_epoch_seconds"] = step * (0.85 * X.shape[0] / BATCH)
    result["ratio"] = result["graph_step_seconds"] / result["no-graph_step_seconds"]
    return result


def step_graph(path: Path) -> dict:
    """Graph build (counts -> edge_index, both weightings) and networkx export against the floor."""
    import networkx as nx

    from gnn_mlc.graph import build_label_graph

    _, Y = load(path)
    names = [f"l{j}" for j in range(Y.shape[1])]
    result: dict = {}
    for weighting in ("probability", "mlgcn"):
        result[f"build_{weighting}_s"] = time_repeats(
            lambda: build_label_graph(Y, names, weighting=weighting).edge_index(), 3)["median_s"]
    graph = build_label_graph(Y, names, weighting="probability")
    result["edges"] = int(graph.adjacency.nnz)
    result["to_networkx_s"] = time_repeats(graph.to_networkx, 3)["median_s"]
    result["networkx_floor_s"] = time_repeats(
        lambda: nx.from_scipy_sparse_array(graph.adjacency, create_using=nx.DiGraph), 3)["median_s"]
    result["to_networkx_ratio"] = result["to_networkx_s"] / result["networkx_floor_s"]
    return result


def step_skmultilearn(path: Path) -> dict:
    """scikit-multilearn's weighted co-occurrence graph builder on the same labels (100,000 rows)."""
    from skmultilearn.cluster import LabelCooccurrenceGraphBuilder

    from gnn_mlc.graph import build_label_graph

    _, Y = load(path)
    Y = Y[:100_000]
    names = [f"l{j}" for j in range(Y.shape[1])]
    builder = LabelCooccurrenceGraphBuilder(weighted=True, include_self_edges=False)
    return {"skmultilearn_s": time_repeats(lambda: builder.transform(Y), 3)["median_s"], "rows": int(Y.shape[0]),
            **{f"ours_{weighting}_s": time_repeats(
                lambda: build_label_graph(Y, names, weighting=weighting).edge_index(), 3)["median_s"]
               for weighting in ("probability", "mlgcn")}}


def step_score(path: Path, device: str = "cpu") -> dict:
    """Scorer rows/s at this cell's labels against the bare encoder + matmul + top-k floor, 200,000 rows."""
    import pyarrow as pa
    import torch

    from gnn_mlc import LabelGCNClassifier, Scorer

    X, Y = load(path)
    model = LabelGCNClassifier(max_epochs=1, batch_size=BATCH, device=device).fit(
        X[:20_000], Y[:20_000], feature_names=[f"f{j}" for j in range(X.shape[1])])  # the Scorer matches by name
    rows = X[:200_000]
    with tempfile.TemporaryDirectory() as directory:
        model.to_directory(Path(directory) / "m")
        scorer = Scorer(Path(directory) / "m", top_k=10, device=device)
        ids = pa.array(np.arange(rows.shape[0]))
        ours = time_repeats(lambda: scorer.score_features(ids, rows, id_name="id"), 3)["median_s"]
    scaled = model.scaler_.transform(rows)
    bare = time_repeats(lambda: floor_top_k(model, scaled, torch.device(device)), 3)["median_s"]
    return {"rows": int(rows.shape[0]), "ours_rows_per_s": rows.shape[0] / ours,
            "floor_rows_per_s": rows.shape[0] / bare, "fraction_of_floor": bare / ours}


def floor_top_k(model, scaled, device, *, k: int = 10):
    """The bare scoring floor: the fitted model's encoder, one matmul against its label vectors and a top-k, on
    ``scaled`` rows (features already scaled) in the scorer's slices; returns the (rows, k) label indices."""
    import torch

    from gnn_mlc._torch import to_tensor
    from gnn_mlc.serving.scorer import MAX_SCORES

    encoder = model.model_.encoder.eval().to(device)
    vectors, bias = torch.from_numpy(model.label_embeddings_).to(device), torch.from_numpy(model.label_bias_).to(device)
    step = max(1, MAX_SCORES // len(bias))
    top = []
    with torch.no_grad():
        for start in range(0, scaled.shape[0], step):
            h = encoder(to_tensor(scaled[start:start + step], device))
            top.append(torch.topk(torch.addmm(bias, h, vectors.t()), k, dim=1).indices.cpu())
    _synchronize(device)
    return torch.cat(top)


def _synchronize(device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously), so that a host clock times it."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


STEPS = {"train": step_train, "ratio": step_ratio, "graph": step_graph, "skmultilearn": step_skmultilearn,
         "score": step_score}


def run_step(name: str, path: Path, done: Path) -> dict:
    """Run one measurement in a fresh process; its result is kept in ``done``, so a stopped run resumes from the
    steps it finished (with the same --work folder)."""
    if done.exists():
        return json.loads(done.read_text())
    result = subprocess.run([sys.executable, __file__, "--step", name, "--data", str(path)], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"step {name} on {path} failed:\n{result.stderr[-3000:]}")
    done.write_text(result.stdout.strip().splitlines()[-1])
    return json.loads(done.read_text())


def markdown(records: list[dict]) -> str:
    lines = ["# Recommender scale: training, the label graph and scoring", "", "{header}",
             "Protocol in the script's docstring (`benchmarks/scale.py`). Each figure from a fresh process; the "
             "2,000,000 x 50,000 cell trains one full epoch. Epoch ratio: seconds per training step of the graph "
             "model (`num_gcn_layers=1`) over the no-graph network's, the same batches (an epoch extrapolated from "
             "60 steps, with PyTorch's default AdamW, slower than the fused one `fit` uses: these run above the "
             "measured epochs at few labels, alike for both arms).", "",
             "| rows | labels | fit s | epoch s (measured) | peak RSS (MiB) | graph epoch s (extrap.) | no-graph epoch s "
             "(extrap.) | ratio | edges | build probability s | build mlgcn s | to_networkx s | networkx floor s | "
             "export ratio |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    records = sorted(records, key=lambda r: (r["rows"], r["labels"]))
    for r in records:
        lines.append(
            f"| {r['rows']:,} | {r['labels']:,} | {r['fit_seconds']:.0f} | {r['epoch_seconds']:.0f} | "
            f"{r['peak_rss_mb']:,.0f} | {r['graph_epoch_seconds']:.0f} | {r['no-graph_epoch_seconds']:.0f} | "
            f"{r['ratio']:.2f} | {r['edges']:,} | {r['build_probability_s']:.2f} | {r['build_mlgcn_s']:.2f} | "
            f"{r['to_networkx_s']:.2f} | {r['networkx_floor_s']:.2f} | {r['to_networkx_ratio']:.2f} |")
    lines.append("")
    for r in records:
        if "skmultilearn_s" in r:
            lines.append(f"- {r['labels']:,} labels, {r['skmultilearn_rows']:,} rows: scikit-multilearn "
                         f"{r['skmultilearn_s']:.2f} s; ours, counts to edge_index on the same rows, "
                         f"{r['ours_100k_probability_s']:.3f} s (probability weighting, "
                         f"x{r['skmultilearn_s'] / r['ours_100k_probability_s']:.0f} faster) and "
                         f"{r['ours_100k_mlgcn_s']:.3f} s (mlgcn, "
                         f"x{r['skmultilearn_s'] / r['ours_100k_mlgcn_s']:.0f}).")
        if "fraction_of_floor" in r:
            lines.append(f"- scoring at {r['labels']:,} labels ({r['score_rows']:,} rows): "
                         f"{r['ours_rows_per_s']:,.0f} rows/s, the floor {r['floor_rows_per_s']:,.0f} rows/s: "
                         f"{r['fraction_of_floor']:.0%} of it.")
    by_cell = {(r["rows"], r["labels"]): r for r in records}
    if (200_000, 10_000) in by_cell and (2_000_000, 10_000) in by_cell:
        growth = by_cell[(2_000_000, 10_000)]["peak_rss_mb"] / by_cell[(200_000, 10_000)]["peak_rss_mb"]
        lines.append(f"- peak RSS from 200,000 to 2,000,000 rows at 10,000 labels: x{growth:.2f} (target < 2).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=[f"{rows}x{labels}" for rows, labels in CELLS])
    parser.add_argument("--work", type=Path, default=None, help="where the generated data sets go")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        import logging
        import warnings

        warnings.filterwarnings("ignore")
        logging.disable(logging.WARNING)
        print(json.dumps(STEPS[args.step](args.data)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="gnn-mlc-scale-"))
    records = []
    for cell in args.cells:
        rows, labels = (int(part) for part in cell.split("x"))
        path = work / f"data-{rows}-{labels}.npz"
        if not path.exists():
            subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                            f"from scale import generate; from pathlib import Path; generate({rows}, {labels}, 0, "
                            f"Path({str(path)!r}))"], check=True)
        record = {"rows": rows, "labels": labels}
        for step in ("train", "ratio", "graph"):
            record.update(run_step(step, path, work / f"step-{cell}-{step}.json"))
            print(f"{cell} {step}: {json.dumps(record)}", flush=True)
        record["labels"] = labels
        if rows == 200_000 and labels in (1_000, 10_000):
            extra = run_step("skmultilearn", path, work / f"step-{cell}-skmultilearn.json")
            record.update(skmultilearn_s=extra["skmultilearn_s"], skmultilearn_rows=extra["rows"],
                          ours_100k_probability_s=extra["ours_probability_s"],
                          ours_100k_mlgcn_s=extra["ours_mlgcn_s"])
        if labels == 50_000 and rows == 200_000:
            extra = run_step("score", path, work / f"step-{cell}-score.json")
            record.update(score_rows=extra["rows"], ours_rows_per_s=extra["ours_rows_per_s"],
                          floor_rows_per_s=extra["floor_rows_per_s"], fraction_of_floor=extra["fraction_of_floor"])
        records.append(record)
        write_results("scale", records, markdown(records))


if __name__ == "__main__":
    main()
