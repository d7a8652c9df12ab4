"""The item-item term's columns of labels the training rows never carry: new items that only the label-only log
knows, or that ``add_labels`` adds from a log.

EASE^R's column of a label is the ridge regression of the label on every other label over every row the term is
fitted on (:mod:`gnn_mlc.training.ease`). For a label only the log carries, the feature rows count as its negatives,
though they never observed it, and its column is fitted from the few log rows that have it. Its audience (the users
to show a new item to: each ranked by its column) is then better found by also counting how often it comes with
each label a user has: the conditional probabilities ``P(c | j) = G[j, c] / n_j`` (score propagation), ``n_j`` the
rows of the label-only log that have ``j``: the only rows that could carry ``c``. Such a label's column is the mix
of its EASE^R column and its conditional column, each at unit length, weighted ``1 - s`` and ``s``
(:data:`CONDITIONAL_SHARE`), at the length that gives the rows carrying the label the mean score its EASE^R column
gives them, so a user's score for it stays on the other labels' scale. Other lengths were tried on MovieLens's
development rows (results/cold_history_dev_mix_at_eases_length.md and cold_history_dev_mix_at_ridge_length.md): at
EASE^R's column's own length the conditional part's positive mass lifted every new item (18% of the top-20 slots
instead of 8%; Recall@20 0.188 -> 0.165, below the model without the log); at the length of EASE^R's ridge
regression along the mix, which counts the feature rows that never observed the label as its negatives, they all
but vanished (0.9% of the slots).

On the development rows of ``benchmarks/cold_history.py`` (``benchmarks/cold_lambda.py``,
results/cold_lambda_dev.md: 12 seeds of MovieLens and of every basket set), over the 7 data sets where the columns
differ (on genbase and medical the new items rank the rows alike either way):

* The equal mix, its conditional probabilities then counted over every row (``n_j = G[j, j]``), raised the mean
  new-item mAP over EASE^R's columns on 6 (MovieLens 0.210 -> 0.232, 9 seeds ahead and 3 behind; mediamill_small
  +2.65 points; birds -0.60). A share of 0.75 had the best mean but fewer seeds ahead net of those behind (26
  against 33); the conditional column alone (1) fell on 3 (birds -3.12). These shares' figures are the run at
  a0e24de (results/cold_lambda_dev.md as committed at 8db2e42); the file's later runs hold the shares with the
  log's counts.
* Counting them over the log's rows was then ahead of counting them over every row on all 7 (63 seeds ahead, 17
  behind; MovieLens 0.232 -> 0.233, yeast +1.33 points, yeast-meka +1.10, bibtex +0.57 with 12 seeds of 12, birds
  +0.51). The share was checked again: 0.5 still has the most seeds ahead of EASE^R's columns net of those behind
  (48 against 40 for 0.75, whose mean is higher on 4 sets).
* The rules tried before the mix (another ``lambda`` for these columns, chosen out of fold on the log's rows or on
  the training rows' label-wise task; the columns fitted on the log alone) moved the mean both ways. Against the
  mix counted over every row, other counts of the same log as the second part did too: the lift over ``P(c)`` and
  a second step through EASE^R fell on most sets; RP3beta's weighting of each row by its size rose on 6 but fell
  on MovieLens (0.228).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

CONDITIONAL_SHARE = 0.5
"""``s``: the conditional column's share of a cold label's column."""


def cold_labels(every: sp.csr_matrix, log_rows: sp.csr_matrix | None) -> np.ndarray:
    """(c,) int64 sorted: the labels with a positive in the label-only ``log_rows`` (m, L) and none in ``every``
    (rows, L), the training rows' labels."""
    if log_rows is None:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((sp.csr_matrix(every).getnnz(axis=0) == 0)
                          & (sp.csr_matrix(log_rows).getnnz(axis=0) > 0)).astype(np.int64)


def conditional_columns(G: np.ndarray | sp.spmatrix, labels: np.ndarray, counts: np.ndarray | None = None
                        ) -> np.ndarray:
    """``P(c | j) = G[j, c] / counts[j]`` (L, len(labels)) float64 for each ``c`` of ``labels``: 0 where ``j`` has no
    positive, and at ``(c, c)``.

    Args:
        G: (L, L) the Gram matrix of the rows the term is fitted on.
        labels: (c,) int the labels' indices.
        counts: (L,) each label's positives over the rows that could carry ``labels``: the label-only log's rows
            (the package's rule), where a cold label only ever is; default ``G``'s diagonal (every row).
    """
    columns = _columns(G, labels)
    counts = np.asarray(G.diagonal() if sp.issparse(G) else np.diagonal(G)) if counts is None else counts
    columns /= np.maximum(np.asarray(counts, dtype=np.float64), 1.0)[:, None]
    columns[labels, np.arange(len(labels))] = 0.0
    return columns


def mixed_columns(item_item: np.ndarray, G: np.ndarray | sp.spmatrix, labels: np.ndarray, conditional: np.ndarray,
                  *, share: float = CONDITIONAL_SHARE) -> np.ndarray:
    """The served columns of ``labels``: each along ``m = (1 - s) b / |b| + s p / |p|``, at the length ``a`` that
    gives the rows carrying the label the mean score EASE^R's column gives them.

    ``a = b . G[:, c] / m . G[:, c]`` (``G[:, c]`` sums the rows carrying ``c``; ``b . G[:, c] >= 0``, 0 only where
    ``c`` comes with no other label, whose column stays 0), so a user's score for the label stays on the other
    labels' scale; at ``s = 0`` it is ``b`` itself.

    Args:
        item_item: ``b``, (L, len(labels)) the labels' EASE^R columns of ``G``.
        G: (L, L) the Gram matrix of the rows the term is fitted on.
        labels: (c,) int the labels' indices.
        conditional: ``p``, (L, len(labels)) their conditional columns (:func:`conditional_columns`; other counts of
            the same log in ``benchmarks/cold_lambda.py``).
        share: ``s``.

    Returns:
        (L, len(labels)) float32 ``a m``.
    """
    carriers = _columns(G, labels)
    direction = (1.0 - share) * item_item / np.maximum(np.linalg.norm(item_item, axis=0), 1e-30) \
        + share * conditional / np.maximum(np.linalg.norm(conditional, axis=0), 1e-30)
    along = np.maximum(np.einsum("jc,jc->c", item_item, carriers), 0.0) \
        / np.maximum(np.einsum("jc,jc->c", direction, carriers), 1e-30)
    return (direction * along).astype(np.float32)


def _columns(G: np.ndarray | sp.spmatrix, labels: np.ndarray) -> np.ndarray:
    """``G[:, labels]`` (L, len(labels)) float64, dense."""
    return (sp.csc_matrix(G, dtype=np.float64)[:, labels].toarray() if sp.issparse(G)
            else np.array(np.asarray(G)[:, labels], dtype=np.float64))
