"""Splits: iterative stratification keeps label proportions and reaches every fold; seeded and fast."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.csv  # noqa: F401  (pa.csv)
import pyarrow.parquet as pq
import pytest

from gnn_mlc import DataError
from gnn_mlc.cli import main
from gnn_mlc.data import (
    iterative_stratification,
    stratified_split_indices,
    train_test_split_indices,
)
from gnn_mlc.data.split import split_table


def long_tail_labels(rows: int, labels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((rows, labels)) < np.geomspace(0.4, 0.002, labels)).astype(np.uint8)


def test_folds_keep_label_proportions_and_reach_every_fold():
    Y = long_tail_labels(5000, 60, seed=0)
    folds = iterative_stratification(Y, fractions=[0.2] * 5, seed=0)
    assert np.bincount(folds).tolist() == [1000] * 5
    counts = Y.sum(axis=0)
    for fold in range(5):
        part = Y[folds == fold].sum(axis=0)
        # Every label, rare or frequent, is within one row of its share of positives in every fold.
        assert (np.abs(part - counts / 5) <= 1.0 + 1e-9).all()
        assert (part[counts >= 5] >= 1).all()


def test_stratification_beats_random_on_rare_labels():
    Y = long_tail_labels(2000, 40, seed=1)
    train, test = stratified_split_indices(Y, test_fraction=0.2, seed=0)
    assert len(test) == 400 and len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 2000
    stratified_error = np.abs(Y[test].sum(0) - 0.2 * Y.sum(0)).sum()
    random_errors = [np.abs(Y[test_rows].sum(0) - 0.2 * Y.sum(0)).sum()
                     for _, test_rows in (train_test_split_indices(2000, test_fraction=0.2, seed=s) for s in range(5))]
    assert stratified_error < 0.2 * min(random_errors)


def test_seeded_and_deterministic():
    Y = long_tail_labels(500, 10, seed=2)
    first = iterative_stratification(Y, fractions=[0.5, 0.5], seed=7)
    np.testing.assert_array_equal(first, iterative_stratification(Y, fractions=[0.5, 0.5], seed=7))
    assert not np.array_equal(first, iterative_stratification(Y, fractions=[0.5, 0.5], seed=8))


def test_rows_without_labels_and_errors():
    Y = np.zeros((10, 3), dtype=np.uint8)
    Y[0, 0] = 1
    folds = iterative_stratification(Y, fractions=[0.7, 0.3], seed=0)
    assert np.bincount(folds).tolist() == [7, 3]
    with pytest.raises(DataError, match=r"fractions: got \[0.5, 0.6\]"):
        iterative_stratification(Y, fractions=[0.5, 0.6], seed=0)
    with pytest.raises(DataError, match=r"cannot split 1 rows"):
        stratified_split_indices(Y[:1], test_fraction=0.5, seed=0)


def _table(rows: int = 50):
    rng = np.random.default_rng(0)
    return pa.table({"id": [f"{row:03d}" for row in range(rows)], "age": rng.normal(size=rows),
                     "time": rng.permutation(rows), "labels": [["a"] if row % 5 else ["b", "a"] for row in range(rows)]})


def test_split_table_random_time_and_stratified():
    table = _table()
    train, test = split_table(table, test_fraction=0.2, seed=0)
    assert (train.num_rows, test.num_rows) == (40, 10)
    assert sorted(train.column("id").to_pylist() + test.column("id").to_pylist()) == table.column("id").to_pylist()
    train, test = split_table(table, test_fraction=0.2, seed=0, method="time", time_column="time")
    assert sorted(test.column("time").to_pylist()) == list(range(40, 50))  # the latest rows
    assert test.column("id").to_pylist() == sorted(test.column("id").to_pylist())  # in the table's order
    train, test = split_table(table, test_fraction=0.2, seed=0, method="stratified", label_column="labels")
    assert sum("b" in labels for labels in test.column("labels").to_pylist()) == 2  # 10 'b' rows, 20% of them


def test_split_command_keeps_the_format_and_the_text(tmp_path, capsys):
    table = _table()
    pa.csv.write_csv(table.drop_columns(["labels"]).append_column(
        "labels", pa.array(["|".join(labels) for labels in table.column("labels").to_pylist()])), tmp_path / "d.csv")
    assert main(["split", "--data", str(tmp_path / "d.csv"), "--output-train", str(tmp_path / "tr.csv"),
                 "--output-test", str(tmp_path / "te.csv"), "--stratified", "--seed", "3"]) == 0
    assert "wrote 40 training rows" in capsys.readouterr().out
    test = pa.csv.read_csv(tmp_path / "te.csv", convert_options=pa.csv.ConvertOptions(
        column_types={"id": pa.string()}))
    assert test.num_rows == 10 and all(len(value) == 3 for value in test.column("id").to_pylist())  # "007" stays
    pq.write_table(table, tmp_path / "d.parquet")
    assert main(["split", "--data", str(tmp_path / "d.parquet"), "--output-train", str(tmp_path / "tr.parquet"),
                 "--output-test", str(tmp_path / "te.parquet"), "--time-column", "time"]) == 0
    assert pq.read_table(tmp_path / "te.parquet").schema == table.schema


@pytest.mark.parametrize(("argv", "message"), [
    (["--data", "d.arff", "--output-train", "a.arff", "--output-test", "b.arff"],
     r"d\.arff: split reads and writes CSV or Parquet tables \(writing ARFF is not supported\)"),
    (["--data", "d.parquet", "--output-train", "d.parquet", "--output-test", "b.parquet"],
     r"d\.parquet: is also an input of this command"),
    (["--data", "d.parquet", "--output-train", "a.csv", "--output-test", "b.parquet"],
     r"a\.csv: a \.csv output for a \.parquet input; expected the input's format \(\.parquet\)"),
    (["--data", "d.parquet", "--output-train", "a.parquet", "--output-test", "b.parquet", "--time-column", "id"],
     r"d\.parquet: time column 'id' has type string; expected numbers or timestamps"),
    (["--data", "d.parquet", "--output-train", "a.parquet", "--output-test", "b.parquet", "--stratified",
      "--label-column", "tags"], r"d\.parquet: no column 'tags'"),
])
def test_split_command_refusals(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    pq.write_table(_table(), "d.parquet")
    assert main(["split", *argv]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "a.parquet").exists() and not (tmp_path / "b.parquet").exists()
