"""Learning from the labels a row already has: random known/target splits, and the known-label term's weights.

In recommendation a row arrives with some of its labels known (the items a user bought, the interests they follow);
the rest are what to recommend. The model takes the known labels as evidence over the label graph
(:class:`~gnn_mlc.nn.KnownLabelTerm`): ``logits = h W^T + b + scale * sum_j w_tj k_j``. Its weights are fitted
first, as basket completion on the training rows' labels: a :class:`~gnn_mlc.nn.LabelLogitPropagation` scores every
label a row does not have among its known ones from those known ones (an L2-penalised logistic regression per label
over every other label: a logistic EASE^R), on the rows' given known/target parts or, without them, on seeded random
splits of each row's labels (each label known with probability 1/2; two splits per row). The network is then
trained with the term added and its scale learned, so it learns what the known labels do not explain.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from gnn_mlc.nn.label_propagation import KnownLabelTerm
from gnn_mlc.training.graph_labels import fit_label_teacher

KNOWN_SHARE = 0.5
"""The chance that a label of a training row is known in a random split (the share the test protocol reveals)."""
SPLITS_PER_ROW = 2


def random_known_split(Y: sp.csr_matrix, generator: np.random.Generator, *, share: float = KNOWN_SHARE
                       ) -> sp.csr_matrix:
    """A random known part of each row's labels (each label known with probability ``share``), (rows, L) uint8."""
    Y = sp.csr_matrix(Y, dtype=np.uint8)
    known = Y.copy()
    known.data = (generator.random(len(known.data)) < share).astype(np.uint8)
    known.eliminate_zeros()
    return known


def fit_known_label_term(Y: sp.csr_matrix, known: sp.csr_matrix | None, labels: np.ndarray, num_labels: int, *,
                         seed: int) -> KnownLabelTerm:
    """The known-label term's weights, fitted as basket completion on training rows.

    Args:
        Y: (rows, num_labels) the rows' labels to learn (their targets; with ``known=None``, all their labels).
        known: (rows, num_labels) their known labels, or ``None`` to draw random splits of ``Y``.
        labels: indices of the labels the term links (messages from each to every other).
        num_labels: the label space's size.
        seed: the seed of the random splits.

    Returns:
        The :class:`~gnn_mlc.nn.KnownLabelTerm` (scale 1).
    """
    Y = sp.csr_matrix(Y, dtype=np.uint8)
    if known is None:
        generator = np.random.default_rng(seed)
        splits = [random_known_split(Y, generator) for _ in range(SPLITS_PER_ROW)]
        known = sp.vstack(splits).tocsr()
        Y = sp.vstack([Y] * SPLITS_PER_ROW).tocsr()
    known = sp.csr_matrix(known, dtype=np.uint8)
    targets = sp.csr_matrix(Y - Y.multiply(known), dtype=np.uint8)  # a known label is not a target
    targets.eliminate_zeros()
    both = sp.csr_matrix(targets + known)
    teacher = fit_label_teacher(targets, known, labels, labels, sp.csr_matrix(both.T @ both), signals=known)
    return KnownLabelTerm(teacher.edge_index, teacher.weight.detach(), num_labels)

