"""How much network to add to the known-label term: the candidate blends, the per-row figures they are judged by on
held-out rows, and the rule that chooses among them.

A model fitted with known labels serves ``term weight * term + network weight * network`` for a row with a history
(the network alone for a row without one; :mod:`gnn_mlc.training.known_labels` fits the term). The weights are one of
:data:`BLENDS`, from the term alone to the network alone, chosen by the held-out rows' nDCG@10
(:func:`choose_blend`): the term-heaviest blend within a paired margin of the best (:data:`MARGIN_ERRORS` standard
errors, counted over training rows, or :data:`MIN_GAIN`), and the term alone where the network alone is below
:data:`MIN_NETWORK_SHARE` of it. So on those rows the model is never below the term alone or the network alone by
more than the margin, and leaves the term only for a gain beyond their noise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

logger = logging.getLogger(__name__)
BLOCK_ROWS = 1024
"""Rows ranked at once by :func:`row_ndcg`, and held-out rows scored, blended and ranked at once (a (1024, 50,000)
float32 block is 200 MB; the whole held-out matrix, 5,000 rows, is 1 GB a copy)."""
BLENDS: tuple[tuple[float, float], ...] = (
    (1.0, 0.0), (1.0, 0.25), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0), (0.25, 1.0), (0.0, 1.0))
"""(term weight, network weight) candidates, term-heavy first: the first is the term alone, the last the network
alone (the term's bias and scale are multiplied by the term weight, the network's logits by the network weight)."""
MARGIN_ERRORS = 1.5
"""How many standard errors of the paired difference (clustered by training row: a row revealed several times is one
sample) a blend further from the term must gain by to be chosen. Chosen on development rows only
(benchmarks/blend_margin.py, results/blend_margin_dev.md as at 6118ad9, before the small sets chose out of fold:
MovieLens seeds 10-17; yeast, birds, medical, genbase, enron and bibtex seeds 10-11; every rule applied to the same
fits): with 1.5 the term alone is kept on all 8 MovieLens seeds (mean nDCG@10 0.147, as the term alone; with 1, 0.145,
three seeds taking a quarter of the network and one losing 1.9 points), while medical still leaves the term (0.854
against 0.620 for the term alone; with 2, medical kept the term and lost 26 points on a seed). On 24 more MovieLens
development seeds (18-41, results/blend_margin_dev_movielens.md) it leaves the term on 2, each for a quarter of the
network chosen on 95 validation users, losing 1.07 and 0.22 points of nDCG@10 (mean 0.1452 against 0.1457 for the term
alone; the margin rules of the file lose up to 1.1 points on a seed there, the floor rule 1.5): a margin counted over
about 100 users cannot rule that out (:data:`MIN_NETWORK_SHARE` keeps the term there). With the small sets out of fold
(:data:`~gnn_mlc.training.known_labels.CROSS_FIT_ROWS`), ``blend_margin.py --grid`` over the files at 3e91ef3 still
prefers 1.5 to 2: level on every set but genbase, where 2 keeps the term on two seeds that 1.5 leaves (seed 14: 7.9
points lower; mean 0.916 against 0.933)."""
MIN_GAIN = 0.005
"""A blend further from the term alone must gain at least this much held-out nDCG@10 (half a point) to be chosen."""
MIN_NETWORK_SHARE = 0.8
"""A blend with the network is chosen only where the network alone reaches this share of the term alone's held-out
nDCG@10 (:attr:`BlendFigures.network_share`, over the rows the blend is chosen on, those without a history included:
every blend scores them alike, which pulls the share towards 1, as when it was chosen); below it the term alone is
kept, whatever the margin says. On the development rows a network far below the term added nothing that held, and a
hundred validation rows could not tell its apparent gain from noise. The price: a far weaker network that does carry
evidence the term lacks is left out (a test builds one). Chosen on development rows only (``blend_margin.py --grid``
on the three ``blend_margin_dev*`` files, results/blend_margin_grid.md): on the 32 MovieLens development seeds the
network alone reached 0.33-0.75 of the term alone on the selection rows, and leaving the term never paid there on the
mean (every rule of the grid that left it on some seed is below the term alone's 0.1459; the two seeds the margin
alone let leave lost 1.07 and 0.22 points of development nDCG@10, mean 0.1455); on the 8 basket sets (36 fits) it
reached 0.88-1.15, where the margin's blends are above the term alone on the mean of every set. Every share from 0.75
to 0.85 makes the same choices there (0.9 loses a blend on yeast and one on mediamill_small); 0.8 is the middle."""


@dataclass(frozen=True)
class HeldOutRows:
    """Training rows held out from the term's fit: their known labels and targets over the label space.

    Attributes:
        rows: (n,) their indices among the training rows (a row repeats when it is revealed several times).
        known: (n, num_labels) uint8 CSR, the labels each row reveals.
        targets: (n, num_labels) uint8 CSR, the labels to recommend.
    """

    rows: np.ndarray
    known: sp.csr_matrix
    targets: sp.csr_matrix

    @property
    def pairs(self) -> int:
        """Distinct training rows with both a known label and a target: the evidence a blend chosen on them rests on
        (as :attr:`BlendFigures.pairs` counts it)."""
        both = ((self.known > 0).getnnz(axis=1) > 0) & ((self.targets > 0).getnnz(axis=1) > 0)
        return len(np.unique(self.rows[both]))


def row_ndcg(scores: np.ndarray, known: sp.csr_matrix, targets: sp.csr_matrix, *, k: int = 10) -> np.ndarray:
    """Per-row binary nDCG@k of ranking each row's targets by ``scores`` (rows, L), its known labels excluded; rows
    without a target are left out, so the result has one value per row with a target. Ranked
    :data:`BLOCK_ROWS` rows at a time (a copy of 5,000 rows x 50,000 labels would be 1 GB)."""
    known, targets = sp.csr_matrix(known), sp.csr_matrix(targets > 0)
    rows = np.flatnonzero(np.diff(targets.indptr) > 0)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    values = [np.zeros(0)]
    for start in range(0, len(rows), BLOCK_ROWS):
        part = rows[start:start + BLOCK_ROWS]
        block = np.asarray(scores)[part]  # a copy (the rows are indexed)
        block[(known[part] > 0).nonzero()] = -np.inf
        top = torch.topk(torch.from_numpy(block), min(k, scores.shape[1]), dim=1).indices.numpy()
        truth = targets[part].toarray()
        dcg = (np.take_along_axis(truth, top, axis=1) * discounts[: top.shape[1]]).sum(axis=1)
        values.append(dcg / np.cumsum(discounts)[np.minimum(k, truth.sum(axis=1)) - 1])  # each row's ideal DCG
    return np.concatenate(values)


def blended(term_logits: np.ndarray, network_logits: np.ndarray, known: sp.csr_matrix, blend: tuple[float, float]
            ) -> np.ndarray:
    """(n, L) the served rule's logits: ``term weight * term + network weight * network`` for a row with known
    labels, the network's alone for a row without (:meth:`~gnn_mlc.fitted.FittedModel.logits`)."""
    logits = blend[0] * term_logits + blend[1] * network_logits
    empty = np.diff(sp.csr_matrix(known).indptr) == 0
    logits[empty] = network_logits[empty]
    return logits


def blend_in_place(term_logits: np.ndarray, network_logits: np.ndarray, known: sp.csr_matrix,
                   blend: tuple[float, float]) -> np.ndarray:
    """:func:`blended` written over ``term_logits``, :data:`BLOCK_ROWS` rows at a time (no (n, L) temporary).

    Args:
        term_logits: (n, L) float32 the calibrated term's logits; overwritten, and returned.
        network_logits: (n, L) the network's logits of the same rows.
        known: (n, L) 0/1 CSR their known labels (a row without any takes the network's logits).
        blend: (term weight, network weight).
    """
    known = sp.csr_matrix(known)
    for block in row_blocks(len(term_logits)):
        term_logits[block] = blended(term_logits[block], network_logits[block], known[block], blend)
    return term_logits


def row_blocks(num_rows: int) -> list[slice]:
    """Slices of :data:`BLOCK_ROWS` consecutive rows covering ``num_rows``."""
    return [slice(start, start + BLOCK_ROWS) for start in range(0, num_rows, BLOCK_ROWS)]


@dataclass(frozen=True)
class BlendFigures:
    """Each blend's nDCG@10 on held-out rows, row by row: what the blend is chosen on.

    Attributes:
        per_row: each blend of :data:`BLENDS` -> (n,) the nDCG@10 of each held-out row with a target.
        rows: (n,) the training row of each value (a row revealed several times repeats).
        with_history: (n,) whether the value's row has a known label (without one, every blend ranks it alike).
    """

    per_row: dict[tuple[float, float], np.ndarray]
    rows: np.ndarray
    with_history: np.ndarray

    @classmethod
    def joined(cls, parts: list[BlendFigures]) -> BlendFigures:
        """The figures of several sets of held-out rows (the folds of
        :func:`~gnn_mlc.training.known_labels.out_of_fold_figures`) as one."""
        return cls(per_row={blend: np.concatenate([part.per_row[blend] for part in parts]) for blend in BLENDS},
                   rows=np.concatenate([part.rows for part in parts]),
                   with_history=np.concatenate([part.with_history for part in parts]))

    @property
    def pairs(self) -> int:
        """Distinct training rows with both a known label and a target: the evidence a choice rests on."""
        return len(np.unique(self.rows[self.with_history]))

    @property
    def network_share(self) -> float:
        """The network alone's mean nDCG@10 over the term alone's: what :data:`MIN_NETWORK_SHARE` is held against
        (``inf`` where the term alone's is 0 or there is no row: nothing to hold the network to)."""
        term_alone, network_alone = (self.per_row[blend] for blend in (BLENDS[0], BLENDS[-1]))
        if not len(term_alone) or term_alone.mean() <= 0:
            return float("inf")
        return float(network_alone.mean() / term_alone.mean())


def blend_figures(term_logits: np.ndarray, network_logits: np.ndarray, held: HeldOutRows) -> BlendFigures:
    """Each blend's per-row nDCG@10 on the held-out rows, :data:`BLOCK_ROWS` rows at a time (each whole blend would
    be an (n, L) copy).

    Args:
        term_logits: (n, L) the calibrated term's logits of the held-out rows.
        network_logits: (n, L) the network's logits of the same rows.
        held: the rows' known labels and targets.
    """
    parts: dict[tuple[float, float], list[np.ndarray]] = {blend: [np.zeros(0)] for blend in BLENDS}
    known, targets = sp.csr_matrix(held.known), sp.csr_matrix(held.targets)
    for block in row_blocks(len(term_logits)):
        for blend in BLENDS:
            parts[blend].append(row_ndcg(blended(term_logits[block], network_logits[block], known[block], blend),
                                         known[block], targets[block]))
    with_targets = (targets > 0).getnnz(axis=1) > 0  # the rows row_ndcg keeps, in order
    return BlendFigures(per_row={blend: np.concatenate(values) for blend, values in parts.items()},
                        rows=held.rows[with_targets], with_history=(np.diff(known.indptr) > 0)[with_targets])


def choose_blend(figures: BlendFigures) -> tuple[tuple[float, float], dict[str, float]]:
    """The (term weight, network weight) of :data:`BLENDS` the held-out rows' ``figures`` choose, and each blend's
    mean nDCG@10.

    The best blend by mean nDCG@10 is the reference; the first blend (term-heavy first) whose per-row difference
    to it has a mean within :data:`MARGIN_ERRORS` standard errors of zero, or within :data:`MIN_GAIN`, is chosen (a
    paired margin: noise alone, or a gain too small to matter, does not move the choice off the term). The
    differences are averaged over the reveals of one training row first, so the standard error counts rows. Where
    the network alone is below :data:`MIN_NETWORK_SHARE` of the term alone, the term alone is kept. Where
    no held-out row has both a known label and a target, every blend ranks alike and nothing can be chosen: the
    term and the network are added unweighted, (1, 1), with a warning.
    """
    means = {f"term {term:g} + network {network:g}": float(values.mean()) if len(values) else float("nan")
             for (term, network), values in figures.per_row.items()}
    if not figures.with_history.any():  # as blended() tells a history: every blend ranks alike
        logger.warning("no held-out row has both a known label and a target: the known-label term and the network "
                       "are added unweighted")
        return (1.0, 1.0), means
    share = figures.network_share
    if share < MIN_NETWORK_SHARE:
        logger.info("known labels: the network alone reaches %.2f of the term alone's held-out nDCG@10 (< %g): the "
                    "term alone is kept", share, MIN_NETWORK_SHARE)
        return BLENDS[0], means
    return blend_within_margin(figures.per_row, figures.rows, errors=MARGIN_ERRORS, gain=MIN_GAIN), means


def blend_within_margin(per_row: dict[tuple[float, float], np.ndarray], rows: np.ndarray, *, errors: float,
                        gain: float) -> tuple[float, float]:
    """The first blend of :data:`BLENDS` (term-heavy first) whose per-row nDCG@10 difference to the best blend's,
    averaged per training row (:func:`by_row`), has a mean within ``errors`` standard errors of zero or within
    ``gain``: the rule of :func:`choose_blend`.

    Args:
        per_row: each blend -> (n,) its per-row nDCG@10 on the held-out rows.
        rows: (n,) the training row of each value.
        errors: the margin in standard errors; gain: the smallest gain that can move the choice.
    """
    best = max(BLENDS, key=lambda blend: per_row[blend].mean())
    for blend in BLENDS:
        difference = by_row(per_row[blend] - per_row[best], rows)
        error = difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else 0.0
        if difference.mean() >= -max(errors * error, gain):
            return blend
    return best


def by_row(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values`` (n,) averaged over the entries of each distinct training row in ``rows`` (n,)."""
    _, inverse = np.unique(rows, return_inverse=True)
    return np.bincount(inverse, weights=values) / np.bincount(inverse)
