"""The item-item term's weights: EASE^R (Steck, "Embarrassingly shallow autoencoders for sparse data", WWW 2019)
of a Gram matrix of label rows, exact or on each label's co-occurrence neighbourhood, every ``lambda`` from one
eigendecomposition, and the cosine similarities of older model directories. How the term is fitted out of fold,
calibrated and blended with the network is :mod:`gnn_mlc.training.known_labels`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import torch

DENSE_TERM_LABELS = 8192
"""Up to this many labels ``B`` is kept whole, dense: (8192, 8192) float32 is 256 MB (the memory budget)."""
NEIGHBOURS = 512
"""Above :data:`DENSE_TERM_LABELS` labels, the labels (most similar first, by cosine of co-occurrence) each label's
EASE^R column is solved on: a (512, 512) system per label. Chosen on a development task (benchmarks/item_item.py's
synthetic baskets, 300,000 rows x 4,000 labels, seed 10): Recall@20 / nDCG@10 1.3 / 0.8 points below exact EASE^R
with 256 labels ranked by cosine, 0.7 / 0.5 with 512 (2.1 / 1.2 and 1.1 / 0.7 ranked by raw counts)."""
RANK_TOLERANCE = 1e-9
"""Eigenvalues of a Gram matrix below this share of its largest are taken as 0 (:func:`inner_spectrum`)."""
SOLVE_BATCH = 64
"""Labels whose neighbourhood systems are solved together (64 x 512 x 512 float64: 128 MB)."""


def gram(rows: sp.csr_matrix) -> sp.csr_matrix:
    """``G = X^T X`` (L, L) float64 CSR of 0/1 label ``rows`` (rows, L) (a stored value counts as 1)."""
    rows = _binary_rows(rows)
    return sp.csr_matrix(rows.T @ rows)


def _binary_rows(rows: sp.csr_matrix) -> sp.csr_matrix:
    """The non-empty rows of the label ``rows`` (n, L), float64 CSR, each stored value 1 (an empty row adds nothing
    to ``X^T X``)."""
    rows = sp.csr_matrix(rows, dtype=np.float64)
    rows = rows[np.diff(rows.indptr) > 0]
    rows.data[:] = 1.0
    return rows


def ease_weights(G: np.ndarray | sp.spmatrix, regularisation: float) -> np.ndarray:
    """EASE^R's dense (L, L) item-item matrix ``B[j, t]`` (known j -> candidate t) of the Gram matrix ``G``."""
    G = torch.from_numpy(G.toarray() if sp.issparse(G) else np.asarray(G, dtype=np.float64))
    P = torch.cholesky_inverse(torch.linalg.cholesky(G + regularisation * torch.eye(len(G), dtype=G.dtype)))
    B = (-P / torch.diagonal(P)[None, :]).numpy()  # G + lambda I is positive definite: a Cholesky inverse
    np.fill_diagonal(B, 0.0)
    return B


def ease_columns_of_rows(rows: sp.csr_matrix, labels: np.ndarray, regularisation: float) -> np.ndarray:
    """EASE^R's columns ``B[:, labels]`` (L, len(labels)) float64 of the 0/1 label ``rows`` X (n, L), where they are
    fewer than the labels: by Woodbury, ``(X^T X + lambda I)^-1 = (I - X^T S^-1 X) / lambda`` with the (n, n)
    ``S = X X^T + lambda I``, so ``B[:, t] = -P[:, t] / P[t, t]`` (``B[t, t] = 0``) costs one (n, n) Cholesky
    factor, neither ``G`` nor an (L, L) factor formed."""
    rows = _binary_rows(rows)
    inner = (rows @ rows.T).toarray()
    inner[np.diag_indices_from(inner)] += regularisation
    places = np.arange(len(labels))
    solved = scipy.linalg.cho_solve(scipy.linalg.cho_factor(inner, overwrite_a=True, check_finite=False),
                                    rows[:, labels].toarray(), check_finite=False)
    P = -np.asarray(rows.T @ solved)  # lambda P[:, labels], less the identity's columns
    P[labels, places] += 1.0
    columns = -P / P[labels, places][None, :]
    columns[labels, places] = 0.0
    return columns


def solved_from_rows(num_rows: int, num_labels: int) -> bool:
    """Whether EASE^R of ``num_rows`` non-empty label rows over ``num_labels`` labels is solved from the rows
    (:func:`rows_spectrum`, :func:`ease_columns_of_rows`: an (n, n) problem) rather than from their (L, L) Gram
    matrix: ``B`` dense and the rows fewer than the labels."""
    return num_labels <= DENSE_TERM_LABELS and num_rows < num_labels


def rows_solved(rows: sp.csr_matrix | None, num_labels: int) -> bool:
    """:func:`solved_from_rows` for the label ``rows`` (m, L), their non-empty rows counted; ``False`` without
    rows."""
    return rows is not None and solved_from_rows(np.count_nonzero(np.diff(rows.indptr)), num_labels)


def gram_spectrum(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The eigendecomposition of a Gram matrix ``G`` (L, L): eigenvalues ``e`` (L,) and orthonormal eigenvectors
    ``V`` (L, L), float64 (``G`` is overwritten)."""
    eigenvalues, V = scipy.linalg.eigh(G, driver="evr", overwrite_a=True, check_finite=False)
    return np.maximum(eigenvalues, 0.0), V  # G is positive semi-definite; rounding can dip below 0


def rows_spectrum(rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """The eigendecomposition of ``G = X^T X`` of 0/1 label ``rows`` X (n, L) from that of their (n, n) inner
    products ``X X^T = W diag(e) W^T``: eigenvalues ``e`` (r,) and orthonormal eigenvectors ``V = X^T W diag(e)^-1/2``
    (L, r), float64, r at most the non-empty rows; every eigenvalue not in ``e`` is 0 (those below
    :data:`RANK_TOLERANCE` of the largest are taken as 0: their ``V`` would be rounding). With fewer rows than labels
    an (n, n) problem instead of (L, L): on 400 rows of 1,297 labels 0.013 s (divide and conquer) instead of 0.11 s by
    the rows' thin SVD (2 cores)."""
    rows = _binary_rows(rows)
    eigenvalues, W = inner_spectrum(rows)
    return eigenvalues, np.asarray(rows.T @ W) / np.sqrt(eigenvalues)


def inner_spectrum(rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """The eigendecomposition of the inner products ``X X^T = W diag(e) W^T`` of ``rows`` X (n, L): ``e`` (r,) and
    ``W`` (n, r) float64, the eigenvalues below :data:`RANK_TOLERANCE` of the largest left out (as 0)."""
    rows = sp.csr_matrix(rows, dtype=np.float64)
    eigenvalues, W = scipy.linalg.eigh((rows @ rows.T).toarray(), driver="evd", overwrite_a=True, check_finite=False)
    kept = eigenvalues > RANK_TOLERANCE * max(eigenvalues[-1], 0.0) if len(eigenvalues) else eigenvalues > 0
    return eigenvalues[kept], W[:, kept]


def ease_scores_by_regularisation(spectrum: tuple[np.ndarray, np.ndarray], known: sp.csr_matrix,
                                  regularisations: tuple[float, ...]) -> dict[float, np.ndarray]:
    """``known @ B(lambda)`` (rows, L) float32 for every ``lambda``, from one eigendecomposition of the Gram matrix
    ``G = V diag(e) V^T`` (:func:`gram_spectrum`, or :func:`rows_spectrum`, whose left-out eigenvalues are 0):
    ``P = V diag(1 / (e + lambda)) V^T + (I - V V^T) / lambda``, so each value costs a (rows, r) x (r, L) product,
    not an inversion. In float64: at a large ``lambda`` a score is the small difference ``known - known P / diag(P)``,
    and float32 products moved medical's choice of ``lambda`` from 10 to 3000 (its 1000 and 3000 nDCG@10 from 0.423
    to 0.442)."""
    eigenvalues, V = spectrum
    K = sp.csr_matrix(known, dtype=np.float64)
    KV, dense_known, squared = np.asarray(K @ V), K.toarray(), V ** 2
    complete = V.shape[1] == V.shape[0]
    if not complete:  # the part of each row (and of I) outside V's span, where G's eigenvalue is 0
        outside_known, outside_diagonal = dense_known - KV @ V.T, 1.0 - squared.sum(axis=1)
    scores = {}
    for value in regularisations:
        inverse = 1.0 / (eigenvalues + value)
        KP = (KV * inverse) @ V.T  # known @ P
        diagonal = squared @ inverse  # diag(P)
        if not complete:
            KP += outside_known / value
            diagonal += outside_diagonal / value
        scores[value] = np.asarray(dense_known - KP / diagonal[None, :], dtype=np.float32)
    return scores


def ease_scores(rows: sp.csr_matrix | None, G: Callable[[], sp.spmatrix], known: sp.csr_matrix,
                regularisation: float, blocks: list[slice], *,
                weights: Callable[[sp.spmatrix, float], np.ndarray | sp.csr_matrix] | None = None) -> np.ndarray:
    """``known @ B`` (n, L) float32, ``B`` the served form (``weights(G, lambda)``, default :func:`term_weights`)
    of EASE^R of the label ``rows`` (m, L) 0/1, whose Gram matrix is ``G()`` (built only where it is solved): where
    :func:`rows_solved`, from the eigendecomposition of their inner products (:func:`rows_spectrum`), EASE^R
    itself (``weights`` unused), neither ``G`` nor ``B`` built; else (or ``rows`` ``None``) from
    ``weights(G(), lambda)``. ``known`` (n, L) is multiplied a block of rows at a time (``blocks``: slices covering
    its rows), so no (n, L) float64 copy is made."""
    known = sp.csr_matrix(known, dtype=np.float32)
    scores = np.empty(known.shape, dtype=np.float32)
    if rows_solved(rows, known.shape[1]):
        spectrum = rows_spectrum(rows)
        for block in blocks:
            scores[block] = ease_scores_by_regularisation(spectrum, known[block], (regularisation,))[regularisation]
        return scores
    B = (weights or term_weights)(G(), regularisation)
    for block in blocks:  # one product of every row held its sparse result beside the dense one
        part = known[block] @ B
        scores[block] = part.toarray() if sp.issparse(part) else part
    return scores


def cosine_weights(G: sp.csr_matrix) -> sp.csr_matrix:
    """Cosine item-item similarities (ItemKNN) of the Gram matrix ``G``, sparse (L, L), no diagonal."""
    G = sp.csr_matrix(G, dtype=np.float64)
    norms = np.sqrt(np.maximum(G.diagonal(), 1e-12))
    similarity = sp.csr_matrix(sp.diags(1 / norms) @ G @ sp.diags(1 / norms))
    similarity.setdiag(0.0)
    similarity.eliminate_zeros()
    return similarity


def term_weights(G: sp.csr_matrix, regularisation: float | None) -> np.ndarray | sp.csr_matrix:
    """The served term's ``B`` (L, L) ``[j, t]`` from the Gram matrix of every row: exact EASE^R, dense, up to
    :data:`DENSE_TERM_LABELS` labels; neighbourhood EASE^R (CSR) above; cosine similarities (CSR) without a
    ``regularisation`` (the term of model directories written before ``lambda`` was chosen at every size)."""
    if regularisation is None:
        return cosine_weights(G)
    if G.shape[0] <= DENSE_TERM_LABELS:
        return ease_weights(G, regularisation).astype(np.float32)
    return neighbourhood_ease_weights(G, regularisation, NEIGHBOURS)


def neighbourhood_ease_weights(G: sp.csr_matrix, regularisation: float, neighbours: int, *,
                               core_labels: int | None = None) -> sp.csr_matrix:
    """EASE^R on each label's co-occurrence neighbourhood: (L, L) float32 CSR ``B[j, t]``.

    EASE^R's column ``t`` is the ridge regression of label ``t`` on every other label,
    ``B[-t, t] = (G[-t, -t] + lambda I)^-1 G[-t, t]``; here it is solved on the ``neighbours`` labels most similar
    to ``t`` among those that co-occur with it (cosine of co-occurrence, ``G[j, t] / sqrt(G[j, j])``; ties broken by
    argpartition), the other weights zero. So a label that never co-occurs with ``t`` sends it nothing (EASE^R can
    give it a weight through the labels between them), and it is EASE^R exactly when every other label co-occurs
    with ``t`` and ``neighbours >= L - 1``. Each system is gathered from a dense float32 copy of ``G`` over the
    ``core_labels`` most frequent labels (where neighbourhoods concentrate; (8192, 8192) is 256 MB; counts are exact
    in float32 up to 2^24) and from the sparse rows of the others, then solved :data:`SOLVE_BATCH` at a time: time
    linear in the labels.

    Args:
        G: (L, L) the labels' Gram matrix (co-occurrence counts).
        regularisation: ``lambda``.
        neighbours: how many labels each label's column is solved on.
        core_labels: how many of the most frequent labels the dense copy holds (default
            :data:`DENSE_TERM_LABELS`).
    """
    G = sp.csr_matrix(G, dtype=np.float64)
    G.sum_duplicates()  # one entry per pair, sorted
    num_labels = G.shape[0]
    size = max(1, min(neighbours, num_labels - 1))
    norms = np.sqrt(np.maximum(G.diagonal(), 1e-12))
    core_labels = DENSE_TERM_LABELS if core_labels is None else core_labels
    core = np.sort(np.argsort(-G.diagonal(), kind="stable")[:core_labels])
    in_core = np.full(num_labels, -1, dtype=np.int64)
    in_core[core] = np.arange(len(core))
    dense = sp.csr_matrix(G[core][:, core], dtype=np.float32).toarray()
    position = np.full(num_labels, -1, dtype=np.int64)  # a neighbourhood's labels -> their place in its system
    diagonal = np.arange(size)
    sources, targets, weights = [], [], []
    for start in range(0, num_labels, SOLVE_BATCH):
        batch = np.arange(start, min(num_labels, start + SOLVE_BATCH))
        systems = np.zeros((len(batch), size, size))
        right = np.zeros((len(batch), size))
        hoods = []
        for slot, label in enumerate(batch):
            labels, counts = _neighbourhood(G, norms, label, size)
            hoods.append(labels)
            places = np.arange(len(labels))
            position[labels] = places
            dense_places = in_core[labels] >= 0
            within = places[dense_places]
            systems[slot][np.ix_(within, within)] = dense[np.ix_(in_core[labels[dense_places]],
                                                                 in_core[labels[dense_places]])]
            row, column, values = _rows_within(G, labels[~dense_places], position)
            row = places[~dense_places][row]
            systems[slot, row, column] = values  # the other labels' rows, and by symmetry their columns
            systems[slot, column, row] = values
            right[slot, : len(labels)] = counts
            position[labels] = -1
        systems[:, diagonal, diagonal] += regularisation  # unused slots solve to 0
        solved = torch.linalg.solve(torch.from_numpy(systems), torch.from_numpy(right)).numpy()
        for slot, label in enumerate(batch):
            sources.append(hoods[slot])
            targets.append(np.full(len(hoods[slot]), label))
            weights.append(solved[slot, : len(hoods[slot])])
    B = sp.csr_matrix((np.concatenate(weights).astype(np.float32), (np.concatenate(sources), np.concatenate(targets))),
                      shape=(num_labels, num_labels))
    B.eliminate_zeros()
    return B


def _neighbourhood(G: sp.csr_matrix, norms: np.ndarray, label: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The (at most ``size``) other labels most similar to ``label`` (largest ``G[label, j] / norms[j]``: the cosine
    up to ``label``'s own norm), and their counts ``G[label, j]``."""
    labels = G.indices[G.indptr[label]:G.indptr[label + 1]]
    counts = G.data[G.indptr[label]:G.indptr[label + 1]]
    other = labels != label
    labels, counts = labels[other], counts[other]
    if len(labels) > size:
        strongest = np.argpartition(-counts / norms[labels], size - 1)[:size]
        labels, counts = labels[strongest], counts[strongest]
    return labels, counts


def _rows_within(G: sp.csr_matrix, labels: np.ndarray, position: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of ``G[labels][:, labels]`` as (row, column, value) places in the neighbourhood's system;
    ``position`` maps a label of ``labels`` to its place and every other label to -1."""
    starts, ends = G.indptr[labels], G.indptr[labels + 1]
    lengths = ends - starts
    entries = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    row = np.repeat(np.arange(len(labels)), lengths)
    column = position[G.indices[entries]]
    inside = column >= 0
    return row[inside], column[inside], G.data[entries][inside]
