"""What comes after a row's known labels: the known -> target regression beside EASE^R, and how much of it to add.

EASE^R fits each of a row's labels from its others, so it is symmetric in time: a movie a user watched before
another and one watched after it score alike. Where the training rows come with their known labels given (a user's
past, and what came next as the targets: the task the model serves), they also say which labels *follow* which.
SLIST (Choi et al., "Session-aware linear item-item models for session-based recommendation", WWW 2021) adds to its
EASE^R-like part a transition part fitted from a session's past to its future; here the transition is the ridge
regression of each row's targets on its known labels,

    T = (K^T K + lambda_T I)^-1 K^T Y,

over the training rows with both (``K`` (rows, L) their known labels, ``Y`` their targets), and the term's weights
become ``B + rho * T`` (:func:`with_transition`). ``lambda_T`` (among :data:`TRANSITION_REGULARISATIONS`) and the
share ``w`` (among :data:`TRANSITION_SHARES`, 0 included: EASE^R alone) are chosen out of fold on those rows, by the
nDCG@10 of their given targets from their given known labels (:func:`choose_transition`); ``rho = w / (1 - w) * s``,
where ``s`` is the ratio of the spreads of the two parts' out-of-fold scores, so a share means the same on every data
set. The choice is the one served: the folds' mixes use the same ``s``. A label that is never a target of those rows
(a new item that only the label-only log knows, or one added later) has no transition: its column of ``B`` stands in
for it, scaled by ``1 / (1 - w)``, so it is ranked beside the other labels as it was without the transition. Only
where ``B`` is dense (:data:`~gnn_mlc.training.ease.DENSE_TERM_LABELS`): ``T`` is a dense (L, L) solve.

On 32 MovieLens development seeds of ``benchmarks/recsys.py`` (``benchmarks/transition.py``,
results/transition_dev.md) the out-of-fold choice took the transition on 29 and raised EASE^R's development nDCG@10
from 0.1468 to 0.1526 and Recall@20 from 0.1990 to 0.2028 (nDCG@10: 27 seeds ahead, 2 behind by at most 0.33
points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from gnn_mlc.training.blend import row_ndcg
from gnn_mlc.training.ease import (
    DENSE_TERM_LABELS,
    ease_scores,
    ease_scores_by_regularisation,
    gram,
    gram_spectrum,
    inner_spectrum,
)

TRANSITION_REGULARISATIONS = (300.0,)
"""The transition's ``lambda_T`` values to choose among: one. On the 32 MovieLens development seeds
(results/transition_dev.md) every wider grid chose worse than this one value (each grid value was chosen on some
seeds: the out-of-fold choice among neighbours follows noise), and each value costs a share of the fit."""
TRANSITION_SHARES = (0.0, 0.2)
"""The transition's shares to choose among, in units of the two parts' score spreads: none (EASE^R alone) or 0.2.
On MovieLens's development rows every fixed share from 0.1 to 0.4 (``lambda_T`` 300) was above EASE^R alone on
nDCG@10, 0.2 the most, and 0.5 below it; choosing between 0 and 0.2 out of fold came closest to the fixed 0.2 of the
rules that can turn the transition off (results/transition_dev.md)."""
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
        share: ``w``, the chosen share (in (0, 1)).
        weight: ``rho``, its weight beside ``B``.
    """

    known: sp.csr_matrix
    targets: sp.csr_matrix
    regularisation: float
    share: float
    weight: float

    def weights_without(self, rows: np.ndarray | None = None) -> np.ndarray:
        """``weight * T`` (L, L) float32, fitted on every row but ``rows`` (indices of the training rows)."""
        kept = self._kept(rows)
        return self.weight * transition_weights(self.known[kept], self.targets[kept], self.regularisation)

    def added_to(self, item_item: np.ndarray, known: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        """``known @ with_transition(B, T)`` (n, L) float32 from ``item_item = known @ B`` (n, L) (overwritten) and
        ``known`` (n, L), ``T`` this transition fitted without ``rows`` (``T`` itself not formed where its rows are
        fewer than the labels)."""
        kept = self._kept(rows)
        item_item *= column_factors(self.targets[kept].getnnz(axis=0) > 0, self.share)
        item_item += self.weight * transition_weights(self.known[kept], self.targets[kept], self.regularisation,
                                                      given=known)
        return item_item

    def _kept(self, rows: np.ndarray | None) -> np.ndarray:
        """(rows,) bool: every training row but ``rows``."""
        kept = np.ones(self.known.shape[0], dtype=bool)
        if rows is not None:
            kept[rows] = False
        return kept


def column_factors(seen: np.ndarray, share: float) -> np.ndarray:
    """(L,) float32: 1 for a label the transition has weight into (``seen`` (L,) bool: a target of one of its
    rows, all of which have a known label, so exactly the labels where ``T``'s column is not 0), ``1 / (1 - share)``
    for one it has none into: in the mix's units, the item-item part stands in for the transition part it lacks."""
    return np.where(seen, 1.0, 1.0 / (1.0 - share)).astype(np.float32)


def with_transition(B: np.ndarray, transition: np.ndarray, share: float) -> np.ndarray:
    """The term's weights ``B + transition`` (L, L) float32, each column of ``B`` (dense) scaled by its
    :func:`column_factors`."""
    if sp.issparse(B):
        raise TypeError("with_transition: B must be dense (the transition is only fitted where B is)")
    return (B * column_factors(transition.any(axis=0), share) + transition).astype(np.float32)


def transition_weights(known: sp.csr_matrix, targets: sp.csr_matrix, regularisation: float,
                       given: sp.csr_matrix | None = None) -> np.ndarray:
    """``T = (K^T K + lambda_T I)^-1 K^T Y`` (L, L) float32 ``[j, t]`` (known j -> target t) of the rows' known
    labels ``known`` and targets ``targets``, both (rows, L) 0/1; with fewer non-empty rows than labels, as
    ``K^T (K K^T + lambda_T I)^-1 Y``: an (n, n) system instead of (L, L). With ``given`` (g, L), ``given @ T``
    (g, L) instead, ``T`` not formed where the rows are fewer than the labels."""
    K, Y = _with_known(known, targets)
    by_rows = K.shape[0] < K.shape[1]
    A = torch.from_numpy((K @ K.T if by_rows else gram(K)).toarray())
    A.diagonal().add_(regularisation)
    right = torch.from_numpy(Y.toarray() if by_rows else np.asarray((K.T @ Y).toarray()))
    solved = torch.cholesky_solve(right, torch.linalg.cholesky(A)).numpy()  # A is positive definite
    if given is None:
        return np.asarray(K.T @ solved if by_rows else solved, dtype=np.float32)
    given = sp.csr_matrix(given, dtype=np.float64)
    return np.asarray((given @ K.T) @ solved if by_rows else given @ solved, dtype=np.float32)


def choose_transition(known: sp.csr_matrix, targets: sp.csr_matrix, every: sp.csr_matrix,
                      log_rows: sp.csr_matrix | None, total: sp.spmatrix, regularisation: float, *,
                      fold: np.ndarray, seed: int, spectra: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
                      regularisations: tuple[float, ...] = TRANSITION_REGULARISATIONS,
                      shares: tuple[float, ...] = TRANSITION_SHARES) -> tuple[TransitionTerm | None, dict[str, float]]:
    """The transition's ``lambda_T`` and share chosen out of fold (see the module docstring), or ``None`` where
    EASE^R alone is best, there are more labels than a dense ``B`` holds, or no row has both a known label and a
    target.

    Over the folds of the training rows, each fold's rows with both (at most :data:`TRANSITION_ROWS` in all) are
    scored from their known labels by EASE^R of every other row and the log (``lambda`` ``regularisation``; from the
    eigendecomposition of those rows' inner products where they are fewer than the labels,
    :func:`~gnn_mlc.training.ease.rows_spectrum`, or the fold's spectrum in ``spectra``) and by the transition of
    every other row (every ``lambda_T`` from one eigendecomposition); every share's mix is ranked against their
    targets.

    Args:
        known: (rows, L) 0/1 CSR, each training row's given known labels.
        targets: (rows, L) 0/1 CSR, its targets (its other labels).
        every: (rows, L) 0/1 CSR, every label of each training row (the rows EASE^R is fitted on).
        log_rows: (m, L) 0/1 CSR label-only rows (EASE^R's too), or ``None``.
        total: (L, L) the Gram matrix of ``every`` and the label-only log (a fold's is this less its rows').
        regularisation: EASE^R's chosen ``lambda``.
        fold: (rows,) each training row's fold (0, 1, ...); seed: the sample.
        spectra: fold -> the spectrum of every other row and the log (:func:`~gnn_mlc.training.ease.rows_spectrum`)
            where the caller has it (the choice of ``lambda`` decomposed the same folds).
        regularisations, shares: the grid (others only to measure grids, benchmarks/transition.py).

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
    evaluated = rows if len(rows) <= TRANSITION_ROWS else generator.choice(rows, TRANSITION_ROWS, replace=False)
    parts = []  # each fold's (its rows, EASE^R's scores, the labels it has no transition into, lambda_T -> scores)
    for index in range(int(fold.max()) + 1):
        held = np.sort(evaluated[fold[evaluated] == index])
        if not len(held):
            continue
        others = np.flatnonzero(fold != index)
        given = sp.csr_matrix(known[held], dtype=np.float32)
        if spectra and index in spectra:
            item_item = ease_scores_by_regularisation(spectra[index], given, (regularisation,))[regularisation]
        else:
            fitted_on = sp.vstack([every[others], log_rows]).tocsr() if log_rows is not None else every[others]
            item_item = ease_scores(fitted_on, lambda out=fold == index: total - gram(every[out]), given,
                                    regularisation, [slice(0, len(held))])
        unseen = targets[others].getnnz(axis=0) == 0  # no transition into these labels (with_transition)
        parts.append((held, item_item, unseen,
                      _transition_scores(known[others], targets[others], given, regularisations)))
    if not parts:
        return None, {}
    spread = {value: float(np.std(np.concatenate([item_item for _, item_item, _, _ in parts]))
                           / max(np.std(np.concatenate([scores[value] for *_, scores in parts])), 1e-12))
              for value in regularisations}
    held = np.concatenate([rows for rows, *_ in parts])
    means = {}
    for value in regularisations:
        for share in shares:  # every fold's rows ranked at once
            mix = np.concatenate([column_factors(~unseen, share) * item_item
                                  + (share / (1 - share)) * spread[value] * scores[value]
                                  for _, item_item, unseen, scores in parts])
            means[value, share] = float(row_ndcg(mix, known[held], targets[held]).mean())
    value, share = max(means, key=lambda key: (means[key], -key[1]))  # a tie: the smaller share
    figures = {f"lambda {value:g} share {share:g}": figure for (value, share), figure in means.items()}
    if share == 0:
        return None, figures
    return TransitionTerm(known=known, targets=targets, regularisation=value, share=share,
                          weight=share / (1 - share) * spread[value]), figures


def _transition_scores(known: sp.csr_matrix, targets: sp.csr_matrix, given: sp.csr_matrix,
                       regularisations: tuple[float, ...]) -> dict[float, np.ndarray]:
    """``given @ T(lambda_T)`` (n, L) float32 for every ``lambda_T`` of ``regularisations``, ``T`` the
    transition of ``known`` -> ``targets`` (rows, L), from one eigendecomposition: with fewer non-empty rows than
    labels, of ``K K^T = W diag(e) W^T``, ``T = K^T W diag(1 / (e + lambda_T)) W^T Y`` (the directions ``K K^T``
    leaves at 0 are 0 under ``K^T`` too); else of ``K^T K = V diag(e) V^T``, ``T = V diag(1 / (e + lambda_T)) V^T
    K^T Y``."""
    K, Y = _with_known(known, targets)
    given = sp.csr_matrix(given, dtype=np.float64)
    if K.shape[0] < K.shape[1]:
        eigenvalues, W = inner_spectrum(K)
        left, right = (given @ K.T).toarray() @ W, np.asarray(Y.T @ W).T  # (n, r), W^T Y (r, L)
    else:
        eigenvalues, V = gram_spectrum(gram(K).toarray())
        left, right = np.asarray(given @ V), np.asarray(Y.T @ np.asarray(K @ V)).T  # V^T K^T Y
    stacked = np.vstack([left / (eigenvalues + value) for value in regularisations]).astype(np.float32)
    scores = stacked @ right.astype(np.float32)  # one product for every value: float32 ranks them alike
    return dict(zip(regularisations, np.split(scores, len(regularisations))))


def _with_known(known: sp.csr_matrix, targets: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The rows of ``known`` and ``targets`` (rows, L) that have a known label, float64 CSR: a row without one adds
    nothing to ``K^T K`` or ``K^T Y``."""
    K = sp.csr_matrix(known, dtype=np.float64)
    used = np.diff(K.indptr) > 0
    return K[used], sp.csr_matrix(targets, dtype=np.float64)[used]
