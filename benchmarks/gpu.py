"""On one CUDA GPU: training steps of the graph model and the no-graph network, scoring against the bare floor, and
what TF32 and bf16 would change, at 1,000, 10,000 and 50,000 labels.

The synthetic recommender data of ``benchmarks/scale.py`` (200,000 rows, D = 100,000 sparse features, ~50 non-zeros
and ~5 power-law labels a row), generated on the GPU machine; the measurements are scale.py's own, on ``cuda``:

* **epoch ratio** (``scale.step_ratio``): seconds per training step of the graph model (``num_gcn_layers=1``) and
  the no-graph network, 60 steps after 5 warm-up steps on the same batches of 1024 (batch preparation on the CPU
  included, as in training), an epoch extrapolated as steps x (0.85 x rows / batch);
* **scoring** (``scale.step_score``): ``Scorer`` rows/s on 200,000 in-memory rows against the floor (the same encoder,
  one matmul against the label vectors and a top-10 on the GPU, in the scorer's slices), median of 3;
* **precision**: the floor again with TF32 matrix products and under bf16 autocast, against float32: rows/s, the
  largest logit difference relative to the largest logit, and the share of the float32 top-10 kept.

Usage: ``python benchmarks/gpu.py --work DIR`` (run by ``benchmarks/gpu_check.sh``); writes results/gpu.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402
from scale import BATCH, floor_top_k, generate, load, step_ratio, step_score  # noqa: E402

ROWS = 200_000
LABELS = (1_000, 10_000, 50_000)


def precision(path: Path, device: torch.device) -> dict:
    """Floor rows/s and score changes with TF32 and with bf16 autocast, against float32, on a 1-epoch model."""
    from gnn_mlc import LabelGCNClassifier

    X, Y = load(path)
    model = LabelGCNClassifier(max_epochs=1, batch_size=BATCH, device=device.type).fit(X[:20_000], Y[:20_000])
    scaled = model.scaler_.transform(X[:200_000])
    encoder = model.model_.encoder.eval().to(device)
    vectors = torch.from_numpy(model.label_embeddings_).to(device)
    bias = torch.from_numpy(model.label_bias_).to(device)
    from gnn_mlc._torch import to_tensor

    probe = to_tensor(scaled[:4096], device)

    def logits() -> torch.Tensor:
        with torch.no_grad():
            return torch.addmm(bias, encoder(probe), vectors.t()).float()

    reference = logits()
    reference_top = torch.topk(reference, 10, dim=1).indices
    result = {}
    for mode in ("float32", "tf32", "bf16"):
        torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
        try:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bf16"):
                changed = logits()
                floor_top_k(model, scaled, device)  # warm-up
                start = time.perf_counter()
                for _ in range(3):
                    floor_top_k(model, scaled, device)
                seconds = (time.perf_counter() - start) / 3
        except RuntimeError as error:  # an operation without a kernel for this mode: say so, measure the rest
            result[mode] = {"error": str(error).splitlines()[0][:200]}
            continue
        top = torch.topk(changed, 10, dim=1).indices
        kept = (top[:, :, None] == reference_top[:, None, :]).any(dim=2).float().mean()
        result[mode] = {"floor_rows_per_s": scaled.shape[0] / seconds,
                        "max_relative_logit_change": float((changed - reference).abs().max() / reference.abs().max()),
                        "top10_kept": float(kept)}
    torch.backends.cuda.matmul.allow_tf32 = False
    return result


def markdown(records: list[dict]) -> str:
    device = records[0]["device"]
    lines = ["# On a GPU: training steps, scoring against the floor, TF32 and bf16", "", "{header}",
             f"Device: **{device}**, torch {records[0]['torch']}. Protocol in the script's docstring "
             "(`benchmarks/gpu.py`): 200,000 synthetic rows, D = 100,000 sparse features; epochs extrapolated from "
             "60 training steps of 1024 rows.", "",
             "| labels | graph epoch s | no-graph epoch s | ratio (target <= 1.3) | Scorer rows/s | floor rows/s | "
             "of the floor (target >= 80%) | peak GPU memory (MiB) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        lines.append(f"| {r['labels']:,} | {r['graph_epoch_seconds']:.1f} | {r['no-graph_epoch_seconds']:.1f} | "
                     f"{r['ratio']:.2f} | {r['ours_rows_per_s']:,.0f} | {r['floor_rows_per_s']:,.0f} | "
                     f"{r['fraction_of_floor']:.0%} | {r['peak_gpu_mib']:,.0f} |")
    lines += ["", "## TF32 and bf16 on the scoring floor", "",
              "| labels | mode | floor rows/s | x float32 | largest logit change (relative) | float32 top-10 kept |",
              "|---:|---|---:|---:|---:|---:|"]
    for r in records:
        base = r["precision"]["float32"]["floor_rows_per_s"]
        for mode, p in r["precision"].items():
            if "error" in p:
                lines.append(f"| {r['labels']:,} | {mode} | failed: {p['error']} | | | |")
                continue
            lines.append(f"| {r['labels']:,} | {mode} | {p['floor_rows_per_s']:,.0f} | "
                         f"{p['floor_rows_per_s'] / base:.2f} | {p['max_relative_logit_change']:.1e} | "
                         f"{p['top10_kept']:.2%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="where the synthetic data sets go")
    parser.add_argument("--labels", type=int, nargs="+", default=list(LABELS))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA GPU: benchmarks/gpu.py measures one")
    args.work.mkdir(parents=True, exist_ok=True)
    records = []
    for labels in args.labels:
        path = args.work / f"data-{ROWS}-{labels}.npz"
        if not path.exists():
            generate(ROWS, labels, 0, path)
        torch.cuda.reset_peak_memory_stats()
        record = {"labels": labels, "device": torch.cuda.get_device_name(), "torch": torch.__version__,
                  **step_ratio(path, "cuda")}
        print(f"{labels} ratio: {record}", flush=True)
        record.update(step_score(path, "cuda"))
        record["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
        print(f"{labels} score: {record}", flush=True)
        record["precision"] = precision(path, torch.device("cuda"))
        print(f"{labels} precision: {record['precision']}", flush=True)
        records.append(record)
        write_results("gpu", records, markdown(records))
    print(markdown(records))


if __name__ == "__main__":
    main()
