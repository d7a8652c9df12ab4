"""Splits: iterative stratification keeps label proportions and reaches every fold; seeded and fast."""

from __future__ import annotations

import numpy as np
import pytest

from gnn_mlc import DataError
from gnn_mlc.data import (
    iterative_stratification,
    stratified_split_indices,
    train_test_split_indices,
)


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
