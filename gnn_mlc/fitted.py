"""``FittedModel``: the frozen fitted state of a model and the one scoring rule every path uses.

A fitted model is plain values (the encoder's weights, the label vectors ``W`` and ``b``, the feature scaler, the
known-label weights, the decision rule, the training facts) and one rule to score rows with them::

    logits(x, k) = alpha * z(x) + s(k)                                        (rows, num_labels)
    z(x) = h(x) W^T + b, then for the cold labels c of a log:                 (rows, num_labels)
    z_c(x) <- logit((1 - share) sigmoid(z_c(x)) + share sigmoid(u_c(x))),  u_c(x) = sum_j sigmoid(z_j(x)) T[j, c] + c_c
    h(x) = encoder(scale(x))                                                  (rows, embedding_dim)
    s_t(k) = scale_k * sum_j k_j B[j, t] + bias_k                             (a model fitted with known labels)

``alpha`` (the network's weight), ``B``, ``scale_k`` and ``bias_k`` are the :class:`KnownLabelWeights` of a model
fitted with known labels (:mod:`gnn_mlc.training.known_labels`). ``T``, ``c`` and ``share`` are the
:class:`ColdLabelTeacher` of a model with labels scored from a label-only log: the per-label regression over the
trained labels that their vectors are distilled from (:mod:`gnn_mlc.training.graph_labels`), applied to the network's
own probabilities of the trained labels. A row with no known label (an empty history), and
every row of a model without the term, is scored ``z(x)``: without history the features are the evidence.

The estimator (:class:`~gnn_mlc.estimator.LabelGCNClassifier`), the batch :class:`~gnn_mlc.serving.Scorer`,
evaluation and inspection all read a ``FittedModel``; the training pipeline (:mod:`gnn_mlc.training.fit`) produces
one and the model directory (:mod:`gnn_mlc.model_directory`) writes and reads its parts. Dense-trained models get the
feature scaling folded into the encoder's first layer (one pass over the input instead of two); row-normalised
(sparse-trained) models go through the scaler first. This module imports neither scikit-learn, nor PyTorch Geometric,
nor any training code: the known labels' evidence is a bag of rows of ``scale * B`` (dense, held in float16 for
scoring, float32 where its sums could approach float16's range: :func:`_term_tensor`) or a sparse product.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor

from gnn_mlc._torch import resolve_device, to_tensor
from gnn_mlc._typing import Matrix
from gnn_mlc.data.categories import CategoricalColumn
from gnn_mlc.data.dataset import as_feature_matrix, as_label_matrix
from gnn_mlc.data.items import ItemColumn
from gnn_mlc.data.preprocessing import FeatureScaler
from gnn_mlc.errors import DataError, GnnMlcError
from gnn_mlc.nn.encoder import MLPEncoder, score_logits
from gnn_mlc.thresholds import DecisionRule

if TYPE_CHECKING:
    from gnn_mlc.graph import LabelGraph

SCORING_ROWS = 4096
"""Rows scored at once by :meth:`FittedModel.decision_function` (a (4096, num_labels) block of logits)."""


@dataclass(frozen=True, eq=False)
class KnownLabelWeights:
    """The known-label term of a model fitted with known labels: ``s_t(k) = scale * sum_j k_j B[j, t] + bias``, and
    the weight ``network_weight`` of the network's logits beside it (see the module docstring).

    Attributes:
        matrix: ``B`` (num_labels, num_labels) ``[j, t]`` (known j -> candidate t): float32 dense, or CSR.
        scale, bias: the term's calibration (already multiplied by the term's weight in the chosen blend).
        network_weight: ``alpha``, the network logits' weight (1 for directories written before the blend).
        regularisation: EASE^R's ``lambda`` (``None`` for directories written before it was chosen at every size,
            whose weights above 20,000 labels were cosine similarities, refitted as such).
        gram: (num_labels, num_labels) CSR ``X^T X`` of the rows the term was fitted on (training rows' labels and
            the log), so that labels added later refit it; ``None`` for older directories.
        transition: (num_labels, num_labels) float32 ``rho * T``, the known -> target regression's part of
            ``matrix`` (:func:`gnn_mlc.training.transition.with_transition`), kept so that a refit keeps it;
            ``None`` where none was chosen.
        transition_share: its share ``w`` (0 without one).
        cold_labels: (c,) int64 sorted, the cold labels a label-only log carried (at the fit, or added by
            ``add_labels``): no training row had them. Where ``matrix`` is EASE^R and dense, their columns mix
            EASE^R's with conditional probabilities (:mod:`gnn_mlc.training.cold_columns`); a sparse or cosine term
            keeps its own. Kept so that a refit mixes them again; ``None`` where there are none (and in directories
            written before it, whose log-only labels a refit leaves as EASE^R's columns).
        log_counts: (num_labels,) float64, each label's positives in the label-only rows the term was given (the
            fit's log and every log added since): the rows that could carry a cold label, over which its conditional
            probabilities are counted; ``None`` where the term never had a log (and in directories written before
            it, whose cold labels a refit counts over every row).
    """

    matrix: np.ndarray | sp.csr_matrix | None
    scale: float
    bias: float = 0.0
    network_weight: float = 1.0
    regularisation: float | None = None
    gram: sp.csr_matrix | None = None
    transition: np.ndarray | None = None
    transition_share: float = 0.0
    cold_labels: np.ndarray | None = None
    log_counts: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class ColdLabelTeacher:
    """The cold labels' regression over the trained labels, mixed into their probabilities at scoring (module
    docstring).

    Attributes:
        matrix: ``T`` (num_labels, num_labels) float32 CSR ``[j, c]``: the weight of trained label ``j``'s
            probability in cold label ``c``'s logit (non-zero only in the ``targets``' columns).
        bias: ``c`` (num_labels,) float32 (used in the ``targets``' entries).
        targets: (k,) int64 sorted indices of the labels it scores.
        share: the regression's weight in a target's probability, the rest its label vector's (in ``(0, 1]``).
    """

    matrix: sp.csr_matrix
    bias: np.ndarray
    targets: np.ndarray
    share: float

    @property
    def inputs(self) -> np.ndarray:
        """(m,) int64 sorted indices of the labels it reads (the non-empty rows of ``T``)."""
        return np.flatnonzero(np.diff(self.matrix.indptr) > 0)

    @property
    def num_values(self) -> int:
        """Inputs x targets: the multiply-adds per row of scoring it (a dense (inputs, targets) product)."""
        return len(self.inputs) * len(self.targets)

    @staticmethod
    def budget(embedding_dim: int, num_labels: int) -> int:
        """The most values a served teacher has: the label vectors' product's multiply-adds per row, so mixing it in
        at most doubles that product's cost (a fit or ``add_labels`` serves no larger one; a directory holding one is
        refused)."""
        return embedding_dim * num_labels

    def merged(self, other: ColdLabelTeacher) -> ColdLabelTeacher:
        """This teacher and ``other`` (over the same labels, with other targets) as one; ``other``'s share.

        Raises:
            ValueError: the two score a label in common (its weights would be summed).
        """
        if np.intersect1d(self.targets, other.targets).size:
            raise ValueError("merged: the two teachers score a label in common; expected other targets")
        targets = np.union1d(self.targets, other.targets)
        bias = self.bias.copy()
        bias[other.targets] = other.bias[other.targets]
        return ColdLabelTeacher(matrix=sp.csr_matrix(self.matrix + other.matrix, dtype=np.float32), bias=bias,
                                targets=targets, share=other.share)

    def grown(self, extra: int) -> ColdLabelTeacher:
        """The same teacher over ``extra`` more labels (new, with no weights)."""
        matrix = sp.csr_matrix(sp.block_diag([self.matrix, sp.csr_matrix((extra, extra))]), dtype=np.float32)
        return replace(self, matrix=matrix, bias=np.concatenate([self.bias, np.zeros(extra, np.float32)]))


class ScoringModel(Protocol):
    """What evaluation reads of a model: a :class:`FittedModel`, or a baseline such as
    :class:`~gnn_mlc.evaluation.baselines.PopularityBaseline`."""

    label_names: list[str]
    feature_names: list[str] | None
    label_counts: np.ndarray
    decision_rule: DecisionRule

    @property
    def has_known_term(self) -> bool: ...

    def predict_proba(self, X: Matrix, *, known: Matrix | None = None) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class FittedModel:
    """A fitted model: its state as plain values and the scoring rule (see the module docstring).

    Attributes:
        parameters: the estimator's constructor parameters (without ``verbose``).
        kind: ``"gcn"`` (label-graph model) or ``"independent"`` (no graph).
        in_features: number of input features.
        label_names: the ``num_labels`` label names, in column order.
        feature_names: the ``in_features`` feature names, or ``None`` (fitted on bare arrays).
        state: the torch module's ``state_dict`` (CPU tensors); the encoder is its ``encoder.*`` entries.
        scaler: the fitted :class:`~gnn_mlc.data.preprocessing.FeatureScaler`.
        label_embeddings: ``W``, (num_labels, embedding_dim) float32.
        label_bias: ``b``, (num_labels,) float32.
        decision_rule: the fitted :class:`~gnn_mlc.thresholds.DecisionRule`.
        label_counts: (num_labels,) int64 training positives per label.
        num_rows: number of training rows.
        cooccurrence: (num_labels, num_labels) int64 CSR co-occurrence counts of the training rows and the log.
        metrics: ``validation`` (the early-stopping score) and ``validation_metric``, ``best_epoch``, ``epochs_run``
            and the per-epoch ``history``.
        data_columns: the columns of the training file (``id_column``, ``label_column``) that scoring defaults to.
        trained_labels: indices of the labels the torch module scores, in its output order.
        label_sources: (num_labels,) where each label's vector came from (``trained``, ``log``, ``edges``, ...).
        cooccurrence_rows: the rows ``cooccurrence`` counts (training rows and label-only log rows).
        graph_rows: ``(encodings (n, embedding_dim) float32, labels (n, num_labels) uint8 CSR)`` of the training rows
            kept to distil labels added later.
        label_features: ``(features (num_labels, f) float32, mask (num_labels,) bool)`` or ``None``.
        known_term: the :class:`KnownLabelWeights` of a model fitted with known labels, or ``None``.
        cold_teacher: the :class:`ColdLabelTeacher` of a model with cold labels scored from a log, or ``None``.
        item_columns: the input's item-list columns (:class:`~gnn_mlc.data.items.ItemColumn`), whose features are
            the last of ``feature_names``, in this order.
        categorical_columns: the input's categorical columns (:class:`~gnn_mlc.data.categories.CategoricalColumn`),
            whose one-hot features come just before the item columns' in ``feature_names``, in this order.
        graph: the label graph of the training run, written as GraphML for people and tools (``None`` once loaded).
    """

    parameters: dict[str, Any]
    kind: str
    in_features: int
    label_names: list[str]
    feature_names: list[str] | None
    state: dict[str, Tensor]
    scaler: FeatureScaler
    label_embeddings: np.ndarray
    label_bias: np.ndarray
    decision_rule: DecisionRule
    label_counts: np.ndarray
    num_rows: int
    cooccurrence: sp.csr_matrix
    metrics: dict[str, Any]
    data_columns: dict[str, str | None] = field(default_factory=dict)
    trained_labels: list[int] = field(default_factory=list)
    label_sources: list[str] = field(default_factory=list)
    cooccurrence_rows: int = 0
    graph_rows: tuple[np.ndarray, sp.csr_matrix] | None = None
    label_features: tuple[np.ndarray, np.ndarray] | None = None
    known_term: KnownLabelWeights | None = None
    cold_teacher: ColdLabelTeacher | None = None
    item_columns: list[ItemColumn] = field(default_factory=list)
    categorical_columns: list[CategoricalColumn] = field(default_factory=list)
    graph: LabelGraph | None = None
    _on_device: dict[str, DeviceParts] = field(default_factory=dict, init=False, repr=False)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def embedding_dim(self) -> int:
        return int(self.label_embeddings.shape[1])

    @property
    def numeric_features(self) -> list[str]:
        """The features read from numeric input columns: the feature names before the categorical columns' one-hot
        features and the item columns' items (empty for a model fitted on bare arrays)."""
        names = list(self.feature_names or [])
        encoded = sum(len(column.feature_names) for column in [*self.categorical_columns, *self.item_columns])
        return names[:len(names) - encoded]

    @property
    def input_columns(self) -> list[str]:
        """The input columns a table must hold to be scored: the numeric ones, then the categorical columns, then
        the item columns."""
        return self.numeric_features + [column.name for column in [*self.categorical_columns, *self.item_columns]]

    @property
    def has_known_term(self) -> bool:
        """Whether the model takes a row's known labels as evidence (fitted with ``known_labels``)."""
        return self.known_term is not None

    def encoder(self, *, folded: bool = False) -> MLPEncoder:
        """The instance encoder rebuilt from ``state``, in evaluation mode; ``folded``: with the feature scaling
        folded into its first layer, ``((x - offset) * scale) A + a = x (diag(scale) A) + (a - (offset * scale) A)``
        (only for a scaler without row normalisation).

        Raises:
            GnnMlcError: the encoder weights do not fit the sizes in ``parameters``.
        """
        with torch.random.fork_rng(devices=[]):  # its initial values are overwritten: the caller's seed stays
            encoder = MLPEncoder(self.in_features, hidden_channels=int(self.parameters["hidden_channels"]),
                                 embedding_dim=int(self.parameters["embedding_dim"]), dropout=0.0)
        prefix = "encoder."
        try:
            encoder.load_state_dict({name[len(prefix):]: tensor for name, tensor in self.state.items()
                                     if name.startswith(prefix)}, strict=True)
        except RuntimeError as error:
            raise GnnMlcError(f"model: encoder weights do not fit its config ({str(error).splitlines()[0]}); "
                              "expected a model directory written by one 'gnn-mlc train'") from None
        if folded:
            with torch.no_grad():
                weight = encoder.input.weight.double()  # (in_features, hidden)
                scale = torch.from_numpy(self.scaler.scale).double()
                offset = torch.from_numpy(self.scaler.offset).double()
                encoder.input.bias.copy_(encoder.input.bias.double() - (offset * scale) @ weight)
                encoder.input.weight.copy_(weight * scale[:, None])
        return encoder.eval()

    def logits(self, X: Matrix, *, known: sp.csr_matrix | None = None, device: torch.device | str = "cpu") -> Tensor:
        """The scoring rule (see the module docstring): (rows, num_labels) float32 logits on ``device``. With a
        known-label term and ``known`` (rows, num_labels) 0/1 CSR, a row with known labels gets
        ``alpha * z + scale * known @ B + bias``; any other row ``z``, the network's logits (``h W^T + b``, the
        cold labels' mixed with their teacher's).

        ``X`` (rows, in_features), dense or CSR, is taken as checked (finite, the model's width): the public
        entries (:meth:`decision_function`, the Scorer) check it.

        Raises:
            DataError: ``known`` for a model without a known-label term.
        """
        if known is not None and not self.has_known_term:
            raise DataError(_NO_KNOWN_TERM)
        parts = self.on_device(torch.device(device))
        term = self.known_term
        known = None if known is None or term is None else sp.csr_matrix(known)
        with_history = np.zeros(0, dtype=np.int64) if known is None else np.flatnonzero(np.diff(known.indptr) > 0)
        if term is not None and term.network_weight == 0 and len(with_history) == X.shape[0] > 0:
            with torch.no_grad():  # the term alone (a blend without the network): the network is not run
                return self._known_evidence(known, parts).float().add_(term.bias)
        if self.scaler.row_norm > 0:  # row normalisation cannot be folded into the first layer
            X = self.scaler.transform(X)
        with torch.no_grad():
            logits = score_logits(parts.encoder(to_tensor(X, parts.device)), parts.label_embeddings, parts.bias)
            if parts.teacher is not None:
                parts.teacher.mix_into(logits)
            if len(with_history) == logits.shape[0]:  # every row has a history: in place
                evidence = self._known_evidence(known, parts)
                logits.mul_(term.network_weight).add_(evidence).add_(term.bias)
            elif len(with_history):  # a row without history is scored by the network alone
                rows = torch.from_numpy(with_history).to(parts.device)
                evidence = self._known_evidence(known[with_history], parts)
                logits[rows] = term.network_weight * logits[rows] + term.bias + evidence
        return logits

    def decision_function(self, X: Matrix, *, known: Matrix | None = None, device: str = "auto") -> np.ndarray:
        """Logits (rows, num_labels) float32 of feature rows ``X`` (rows, in_features), scored ``SCORING_ROWS`` at
        a time; ``known`` (rows, num_labels) 0/1: the labels each row already has (a model fitted with them).

        Raises:
            DataError: ``X`` of another width or not finite; ``known`` of another shape, or for a model without a
                known-label term.
        """
        X = as_feature_matrix(X, name="X")
        if X.shape[1] != self.in_features:
            raise DataError(f"X: has {X.shape[1]} features; expected {self.in_features}, as in training. "
                            "Hint: select the same feature columns, in the same order")
        known_rows = None if known is None else self.checked_known(known, X.shape[0])
        target = resolve_device(device)
        logits = np.empty((X.shape[0], self.num_labels), dtype=np.float32)  # filled block by block: no second copy
        for start in range(0, X.shape[0], SCORING_ROWS):
            logits[start:start + SCORING_ROWS] = self.logits(
                X[start:start + SCORING_ROWS], device=target,
                known=None if known_rows is None else known_rows[start:start + SCORING_ROWS]).cpu().numpy()
        return logits

    def predict_proba(self, X: Matrix, *, known: Matrix | None = None, device: str = "auto") -> np.ndarray:
        """Label probabilities ``sigmoid(logits)``, (rows, num_labels) float32; see :meth:`decision_function`."""
        return torch.sigmoid_(torch.from_numpy(self.decision_function(X, known=known, device=device))).numpy()

    def predict(self, X: Matrix, *, known: Matrix | None = None, device: str = "auto") -> np.ndarray:
        """0/1 decisions (rows, num_labels) uint8 by the fitted decision rule."""
        return self.decision_rule.decide(self.predict_proba(X, known=known, device=device))

    def checked_known(self, known: Matrix, num_rows: int) -> sp.csr_matrix:
        """``known`` as a (num_rows, num_labels) uint8 CSR.

        Raises:
            DataError: the model has no known-label term, or ``known`` has another shape or is not 0/1.
        """
        if not self.has_known_term:
            raise DataError(_NO_KNOWN_TERM)
        matrix = sp.csr_matrix(as_label_matrix(known, name="known_labels"), dtype=np.uint8)
        if matrix.shape != (num_rows, self.num_labels):
            raise DataError(f"known_labels: shape {matrix.shape}; expected {(num_rows, self.num_labels)}, one row per "
                            "row and one column per label")
        return matrix

    def with_labels(self, label_names: list[str], *, label_features: tuple[np.ndarray, np.ndarray] | None = None
                    ) -> FittedModel:
        """This model over ``label_names`` (its own labels first, then new ones): every per-label part grown, the
        new labels with a zero vector, source ``"none"`` and the decision rule's default threshold, until
        :mod:`gnn_mlc.training.label_vectors` gives them vectors.

        Raises:
            DataError: ``label_names`` does not start with the model's labels.
        """
        if list(label_names[:self.num_labels]) != list(self.label_names):
            raise DataError("label_names: must start with the model's own labels, in order; expected new labels "
                            "after them")
        extra = len(label_names) - self.num_labels
        encodings, rows = self.graph_rows
        term = self.known_term
        teacher = None if self.cold_teacher is None else self.cold_teacher.grown(extra)
        if term is not None:
            grown = sp.csr_matrix(sp.block_diag([sp.csr_matrix(term.matrix), sp.csr_matrix((extra, extra))]),
                                  dtype=np.float32)
            term = replace(term, matrix=grown.toarray() if isinstance(term.matrix, np.ndarray) else grown,
                           gram=None if term.gram is None else sp.csr_matrix(
                               sp.block_diag([term.gram, sp.csr_matrix((extra, extra))])),
                           transition=None if term.transition is None else np.pad(term.transition, (0, extra)),
                           log_counts=None if term.log_counts is None else np.pad(term.log_counts, (0, extra)))
        return replace(
            self, label_names=list(label_names),
            label_embeddings=np.vstack([self.label_embeddings, np.zeros((extra, self.embedding_dim), np.float32)]),
            label_bias=np.concatenate([self.label_bias, np.zeros(extra, dtype=np.float32)]),
            label_sources=list(self.label_sources) + ["none"] * extra,
            label_counts=np.concatenate([self.label_counts, np.zeros(extra, dtype=np.int64)]),
            cooccurrence=sp.csr_matrix(sp.block_diag([self.cooccurrence, sp.csr_matrix((extra, extra))]),
                                       dtype=np.int64),
            graph_rows=(encodings, sp.csr_matrix(sp.hstack([rows, sp.csr_matrix((rows.shape[0], extra))]),
                                                 dtype=np.uint8)),
            label_features=label_features if label_features is not None else self.label_features,
            decision_rule=self.decision_rule.extended(extra), known_term=term, cold_teacher=teacher,
        )

    def on_device(self, device: torch.device) -> DeviceParts:
        """The scoring tensors (the folded encoder, ``W``, ``b``, the known-label weights, the cold labels'
        teacher) on ``device``, built once per device and kept."""
        key = str(device)
        if key not in self._on_device:
            encoder = self.encoder(folded=self.scaler.row_norm == 0).to(device)
            self._on_device[key] = DeviceParts(
                device=device, encoder=encoder, label_embeddings=torch.from_numpy(self.label_embeddings).to(device),
                bias=torch.from_numpy(self.label_bias).to(device),
                known=None if self.known_term is None else _term_tensor(
                    self.known_term.matrix, self.known_term.scale).to(device),
                teacher=None if self.cold_teacher is None else TeacherParts.of(self.cold_teacher, device))
        return self._on_device[key]

    def _known_evidence(self, known: sp.csr_matrix, parts: DeviceParts) -> Tensor:
        """(rows, num_labels) ``scale * known @ B`` of the known labels ``known`` (rows, num_labels) 0/1 CSR, in the
        dtype of the device's term (:func:`_term_tensor`): with a dense ``B``, each row's sum of the rows of
        ``scale * B`` it knows (``embedding_bag``, as a sparse input layer sums its weights); with a sparse ``B``, a
        sparse product."""
        known = sp.csr_matrix(known)
        if not known.has_canonical_format:  # a label listed twice is known once
            known = known.copy()
            known.sum_duplicates()
        if parts.known.layout == torch.strided:  # indices and offsets as stored (int32 or int64, one type)
            indices = torch.from_numpy(known.indices).to(parts.device)
            offsets = torch.from_numpy(known.indptr[:-1].astype(known.indices.dtype)).to(parts.device)
            return F.embedding_bag(indices, parts.known, offsets, mode="sum")
        indices = torch.from_numpy(known.indices.astype(np.int64)).to(parts.device)
        with warnings.catch_warnings():  # torch calls its sparse CSR support "beta" once per process
            warnings.simplefilter("ignore", UserWarning)
            batch = torch.sparse_csr_tensor(torch.from_numpy(known.indptr.astype(np.int64)).to(parts.device), indices,
                                            torch.ones(len(known.indices), device=parts.device), size=known.shape)
            return torch.sparse.mm(batch, parts.known).to_dense()

    def __deepcopy__(self, memo: dict[int, Any]) -> FittedModel:
        """A deep copy without the per-device cache (it is rebuilt on first use)."""
        values = {name: copy.deepcopy(getattr(self, name), memo) for name in self.__dataclass_fields__
                  if name != "_on_device"}
        return FittedModel(**values)


@dataclass(frozen=True)
class DeviceParts:
    """A fitted model's scoring tensors placed on one device (:meth:`FittedModel.on_device`)."""

    device: torch.device
    encoder: MLPEncoder
    label_embeddings: Tensor
    bias: Tensor
    known: Tensor | None
    teacher: TeacherParts | None = None


@dataclass(frozen=True)
class TeacherParts:
    """A :class:`ColdLabelTeacher` placed on one device: its input and target columns, ``T`` restricted to them as a
    dense (inputs, targets) matrix (a served teacher has at most :meth:`ColdLabelTeacher.budget` such values), ``c``
    of the targets and the share."""

    inputs: Tensor
    targets: Tensor
    weights: Tensor
    bias: Tensor
    share: float

    @classmethod
    def of(cls, teacher: ColdLabelTeacher, device: torch.device) -> TeacherParts:
        inputs = teacher.inputs
        weights = sp.csr_matrix(teacher.matrix[inputs][:, teacher.targets], dtype=np.float32).toarray()
        return cls(inputs=torch.from_numpy(inputs).to(device),
                   targets=torch.from_numpy(teacher.targets.astype(np.int64)).to(device),
                   weights=torch.from_numpy(weights).to(device),
                   bias=torch.from_numpy(teacher.bias[teacher.targets].astype(np.float32)).to(device),
                   share=float(teacher.share))

    def mix_into(self, logits: Tensor) -> None:
        """Mix the teacher into the targets' columns of the network's ``logits`` (rows, num_labels), in place:
        ``z_c <- logit((1 - share) sigmoid(z_c) + share sigmoid(u_c))``, ``u = sigmoid(z_inputs) T + c``, in log
        space (finite for any finite ``z`` and ``u``: a row is never dropped as unscorable by the mix)."""
        teacher = torch.addmm(self.bias, torch.sigmoid(logits[:, self.inputs]), self.weights)
        own = logits[:, self.targets]
        keep, take = math.log1p(-self.share) if self.share < 1 else -math.inf, math.log(self.share)
        positive = torch.logaddexp(F.logsigmoid(own) + keep, F.logsigmoid(teacher) + take)
        negative = torch.logaddexp(F.logsigmoid(-own) + keep, F.logsigmoid(-teacher) + take)
        logits[:, self.targets] = positive - negative


def as_fitted_model(model: Any) -> Any:
    """The :class:`FittedModel` of a fitted estimator (its ``fitted_``), or ``model`` itself (a fitted model, a
    baseline): so evaluation and inspection read the fitted state, never the estimator."""
    return getattr(model, "fitted_", model)


TERM_BLOCK_ROWS = 1024
"""Rows of a dense term scaled and converted at once by :func:`_term_tensor`."""
HALF_TERM_BOUND = 2.0**14
"""A dense ``scale * B`` whose largest column sum of absolute weights (the largest evidence a history can give) is
below this is scored in float16 (whose largest value is 65,504)."""


def _term_tensor(matrix: np.ndarray | sp.csr_matrix, scale: float) -> Tensor:
    """``scale * B`` (the term's weights times its calibrated scale) as a torch tensor for scoring: dense float16
    (float32 where its sums could come near float16's range), or sparse CSR float32.

    A dense term is held in float16 because summing rows of it is bound by memory traffic: half the bytes is about
    a third of the time (MovieLens's (1,297, 1,297) ``B``: 0.12 s instead of 0.35 s per 50,000 users of 72 movies on 2
    cores). Each weight is rounded once (relative error at most 2^-11; absolute 2^-25 below float16's smallest normal
    value, 6.1e-5), and ``embedding_bag`` adds the weights in float32 and rounds each sum once (relative 2^-11 of the
    sum). Built :data:`TERM_BLOCK_ROWS` rows at a time (no whole float32 copy of a (8,192, 8,192) term beside it).
    """
    if isinstance(matrix, np.ndarray):
        blocks = range(0, matrix.shape[0], TERM_BLOCK_ROWS)
        column_sums = np.zeros(matrix.shape[1])  # of absolute weights: the largest evidence a history can give
        for start in blocks:
            column_sums += np.abs(matrix[start:start + TERM_BLOCK_ROWS]).sum(axis=0, dtype=np.float64)
        dtype = torch.float16 if abs(scale) * column_sums.max(initial=0.0) < HALF_TERM_BOUND else torch.float32
        weights = torch.empty(matrix.shape, dtype=dtype)
        for start in blocks:
            weights[start:start + TERM_BLOCK_ROWS] = torch.from_numpy(
                np.asarray(matrix[start:start + TERM_BLOCK_ROWS], dtype=np.float32) * np.float32(scale))
        return weights
    matrix = sp.csr_matrix(matrix * np.float32(scale), dtype=np.float32)
    with warnings.catch_warnings():  # torch calls its sparse CSR support "beta" once per process
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.from_numpy(matrix.indptr.astype(np.int64)),
                                       torch.from_numpy(matrix.indices.astype(np.int64)),
                                       torch.from_numpy(matrix.data), size=matrix.shape)


_NO_KNOWN_TERM = ("known_labels: this model was not fitted with known labels; expected a model fitted with "
                  "known_labels= (CLI: train --known-column or --known-split)")
