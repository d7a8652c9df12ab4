"""What comes after a row's known labels: the known -> target regression beside EASE^R, and how much of it to add.

EASE^R fits each of a row's labels from its others, so it is symmetric in time: a movie a user watched before
another and one watched after it score alike. Where the training rows come with their known labels given (a user's
past, and what came next as the targets: the task the model serves), they also say which labels *follow* which.
SLIST (Choi et al., "Session-aware linear item-item models for session-based recommendation", WWW 2021) adds to its
EASE^R-like part a transition part fitted from a session's past to its future; here the transition is the ridge
regression of each row's targets on its known labels,

    T = (K^T K + lambda_T I)^-1 K^T Y,

over the training rows with both (``K`` (rows, L) their known labels, ``Y`` their targets), and the term's weights
become ``B + rho * T``. ``lambda_T`` (among :data:`TRANSITION_REGULARISATIONS`) and the share ``w`` (among
:data:`TRANSITION_SHARES`, 0 included: EASE^R alone) are chosen out of fold on those rows, by the nDCG@10 of their
given targets from their given known labels (:func:`choose_transition`); ``rho = w / (1 - w) * s``, where ``s`` is
the ratio of the spreads of the two parts' out-of-fold scores, so a share means the same on every data set. The
choice is the one served: the folds' mixes use the same ``s``. Only where ``B`` is dense
(:data:`~gnn_mlc.training.ease.DENSE_TERM_LABELS`): ``T`` is a dense (L, L) solve.

On 32 MovieLens development seeds of ``benchmarks/recsys.py`` (``benchmarks/transition.py``,
results/transition_dev.md) the out-of-fold choice raised EASE^R's development nDCG@10 from 0.1468 to 0.1530 and
Recall@20 from 0.1990 to 0.2041 (nDCG@10: 25 seeds ahead, 7 behind by at most 0.30 points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from gnn_mlc.training.blend import row_ndcg
from gnn_mlc.training.ease import DENSE_TERM_LABELS, gram, gram_spectrum, rows_spectrum, term_weights

TRANSITION_REGULARISATIONS = (30.0, 100.0, 300.0, 1000.0, 3000.0)
"""The transition's ``lambda_T`` grid (each value was chosen on 5-8 of the 32 MovieLens development seeds)."""
TRANSITION_SHARES = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.5)
"""The transition's share of the mix, in units of the two parts' score spreads (0: EASE^R alone). On MovieLens's
development rows each fixed share from 0.1 to 0.35 (with ``lambda_T`` 300) was above EASE^R alone on nDCG@10, 0.2 the
most (+0.70 points), and 0.5 below it (results/transition_dev.md)."""
TRANSITION_ROWS = 2_000
"""At most this many rows (a seeded sample) choose the transition: every fold's scores of them are kept at once,
(rows, L) per ``lambda_T`` and one for EASE^R (at 8,192 labels, 2,000 rows: 400 MB)."""


@dataclass(frozen=True)
class TransitionTerm:
    """The chosen transition and the rows it is fitted on: ``weight * T`` (:func:`transition_weights`).

    Attributes:
        known: (rows, L) 0/1 CSR, the training rows' given known labels (empty where a row lacks a known label or
            a target: such a row tells nothing of what follows).
        targets: (rows, L) 0/1 CSR, their targets (empty likewise).
        regularisation: ``lambda_T``.
        weight: ``rho``, its weight beside ``B``.
    """

    known: sp.csr_matrix
    targets: sp.csr_matrix
    regularisation: float
    weight: float

    def without(self, rows: np.ndarray | None = None) -> np.ndarray:
        """``weight * T`` (L, L) float32, fitted on every row but ``rows`` (indices of the training rows)."""
        kept = np.ones(self.known.shape[0], dtype=bool)
        if rows is not None:
            kept[rows] = False
        return self.weight * transition_weights(self.known[kept], self.targets[kept], self.regularisation)


def transition_weights(known: sp.csr_matrix, targets: sp.csr_matrix, regularisation: float) -> np.ndarray:
    """``T = (K^T K + lambda_T I)^-1 K^T Y`` (L, L) float32 ``[j, t]`` (known j -> target t) of the rows' known
    labels ``known`` and targets ``targets``, both (rows, L) 0/1."""
    K = sp.csr_matrix(known, dtype=np.float64)
    A = torch.from_numpy(gram(K).toarray())
    A.diagonal().add_(regularisation)
    cross = torch.from_numpy(np.asarray((K.T @ sp.csr_matrix(targets, dtype=np.float64)).toarray()))
    return torch.cholesky_solve(cross, torch.linalg.cholesky(A)).numpy().astype(np.float32)  # A: positive definite


def choose_transition(known: sp.csr_matrix, targets: sp.csr_matrix, every: sp.csr_matrix, total: sp.spmatrix,
                      regularisation: float, *, folds: int, seed: int
                      ) -> tuple[TransitionTerm | None, dict[str, float]]:
    """The transition's ``lambda_T`` and share chosen out of fold (see the module docstring), or ``None`` where
    EASE^R alone is best, there are more labels than a dense ``B`` holds, or no row has both a known label and a
    target.

    Over ``folds`` seeded folds of the training rows, each fold's rows with both (at most :data:`TRANSITION_ROWS` in
    all) are scored from their known labels by EASE^R of every other row (``lambda`` ``regularisation``) and by the
    transition of every other row (every ``lambda_T`` from one eigendecomposition); every share's mix is ranked
    against their targets.

    Args:
        known: (rows, L) 0/1 CSR, each training row's given known labels.
        targets: (rows, L) 0/1 CSR, its targets (its other labels).
        every: (rows, L) 0/1 CSR, every label of each training row (the rows EASE^R is fitted on).
        total: (L, L) the Gram matrix of ``every`` and the label-only log (a fold's is this less its rows').
        regularisation: EASE^R's chosen ``lambda``.
        folds: how many folds; seed: the folds and the sample.

    Returns:
        The chosen term, and each (``lambda_T``, share)'s mean out-of-fold nDCG@10 (``"lambda 300 share 0.2"``).
    """
    known, targets = sp.csr_matrix(known, dtype=np.uint8), sp.csr_matrix(targets, dtype=np.uint8)
    both = (np.diff(known.indptr) > 0) & (np.diff(targets.indptr) > 0)
    rows = np.flatnonzero(both)
    if not len(rows) or known.shape[1] > DENSE_TERM_LABELS:
        return None, {}
    known, targets = (sp.csr_matrix(sp.diags(both.astype(np.float64)) @ part, dtype=np.uint8)
                      for part in (known, targets))  # a row without both: empty
    generator = np.random.default_rng(seed + 5)
    fold = generator.integers(0, folds, known.shape[0])
    evaluated = rows if len(rows) <= TRANSITION_ROWS else generator.choice(rows, TRANSITION_ROWS, replace=False)
    parts = []  # each fold's (its rows, EASE^R's scores, each lambda_T -> the transition's scores)
    for index in range(folds):
        held = np.sort(evaluated[fold[evaluated] == index])
        if not len(held):
            continue
        others = np.flatnonzero(fold != index)
        B = term_weights(total - gram(every[fold == index]), regularisation)
        given = sp.csr_matrix(known[held], dtype=np.float32)
        parts.append((held, np.asarray(given @ B), _transition_scores(known[others], targets[others], given)))
    if not parts:
        return None, {}
    spread = {value: float(np.std(np.concatenate([item_item for _, item_item, _ in parts]))
                           / max(np.std(np.concatenate([scores[value] for _, _, scores in parts])), 1e-12))
              for value in TRANSITION_REGULARISATIONS}
    per_row: dict[tuple[float, float], list[np.ndarray]] = {}
    for held, item_item, scores in parts:
        for value in TRANSITION_REGULARISATIONS:
            for share in TRANSITION_SHARES:
                mix = item_item + (share / (1 - share)) * spread[value] * scores[value]
                per_row.setdefault((value, share), []).append(row_ndcg(mix, known[held], targets[held]))
    means = {key: float(np.concatenate(values).mean()) for key, values in per_row.items()}
    value, share = max(means, key=lambda key: (means[key], -key[1]))  # a tie: the smaller share
    figures = {f"lambda {value:g} share {share:g}": figure for (value, share), figure in means.items()}
    if share == 0:
        return None, figures
    return TransitionTerm(known=known, targets=targets, regularisation=value,
                          weight=share / (1 - share) * spread[value]), figures


def _transition_scores(known: sp.csr_matrix, targets: sp.csr_matrix, given: sp.csr_matrix
                       ) -> dict[float, np.ndarray]:
    """``given @ T(lambda_T)`` (n, L) float32 for every :data:`TRANSITION_REGULARISATIONS` value, ``T`` the
    transition of ``known`` -> ``targets`` (rows, L), from one eigendecomposition of ``K^T K = V diag(e) V^T``:
    ``T = V diag(1 / (e + lambda_T)) V^T K^T Y`` (``K^T Y`` lies in ``V``'s span, so eigenvalues left out of a thin
    decomposition do not count)."""
    K = sp.csr_matrix(known, dtype=np.float64)
    eigenvalues, V = (rows_spectrum(K) if np.count_nonzero(np.diff(K.indptr)) < K.shape[1]
                      else gram_spectrum(gram(K).toarray()))
    projected = np.asarray(sp.csr_matrix(targets, dtype=np.float64).T @ np.asarray(K @ V)).T  # V^T K^T Y
    GV = np.asarray(sp.csr_matrix(given, dtype=np.float64) @ V)
    return {value: ((GV / (eigenvalues + value)) @ projected).astype(np.float32)
            for value in TRANSITION_REGULARISATIONS}
