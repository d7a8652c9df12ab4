"""An interrupted training run leaves no model directory, and --resume ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gnn_mlc.cli import main

SCRIPT = str(Path(sys.executable).with_name("gnn-mlc"))


def train_command(data: Path, output: Path, *extra: str) -> list[str]:
    return [SCRIPT, "train", "--data", str(data), "--output", str(output), "--epochs", "6", "--patience", "100",
            "--batch-size", "16", "--hidden-channels", "32", "--embedding-dim", "16", "--seed", "3", "--device",
            "cpu", "--quiet", *extra]


@pytest.mark.timeout(300)
def test_sigkill_then_resume_equals_uninterrupted(tmp_path, demo_train):
    whole = subprocess.run(train_command(demo_train, tmp_path / "whole"), capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    output = tmp_path / "resumed"
    checkpoint = tmp_path / ".resumed.checkpoint.pt"
    process = subprocess.Popen(train_command(demo_train, output), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert checkpoint.exists(), "the run should have been killed after its first epoch"
    epoch = torch.load(checkpoint, weights_only=True)["epoch"]
    assert 1 <= epoch < 6
    assert not output.exists(), "a killed run must not leave a model directory"
    resumed = subprocess.run(train_command(demo_train, output, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert not checkpoint.exists()
    expected, got = load_file(str(tmp_path / "whole" / "weights.safetensors")), load_file(str(output / "weights.safetensors"))
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name


def test_resume_refuses_a_foreign_checkpoint(tmp_path, demo_train, capsys):
    (tmp_path / ".model.checkpoint.pt").write_bytes(b"not a checkpoint")
    code = main(["train", "--data", str(demo_train), "--output", str(tmp_path / "model"), "--epochs", "1",
                 "--quiet", "--resume"])
    assert code == 2
    assert "not a readable training checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()
