"""Inputs that are valid but degenerate, and faults from outside: each handled with a clear outcome."""

from __future__ import annotations

import errno
import logging
import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from gnn_mlc import DataError, GnnMlcError, LabelGCNClassifier, read_dataset
from gnn_mlc.cli import main
from gnn_mlc.serving.batch import run_scoring_job

FAST = {"max_epochs": 2, "hidden_channels": 16, "embedding_dim": 8}


def test_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("id,x,labels\nu1,1,a\nu2,2,b\nu1,3,a\n")
    with pytest.raises(DataError, match=r"id 'u1' appears more than once in column 'id' \(rows 0 and 2\)"):
        read_dataset(path)


def test_labels_never_or_always_positive_train_with_a_warning(caplog):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    Y = (rng.random((80, 3)) < 0.4).astype(np.uint8)
    Y[:, 1] = 0
    Y[:, 2] = 1
    with caplog.at_level(logging.WARNING, logger="gnn_mlc.estimator"):
        model = LabelGCNClassifier(**FAST).fit(X, Y, label_names=["a", "never", "always"])
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "1 label(s) with no positive in the training data ('never')" in messages
    assert "1 label(s) with only positives in the training data ('always')" in messages
    scores = model.predict_proba(X)
    assert scores[:, 1].max() < 0.5 < scores[:, 2].min()


def test_a_single_label_trains_and_predicts():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    Y = (X[:, :1] > 0).astype(np.uint8)
    model = LabelGCNClassifier(**FAST).fit(X, Y)
    assert model.predict(X).shape == (60, 1) and model.graph_.adjacency.nnz == 0


def test_full_disk_while_saving_a_model_leaves_nothing(tmp_path, demo_train, monkeypatch, capsys):
    real_replace = os.replace

    def full_disk(source, target):
        if str(target).endswith("model"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", full_disk)
    code = main(["train", "--data", str(demo_train), "--output", str(tmp_path / "model"), "--epochs", "1", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path / 'model'}: writing the model failed (No space left on device); nothing was left behind"
    assert sorted(path.name for path in tmp_path.iterdir()) == [".model.checkpoint.pt"]  # kept for --resume


def test_full_disk_while_scoring_keeps_finished_shards_only(tmp_path, demo_train, demo_score, monkeypatch):
    data = read_dataset(demo_train)
    LabelGCNClassifier(**FAST).fit(data.X, data.Y, label_names=data.label_names,
                                   feature_names=data.feature_names).to_directory(tmp_path / "model")
    real_write = pq.ParquetWriter.write_table
    calls = {"count": 0}

    def fill_up(self, table, *args, **kwargs):
        calls["count"] += 1
        if calls["count"] == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", fill_up)
    with pytest.raises(GnnMlcError, match=r"part-00000-00001\.parquet: writing failed \(No space left on device\); no partial"):
        run_scoring_job(tmp_path / "model", demo_score, tmp_path / "recs", batch_size=500, rows_per_shard=1000,
                        progress=False)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", real_write)
    assert [path.name for path in (tmp_path / "recs").glob("part-*")] == ["part-00000-00000.parquet"]
    assert not list((tmp_path / "recs").glob(".*.tmp"))
    summary = run_scoring_job(tmp_path / "model", demo_score, tmp_path / "recs", batch_size=500,
                              rows_per_shard=1000, progress=False)
    assert summary.shards_skipped == 1 and summary.shards_written == 1
    ids = pq.read_table(sorted((tmp_path / "recs").glob("part-*.parquet"))).column("id").to_pylist()
    assert ids == pq.read_table(demo_score).column("id").to_pylist()
