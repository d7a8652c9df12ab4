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


def _interrupted_run(tmp_path, demo_train, **sources: Path) -> Path:
    """Train 2 of 4 epochs with a checkpoint (and the graph ``sources``), as a run killed after its second epoch
    leaves it."""
    from gnn_mlc import LabelGCNClassifier, read_dataset

    data = read_dataset(demo_train)
    checkpoint = tmp_path / ".model.checkpoint.pt"
    LabelGCNClassifier(max_epochs=2, patience=100, hidden_channels=16, embedding_dim=8, random_state=3,
                       device="cpu").fit(data.X, data.Y, label_names=data.label_names, checkpoint=checkpoint,
                                         **sources)
    state = torch.load(checkpoint, weights_only=True)
    state["identity"]["max_epochs"] = 4  # the killed run had asked for 4
    torch.save(state, checkpoint)
    return checkpoint


@pytest.mark.parametrize(("extra", "difference"), [
    (["--learning-rate", "0.1"], r"learning_rate: 0\.001 -> 0\.1"),
    (["--seed", "99"], r"random_state: 3 -> 99"),
    (["--no-graph"], r"use_graph: True -> False"),
    (["--max-epochs", "2"], r"max_epochs: 4 -> 2"),
    (["--data-subset"], r"data: '[0-9a-f]+' -> '[0-9a-f]+'"),
])
def test_resume_refuses_another_run_and_lists_the_difference(tmp_path, demo_train, capsys, extra, difference):
    import re

    _interrupted_run(tmp_path, demo_train)
    data = demo_train
    if extra == ["--data-subset"]:  # another data file
        import pyarrow.parquet as pq

        data = tmp_path / "other.parquet"
        pq.write_table(pq.read_table(demo_train).slice(0, 2000), data)
        extra = []
    argv = ["train", "--data", str(data), "--output", str(tmp_path / "model"), "--max-epochs", "4", "--patience",
            "100", "--hidden-channels", "16", "--embedding-dim", "8", "--seed", "3", "--device", "cpu", "--quiet",
            "--resume", *extra]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert re.search(r"checkpoint\.pt: the checkpoint is of another run \(.*" + difference, error), error
    assert "Traceback" not in error and not (tmp_path / "model").exists()


@pytest.mark.parametrize(("flag", "first", "second"), [
    ("--graph-edges", "source,target\ncamping,hiking\n", "source,target\ncamping,sneakers\n"),
    ("--label-features", "label,f0\ncamping,1.0\nhiking,2.0\n", "label,f0\ncamping,1.0\nhiking,3.0\n"),
])
def test_resume_refuses_other_graph_sources(tmp_path, demo_train, capsys, flag, first, second):
    """Other edges or label features change the label graph under the saved weights: another run, one line."""
    import re

    name = flag[2:].replace("-", "_")
    (tmp_path / "first.csv").write_text(first)
    (tmp_path / "second.csv").write_text(second)
    _interrupted_run(tmp_path, demo_train, **{name: tmp_path / "first.csv"})
    argv = ["train", "--data", str(demo_train), "--output", str(tmp_path / "model"), "--max-epochs", "4",
            "--patience", "100", "--hidden-channels", "16", "--embedding-dim", "8", "--seed", "3", "--quiet",
            "--resume", flag]
    assert main([*argv, str(tmp_path / "second.csv")]) == 2
    error = capsys.readouterr().err
    assert re.search(rf"checkpoint\.pt: the checkpoint is of another run \({name}: '[0-9a-f]+' -> '[0-9a-f]+'\); "
                     "expected the same data and parameters to resume", error), error
    assert "Traceback" not in error and not (tmp_path / "model").exists()
    assert main([*argv, str(tmp_path / "first.csv")]) == 0  # the same source again: resumed


def test_resume_with_the_same_arguments_is_accepted(tmp_path, demo_train):
    _interrupted_run(tmp_path, demo_train)
    argv = ["train", "--data", str(demo_train), "--output", str(tmp_path / "model"), "--max-epochs", "4",
            "--patience", "100", "--hidden-channels", "16", "--embedding-dim", "8", "--seed", "3", "--quiet",
            "--resume"]  # --device differs (auto): safe to change, documented
    assert main(argv) == 0
    history = __import__("json").loads((tmp_path / "model" / "metrics.json").read_text())["history"]
    assert [entry["epoch"] for entry in history] == [1, 2, 3, 4]


def test_a_full_disk_while_checkpointing_is_one_line_and_leaves_no_temporary(tmp_path, demo_train, monkeypatch,
                                                                              capsys):
    def full_disk(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file "
                           "data/0: file write failed")

    monkeypatch.setattr(torch, "save", full_disk)
    code = main(["train", "--data", str(demo_train), "--output", str(tmp_path / "model"), "--max-epochs", "1",
                 "--quiet"])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: {tmp_path / '.model.checkpoint.pt'}: cannot write the training checkpoint "
                            "([enforce fail") and len(error.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
