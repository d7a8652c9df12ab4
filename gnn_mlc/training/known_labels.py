"""Learning from the labels a row already has: the item-item term, fitted out of fold, and how much network to add.

In recommendation a row arrives with some of its labels known (the items a user bought, the interests they follow);
the rest are what to recommend. A model fitted with known labels scores

    logit_t(x, k) = scale * sum_j k_j B[j, t] + bias + alpha * (h(x) . W[t] + b[t])

* **The term** ``B`` is EASE^R (Steck, "Embarrassingly shallow autoencoders for sparse data", WWW 2019), the
  closed-form item-item model every recommender is held to: ``B = I - P diagMat(1 / diag(P))``,
  ``P = (G + lambda I)^-1``, ``G = X^T X`` over every training row's labels (known and target alike) **and the
  label-only log's rows**, so a label that only the log knows (a new item) gets incoming weights from the labels it
  travels with and is scored from a user's history; such a label's column mixes EASE^R's with the conditional
  probabilities of the label given each other label, counted over the log's rows
  (:mod:`gnn_mlc.training.cold_columns`). ``B`` is exact and whole (dense) up to :data:`ease.DENSE_TERM_LABELS`
  labels (the memory budget); above, each label's column is EASE^R solved on its neighbourhood
  (:func:`ease.neighbourhood_ease_weights`: the ridge regression of the label on the :data:`ease.NEIGHBOURS` labels
  most similar to it, which is EASE^R's column exactly when the neighbourhood is every other label), sparse, at a
  cost linear in the labels. The weights themselves are :mod:`gnn_mlc.training.ease`.
* **What follows.** Where the training rows come with their known labels given (``given``), the term's weights are
  ``B`` plus the known -> target transition ``rho * T`` where the training rows choose it out of fold
  (:mod:`gnn_mlc.training.transition`: EASE^R is symmetric in time, the transition learns what comes after a
  history); with random halves (``known_labels="split"``) there is no order to learn and no transition.
* **Out of fold.** The network never sees the term. The term that scores the validation rows (the *selection rows*)
  is fitted without them (on the other training rows and the log); its ``scale`` and ``bias`` (a logistic fit) and
  ``alpha`` are chosen on those rows, each with its known labels given and its other labels as targets (the network
  was early-stopped on the same rows, by label-wise mAP, not by the per-row nDCG@10 the blend is chosen by; splitting
  them in halves to avoid that left too few rows on the small basket sets of development). ``lambda`` needs no
  network and is chosen with more rows, over folds of every training row (:mod:`gnn_mlc.training.regularisation`).
  The served term is then refitted on every row with the chosen ``lambda``: the model served is the one chosen, up
  to the rows it counts.
* **Never below its parts.** The network ``h(x) . W[t] + b[t]`` is the features-only network (trained with the known
  labels left out of its loss). The mix of term and network is chosen among :data:`~gnn_mlc.training.blend.BLENDS`
  (from the term alone to the network alone) by the selection rows' nDCG@10, with a paired margin against noise
  (:mod:`gnn_mlc.training.blend`): the chosen blend is the first (term-heavy first) whose per-row difference to the
  best blend is within :data:`~gnn_mlc.training.blend.MARGIN_ERRORS` standard errors of zero (or within
  :data:`~gnn_mlc.training.blend.MIN_GAIN`). So on the selection rows the model is never below the term alone or the
  network alone by more than that margin, and it only leaves the term for the network where the network's gain is
  beyond the noise of those rows, and only where the network alone reaches
  :data:`~gnn_mlc.training.blend.MIN_NETWORK_SHARE` of the term alone there (on the development rows a far weaker
  network's gain was noise). Where the validation rows hold fewer than :data:`CROSS_FIT_ROWS` rows with a history and
  a target (and there is no label-only log), the selection rows are every training row instead, out of fold: three
  networks, each fitted without a third of the rows and early-stopped on them, and the term fitted without them too
  and calibrated on them; the served scale and bias are then the mean of the folds', and every fold is scored
  under that mean, so the blend served is the one chosen (a blend's weights mean something only against the term's
  scale).
* Without given known labels (``known_labels="split"``), each validation row reveals a seeded random half of its
  labels (each known with probability :data:`~gnn_mlc.training.regularisation.KNOWN_SHARE`), :data:`REVEALS`
  times over (independent halves), so a small validation set still gives the blend enough (row, reveal) pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor

from gnn_mlc._typing import Matrix
from gnn_mlc.fitted import FittedModel, KnownLabelWeights
from gnn_mlc.training import ease
from gnn_mlc.training.blend import (
    BlendFigures,
    HeldOutRows,
    blend_figures,
    blend_in_place,
    choose_blend,
    row_blocks,
)
from gnn_mlc.training.cold_columns import cold_labels, conditional_columns, mixed_columns
from gnn_mlc.training.ease import (
    ease_columns_of_rows,
    ease_scores,
    gram,
    rows_solved,
    solved_from_rows,
    term_weights,
)
from gnn_mlc.training.regularisation import (
    FOLDS,
    SELECTION_ROWS,
    choose_regularisation,
    fold_of_rows,
    random_known_split,
)
from gnn_mlc.training.transition import TransitionTerm, choose_transition, with_transition

logger = logging.getLogger(__name__)
CALIBRATION_VALUES = 2**22
"""At most this many (row, label) values calibrate the term's scale and bias (a seeded sample of rows above)."""
REVEALS = 4
"""Random known halves drawn per selection row when the known labels are not given."""
CROSS_FIT_ROWS = 64
"""Where fewer held-out rows than this have both a known label and a target, the blend is chosen on every training row
out of fold (:func:`out_of_fold_figures`: :data:`FOLDS` more fits of the network). Chosen on development rows only,
with the rule of :func:`choose_blend`, on the benchmark's own out-of-fold fits (benchmarks/blend_margin.py
--cross-fit at ae62295, results/blend_crossfit_dev_baskets.md and blend_crossfit_dev_movielens.md: the 8 basket sets
at seeds 12-14, MovieLens at 10-21): the sets whose validation rows hold about 20 (birds), 32 (medical) and 47
(genbase) such rows gained 1.9, 6.6 and 2.7 points of mean development nDCG@10 out of fold (about 120, 220 and 310
rows); the sets with 90 or more moved by at most 0.3 (enron -0.27, mediamill_small +0.09, the others 0, MovieLens
-0.15: one of 12 seeds leaves the term and loses 1.9), so they keep their validation rows and their fit cost
(MovieLens's fit-cost target). The package's own path (results/blend_margin_dev.md and blend_margin_dev_baskets.md at
5a04893, against the same files as run at 5a23dfd, commit b148d81; 5 seeds each) gains 5.9, 3.0 and 2.4 points on
birds, medical and genbase, but medical's seed 11 now keeps the term and ends 26.9 points below the network alone
(level with it when it chose on its validation rows). Whether a fit takes this path depends on its validation rows,
not on the data set: in benchmarks/cold_history.py (half the users moved to the log) the model without a log takes it
on MovieLens's development rows too, and on some of enron's and mediamill_small's (MovieLens's development fits take
4.4-5.1 s there, results/cold_history_dev.md at 5a04893, against 1.0 s before the out-of-fold choice). Not with a
label-only log: each fold's fit would distil the log's cold labels again (MovieLens's cold-history development fits
took 37 s instead of 11), and on cold_history.py's development rows the out-of-fold choice was mixed
(results/cold_history_dev_log_out_of_fold_3e31d0e.md against cold_history_dev.md at 7e40a4d: medical's Recall@20
0.808 -> 0.921, but MovieLens's 0.179 -> 0.169 and birds' new-item mAP 0.424 -> 0.362), so a fit with a log chooses
on its validation rows."""
CROSS_FIT_MAX_ROWS = 50_000
"""Out-of-fold choice only up to this many training rows: the three more fits each cost about what the whole fit's
network does, which grows with the rows (a design bound, not measured here), and a set that large with so few
(history, target) rows among its validation rows has little for the term to learn from."""


@dataclass(frozen=True)
class HeldOutTerm:
    """The term fitted without the held-out rows, and what was chosen with it.

    Attributes:
        weights: the term (its scale and bias calibrated on the held-out rows; network weight 1).
        logits: (n, num_labels) float32 ``scale * known @ B + bias`` of the held-out rows.
    """

    weights: KnownLabelWeights
    logits: np.ndarray


def held_out_rows(Y: sp.csr_matrix, known: sp.csr_matrix | None, rows: np.ndarray, *, seed: int) -> HeldOutRows:
    """The held-out rows' known labels and targets: the given known labels (a label both known and a target counts
    as known), or (``known=None``) :data:`REVEALS` seeded random halves of each row's labels (the row repeated);
    capped at :data:`SELECTION_ROWS` rows (a seeded sample)."""
    if len(rows) > SELECTION_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, SELECTION_ROWS, replace=False))
    if known is None:
        rows = np.tile(rows, max(1, min(REVEALS, SELECTION_ROWS // max(len(rows), 1))))
        Y = sp.csr_matrix(Y[rows], dtype=np.uint8)
        given = random_known_split(Y, np.random.default_rng(seed + 1))
        return HeldOutRows(rows=rows, known=given, targets=sp.csr_matrix(Y - given, dtype=np.uint8))
    Y = sp.csr_matrix(Y[rows], dtype=np.uint8)
    given = sp.csr_matrix(known[rows], dtype=np.uint8)
    targets = sp.csr_matrix(Y - Y.multiply(given), dtype=np.uint8)  # a label both known and a target is known
    targets.eliminate_zeros()
    return HeldOutRows(rows=rows, known=given, targets=targets)


def fit_held_out_term(rows: sp.csr_matrix | None, G: Callable[[], sp.spmatrix], held: HeldOutRows,
                      regularisation: float, *, calibration: tuple[float, float] | None = None,
                      transition: TransitionTerm | None = None, cold: np.ndarray | None = None,
                      log_counts: np.ndarray | None = None) -> HeldOutTerm:
    """The term of every row but the held-out ones, ``rows`` (m, L) 0/1 (and the log; ``None`` where they are
    at least as many as the labels, and only the Gram matrix is solved), whose Gram matrix is ``G()``, kept as the
    served term is (:func:`served_weights`, with the ``cold`` labels (c,), which only the log carries, and the
    label counts ``log_counts`` (L,) of the log's rows; the chosen ``transition`` fitted without the held-out rows
    where there is one), its scale and bias calibrated on the held-out rows that have known labels (the only rows
    the served rule applies them to), or the given ``calibration`` (scale, bias)."""
    known = sp.csr_matrix(held.known, dtype=np.float32)
    cold = np.zeros(0, dtype=np.int64) if cold is None else cold
    G = cache(G)  # built at most once: where it is solved, or for the cold columns' counts (sparse)
    evidence = ease_scores(rows, G, known, regularisation, row_blocks(known.shape[0]),
                           weights=lambda fitted, value: served_weights(fitted, value, cold, log_counts))
    if len(cold) and rows_solved(rows, known.shape[1]):  # EASE^R's scores from the rows: mix the cold columns
        evidence[:, cold] = known @ _cold_columns(ease_columns_of_rows(rows, cold, regularisation), G(), cold,
                                                  log_counts)
    if transition is not None:
        evidence = transition.added_to(evidence, known, np.unique(held.rows))
    with_history = np.flatnonzero(np.diff(known.indptr) > 0)
    scale, bias = calibration or calibrate(evidence, held.targets, held.known, rows=with_history)
    evidence *= scale  # calibrated in place: at 5,000 rows x 50,000 labels each copy is 1 GB
    evidence += bias
    return HeldOutTerm(weights=KnownLabelWeights(matrix=None, scale=scale, bias=bias, regularisation=regularisation),
                       logits=evidence)


def _without(every: sp.csr_matrix, log_rows: sp.csr_matrix | None, total: sp.spmatrix, rows: np.ndarray
             ) -> tuple[sp.csr_matrix | None, Callable[[], sp.spmatrix]]:
    """The rows a held-out term is fitted on: every training row of ``every`` (n, L) but ``rows``, and the log's,
    where EASE^R is solved from them (:func:`ease.solved_from_rows`; else ``None``: no copy of a large log is made);
    and a builder of their Gram matrix (``total`` less the rows')."""
    kept = np.ones(every.shape[0], dtype=bool)
    kept[rows] = False
    logged = 0 if log_rows is None else np.count_nonzero(np.diff(sp.csr_matrix(log_rows).indptr))
    count = np.count_nonzero(np.diff(every.indptr)[kept]) + logged  # the non-empty rows
    fitted = None if not solved_from_rows(count, every.shape[1]) else (
        every[kept] if log_rows is None else sp.vstack([every[kept], log_rows]).tocsr())
    return fitted, lambda: total - gram(every[rows])


def calibrate(evidence: np.ndarray, targets: sp.csr_matrix, known: sp.csr_matrix, *, rows: np.ndarray | None = None,
              max_iterations: int = 100) -> tuple[float, float]:
    """``(scale, bias)`` of the logistic fit ``P(target) = sigmoid(scale * evidence + bias)`` over every (row,
    label) of held-out rows, their known labels left out; over a seeded sample of
    :data:`CALIBRATION_VALUES` // L rows when there are more values than that (two parameters need no more).

    Args:
        evidence: (n, L) ``known @ B`` of the rows.
        targets: (n, L) 0/1 their targets; known: (n, L) 0/1 their known labels.
        rows: (m,) int indices into ``evidence`` of the rows to fit on (sampled before any copy is made), or
            ``None`` for every row.
    """
    rows = np.arange(len(evidence)) if rows is None else np.asarray(rows)
    if len(rows) * evidence.shape[1] > CALIBRATION_VALUES:
        rows = rows[np.sort(np.random.default_rng(0).choice(
            len(rows), max(1, CALIBRATION_VALUES // evidence.shape[1]), replace=False))]
    evidence, targets, known = evidence[rows], sp.csr_matrix(targets)[rows], sp.csr_matrix(known)[rows]
    truth = torch.from_numpy(sp.csr_matrix(targets).toarray().astype(np.float32))
    if not truth.numel():
        return 1.0, 0.0
    signal = torch.from_numpy(evidence.astype(np.float32))
    keep = 1.0 - torch.from_numpy(sp.csr_matrix(known).toarray().astype(np.float32))
    frequency = ((truth * keep).sum() / keep.sum().clamp(min=1)).clamp(1e-4, 1 - 1e-4)
    bias = torch.log(frequency / (1 - frequency)).requires_grad_(True)
    scale = torch.ones((), requires_grad=True)
    optimizer = torch.optim.LBFGS([scale, bias], lr=1, max_iter=max_iterations, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        losses = F.binary_cross_entropy_with_logits(scale * signal + bias, truth, reduction="none")
        loss = (losses * keep).sum() / keep.sum().clamp(min=1)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(scale.detach()), float(bias.detach())


def out_of_fold_figures(total: sp.spmatrix, every: sp.csr_matrix, regularisation: float, X: Matrix,
                        fold_parts: Callable[[np.ndarray], tuple[HeldOutRows, FittedModel]], *, device: str,
                        seed: int, transition: TransitionTerm | None = None
                        ) -> tuple[BlendFigures, tuple[float, float] | None]:
    """Every blend's per-row nDCG@10 on every training row, out of fold, and the term's calibration from them: over
    :data:`FOLDS` folds (a seeded permutation cut in equal parts), each fold's rows are scored as the validation
    rows are, by the term fitted on the other rows with ``lambda`` ``regularisation`` (:func:`fit_held_out_term`),
    and by a network trained without them. Each fold's term is first calibrated on the fold; the mean of those
    calibrations is the one served, and every fold is then scored under it (its term solved again), so the blend
    chosen on these figures is the blend served (a blend's weights mean something only against the term's scale).

    Args:
        total: (L, L) the Gram matrix of every training row.
        every: (rows, L) 0/1 CSR, every label of each training row.
        regularisation: the term's chosen ``lambda``.
        X: (rows, in_features) the training rows' features.
        fold_parts: fold rows -> (their held-out known labels and targets, a network fitted without those rows).
        device: where the networks score.
        seed: the folds.
        transition: the chosen transition (each fold's fitted without the fold's rows), or ``None``.

    Returns:
        The folds' figures, joined (:meth:`BlendFigures.joined`), and the mean (scale, bias) of the folds that
        have rows with a history, under which every fold was scored (``None`` if none has: each fold then scored
        under its own, the calibration's default).
    """
    folds = np.array_split(np.random.default_rng(seed + 7).permutation(every.shape[0]), FOLDS)
    fitted, calibrations = [], []
    for rows in (np.sort(fold) for fold in folds if len(fold)):
        held, network = fold_parts(rows)
        fitted.append((rows, held, network))
        if held.known.getnnz():  # calibrated on rows with a history; without one, calibrate returns its default
            term = fit_held_out_term(*_without(every, None, total, rows), held, regularisation,
                                     transition=transition)
            calibrations.append((term.weights.scale, term.weights.bias))
    calibration = tuple(float(value) for value in np.mean(calibrations, axis=0)) if calibrations else None
    parts = []
    for rows, held, network in fitted:
        term = fit_held_out_term(*_without(every, None, total, rows), held, regularisation, calibration=calibration,
                                 transition=transition)
        parts.append(blend_figures(term.logits, network.decision_function(X[held.rows], device=device), held))
    return BlendFigures.joined(parts), calibration


def fit_known_term(model: FittedModel, X: Matrix, every: sp.csr_matrix, held: HeldOutRows,
                   log_rows: sp.csr_matrix | None, *, device: str, seed: int,
                   fold_parts: Callable[[np.ndarray], tuple[HeldOutRows, FittedModel]] | None = None,
                   given: sp.csr_matrix | None = None) -> tuple[FittedModel, np.ndarray, dict[str, Any]]:
    """``model`` (a fitted network over the label space) with its known-label term (see the module docstring).

    Args:
        model: the fitted network, without a term.
        X: (rows, in_features) the training rows' features.
        every: (rows, num_labels) 0/1 CSR, every label of each training row (known and target alike).
        held: the held-out training rows, their known labels and targets.
        log_rows: (m, num_labels) 0/1 CSR label-only rows, or ``None``.
        device: where the network scores the held-out rows.
        seed: the folds and random halves choosing ``lambda``.
        fold_parts: fold rows -> (their held-out known labels and targets, a network fitted without them): where
            the held-out rows hold fewer than :data:`CROSS_FIT_ROWS` rows with a history and a target (and the
            training rows are at most :data:`CROSS_FIT_MAX_ROWS`), the blend is chosen on every training row out of
            fold instead (:func:`out_of_fold_figures`); ``None`` (a fit with a label-only log): on the held-out rows
            always.
        given: (rows, num_labels) 0/1 CSR, each training row's given known labels (its other labels in ``every``
            its targets), or ``None`` (known labels drawn at random): with them, the transition is chosen beside
            EASE^R (:func:`~gnn_mlc.training.transition.choose_transition`).

    Returns:
        The model with its term, the held-out rows' logits under the chosen blend (n, num_labels) (the term fitted
        without them: what the decision rule is tuned on), and the figures the choices were made on
        (``held_out_scale`` / ``held_out_bias``: the calibration served before the blend's term weight, the
        folds' mean where ``blend_chosen_on`` is "out of fold"; ``blend_rows``: the rows with a history and a
        target the blend was chosen on).
    """
    held_rows = np.unique(held.rows)  # a row revealed several times counts once in the term's fit
    total = gram(every) + (gram(log_rows) if log_rows is not None else sp.csr_matrix(every.shape[1:] * 2))
    cold = cold_labels(every, log_rows)
    log_counts = None if log_rows is None else sp.csr_matrix(log_rows).getnnz(axis=0).astype(np.float64)
    spectra: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    quality = choose_regularisation(every, log_rows, seed=seed, total=total, spectra=spectra)
    regularisation = max(quality, key=quality.get)
    transition, transition_figures = (None, {}) if given is None else choose_transition(
        given, every - every.multiply(given), every, log_rows, total, regularisation,
        fold=fold_of_rows(every.shape[0], seed), spectra=spectra, seed=seed)
    del spectra
    out_of_fold = fold_parts is not None and held.pairs < CROSS_FIT_ROWS and X.shape[0] <= CROSS_FIT_MAX_ROWS
    calibration = None  # the held-out rows' own, unless chosen out of fold: then the folds' mean
    if out_of_fold:
        logger.info("known labels: %d held-out rows with a history and a target (< %d): the blend is chosen on every "
                    "training row out of fold (%d more fits of the network)", held.pairs, CROSS_FIT_ROWS, FOLDS)
        figures_of_rows, calibration = out_of_fold_figures(total, every, regularisation, X, fold_parts, device=device,
                                                           seed=seed, transition=transition)
    served_transition = None if transition is None else transition.weights_without()
    term = fit_held_out_term(*_without(every, log_rows, total, held_rows), held, regularisation,
                             calibration=calibration, transition=transition, cold=cold, log_counts=log_counts)
    term_logits = term.logits  # overwritten by the served blend below (blend_in_place)
    network_logits = model.decision_function(X[held.rows], device=device)
    if not out_of_fold:
        figures_of_rows = blend_figures(term_logits, network_logits, held)
    (term_weight, network_weight), blends = choose_blend(figures_of_rows)
    matrix = served_weights(total, term.weights.regularisation, cold, log_counts)
    served = replace(term.weights, matrix=matrix if transition is None else with_transition(
                         matrix, served_transition, transition.share),
                     scale=term_weight * term.weights.scale, bias=term_weight * term.weights.bias,
                     network_weight=network_weight, gram=total, transition=served_transition,
                     transition_share=0.0 if transition is None else transition.share,
                     cold_labels=cold if len(cold) else None, log_counts=log_counts)
    figures = {"regularisation": term.weights.regularisation, "held_out_rows": int(len(held_rows)),
               "held_out_scale": term.weights.scale, "held_out_bias": term.weights.bias,
               "term_ndcg@10_by_regularisation": {str(value): figure for value, figure in quality.items()},
               "blend_ndcg@10": blends, "blend": [term_weight, network_weight],
               "blend_chosen_on": "out of fold" if out_of_fold else "held-out rows",
               "blend_rows": figures_of_rows.pairs, "network_share": figures_of_rows.network_share,
               "transition": None if transition is None else {"regularisation": transition.regularisation,
                                                              "share": transition.share, "weight": transition.weight},
               "transition_ndcg@10": transition_figures, "cold_labels": int(len(cold))}
    logger.info("known labels: lambda %s, blend term %g + network %g (held-out nDCG@10 %s)",
                term.weights.regularisation, term_weight, network_weight, blends)
    return (replace(model, known_term=served),
            blend_in_place(term_logits, network_logits, held.known, (term_weight, network_weight)), figures)


def refit_with_log(term: KnownLabelWeights, log_rows: sp.csr_matrix) -> KnownLabelWeights:
    """The term refitted with the label-only ``log_rows`` (m, num_labels) added to its Gram matrix (same lambda,
    calibration, transition and blend): how labels added to a fitted model get incoming weights from the labels they
    travel with. The labels no row of the term's fit carried and the log does join its cold labels (their columns
    mixed, :mod:`gnn_mlc.training.cold_columns`, their conditional probabilities counted over every log the term
    was given). A term without its Gram matrix (older model directories) is returned as it is; one pushed above
    :data:`ease.DENSE_TERM_LABELS` labels loses its transition, with a warning."""
    if term.gram is None:
        return term
    logged = sp.csr_matrix(log_rows).getnnz(axis=0)  # each label's positives in the log
    cold = np.union1d(np.zeros(0, dtype=np.int64) if term.cold_labels is None else term.cold_labels,
                      np.flatnonzero((term.gram.diagonal() == 0) & (logged > 0))).astype(np.int64)
    G = sp.csr_matrix(term.gram + gram(log_rows))
    log_counts = None if term.log_counts is None and term.cold_labels is not None else (  # an older directory's
        logged + (0.0 if term.log_counts is None else term.log_counts))
    matrix = served_weights(G, term.regularisation, cold, log_counts)
    refitted = replace(term, matrix=matrix, gram=G, cold_labels=cold if len(cold) else None, log_counts=log_counts)
    if term.transition is None:
        return refitted
    if sp.issparse(matrix):  # above the dense budget: the neighbourhood form, which a dense (L, L) T cannot join
        logger.warning("known labels: with the added labels the term has %d labels (more than %d): it is refitted "
                       "in its sparse neighbourhood form, without the transition", G.shape[0],
                       ease.DENSE_TERM_LABELS)
        return replace(refitted, transition=None, transition_share=0.0)
    return replace(refitted, matrix=with_transition(matrix, term.transition, term.transition_share))


def served_weights(G: sp.spmatrix, regularisation: float | None, cold: np.ndarray, log_counts: np.ndarray | None
                   ) -> np.ndarray | sp.csr_matrix:
    """The served ``B`` (L, L) of the Gram matrix ``G``: :func:`ease.term_weights` with the ``cold`` labels' (c,)
    columns mixed (:func:`_cold_columns`) where it is dense; the sparse neighbourhood form above
    :data:`ease.DENSE_TERM_LABELS` keeps EASE^R's, and cosine weights (no ``regularisation``: older directories)
    their own. The served term, its refit with a log and the held-out term all take it."""
    B = term_weights(G, regularisation)
    if not sp.issparse(B) and regularisation is not None and len(cold):
        B[:, cold] = _cold_columns(B[:, cold], G, cold, log_counts)
    return B


def _cold_columns(item_item: np.ndarray, G: sp.spmatrix, cold: np.ndarray, log_counts: np.ndarray | None
                  ) -> np.ndarray:
    """The ``cold`` labels' (c,) served columns (L, c): their EASE^R columns ``item_item`` (L, c) of ``G`` mixed
    with their conditional probabilities counted over the log's rows, the only rows that could carry them
    (``log_counts`` (L,): each label's positives there; ``None``, a directory written before them: over every row)
    (:mod:`gnn_mlc.training.cold_columns`)."""
    return mixed_columns(item_item, G, cold, conditional_columns(G, cold, log_counts))
