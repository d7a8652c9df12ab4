"""Seeded splits of multi-label data: plain random, and iterative stratification.

Iterative stratification (Sechidis, Tsoumakas and Vlahavas, "On the stratification of multi-label data", ECML PKDD
2011) keeps every label's share of positives close to the desired fold fractions, rarest labels first, so that a
label with few positives still reaches every fold. It is the default way the estimator carves its validation split.

:func:`split_table` splits a CSV/Parquet table's rows (``gnn-mlc split``): at random, stratified by its label
column, or by a time column (the latest rows to test, as a recommender is evaluated on the future).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from gnn_mlc._typing import Matrix
from gnn_mlc.data.label_lists import read_label_lists
from gnn_mlc.errors import DataError, did_you_mean

SplitMethod = Literal["random", "stratified", "time"]


def train_test_split_indices(num_rows: int, *, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``range(num_rows)`` into sorted (train, test) index arrays."""
    num_test = _check_fraction(num_rows, test_fraction)
    order = np.random.default_rng(seed).permutation(num_rows)
    return np.sort(order[num_test:]), np.sort(order[:num_test])


def stratified_split_indices(Y: Matrix, *, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded iterative-stratification split of the rows of ``Y`` (rows, num_labels) into sorted (train, test)."""
    _check_fraction(Y.shape[0], test_fraction)
    folds = iterative_stratification(Y, fractions=(1.0 - test_fraction, test_fraction), seed=seed)
    return np.flatnonzero(folds == 0), np.flatnonzero(folds == 1)


def iterative_stratification(Y: Matrix, *, fractions: Sequence[float], seed: int) -> np.ndarray:
    """Assign each row of ``Y`` (rows, num_labels) to a fold so that label proportions follow ``fractions``.

    Args:
        Y: 0/1 labels, ndarray or sparse.
        fractions: desired share of rows per fold (positive, summing to 1); ``[1 / k] * k`` gives k folds.
        seed: breaks ties between equally good folds, and orders rows within a label.

    Returns:
        (rows,) int64 fold index of each row.
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or len(fractions) < 2 or (fractions <= 0).any() or abs(fractions.sum() - 1) > 1e-9:
        raise DataError(f"fractions: got {fractions.tolist()}; expected two or more positive numbers summing to 1")
    rng = np.random.default_rng(seed)
    Y = sp.csr_matrix(Y, dtype=np.int8)
    Y.eliminate_zeros()
    num_rows, num_labels = Y.shape
    by_label = Y.tocsc()
    row_labels = np.split(Y.indices, Y.indptr[1:-1])
    label_counts = np.diff(by_label.indptr).astype(np.float64)
    # Python lists: the loop below touches k-element rows one row at a time, where numpy calls cost more than they do.
    wanted_rows = list(fractions * num_rows)
    wanted = np.outer(fractions, label_counts).T.tolist()  # wanted[label][fold]
    remaining = label_counts.copy()
    remaining[remaining == 0] = np.inf
    fold_of = np.full(num_rows, -1, dtype=np.int64)
    folds = range(len(fractions))
    while np.isfinite(remaining).any():
        fewest = remaining.min()
        candidates = np.flatnonzero(remaining == fewest)
        label = int(candidates[rng.integers(len(candidates))]) if len(candidates) > 1 else int(candidates[0])
        rows = by_label.indices[by_label.indptr[label] : by_label.indptr[label + 1]]
        for row in rng.permutation(rows[fold_of[rows] < 0]):
            demand = wanted[label]
            best = max(demand)
            choices = [fold for fold in folds if demand[fold] == best]
            if len(choices) > 1:
                # Among folds equally short of this label, take the one most short of the row's other labels (a
                # refinement of Sechidis et al.'s row-count tie-break: it keeps frequent labels, which are placed
                # last, close to their share too), then the one most short of rows.
                labels = row_labels[row]
                need = {fold: sum(wanted[other][fold] for other in labels) for fold in choices}
                most = max(need.values())
                choices = [fold for fold in choices if need[fold] == most]
            if len(choices) > 1:
                most_rows = max(wanted_rows[fold] for fold in choices)
                choices = [fold for fold in choices if wanted_rows[fold] == most_rows]
            fold = choices[0] if len(choices) == 1 else choices[int(rng.integers(len(choices)))]
            fold_of[row] = fold
            wanted_rows[fold] -= 1
            for other in row_labels[row]:
                wanted[other][fold] -= 1
                remaining[other] -= 1
        remaining[label] = np.inf
        remaining[remaining <= 0] = np.inf
    for row in rng.permutation(np.flatnonzero(fold_of < 0)):  # rows with no label: fill the folds' row quotas
        fold = int(np.argmax(wanted_rows))
        fold_of[row] = fold
        wanted_rows[fold] -= 1
    return fold_of


def split_table(table: pa.Table, *, test_fraction: float, seed: int, method: SplitMethod = "random",
                label_column: str | None = None, label_delimiter: str = "|", time_column: str | None = None,
                source: str = "data") -> tuple[pa.Table, pa.Table]:
    """A table's rows as (train, test) tables, each in the table's row order.

    Args:
        table: the rows, any columns.
        test_fraction: in (0, 1): the share of rows (rounded) that go to test.
        seed: the seed of ``"random"`` and ``"stratified"``.
        method: ``"random"``; ``"stratified"``: iterative stratification on ``label_column`` (a list column, or
            ``label_delimiter``-joined names); ``"time"``: the rows latest in ``time_column`` (numeric, date or
            timestamp; ties in row order) go to test.
        label_column, label_delimiter: the labels, for ``"stratified"``.
        time_column: the time, for ``"time"``.
        source: the file, for messages.

    Raises:
        DataError: a fraction outside (0, 1) or leaving a side empty, an absent column, or a time column that is
            neither numeric nor a date/timestamp (or has a null).
    """
    column = {"stratified": label_column, "time": time_column}.get(method)
    if column is not None and column not in table.column_names:
        flag = "--label-column" if method == "stratified" else "--time-column"
        raise DataError(f"{source}: no column {column!r}{did_you_mean(column, table.column_names)}; columns are "
                        f"{table.column_names[:10]}. Hint: check {flag}")
    if method == "stratified":
        lists = read_label_lists(table.column(column), label_delimiter, source=source, column_name=column)
        codes = pc.dictionary_encode(pc.list_flatten(lists)).indices.to_numpy(zero_copy_only=False)
        rows = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
        Y = sp.csr_matrix((np.ones(len(codes), np.uint8), (rows, codes)),
                          shape=(table.num_rows, int(codes.max(initial=-1)) + 1))
        train, test = stratified_split_indices(Y, test_fraction=test_fraction, seed=seed)
    elif method == "time":
        time = table.column(column)
        if not (pa.types.is_integer(time.type) or pa.types.is_floating(time.type)
                or pa.types.is_timestamp(time.type) or pa.types.is_date(time.type)) or time.null_count:
            raise DataError(f"{source}: time column {column!r} has type {time.type}"
                            f"{' and nulls' if time.null_count else ''}; expected numbers or timestamps in every row "
                            "(seconds since the epoch, or ISO dates and times). Hint: check --time-column")
        num_test = _check_fraction(table.num_rows, test_fraction)
        order = np.argsort(time.to_numpy(), kind="stable")
        train, test = np.sort(order[:-num_test]), np.sort(order[-num_test:])
    else:
        train, test = train_test_split_indices(table.num_rows, test_fraction=test_fraction, seed=seed)
    return table.take(pa.array(train)), table.take(pa.array(test))


def _check_fraction(num_rows: int, test_fraction: float) -> int:
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction: got {test_fraction}; expected a number strictly between 0 and 1")
    num_test = int(round(num_rows * test_fraction))
    if num_test < 1 or num_test >= num_rows:
        raise DataError(
            f"cannot split {num_rows} rows with test_fraction={test_fraction}; expected at least one row on each side"
        )
    return num_test
