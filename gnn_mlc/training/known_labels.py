"""Learning from the labels a row already has: known/target splits, the known-label term's weights and its scale.

In recommendation a row arrives with some of its labels known (the items a user bought, the interests they follow);
the rest are what to recommend. The model takes the known labels as evidence over the label graph
(:class:`~gnn_mlc.nn.KnownLabelTerm`): ``logit_t = h . W[t] + b[t] + scale * sum_{j -> t} w_tj k_j``.

* **Weights**: EASE^R (Steck, "Embarrassingly shallow autoencoders for sparse data", WWW 2019), the closed-form
  item-item model every recommender is held to: ``B = I - P diagMat(1 / diag(P))``, ``P = (G + lambda I)^-1``,
  ``G = X^T X`` over the training rows' labels (known and target alike), ``diag(B) = 0``. ``lambda`` is chosen among
  :data:`REGULARISATIONS` by the nDCG@10 of completing held-out rows (15% of the training rows, each with a random
  half of its labels known). Each label keeps its :data:`NEIGHBOURS` strongest incoming weights, so the graph stays
  sparse. A logistic version fitted by L-BFGS (the cold-start teacher) was tried first and lost to it on MovieLens
  (Recall@20 0.135 against 0.191).
* **Scale and bias**: fitted by L-BFGS on the training rows before the network trains (the term alone and one bias
  shared by all labels, known labels left out of the loss). The network starts from that calibrated item-item model
  (its label vectors at zero, every label's bias the shared one) and learns what the known labels do not explain; the
  scale trains with it, and early stopping (on the validation rows' nDCG@10) may keep the untrained start. One bias
  per label was tried: it pulls each row's ranking toward popularity (MovieLens Recall@20 0.167 against 0.198 for
  the term alone). A row-wise softmax loss instead of the BCE was tried too (as Mult-VAE): no better on MovieLens
  (0.165), worse on enron's nDCG@10 (0.697 against 0.715).
* Without given known labels (``known_labels="split"``), every training batch draws a random known part of each
  row's labels (each label known with probability :data:`KNOWN_SHARE`).
* Once the network is trained, the weights are fitted again on every training row, the validation rows included,
  with the chosen ``lambda`` and the learned scale: an item-item model is only as good as the rows it counts.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor

from gnn_mlc.nn.label_propagation import KnownLabelTerm

KNOWN_SHARE = 0.5
"""The chance that a label of a training row is known in a random split (the share the test protocol reveals)."""
REGULARISATIONS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)
NEIGHBOURS = 256
"""The strongest incoming EASE^R weights each label keeps."""
CALIBRATION_ROWS = 20_000
"""At most this many training rows (a seeded sample) calibrate the term's scale and the biases."""
MAX_EASE_LABELS = 20_000
"""Above this many labels, ``G + lambda I`` is not inverted (cubic cost); cosine similarities replace EASE^R."""


def random_known_split(Y: sp.csr_matrix, generator: np.random.Generator, *, share: float = KNOWN_SHARE
                       ) -> sp.csr_matrix:
    """A random known part of each row's labels (each label known with probability ``share``), (rows, L) uint8."""
    Y = sp.csr_matrix(Y, dtype=np.uint8)
    known = Y.copy()
    known.data = (generator.random(len(known.data)) < share).astype(np.uint8)
    known.eliminate_zeros()
    return known


def ease_weights(rows: sp.csr_matrix, regularisation: float) -> np.ndarray:
    """EASE^R's dense (L, L) item-item matrix ``B[j, t]`` (known j -> candidate t) of 0/1 label ``rows``."""
    gram = np.asarray((rows.T @ rows).toarray(), dtype=np.float64)
    P = np.linalg.inv(gram + regularisation * np.eye(len(gram)))
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    return B


def cosine_weights(rows: sp.csr_matrix) -> sp.csr_matrix:
    """Cosine item-item similarities (ItemKNN) of 0/1 label ``rows``, sparse (L, L), no diagonal."""
    gram = sp.csr_matrix(rows.T @ rows, dtype=np.float64)
    norms = np.sqrt(np.maximum(gram.diagonal(), 1e-12))
    similarity = sp.csr_matrix(sp.diags(1 / norms) @ gram @ sp.diags(1 / norms))
    similarity.setdiag(0.0)
    similarity.eliminate_zeros()
    return similarity


def completion_ndcg(weights: np.ndarray | sp.csr_matrix, known: sp.csr_matrix, targets: sp.csr_matrix) -> float:
    """nDCG@10 of ranking each row's targets by ``known @ weights`` (known labels excluded), rows with a target."""
    scores = np.asarray(sp.csr_matrix(known, dtype=np.float64) @ weights)
    scores = np.where(sp.csr_matrix(known).toarray() > 0, -np.inf, scores)
    truth = sp.csr_matrix(targets).toarray() > 0
    rows = np.flatnonzero(truth.any(axis=1))
    if not len(rows):
        return 0.0
    top = np.argsort(-scores[rows], axis=1, kind="stable")[:, :10]
    discounts = 1.0 / np.log2(np.arange(2, 12))
    dcg = (np.take_along_axis(truth[rows], top, axis=1) * discounts[: top.shape[1]]).sum(axis=1)
    ideal = np.array([discounts[: min(10, count)].sum() for count in truth[rows].sum(axis=1)])
    return float(np.mean(dcg / ideal))


def fit_known_label_term(rows: sp.csr_matrix, *, seed: int, regularisation: float | None = None
                         ) -> tuple[KnownLabelTerm, float | None]:
    """The known-label term of 0/1 training label ``rows`` (rows, L): EASE^R weights with the best ``lambda`` on
    held-out rows, or the given ``regularisation`` (cosine similarities above :data:`MAX_EASE_LABELS` labels), each
    label's strongest :data:`NEIGHBOURS` incoming weights kept; scale 1.

    Returns:
        The term and its ``lambda`` (``None`` for cosine weights).
    """
    rows = sp.csr_matrix(rows, dtype=np.float64)
    rows.data[:] = 1.0
    num_labels = rows.shape[1]
    if num_labels > MAX_EASE_LABELS:
        weights, regularisation = cosine_weights(rows), None
    else:
        regularisation = regularisation or choose_regularisation(rows, seed=seed)
        weights = ease_weights(rows, regularisation)
    source, target, values = _strongest_incoming(weights, NEIGHBOURS)
    term = KnownLabelTerm(torch.from_numpy(np.stack([source, target])), torch.from_numpy(values), num_labels)
    return term, regularisation


def choose_regularisation(rows: sp.csr_matrix, *, seed: int) -> float:
    """EASE^R's ``lambda`` among :data:`REGULARISATIONS` with the best completion nDCG@10 on 15% held-out rows."""
    order = np.random.default_rng(seed).permutation(rows.shape[0])
    held = max(1, len(order) * 15 // 100)
    validation, fitting = order[:held], order[held:]
    validation = validation[np.diff(rows[validation].indptr) >= 2]
    if not len(validation) or not len(fitting):
        return REGULARISATIONS[len(REGULARISATIONS) // 2]
    known = random_known_split(rows[validation], np.random.default_rng(seed + 1))
    targets = sp.csr_matrix(sp.csr_matrix(rows[validation], dtype=np.uint8) - known)
    quality = {value: completion_ndcg(ease_weights(rows[fitting], value), known, targets) for value in REGULARISATIONS}
    return max(quality, key=quality.get)


def _strongest_incoming(weights: np.ndarray | sp.csr_matrix, count: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, target, weight) of each target column's ``count`` largest-magnitude entries (no zero ones)."""
    if sp.issparse(weights):
        columns = sp.csc_matrix(weights)
        sources, targets, values = [], [], []
        for target in range(columns.shape[1]):
            start, end = columns.indptr[target], columns.indptr[target + 1]
            strongest = np.argsort(-np.abs(columns.data[start:end]), kind="stable")[:count]
            sources.append(columns.indices[start:end][strongest])
            targets.append(np.full(len(strongest), target))
            values.append(columns.data[start:end][strongest])
        return (np.concatenate(sources).astype(np.int64), np.concatenate(targets).astype(np.int64),
                np.concatenate(values).astype(np.float32))
    count = min(count, weights.shape[0] - 1)
    order = np.argpartition(-np.abs(weights), count - 1, axis=0)[:count] if count > 0 else np.zeros((0, 0), int)
    source = order.T.ravel()
    target = np.repeat(np.arange(weights.shape[1]), order.shape[0])
    values = weights[source, target]
    keep = values != 0
    return source[keep].astype(np.int64), target[keep].astype(np.int64), values[keep].astype(np.float32)


def calibrate_known_term(term: KnownLabelTerm, Y: sp.csr_matrix, known: sp.csr_matrix | str, *, seed: int,
                         max_iterations: int = 100) -> float:
    """Fit the term's scale and a bias shared by all labels on training rows (the term alone; known labels out of
    the loss).

    Args:
        term: the known-label term (its scale is set).
        Y: (rows, L) the rows' labels to learn (with ``known="split"``, all their labels).
        known: (rows, L) their known labels, or ``"split"`` for a random half of ``Y``.

    Returns:
        The fitted shared bias, every label's starting bias in the network.
    """
    Y = sp.csr_matrix(Y, dtype=np.uint8)
    generator = np.random.default_rng(seed)
    if Y.shape[0] > CALIBRATION_ROWS:  # a seeded sample: the fit needs dense (rows, L) arrays
        sample = np.sort(generator.choice(Y.shape[0], CALIBRATION_ROWS, replace=False))
        Y, known = Y[sample], known if isinstance(known, str) else sp.csr_matrix(known)[sample]
    if isinstance(known, str):
        known = random_known_split(Y, generator)
        Y = sp.csr_matrix(Y - known)
    truth = torch.from_numpy(Y.toarray().astype(np.float32))
    signal = torch.from_numpy(sp.csr_matrix(known).toarray().astype(np.float32))
    with torch.no_grad():
        evidence = term(signal) / term.scale
    frequency = truth.mean().clamp(1e-4, 1 - 1e-4)
    bias = torch.log(frequency / (1 - frequency)).requires_grad_(True)
    scale = torch.ones((), requires_grad=True)
    optimizer = torch.optim.LBFGS([scale, bias], lr=1, max_iter=max_iterations, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        losses = F.binary_cross_entropy_with_logits(scale * evidence + bias, truth, reduction="none")
        loss = (losses * (1 - signal)).mean()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        term.scale.fill_(float(scale.detach()))
    return float(bias.detach())
