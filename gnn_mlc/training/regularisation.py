"""Choosing the item-item term's ``lambda`` out of fold: every training row takes part, each revealing a random half of
its labels to EASE^R of the other folds and the label-only log, every value of the grid from one eigendecomposition
per fold. The term itself is :mod:`gnn_mlc.training.ease`; how it is fitted, calibrated and blended
is :mod:`gnn_mlc.training.known_labels`."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from gnn_mlc.training import ease
from gnn_mlc.training.blend import row_ndcg
from gnn_mlc.training.ease import ease_scores_by_regularisation, gram, gram_spectrum, rows_spectrum

KNOWN_SHARE = 0.5
"""The chance that a label of a training row is known in a random split (the share the test protocol reveals)."""
REGULARISATIONS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)
"""The term's ``lambda`` grid. On 32 MovieLens development seeds (benchmarks/lambda_choice.py,
results/lambda_choice_dev.md) the choice over it (:func:`choose_regularisation`) is ahead of EASE^R's own tuning on
held-out training rows on the mean (nDCG@10 0.1468 against 0.1461; 6 seeds ahead, 23 level, 3 behind by up to 1.19
points); a finer grid, a value between each neighbouring pair from 10 to 3000, gave nDCG@10 0.1466 and Recall@20
0.2009 (0.1990 over this grid)."""
LAMBDA_LABELS = 4096
"""Above :data:`ease.DENSE_TERM_LABELS` labels, ``lambda`` is chosen on the sub-catalogue of this many most frequent
labels (one eigendecomposition of its Gram matrix per fold), for exact EASE^R, and used by the neighbourhood form:
on the development task of :data:`ease.NEIGHBOURS` a third of or three times that ``lambda`` moves the neighbourhood
form's Recall@20 / nDCG@10 by at most 0.2 points (benchmarks/results/item_item_dev.md)."""
SELECTION_ROWS = 5_000
"""At most this many rows (a seeded sample) choose ``lambda``, and at most this many the calibration and blend."""
FOLDS = 3
"""Folds of the training rows over which ``lambda`` is chosen (one eigendecomposition each)."""
KEPT_SPECTRUM_BYTES = 2**26
"""A fold's eigenvectors up to this size (64 MB) are kept from the choice of ``lambda`` for the transition's."""


def random_known_split(Y: sp.csr_matrix, generator: np.random.Generator, *, share: float = KNOWN_SHARE
                       ) -> sp.csr_matrix:
    """A random known part of each row's labels (each label known with probability ``share``), (rows, L) uint8."""
    Y = sp.csr_matrix(Y, dtype=np.uint8)
    known = Y.copy()
    known.data = (generator.random(len(known.data)) < share).astype(np.uint8)
    known.eliminate_zeros()
    return known


def choose_regularisation(every: sp.csr_matrix, log_rows: sp.csr_matrix | None, *, seed: int,
                          total: sp.spmatrix | None = None, regularisations: tuple[float, ...] = REGULARISATIONS,
                          spectra: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> dict[float, float]:
    """Each ``lambda`` of ``regularisations`` (:data:`REGULARISATIONS`) -> its completion nDCG@10 over
    :data:`FOLDS` folds of the training rows: each fold's rows (with >= 2 labels, at most :data:`SELECTION_ROWS` in
    all) reveal a seeded random half of their labels to a term fitted on the other folds and the log, every value
    from one eigendecomposition (:func:`ease.gram_spectrum`, or :func:`ease.rows_spectrum` where the rows are fewer
    than the labels). Every training row takes part, so the choice does not rest on the few selection rows. Above
    :data:`ease.DENSE_TERM_LABELS` labels, the rows and the log are cut to the :data:`LAMBDA_LABELS` most frequent
    labels (their Gram matrix is what is decomposed).

    Args:
        every: (rows, L) 0/1 CSR, every label of each training row.
        log_rows: (m, L) 0/1 CSR label-only rows, or ``None``.
        total: (L, L) the Gram matrix of ``every`` and ``log_rows`` where the caller has it (it is not computed
            again; a fold's is this less its rows').
        regularisations: the grid (another only to measure the grid, benchmarks/lambda_choice.py).
        spectra: where given, filled with each fold's spectrum decomposed from its rows (fold index -> (e, V)) where
            ``V`` takes at most :data:`KEPT_SPECTRUM_BYTES`: :func:`~gnn_mlc.training.transition.choose_transition`
            takes the same folds (:func:`fold_of_rows`) and needs the same decompositions.
    """
    every = sp.csr_matrix(every, dtype=np.uint8)
    log_rows = (sp.csr_matrix((0, every.shape[1]), dtype=np.uint8) if log_rows is None
                else sp.csr_matrix(log_rows, dtype=np.uint8))
    if every.shape[1] > ease.DENSE_TERM_LABELS:
        counts = every.getnnz(axis=0) + log_rows.getnnz(axis=0)
        kept = np.sort(np.argsort(-counts, kind="stable")[:LAMBDA_LABELS])  # rows and log that have each
        every, log_rows = every[:, kept], log_rows[:, kept]
        total = None if total is None else sp.csr_matrix(total)[kept][:, kept]
    rows = np.flatnonzero(np.diff(every.indptr) >= 2)
    fold, generator = _folds_and_generator(every.shape[0], seed)
    evaluated = rows if len(rows) <= SELECTION_ROWS else generator.choice(rows, SELECTION_ROWS, replace=False)
    log_rows = log_rows[np.diff(log_rows.indptr) > 0]
    by_rows = ease.solved_from_rows(np.count_nonzero(np.diff(every.indptr)) + log_rows.shape[0], every.shape[1])
    if not by_rows:  # decomposed dense: a fold's Gram matrix is this less its rows'
        total = (gram(every) + gram(log_rows) if total is None else sp.csr_matrix(total)).toarray()
    per_row: dict[float, list[np.ndarray]] = {value: [] for value in regularisations}
    for index in range(FOLDS):
        held = np.sort(evaluated[fold[evaluated] == index])
        if not len(held):
            continue
        labels = sp.csr_matrix(every[held], dtype=np.uint8)
        known = random_known_split(labels, generator)
        targets = sp.csr_matrix(labels - known, dtype=np.uint8)
        spectrum = (rows_spectrum(sp.vstack([every[fold != index], log_rows]).tocsr()) if by_rows
                    else gram_spectrum(total - gram(every[fold == index]).toarray()))
        if spectra is not None and by_rows and spectrum[1].nbytes <= KEPT_SPECTRUM_BYTES:
            spectra[index] = spectrum
        for value, scores in ease_scores_by_regularisation(spectrum, known, regularisations).items():
            per_row[value].append(row_ndcg(scores, known, targets))
    return {value: float(np.concatenate(figures).mean()) if figures else 0.0 for value, figures in per_row.items()}


def fold_of_rows(num_rows: int, seed: int) -> np.ndarray:
    """(num_rows,) the fold (of :data:`FOLDS`) of each training row in :func:`choose_regularisation`."""
    return _folds_and_generator(num_rows, seed)[0]


def _folds_and_generator(num_rows: int, seed: int) -> tuple[np.ndarray, np.random.Generator]:
    """Each of ``num_rows`` rows' seeded fold, and the generator that drew them (its later draws sample the rows
    and their random halves)."""
    generator = np.random.default_rng(seed + 3)
    return generator.integers(0, FOLDS, num_rows), generator
