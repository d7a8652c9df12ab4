"""``LabelGCNClassifier``: the scikit-learn style face of data checks, label graph, model and training."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from gnn_mlc._torch import predict_logits, resolve_device
from gnn_mlc._typing import DeviceName, Matrix, Strategy, Weighting
from gnn_mlc.data.dataset import (
    as_feature_matrix,
    as_label_matrix,
    check_label_name,
    validate_arrays,
)
from gnn_mlc.data.preprocessing import FeatureScaler
from gnn_mlc.data.split import stratified_split_indices
from gnn_mlc.errors import DataError, ModelDirectoryError
from gnn_mlc.graph import build_label_graph, cooccurrence_counts
from gnn_mlc.model_directory import ModelParts, load_model_parts, save_model_parts
from gnn_mlc.nn.label_models import (
    IndependentLabelModel,
    LabelGCNModel,
    LabelScoringModel,
)
from gnn_mlc.parameters import check_parameters
from gnn_mlc.thresholds import fit_decision_rule
from gnn_mlc.training import (
    Checkpoint,
    TrainingResult,
    TrainingSettings,
    TrainingSplit,
    log_odds_bias,
    positive_weights,
    train_model,
)

logger = logging.getLogger(__name__)


class LabelGCNClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label classifier whose label embeddings come from a GCN over the label co-occurrence graph.

    ``scores = sigmoid(encoder(x) W^T + b)`` with ``W = GCN(label vectors, label graph)`` (see
    :mod:`gnn_mlc.nn.label_models`); ``use_graph=False`` gives the no-graph baseline (same encoder, independent
    heads). Every parameter's valid values are declared once in :mod:`gnn_mlc.parameters` and checked at ``fit``.

    Args:
        use_graph: learn ``W`` through the label graph (True) or as free per-label vectors (False).
        hidden_channels: encoder hidden width.
        embedding_dim: size of the instance vectors and label embeddings.
        num_gcn_layers: graph propagation steps (see :class:`~gnn_mlc.nn.LabelGCNModel`).
        dropout: encoder dropout, in [0, 1).
        graph_weighting, tau, p: how the label graph is weighted (see :mod:`gnn_mlc.graph.cooccurrence`; ML-GCN:
            0.4 and 0.25).
        learning_rate, weight_decay: AdamW settings.
        pos_weight_power: each label's positive terms in the loss weigh ``max(1, negatives / positives) ** power``
            (0: plain BCE; 0.5, the default, lifts rare labels' scores: see
            :func:`~gnn_mlc.training.loss.positive_weights`).
        batch_size: rows per training step.
        max_epochs, patience: early stopping on validation mAP.
        validation_fraction: share of the training rows held out for early stopping and threshold tuning, chosen by
            seeded iterative stratification so that every label with enough positives is represented.
        threshold_strategy: how :meth:`predict` turns scores into labels (:mod:`gnn_mlc.thresholds`): ``"global"``
            (default: one threshold tuned on the validation rows for micro-F1), ``"per_label"``, ``"pcut"``,
            ``"top_k"`` or ``"fixed"`` (``threshold``).
        threshold: the ``"fixed"`` threshold.
        decision_top_k: labels per row for ``"top_k"``.
        at_least_one: give every row at least its best-scored label.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        random_state: seed of initialisation, shuffling and the validation split.
        verbose: show a progress bar per epoch with the validation mAP.

    Fitted attributes:
        classes_: (num_labels,) label names. label_embeddings_: (num_labels, embedding_dim) float32.
        label_bias_: (num_labels,). decision_rule_: the fitted :class:`~gnn_mlc.thresholds.DecisionRule`;
        thresholds_: its (num_labels,) thresholds. label_counts_: (num_labels,) training positives per label.
        cooccurrence_: (num_labels, num_labels) int64 CSR co-occurrence counts of all ``n_samples_fit_`` training
        rows. graph_: the :class:`~gnn_mlc.graph.LabelGraph` (``None`` without graph, and after loading: the model
        directory keeps it as ``label_graph.graphml``). scaler_, model_, training_: the scaler, torch module and
        training report. n_features_in_, feature_names_in_, n_samples_fit_.
    """

    def __init__(
        self,
        *,
        use_graph: bool = True,
        hidden_channels: int = 256,
        embedding_dim: int = 128,
        num_gcn_layers: int = 1,
        dropout: float = 0.3,
        graph_weighting: Weighting = "mlgcn",
        tau: float = 0.4,
        p: float = 0.25,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        pos_weight_power: float = 0.5,
        batch_size: int = 128,
        max_epochs: int = 100,
        patience: int = 20,
        validation_fraction: float = 0.15,
        threshold_strategy: Strategy = "global",
        threshold: float = 0.5,
        decision_top_k: int = 1,
        at_least_one: bool = False,
        device: DeviceName = "auto",
        random_state: int = 0,
        verbose: bool = False,
    ) -> None:
        self.use_graph = use_graph
        self.hidden_channels = hidden_channels
        self.embedding_dim = embedding_dim
        self.num_gcn_layers = num_gcn_layers
        self.dropout = dropout
        self.graph_weighting = graph_weighting
        self.tau = tau
        self.p = p
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.pos_weight_power = pos_weight_power
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.threshold_strategy = threshold_strategy
        self.threshold = threshold
        self.decision_top_k = decision_top_k
        self.at_least_one = at_least_one
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(
        self,
        X: Matrix,
        Y: Matrix,
        *,
        label_names: list[str] | None = None,
        feature_names: list[str] | None = None,
        checkpoint: str | Path | None = None,
        resume: bool = False,
        Y_missing: Matrix | None = None,
    ) -> LabelGCNClassifier:
        """Train on features ``X`` (rows, num_features) and 0/1 labels ``Y`` (rows, num_labels); returns ``self``.

        ``X`` may be a SciPy sparse matrix: it stays sparse. ``label_names``/``feature_names`` default to
        ``l0..``/``f0..``. With ``checkpoint``, the training state is saved there after every epoch; with ``resume``
        too, training continues from it and ends exactly as an uninterrupted run with the same data and seed would
        (on CPU); a checkpoint of other data or other parameters is refused. ``Y_missing`` (rows, num_labels) marks
        unknown label values with 1: they are left out of the loss, the label graph's counts and the threshold
        tuning.
        """
        check_parameters(self.get_params())
        X, Y, Y_missing = _checked_arrays(X, Y, Y_missing)
        label_names = _checked_names(label_names, Y.shape[1], "label_names", "l")
        feature_names = None if feature_names is None else _checked_names(feature_names, X.shape[1],
                                                                          "feature_names", "f")
        device = resolve_device(self.device)
        train_rows, validation_rows = stratified_split_indices(
            Y, test_fraction=self.validation_fraction, seed=self.random_state
        )
        self.scaler_ = FeatureScaler.fit(X[train_rows])
        X_scaled = self.scaler_.transform(X)
        missing_train = None if Y_missing is None else Y_missing[train_rows]
        self.graph_ = build_label_graph(
            Y[train_rows], label_names, weighting=self.graph_weighting, tau=self.tau, p=self.p, Y_missing=missing_train,
        ) if self.use_graph else None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            edges = None if self.graph_ is None else self.graph_.edge_index()
            self.model_ = self._build_model(X.shape[1], Y.shape[1], edges)
            with torch.no_grad():
                self.model_.bias.copy_(log_odds_bias(Y[train_rows]))
            split = TrainingSplit(
                X_train=X_scaled[train_rows], Y_train=Y[train_rows], X_validation=X_scaled[validation_rows],
                Y_validation=Y[validation_rows], missing_train=missing_train,
                missing_validation=None if Y_missing is None else Y_missing[validation_rows],
            )
            self.training_: TrainingResult = train_model(
                self.model_, split, self._training_settings(), device=device,
                generator=torch.Generator().manual_seed(self.random_state),
                pos_weight=positive_weights(split.Y_train, self.pos_weight_power, missing_train),
                checkpoint=None if checkpoint is None else Checkpoint(
                    Path(checkpoint), resume=resume, identity=self._run_identity(X, Y, Y_missing)),
                progress=self.verbose,
            )
        self.model_.cpu()
        self.label_counts_ = np.asarray(Y.sum(axis=0), dtype=np.int64).ravel()
        _warn_degenerate_labels(label_names, self.label_counts_, X.shape[0])
        self.cooccurrence_ = cooccurrence_counts(Y)
        self.n_samples_fit_ = X.shape[0]
        self._set_fitted_state(label_names, feature_names, X.shape[1])
        Y_validation = Y[validation_rows]
        self.decision_rule_ = fit_decision_rule(
            Y_validation.toarray() if sp.issparse(Y_validation) else Y_validation,
            self.predict_proba(X[validation_rows]),
            strategy=self.threshold_strategy,
            threshold=self.threshold,
            k=self.decision_top_k,
            at_least_one=self.at_least_one,
            train_cardinality=float(self.label_counts_.sum()) / X.shape[0],
            missing=None if Y_missing is None else Y_missing[validation_rows],
        )
        self.thresholds_ = self.decision_rule_.thresholds
        return self

    def predict_proba(self, X: Matrix) -> np.ndarray:
        """Label probabilities, (rows, num_labels) float32."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(X)))

    def decision_function(self, X: Matrix) -> np.ndarray:
        """Logits ``h W^T + b``, (rows, num_labels) float32."""
        check_is_fitted(self, "model_")
        X = as_feature_matrix(X, name="X")
        if X.shape[1] != self.n_features_in_:
            raise DataError(
                f"X: has {X.shape[1]} features; expected {self.n_features_in_}, as in training. "
                "Hint: select the same feature columns, in the same order"
            )
        if X.shape[0] == 0:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        device = resolve_device(self.device)
        self.model_.to(device)
        try:
            return predict_logits(self.model_, self.scaler_.transform(X), batch_size=4096, device=device)
        finally:
            self.model_.cpu()

    def predict(self, X: Matrix) -> np.ndarray:
        """0/1 decisions (rows, num_labels) uint8, by the fitted decision rule (see ``threshold_strategy``)."""
        check_is_fitted(self, "decision_rule_")
        return self.decision_rule_.decide(self.predict_proba(X))

    def to_directory(
        self, path: str | Path, *, overwrite: bool = False, data_columns: dict[str, str | None] | None = None
    ) -> Path:
        """Write the fitted model to the directory ``path`` (see :mod:`gnn_mlc.model_directory`).

        Args:
            path: the directory to create (atomically).
            overwrite: replace ``path`` when it exists.
            data_columns: the training file's ``id_column`` and ``label_column``, which scoring then defaults to.
        """
        check_is_fitted(self, "decision_rule_")
        parameters = self.get_params()
        parameters.pop("verbose")
        parts = ModelParts(
            parameters=parameters, kind="gcn" if self.use_graph else "independent",
            in_features=int(self.n_features_in_), label_names=[str(name) for name in self.classes_],
            feature_names=None if not hasattr(self, "feature_names_in_") else [str(n) for n in self.feature_names_in_],
            state=self.model_.state_dict(), scaler=self.scaler_, label_embeddings=self.label_embeddings_,
            label_bias=self.label_bias_, decision_rule=self.decision_rule_, label_counts=self.label_counts_,
            num_rows=int(self.n_samples_fit_), cooccurrence=self.cooccurrence_,
            metrics={"validation_map": self.training_.best_validation_map, "best_epoch": self.training_.best_epoch,
                     "epochs_run": self.training_.epochs_run, "history": self.training_.history},
            data_columns=dict(data_columns or {}), graph=self.graph_,
        )
        return save_model_parts(parts, path, overwrite=overwrite)

    @classmethod
    def from_directory(cls, path: str | Path) -> LabelGCNClassifier:
        """Rebuild the fitted classifier saved in ``path`` (checked against its manifest; no code is executed).

        Raises:
            ModelDirectoryError: the directory is missing, changed, of another format version or inconsistent.
        """
        parts = load_model_parts(path)
        try:
            check_parameters(parts.parameters)
            classifier = cls(**parts.parameters)
            graph_edges = (parts.state["edge_index"], parts.state["edge_weight"]) if parts.kind == "gcn" else None
            model = classifier._build_model(parts.in_features, parts.num_labels, graph_edges)
            model.load_state_dict(parts.state, strict=True)
        except (KeyError, TypeError, RuntimeError, ValueError) as error:  # DataError is a ValueError
            message = str(error.args[0]) if error.args else type(error).__name__
            raise ModelDirectoryError(
                f"{Path(path) / 'config.json'}: parameters and weights do not fit together "
                f"({message.splitlines()[0]}); expected files written by one 'gnn-mlc train'. Hint: train it again"
            ) from None
        classifier._restore(parts, model)
        return classifier

    def _restore(self, parts: ModelParts, model: LabelScoringModel) -> None:
        """Set the fitted state from a model directory's parts and the module built from them."""
        self.model_ = model.eval()
        self.scaler_ = parts.scaler
        self.graph_ = None  # the GraphML is for people and tools; the model carries its edges as buffers
        self.training_ = TrainingResult(
            best_epoch=int(parts.metrics.get("best_epoch", 0)),
            best_validation_map=float(parts.metrics.get("validation_map") or float("nan")),
            epochs_run=int(parts.metrics.get("epochs_run", 0)), history=list(parts.metrics.get("history", [])),
        )
        self.label_counts_ = parts.label_counts
        self.cooccurrence_ = parts.cooccurrence
        self.n_samples_fit_ = parts.num_rows
        self._set_fitted_state(parts.label_names, parts.feature_names, parts.in_features)
        self.decision_rule_ = parts.decision_rule
        self.thresholds_ = parts.decision_rule.thresholds

    def _build_model(
        self, in_features: int, num_labels: int, edges: tuple[torch.Tensor, torch.Tensor] | None
    ) -> LabelScoringModel:
        """The torch module for these parameters; ``edges`` is the graph's (edge_index, edge_weight) or None."""
        if edges is None:
            return IndependentLabelModel(
                in_features, num_labels, hidden_channels=self.hidden_channels, embedding_dim=self.embedding_dim,
                dropout=self.dropout,
            )
        return LabelGCNModel(
            in_features, num_labels, edges[0], edges[1], hidden_channels=self.hidden_channels,
            embedding_dim=self.embedding_dim, num_gcn_layers=self.num_gcn_layers, dropout=self.dropout,
        )

    def _set_fitted_state(self, label_names: list[str], feature_names: list[str] | None, num_features: int) -> None:
        """Derive the inference-time attributes from ``model_`` (also used after loading)."""
        with torch.no_grad():
            self.label_embeddings_ = self.model_.label_embeddings().detach().numpy().astype(np.float32)
            self.label_bias_ = self.model_.bias.detach().numpy().astype(np.float32)
        self.classes_ = np.asarray(label_names, dtype=object)
        self.n_features_in_ = num_features
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)

    def _training_settings(self) -> TrainingSettings:
        return TrainingSettings(learning_rate=self.learning_rate, weight_decay=self.weight_decay,
                                batch_size=self.batch_size, max_epochs=self.max_epochs, patience=self.patience)

    def _run_identity(self, X: Matrix, Y: Matrix, Y_missing: Matrix | None) -> dict[str, Any]:
        """What a resumed training must share with the run that wrote its checkpoint: the parameters that shape
        the result (not ``verbose``, ``device``) and a fingerprint of the data."""
        parameters = {name: value for name, value in self.get_params().items() if name not in ("verbose", "device")}
        return {**parameters, "data": data_fingerprint(X, Y, Y_missing)}


def data_fingerprint(X: Matrix, Y: Matrix, Y_missing: Matrix | None = None) -> str:
    """A short hash of the training arrays' shapes and contents (dense and CSR copies of the same data differ)."""
    digest = hashlib.blake2b(digest_size=16)
    for matrix in (X, Y, Y_missing):
        if matrix is None:
            digest.update(b"none")
        elif sp.issparse(matrix):
            for part in (matrix.indptr, matrix.indices, matrix.data):
                digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(np.ascontiguousarray(matrix).tobytes())
        digest.update(repr(getattr(matrix, "shape", None)).encode())
    return digest.hexdigest()


def load_model(path: str | Path) -> LabelGCNClassifier:
    """Read a model directory written by :meth:`LabelGCNClassifier.to_directory` (``gnn-mlc train``)."""
    return LabelGCNClassifier.from_directory(path)


def _checked_arrays(X: Matrix, Y: Matrix, Y_missing: Matrix | None) -> tuple[Matrix, Matrix, Matrix | None]:
    """``fit``'s arrays as float32/uint8, with unknown label values zeroed in ``Y``."""
    X = as_feature_matrix(X, name="X")
    Y = as_label_matrix(Y, name="Y")
    validate_arrays(X, Y, source="fit")
    if Y_missing is not None:
        Y_missing = as_label_matrix(Y_missing, name="Y_missing")
        if Y_missing.shape != Y.shape:
            raise DataError(f"Y_missing: shape {Y_missing.shape}; expected {Y.shape}, the shape of Y")
        Y = as_label_matrix(Y - Y.multiply(Y_missing) if sp.issparse(Y) else Y * (1 - Y_missing), name="Y")
    if X.shape[0] < 2:
        raise DataError(f"fit: {X.shape[0]} row; expected at least 2 (one is held out for validation)")
    return X, Y, Y_missing


def _checked_names(names: list[str] | None, count: int, argument: str, prefix: str) -> list[str]:
    """``names`` as a list of ``count`` unique strings (default ``l0..``/``f0..``)."""
    if names is None:
        return [f"{prefix}{index}" for index in range(count)]
    names = list(names)
    kind = "label" if prefix == "l" else "feature"
    if len(names) != count:
        raise DataError(f"{argument}: {len(names)} names for {count} {kind} columns; expected one each")
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise DataError(f"{argument}: got {name!r}; expected non-empty strings")
        if kind == "label":
            check_label_name(name, where=argument)
        if name in seen:
            raise DataError(f"{argument}: {name!r} appears twice; expected unique names (one column each)")
        seen.add(name)
    return names


def _warn_degenerate_labels(label_names: list[str], counts: np.ndarray, num_rows: int) -> None:
    """Log labels that are never or always positive in training: they train, but nothing can be learned of them."""
    degenerate = (("no positive", np.flatnonzero(counts == 0)), ("only positives", np.flatnonzero(counts == num_rows)))
    for what, labels in degenerate:
        if len(labels):
            names = ", ".join(repr(label_names[index]) for index in labels[:5]) + (", ..." if len(labels) > 5 else "")
            logger.warning("%d label(s) with %s in the training data (%s): their scores only reflect that",
                           len(labels), what, names)
