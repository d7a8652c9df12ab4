"""CUDA against the CPU: training, the three scoring paths, loading a CUDA-trained model without a GPU, ``auto``,
and torchrun's DistributedDataParallel path on one GPU with nccl. Skipped where no GPU is (CI has none); run on one
by ``benchmarks/gpu_check.sh``.

Tolerances, and why: float32 on both devices (TF32 stays off, PyTorch's default for float32 matrix products), but
CUDA sums in another order and its sparse kernels add atomically, so results differ in the last bits and the
differences grow over training steps. Scoring one fixed model: the scores at every rank within 1e-5, and the same
top-k labels in at least 99% of the rows (two labels scoring within 1e-5 of each other may swap). Training the same seeded model (dropout 0, the same
batches): probabilities within 2e-3 and validation mAP within 2e-3 after 3 epochs. Measured differences are written
to ``$GNN_MLC_CUDA_REPORT`` (a JSON file) when that is set, so a run on a GPU shows how close they came.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file

from gnn_mlc import LabelGCNClassifier, Scorer, load_model, read_dataset
from gnn_mlc._torch import resolve_device
from gnn_mlc.cli import main

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine (CI has none)")

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "data"
SETTINGS = {"dropout": 0.0, "max_epochs": 3, "hidden_channels": 64, "embedding_dim": 32, "batch_size": 128,
            "random_state": 0}
SCORE_TOLERANCE, TRAIN_TOLERANCE = 1e-5, 2e-3


def _report(name: str, **values: float) -> None:
    """Record measured differences in the JSON file ``$GNN_MLC_CUDA_REPORT`` names (if any)."""
    path = os.environ.get("GNN_MLC_CUDA_REPORT")
    if not path:
        return
    report = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    report[name] = {key: float(value) for key, value in values.items()}
    Path(path).write_text(json.dumps(report, indent=2))


@pytest.fixture(scope="module")
def demo():
    return read_dataset(DEMO / "shop_train.parquet"), read_dataset(DEMO / "shop_test.parquet")


def test_auto_picks_cuda():
    assert resolve_device("auto").type == "cuda"


def test_training_on_cuda_matches_the_cpu(demo):
    train, test = demo
    cpu = LabelGCNClassifier(**SETTINGS, device="cpu").fit(train.X, train.Y, label_names=train.label_names)
    cuda = LabelGCNClassifier(**SETTINGS, device="cuda").fit(train.X, train.Y, label_names=train.label_names)
    X = test.features_as(train.feature_names)
    difference = np.abs(cpu.predict_proba(X) - cuda.predict_proba(X)).max()
    map_difference = abs(cpu.training_.best_validation - cuda.training_.best_validation)
    _report("training", max_probability_difference=difference, validation_map_difference=map_difference,
            best_epoch_cpu=cpu.training_.best_epoch, best_epoch_cuda=cuda.training_.best_epoch)
    assert cpu.training_.best_epoch == cuda.training_.best_epoch
    assert map_difference <= TRAIN_TOLERANCE and difference <= TRAIN_TOLERANCE


@pytest.fixture(scope="module")
def cpu_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cuda")
    assert main(["train", "--data", str(DEMO / "shop_train.parquet"), "--output", str(folder / "model"), "--quiet",
                 "--max-epochs", "3", "--device", "cpu"]) == 0
    return folder / "model"


def test_predict_score_and_scorer_on_cuda_match_the_cpu(cpu_model, tmp_path):
    table = pq.read_table(DEMO / "shop_score.parquet")
    outputs = {}
    for device in ("cpu", "cuda"):
        assert main(["predict", "--model", str(cpu_model), "--input", str(DEMO / "shop_score.parquet"), "--output",
                     str(tmp_path / f"{device}.parquet"), "--device", device]) == 0
        assert main(["score", "--model", str(cpu_model), "--input", str(DEMO / "shop_score.parquet"), "--output",
                     str(tmp_path / f"job-{device}"), "--device", device, "--quiet"]) == 0
        scorer, _ = Scorer(cpu_model, top_k=10, device=device).score_table(table)
        job = pq.read_table(next((tmp_path / f"job-{device}").glob("part-*.parquet")))
        outputs[device] = {"predict": pq.read_table(tmp_path / f"{device}.parquet"), "score": job, "scorer": scorer}
    worst, swapped = 0.0, 0.0
    for path in ("predict", "score", "scorer"):
        cpu, cuda = outputs["cpu"][path], outputs["cuda"][path]
        assert cpu.column(0).to_pylist() == cuda.column(0).to_pylist()
        scores_cpu = np.asarray(cpu.column("scores").to_pylist())
        scores_cuda = np.asarray(cuda.column("scores").to_pylist())
        worst = max(worst, float(np.abs(scores_cpu - scores_cuda).max()))
        same = [a == b for a, b in zip(cpu.column("labels").to_pylist(), cuda.column("labels").to_pylist())]
        swapped = max(swapped, 1.0 - float(np.mean(same)))
    _report("scoring", max_score_difference=worst, share_of_rows_with_other_labels=swapped)
    assert worst <= SCORE_TOLERANCE and swapped <= 0.01


def test_a_cuda_trained_model_scores_on_a_machine_without_a_gpu(demo, tmp_path):
    train, test = demo
    model = LabelGCNClassifier(**SETTINGS, device="cuda").fit(train.X, train.Y, label_names=train.label_names,
                                                               feature_names=train.feature_names)
    model.to_directory(tmp_path / "model")
    assert main(["predict", "--model", str(tmp_path / "model"), "--input", str(DEMO / "shop_score.parquet"),
                 "--output", str(tmp_path / "cuda.parquet"), "--device", "cuda"]) == 0
    code = ("import sys, torch; assert not torch.cuda.is_available(); from gnn_mlc.cli import main; "
            f"sys.exit(main(['predict', '--model', {str(tmp_path / 'model')!r}, '--input', "
            f"{str(DEMO / 'shop_score.parquet')!r}, '--output', {str(tmp_path / 'cpu.parquet')!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    cpu, cuda = pq.read_table(tmp_path / "cpu.parquet"), pq.read_table(tmp_path / "cuda.parquet")
    difference = np.abs(np.asarray(cpu.column("scores").to_pylist())
                        - np.asarray(cuda.column("scores").to_pylist())).max()
    _report("cuda_model_on_cpu", max_score_difference=difference)
    assert difference <= SCORE_TOLERANCE
    assert load_model(tmp_path / "model").predict_proba(test.features_as(train.feature_names)[:5]).shape == \
        (5, len(model.classes_))


@pytest.mark.timeout(300)
def test_torchrun_on_one_gpu_uses_nccl_and_matches_one_process(demo, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "1",
               "--master_addr", "127.0.0.1", "--master_port", str(port), str(HERE / "ddp_worker.py"), str(tmp_path),
               "cuda"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "rank0.backend").read_text() == "nccl"
    sys.path.insert(0, str(HERE))
    from ddp_worker import SETTINGS as WORKER

    train, _ = demo
    single = LabelGCNClassifier(**{**WORKER, "device": "cuda"}).fit(train.X[:1000], train.Y[:1000])
    ranked = load_file(str(tmp_path / "rank0.safetensors"))
    difference = max(float((ranked[name] - tensor.cpu()).abs().max())
                     for name, tensor in single.model_.state_dict().items())
    _report("torchrun_one_gpu", max_parameter_difference=difference)
    assert difference <= 1e-4
