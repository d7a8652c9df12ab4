"""Data-parallel training under torchrun (2 CPU processes, gloo): ranks stay in sync and match one process."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gnn_mlc import LabelGCNClassifier, load_model, read_dataset

HERE = Path(__file__).resolve().parent


def torchrun(*arguments: str, timeout: float = 240) -> subprocess.CompletedProcess:
    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(port), *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("negative_samples", [0, 5])  # 5: every rank scores the global batch's sampled columns
def test_two_processes_stay_in_sync_and_match_one(tmp_path, negative_samples):
    result = torchrun(str(HERE / "ddp_worker.py"), str(tmp_path), "cpu", str(negative_samples))
    assert result.returncode == 0, result.stderr[-2000:]
    rank0, rank1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), f"{name} differs between ranks"
    sys.path.insert(0, str(HERE))
    from ddp_worker import DEMO, SETTINGS

    data = read_dataset(DEMO)
    single = LabelGCNClassifier(**SETTINGS, negative_samples=negative_samples).fit(data.X[:1000], data.Y[:1000])
    # Same global batches, gradients averaged over ranks = gradient of the global mean: equal up to float
    # summation order. Stated tolerance: 1e-4 absolute on every parameter after 3 epochs.
    for name, tensor in single.model_.state_dict().items():
        torch.testing.assert_close(rank0[name], tensor, rtol=0, atol=1e-4, msg=name)


@pytest.mark.timeout(300)
def test_cli_train_under_torchrun_writes_one_model(tmp_path, demo_train):
    script = str(Path(sys.executable).with_name("gnn-mlc"))
    output = tmp_path / "model"
    result = torchrun(script, "train", "--data", str(demo_train), "--output", str(output), "--device", "cpu",
                      "--epochs", "2", "--hidden-channels", "16", "--embedding-dim", "8", "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("model written to") == 1
    assert len(load_model(output).classes_) == 48
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
