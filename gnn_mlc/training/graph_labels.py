"""Label vectors for labels the network has no (or almost no) labelled feature rows for, inferred from the graph.

A label with no positive feature row (a **cold** label: new in the catalogue, seen only in a label-only log or
linked by external edges) or only a few (a **rare** label, at most ``max_rare_positives``) gets a label vector
``W[t]`` and bias ``b[t]`` in the same space as the trained labels, so the label is ranked, thresholded and written
like any other. Which evidence is used, in this order:

1. **the label-only log** (the label has a positive log row): a :class:`~gnn_mlc.nn.LabelLogitPropagation`
   ("teacher") is fitted on the rows where the label is known (log rows, and feature rows for a rare label) to
   score it from the warm labels of a row; then each feature row's teacher probability (from the row's true warm
   labels; 1 on a rare label's own positive rows) is distilled into a linear head on the frozen encoder:
   ``W[t], b[t] = argmin mean_rows BCE(h(x) . W[t] + b[t], q_t) + 3e-4 ||W[t]||^2``. The head learns
   ``E[teacher | x]`` from the features. A cold label's teacher is also kept and, at scoring, applied to the
   network's probabilities of the warm labels; its probability is the mean of the two (:data:`TEACHER_SHARE`:
   :class:`~gnn_mlc.fitted.ColdLabelTeacher`). A rare label is scored by its vector alone.
   Both are fitted by full-batch L-BFGS up to :data:`FULL_BATCH_ENTRIES` (row, label) values, by mini-batch Adam
   above (a few passes over the rows instead of hundreds: with a log of 25,000 rows x 400 new labels, L-BFGS took
   23 s for the teacher and 25 s for the heads on one core).
2. **external edges** to labels with vectors: ``W[t] = gamma sum_j a_tj W[j]``, ``b[t] = alpha sum_j a_tj b[j]
   + delta`` with ``a_tj`` the edge weights normalised to sum 1, and ``gamma, alpha, delta`` fitted by least squares
   on the labels that have both a vector and edges (each predicted from its neighbours, its own vector hidden).
3. **label features**: a ridge regression from a label's features to its ``[W, b]``, fitted on the labels that have
   both (so a label with features and no edges can still be scored).
   A label with both edges and features gets the mean of the two.

The choices (C = 1, the 3e-4 decay, the mix of the distilled head and the teacher at scoring) were made on the
cold-start protocol's development seeds (benchmarks/results/cold_start_dev.md); its test figures
(benchmarks/results/cold_start.md) report them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor

from gnn_mlc.fitted import ColdLabelTeacher
from gnn_mlc.graph.cooccurrence import cooccurrence_counts
from gnn_mlc.nn.label_propagation import LabelLogitPropagation, propagation_edges

TEACHER_C = 1.0
"""Inverse L2 strength of the teacher's edge weights (``sum w^2 / (2 C rows)``, scikit-learn's C)."""
DENSE_INPUT_SHARE = 0.25
"""An input label with edges to at least this share of the teacher's targets (every input of a complete graph; the
frequent inputs of a cut one, which every target is scored from) has its weights fitted as a row of a dense (such
inputs, targets) matrix against sparse rows; the other inputs' weights are summed edge by edge
(:func:`_teacher_evidence`). A cost choice only: both compute the same sums (tested), and the dense matrix is at
most 4 x ``TEACHER_INPUTS`` rows (each edge counts once)."""
EDGE_PAIRS = 2**24
"""The most (row, edge) pairs the teacher's edge-by-edge sums expand at once (about 0.4 GB with their indices)."""
DENSE_SIGNAL_SHARE = 0.05
"""A block of the teacher's input rows at least this share non-zero is multiplied dense (on 2 CPU cores a dense
(8192, 400) x (400, 100) product with its gradient took 39 ms, a sparse one at 24% non-zeros 130 ms)."""
HEAD_DECAY = 3e-4
"""L2 on the distilled label vectors (chosen among 1e-4, 3e-4 and 1e-3 on development seeds)."""
FULL_BATCH_ENTRIES = 2**21
"""Up to this many (row, target) values (2.1M: more than any benchmark set has) the teacher and the distilled heads
are fitted by full-batch L-BFGS (to its tolerance); above, by mini-batch Adam (:data:`STEPS` steps of
:func:`minibatch_rows` rows, :data:`EPOCHS` passes over the rows where a step can hold that many, the learning rate
decayed linearly to 0), whose time is a few passes over the rows instead of hundreds, and whose memory is one batch's
dense (rows, targets) values instead of every row's. The mini-batch settings were chosen on the cold-start
protocol's development seeds with every set forced onto that path (benchmarks/results/cold_start_dev_minibatch.md
against cold_start_dev.md): within half a point of L-BFGS's cold mAP on every set, -0.06 points pooled over 54 (set,
variant, seed) fits; with 200 steps instead of 500, bibtex lost 1.1 points (a run at 6d17db2, not kept)."""
MINIBATCH_ROWS = 1024
"""The fewest rows per mini-batch step (above :data:`FULL_BATCH_ENTRIES`); where the rows are many, a step takes
more (:func:`minibatch_rows`), so a fit is :data:`STEPS` steps however many rows there are (each step updates
every weight: with 8,000 warm and 1,600 new labels cut to 512 inputs each, 819,200 of them)."""
EPOCHS = 10
"""Passes over the rows of a mini-batch fit where :data:`STEPS` steps of at most 2^25 (row, target) values hold
them; more passes where the rows are few, fewer where a step cannot hold rows x EPOCHS / STEPS rows (a log of 1M
rows x 10,000 new labels: 3,355 rows a step, 1.7 passes; no benchmark set is that large, so that regime's quality is
not measured)."""
STEPS = 500
"""Adam steps of a mini-batch fit, or one pass over the rows where that takes more (above 32,768 targets, where a
step of :data:`MINIBATCH_ROWS` rows holds more than 2^25 values): the time of a fit is bounded by STEPS blocks of
at most 2^25 values whatever the number of rows, up to that many targets (the quality at 200 steps instead, on
development seeds: bibtex -1.1 points, see :data:`FULL_BATCH_ENTRIES`)."""
LEARNING_RATE = 0.1
"""Adam's initial learning rate in a mini-batch fit."""
TEACHER_SHARE = 0.5
"""A cold label's probability at scoring: this share of its teacher's applied to the network's probabilities of the
warm labels, the rest its distilled vector's (:class:`~gnn_mlc.fitted.ColdLabelTeacher`; served within a cost budget,
:func:`gnn_mlc.training.label_vectors.graph_label_vectors`). Chosen on the cold-start protocol's development seeds
(zero-shot, 9 sets x 3 seeds, mean cold mAP; benchmarks/results/cold_start_dev.md, arms ``distilled``,
``undistilled`` and ``graph+log``): the vector alone 0.379, the teacher alone 0.369, the mean of their probabilities
0.384: ahead of the vector on 6 of 9 sets (MovieLens +2.6 points, genbase +1.7, medical +1.7, yeast-meka +1.4,
yeast +1.3, bibtex +0.1), behind on birds (-2.8), enron and mediamill_small (-0.9 each). The mean of their logits
was below the mean of their probabilities (0.372 against 0.381, at 9260113, before the rare labels joined the
teacher's inputs; not kept). Rare labels (a few labelled rows) keep their vectors alone: the mix was not measured
on them."""


@dataclass(frozen=True)
class GraphLabelVectors:
    """Vectors inferred from the graph for some labels of the label space.

    Attributes:
        labels: (k,) indices of the labels in the label space.
        embeddings: (k, embedding_dim) float32 label vectors.
        bias: (k,) float32 biases.
        sources: (k,) the evidence each came from: ``"log"``, ``"edges"``, ``"features"`` or ``"edges+features"``.
        teacher: the regression of the cold labels scored from the log, mixed into their logits at scoring
            (:data:`TEACHER_SHARE`), or ``None``.
    """

    labels: np.ndarray
    embeddings: np.ndarray
    bias: np.ndarray
    sources: list[str]
    teacher: ColdLabelTeacher | None = None


def fit_label_teacher(
    rows: sp.csr_matrix,
    unknown: sp.csr_matrix | None,
    inputs: np.ndarray,
    targets: np.ndarray,
    cooccurrence: sp.csr_matrix,
    *,
    C: float = TEACHER_C,
    max_iterations: int = 200,
    batch_rows: int = 8192,
    signals: sp.csr_matrix | None = None,
    seed: int = 0,
) -> LabelLogitPropagation:
    """Fit the teacher: each target label scored from the input labels of a row, on the rows where it is known.

    Args:
        rows: (n, num_labels) 0/1 CSR label rows (log rows, feature rows' labels): the targets' truth.
        unknown: (n, num_labels) 1 where a value is unknown (left out of the loss), or ``None``.
        inputs: indices of the labels that send messages (warm labels: their values are known in every row).
        targets: indices of the labels to score.
        cooccurrence: (num_labels, num_labels) co-occurrence counts (to cut the graph at scale).
        C: inverse L2 strength of the edge weights.
        max_iterations: L-BFGS iterations (full batch, accumulated over row blocks of ``batch_rows``).
        signals: (n, num_labels) the messages' values when they are not ``rows`` (a row's known labels, when the
            teacher learns to complete a row from a part of it).
        seed: the order of the rows in a mini-batch fit (above :data:`FULL_BATCH_ENTRIES` values).

    Returns:
        The fitted :class:`~gnn_mlc.nn.LabelLogitPropagation` (edges from ``inputs`` to ``targets``).
    """
    num_labels = rows.shape[1]
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    truth = sp.csr_matrix(sp.csr_matrix(rows)[:, targets], dtype=np.float32)
    sources = sp.csr_matrix(rows if signals is None else signals, dtype=np.float32)
    hidden = sp.csr_matrix(truth.shape, dtype=np.float32) if unknown is None \
        else sp.csr_matrix(sp.csr_matrix(unknown)[:, targets], dtype=np.float32)
    kept = np.flatnonzero(hidden.getnnz(axis=1) < len(targets))  # a row where no target is known adds nothing
    full_batch = len(kept) * len(targets) <= FULL_BATCH_ENTRIES
    if not full_batch:  # mini-batches of rows in a seeded random order
        kept = np.random.default_rng(seed).permutation(kept)
    truth, sources, hidden = truth[kept], sources[kept], hidden[kept]
    n = len(kept)
    known_counts = n - np.asarray(hidden.sum(axis=0)).ravel()
    positives = np.asarray(truth.sum(axis=0) - truth.multiply(hidden).sum(axis=0)).ravel()
    frequency = np.zeros(num_labels)
    frequency[targets] = positives / np.maximum(known_counts, 1.0)
    edges = propagation_edges(inputs, targets, cooccurrence)
    teacher = LabelLogitPropagation(torch.from_numpy(edges), num_labels, torch.from_numpy(frequency))
    if not n:  # no row knows a target: nothing to fit (the penalty alone keeps every weight at 0)
        return teacher.eval()
    rows_per_block = batch_rows if full_batch else minibatch_rows(n, len(targets))
    evidence = _teacher_evidence(teacher, sources, inputs, targets, rows_per_block)

    def values(start: int, stop: int) -> tuple[Tensor, Tensor | None]:
        """(rows, targets) the block's truth and its mask of known values (``None``: every value known)."""
        mask = torch.from_numpy(1.0 - hidden[start:stop].toarray()) if hidden.nnz else None
        return torch.from_numpy(truth[start:stop].toarray()), mask

    cached = [values(start, stop) for start, stop, _ in evidence.blocks] if full_batch else None
    target_index = torch.from_numpy(targets.astype(np.int64))

    def block_loss(prepared: tuple[Tensor | None, Tensor], block: int) -> Tensor:
        weights, bias = prepared
        start, stop, signal = evidence.blocks[block]
        target, mask = cached[block] if cached is not None else values(start, stop)
        logits = evidence.logits(signal, weights) + bias  # (block rows, targets)
        if mask is None:
            return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / n
        return (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * mask).sum() / n

    minimise([(teacher.weight, 1 / (2 * C * n)), (teacher.beta, 1e-3)],
             lambda: (evidence.weights(), teacher.bias()[target_index]), block_loss,
             [stop - start for start, stop, _ in evidence.blocks], full_batch=full_batch,
             max_iterations=max_iterations, seed=seed)
    return teacher.eval()


def minibatch_rows(num_rows: int, num_targets: int) -> int:
    """Rows per mini-batch step: :data:`MINIBATCH_ROWS`, or more where :data:`EPOCHS` passes would take more than
    :data:`STEPS` steps, at most a (rows, targets) block of 2^25 values (never fewer than :data:`MINIBATCH_ROWS`
    rows)."""
    wanted = max(MINIBATCH_ROWS, -(-num_rows * EPOCHS // STEPS))
    return max(MINIBATCH_ROWS, min(wanted, 2**25 // max(num_targets, 1)))


def minimise(decays: list[tuple[Tensor, float]], prepare: Callable[[], Any], block_loss: Callable[[Any, int], Tensor],
             block_rows: list[int], *, full_batch: bool, max_iterations: int, seed: int) -> None:
    """Minimise ``sum_b block_loss(prepared, b) + sum_p c_p ||p||^2`` over the parameters ``p`` of ``decays``
    (``(p, c_p)`` pairs; in place), where each block's loss is its rows' share of a mean over every row.

    Full batch: L-BFGS (strong Wolfe), every block accumulated per evaluation, ``prepare()`` (what every block
    shares, e.g. the weights gathered into a matrix) built once per evaluation. Mini-batch: Adam, one step per block
    (its loss scaled to the whole: ``rows / block rows``; the penalty's gradient ``2 c_p p`` as Adam's weight decay,
    without forming ``||p||^2``), the blocks in a seeded random order per pass, :data:`STEPS` steps (at least one
    pass), the learning rate decayed linearly from :data:`LEARNING_RATE` to 0.

    Args:
        block_rows: the rows in each block (their total is the mean's count).
    """
    if full_batch:
        optimizer = torch.optim.LBFGS([parameter for parameter, _ in decays], lr=1, max_iter=max_iterations,
                                      line_search_fn="strong_wolfe")

        def closure() -> Tensor:
            optimizer.zero_grad()
            total = torch.zeros(())
            prepared = prepare()
            for block in range(len(block_rows)):
                loss = block_loss(prepared, block)
                loss.backward(retain_graph=True)
                total = total + loss.detach()
            penalty = sum(coefficient * (parameter ** 2).sum() for parameter, coefficient in decays)
            penalty.backward()
            return total + penalty.detach()

        optimizer.step(closure)
        return
    optimizer = torch.optim.Adam([{"params": [parameter], "weight_decay": 2 * coefficient}
                                  for parameter, coefficient in decays], lr=LEARNING_RATE, fused=True)
    steps = max(STEPS, len(block_rows))  # at least one pass (above 32,768 targets a step can hold fewer rows)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / steps)
    generator = np.random.default_rng(seed)
    num_rows = sum(block_rows)
    order = np.zeros(0, dtype=np.int64)
    for step in range(steps):
        if step % len(block_rows) == 0:  # a new epoch: a new order
            order = generator.permutation(len(block_rows))
        block = int(order[step % len(block_rows)])
        optimizer.zero_grad()
        loss = block_loss(prepare(), block) * (num_rows / block_rows[block])
        loss.backward()
        optimizer.step()
        schedule.step()


_Signal = tuple[Tensor, sp.csr_matrix | None]


@dataclass
class _Evidence:
    """How the teacher's evidence ``sum_j w_tj z_j`` of a block of rows is computed while it is fitted.

    Attributes:
        blocks: (first row, end row, signal) per block of rows; a signal is the block's values of the inputs with
            dense weights (a dense or sparse tensor) and of the others (CSR over every label, or ``None``).
        weights: builds what ``logits`` multiplies by (once per L-BFGS evaluation).
        logits: ``(signal, weights) ->`` (block rows, targets) evidence, without the bias.
    """

    blocks: list[tuple[int, int, _Signal]]
    weights: Callable[[], Tensor]
    logits: Callable[[_Signal, Tensor], Tensor]


def _teacher_evidence(teacher: LabelLogitPropagation, sources: sp.csr_matrix, inputs: np.ndarray,
                      targets: np.ndarray, batch_rows: int) -> _Evidence:
    """Rows' input values times the teacher's weights, in two parts whose cost is the rows' input values times the
    targets they reach, never labels times rows.

    * **dense inputs** (those with edges to at least :data:`DENSE_INPUT_SHARE` of the targets: every input of a
      complete graph, the frequent inputs of :func:`~gnn_mlc.nn.label_propagation.propagation_edges` above its cap):
      (rows, dense inputs) blocks times their weights as a dense (dense inputs, targets) matrix. A block at least
      :data:`DENSE_SIGNAL_SHARE` non-zero is kept dense (a dense product is faster there), a sparser one as a sparse
      tensor.
    * **the other inputs**: one (row, edge) pair per input value and out-edge of that input, summed into the (rows,
      targets) block.
    """
    targets = np.asarray(targets)
    source, target = teacher.edge_index.numpy()
    out_degree = np.bincount(source, minlength=teacher.num_labels)
    dense_inputs = inputs[out_degree[inputs] >= DENSE_INPUT_SHARE * len(targets)]
    place = np.full(teacher.num_labels, -1, dtype=np.int64)
    place[dense_inputs] = np.arange(len(dense_inputs))
    target_place = np.full(teacher.num_labels, -1, dtype=np.int64)
    target_place[targets] = np.arange(len(targets))
    on_dense = place[source] >= 0
    dense_edges = torch.from_numpy(np.flatnonzero(on_dense))
    index = (torch.from_numpy(place[source[on_dense]]), torch.from_numpy(target_place[target[on_dense]]))
    flat = index[0] * len(targets) + index[1]
    complete = len(flat) == teacher.weight.shape[0] == len(dense_inputs) * len(targets) \
        and bool(torch.equal(flat, torch.arange(len(flat))))
    sparse_edges = np.flatnonzero(~on_dense)
    sparse_edges = sparse_edges[np.argsort(source[sparse_edges], kind="stable")]  # grouped by input label
    first = np.searchsorted(source[sparse_edges], np.arange(teacher.num_labels + 1))
    edge_target = torch.from_numpy(target_place[target])
    signals = sp.csr_matrix(sources, dtype=np.float32)
    rows = max(1, min(batch_rows, 2**25 // max(len(dense_inputs), 1)))  # a dense block of at most 128 MB
    blocks = []
    for start in range(0, signals.shape[0], rows):
        values = signals[start:start + rows]
        block = values[:, dense_inputs]
        if block.nnz >= DENSE_SIGNAL_SHARE * block.shape[0] * block.shape[1]:
            signal = torch.from_numpy(block.toarray())
        else:
            block = block.tocoo()
            pairs = torch.from_numpy(np.vstack([block.row, block.col]).astype(np.int64))
            signal = torch.sparse_coo_tensor(pairs, torch.from_numpy(block.data), block.shape,
                                             check_invariants=False).coalesce()
        # every value of the block: a label without edges here (a dense input, a target) adds nothing
        blocks.append((start, start + block.shape[0], (signal, values if len(sparse_edges) else None)))

    def weights() -> Tensor:
        if complete:  # the edges are every (input, target) pair in row-major order: the weights are the matrix
            return teacher.weight.view(len(dense_inputs), len(targets))
        return torch.zeros(len(dense_inputs), len(targets)).index_put(index, teacher.weight[dense_edges])

    def logits(signal: _Signal, W: Tensor) -> Tensor:
        dense_part, others = signal
        evidence = torch.sparse.mm(dense_part, W) if dense_part.is_sparse else dense_part @ W
        if others is not None and others.nnz:
            _add_edge_sums(evidence, others, teacher.weight, first, sparse_edges, edge_target)
        return evidence

    return _Evidence(blocks=blocks, weights=weights, logits=logits)


def _add_edge_sums(evidence: Tensor, rows: sp.csr_matrix, weight: Tensor, first: np.ndarray, edges: np.ndarray,
                   edge_target: Tensor) -> None:
    """Add to ``evidence`` (rows, targets), in place, each row's input values times the weights of their inputs'
    out-edges, one (row, edge) pair at a time, expanded :data:`EDGE_PAIRS` pairs (about; a row is never split) at once.

    Args:
        rows: (rows, num_labels) CSR input values (labels without edges here add nothing).
        weight: (num_edges,) the edge weights.
        first: (num_labels + 1,) where each label's edges start in ``edges``.
        edges: edge indices grouped by their input label.
        edge_target: (num_edges,) each edge's target column in ``evidence``.
    """
    counts = np.diff(first)[rows.indices]  # each input value's out-edges
    per_row = np.bincount(np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr)), weights=counts,
                          minlength=rows.shape[0])
    total = np.cumsum(per_row)
    bounds = np.unique(np.concatenate([[0], np.searchsorted(total, np.arange(EDGE_PAIRS, total[-1], EDGE_PAIRS),
                                                            side="right"), [rows.shape[0]]]))
    flat = evidence.view(-1)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        part = rows[start:stop]
        counts = np.diff(first)[part.indices]
        position = np.repeat(first[part.indices] - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
        chosen = torch.from_numpy(edges[position])
        row = torch.from_numpy(np.repeat(np.repeat(np.arange(start, stop), np.diff(part.indptr)), counts))
        flat.index_add_(0, row * evidence.shape[1] + edge_target[chosen],
                        weight[chosen] * torch.from_numpy(np.repeat(part.data, counts)))


@torch.no_grad()
def teacher_probabilities(teacher: LabelLogitPropagation, rows: sp.csr_matrix, inputs: np.ndarray,
                          targets: np.ndarray, *, batch_rows: int = 8192) -> np.ndarray:
    """(n, len(targets)) float32 teacher probabilities of the target labels for label rows (n, num_labels)."""
    rows = sp.csr_matrix(rows, dtype=np.float32)
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    evidence = _teacher_evidence(teacher, rows, inputs, targets, batch_rows)
    weights, bias = evidence.weights(), teacher.bias()[torch.from_numpy(targets.astype(np.int64))]
    parts = [torch.sigmoid(evidence.logits(signal, weights) + bias).numpy() for _, _, signal in evidence.blocks]
    return np.concatenate(parts) if parts else np.zeros((0, len(targets)), dtype=np.float32)


def distil_label_vectors(encodings: np.ndarray, soft_targets: np.ndarray, *, weight_decay: float = HEAD_DECAY,
                         max_iterations: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fit linear heads on frozen encodings to soft targets.

    Args:
        encodings: (n, embedding_dim) the encoder's outputs ``h(x)`` of the feature rows.
        soft_targets: (n, k) target probabilities.
        weight_decay: L2 on the vectors.

    Returns:
        ``W`` (k, embedding_dim) and ``b`` (k,) float32 minimising ``mean_rows sum_k BCE(h W^T + b, q)
        + weight_decay ||W||^2`` from ``W = 0``, ``b`` = the targets' mean log-odds (:func:`minimise`: L-BFGS up to
        :data:`FULL_BATCH_ENTRIES` values of ``q``, mini-batch Adam above).
    """
    H = torch.from_numpy(np.ascontiguousarray(encodings, dtype=np.float32))
    targets = torch.from_numpy(np.ascontiguousarray(soft_targets, dtype=np.float32))
    weight = torch.zeros(targets.shape[1], H.shape[1], requires_grad=True)
    mean = targets.mean(dim=0).clamp(1e-4, 1 - 1e-4)
    bias = torch.log(mean / (1 - mean)).requires_grad_(True)
    full_batch = targets.numel() <= FULL_BATCH_ENTRIES
    if full_batch:
        blocks: list[slice | Tensor] = [slice(None)]
    else:  # mini-batches of rows in a seeded random order
        order = torch.from_numpy(np.random.default_rng(seed).permutation(len(H)))
        blocks = list(order.split(minibatch_rows(len(H), targets.shape[1])))

    def block_loss(_: None, block: int) -> Tensor:
        rows = blocks[block]
        return F.binary_cross_entropy_with_logits(H[rows] @ weight.T + bias, targets[rows], reduction="sum") / len(H)

    minimise([(weight, weight_decay), (bias, 0.0)], lambda: None, block_loss,
             [len(H)] if full_batch else [len(rows) for rows in blocks], full_batch=full_batch,
             max_iterations=max_iterations, seed=seed)
    return weight.detach().numpy(), bias.detach().numpy()


def infer_graph_label_vectors(
    targets: np.ndarray,
    *,
    inputs: np.ndarray,
    embeddings: np.ndarray,
    bias: np.ndarray,
    encodings: np.ndarray,
    feature_rows: sp.csr_matrix,
    log_rows: sp.csr_matrix | None,
    edges: sp.csr_matrix | None = None,
    label_features: np.ndarray | None = None,
    has_features: np.ndarray | None = None,
) -> GraphLabelVectors:
    """Vectors for ``targets`` from the best evidence each has (log, then edges and label features).

    Args:
        targets: indices of the labels to infer (cold labels, and rare labels that the log covers).
        inputs: indices of the warm labels (trained, not targets): the teacher's message senders (the cold labels'
            teacher's also the rare targets).
        embeddings, bias: (L, d) and (L,) the trained labels' vectors (other rows are ignored).
        encodings: (n, d) ``h(x)`` of the feature rows used for distillation.
        feature_rows: (n, L) 0/1 CSR labels of those rows (a rare target's positives there are its shots).
        log_rows: (m, L) 0/1 CSR label-only rows, or ``None``.
        edges: (L, L) external edge weights ``[t, j]`` for an edge j -> t, or ``None``.
        label_features: (L, f) label feature vectors (rows of ``has_features``), or ``None``.

    Returns:
        The vectors of the targets that have evidence (a target with none is left out).
    """
    num_labels = embeddings.shape[0]
    has_vector = np.zeros(num_labels, dtype=bool)
    has_vector[inputs] = True
    embeddings, bias = embeddings.copy(), bias.copy()
    sources = np.full(num_labels, "", dtype=object)
    in_log = np.zeros(num_labels, dtype=bool)
    if log_rows is not None:
        in_log[np.flatnonzero(np.asarray(log_rows.sum(axis=0)).ravel() > 0)] = True
    by_log = np.asarray([t for t in targets if in_log[t]], dtype=np.int64)
    cold_teacher = None
    if len(by_log):
        feature_rows = sp.csr_matrix(feature_rows)
        rows = sp.vstack([log_rows, feature_rows]).tocsr()
        cooccurrence = cooccurrence_counts(rows)  # int64: the rows are uint8, whose product wraps at 256
        own = feature_rows[:, by_log].toarray() > 0  # a rare label's own positive feature rows
        shots = own.any(axis=0)
        soft = np.zeros((feature_rows.shape[0], len(by_log)), dtype=np.float32)
        # A cold label is unknown in every feature row: its regression is fitted on the log's rows alone; a rare
        # label's on the log's and the feature rows' (separate per label: two teachers, no (feature rows, cold
        # labels) mask). A rare label is known in every row (its few positives in the feature rows), so it is an
        # input of the cold labels' regression, as every trained label is.
        for group, fitting, senders, served in ((~shots, sp.csr_matrix(log_rows), np.union1d(inputs, by_log[shots]),
                                                 True), (shots, rows, inputs, False)):
            if group.any():
                teacher = fit_label_teacher(fitting, None, senders, by_log[group], cooccurrence)
                soft[:, group] = teacher_probabilities(teacher, feature_rows, senders, by_log[group])
                if served:  # the cold labels' regression is also mixed in at scoring (TEACHER_SHARE)
                    cold_teacher = _cold_teacher_of(teacher, by_log[group])
        soft[own] = 1.0  # a rare label's own positives are positives
        embeddings[by_log], bias[by_log] = distil_label_vectors(encodings, soft)
        has_vector[by_log] = True
        sources[by_log] = "log"
    rest = np.asarray([t for t in targets if not sources[t]], dtype=np.int64)
    predictions = []
    if edges is not None and len(rest):
        linked = rest[np.asarray((sp.csr_matrix(edges)[rest] @ has_vector.astype(np.float64)) > 0).ravel()]
        if len(linked):
            predictions.append(("edges", linked, *neighbour_label_vectors(edges, embeddings, bias, has_vector, linked)))
    if label_features is not None and has_features is not None and len(rest):
        described = rest[has_features[rest]]
        if len(described) and (has_features & has_vector).any():
            predictions.append(("features", described, *feature_label_vectors(
                label_features, has_features, embeddings, bias, has_vector, described)))
    total_w, total_b = np.zeros_like(embeddings), np.zeros_like(bias)
    count = np.zeros(num_labels)
    for name, labels, vectors, biases in predictions:
        total_w[labels] += vectors
        total_b[labels] += biases
        count[labels] += 1
        sources[labels] = np.where(sources[labels] == "", name, sources[labels] + "+" + name)
    combined = np.flatnonzero(count > 0)
    embeddings[combined] = total_w[combined] / count[combined, None]
    bias[combined] = total_b[combined] / count[combined]
    done = np.asarray([t for t in targets if sources[t]], dtype=np.int64)
    return GraphLabelVectors(labels=done, embeddings=embeddings[done].astype(np.float32),
                             bias=bias[done].astype(np.float32), sources=[str(sources[t]) for t in done],
                             teacher=cold_teacher)


def _cold_teacher_of(teacher: LabelLogitPropagation, targets: np.ndarray) -> ColdLabelTeacher:
    """The fitted teacher's weights and biases of ``targets`` as the :class:`~gnn_mlc.fitted.ColdLabelTeacher`
    that scoring mixes in."""
    source, target = teacher.edge_index.numpy()
    weight = teacher.weight.detach().numpy().astype(np.float32)
    matrix = sp.csr_matrix((weight, (source, target)), shape=(teacher.num_labels, teacher.num_labels),
                           dtype=np.float32)
    return ColdLabelTeacher(matrix=matrix, bias=teacher.bias().detach().numpy().astype(np.float32),
                            targets=np.sort(np.asarray(targets, dtype=np.int64)), share=TEACHER_SHARE)


def neighbour_label_vectors(adjacency: sp.csr_matrix, embeddings: np.ndarray, bias: np.ndarray, has_vector: np.ndarray,
                            targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of ``targets`` from their external-edge neighbours that have vectors (see the module docstring, 2).

    Args:
        adjacency: (L, L) external edge weights ``[t, j]`` (an edge j -> t).
        embeddings, bias: (L, d) and (L,) the known vectors (rows without one are ignored).
        has_vector: (L,) bool, which labels have a vector.
        targets: the labels to infer.

    Returns:
        ``W`` (len(targets), d) and ``b`` (len(targets),).
    """
    weights = sp.csr_matrix(adjacency) @ sp.diags(has_vector.astype(np.float64))
    totals = np.asarray(weights.sum(axis=1)).ravel()
    normalised = sp.diags(np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)) @ weights
    mean_vectors, mean_bias = normalised @ embeddings, normalised @ bias
    fitted = np.flatnonzero(has_vector & (totals > 0))  # labels that can check the rule against their own vector
    gamma, alpha, delta = 1.0, 1.0, 0.0
    if len(fitted) >= 2:
        predicted, actual = mean_vectors[fitted].ravel(), embeddings[fitted].ravel()
        gamma = float(predicted @ actual / max(predicted @ predicted, 1e-12))
        alpha, delta = np.polyfit(mean_bias[fitted], bias[fitted], 1) if np.ptp(mean_bias[fitted]) > 0 \
            else (1.0, float(np.mean(bias[fitted] - mean_bias[fitted])))
    return (gamma * mean_vectors[targets]).astype(np.float32), \
        (alpha * mean_bias[targets] + delta).astype(np.float32)


def feature_label_vectors(features: np.ndarray, has_features: np.ndarray, embeddings: np.ndarray, bias: np.ndarray,
                          has_vector: np.ndarray, targets: np.ndarray, *, alpha: float = 1.0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of ``targets`` from their label features: ridge regression of ``[W, b]`` on standardised features,
    fitted on the labels that have both (see the module docstring, 3).

    Raises:
        ValueError: no label has both features and a vector (nothing to fit the regression on).
    """
    fitted = np.flatnonzero(has_features & has_vector)
    if len(fitted) == 0:
        raise ValueError("no label has both features and a vector")
    mean, scale = features[fitted].mean(axis=0), features[fitted].std(axis=0) + 1e-6
    design = np.hstack([(features - mean) / scale, np.ones((len(features), 1))])
    response = np.hstack([embeddings, bias[:, None]])
    gram = design[fitted].T @ design[fitted] + alpha * np.eye(design.shape[1])
    coefficients = np.linalg.solve(gram, design[fitted].T @ response[fitted])
    predicted = design[targets] @ coefficients
    return predicted[:, :-1].astype(np.float32), predicted[:, -1].astype(np.float32)
