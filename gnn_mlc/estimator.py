"""``LabelGCNClassifier``: the scikit-learn style face of data checks, label graph, model and training."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from gnn_mlc.data.dataset import Matrix, as_feature_matrix, as_label_matrix, validate_arrays
from gnn_mlc.data.split import stratified_split_indices
from gnn_mlc.errors import DataError
from gnn_mlc.choices import DEVICES, STRATEGIES, WEIGHTINGS, DeviceName, Strategy, Weighting
from gnn_mlc.graph import build_label_graph, cooccurrence_counts
from gnn_mlc.model import IndependentLabelModel, LabelGCNModel, LabelScoringModel
from gnn_mlc.preprocessing import FeatureScaler
from gnn_mlc.thresholds import fit_decision_rule
from gnn_mlc.train import TrainingResult, positive_weights, predict_logits, resolve_device, train_model

logger = logging.getLogger(__name__)


def initialise_bias(model: LabelScoringModel, Y: Matrix) -> None:
    """Start each label's bias at the log-odds of its training frequency (clipped to [1/2n, 1 - 1/2n]).

    With a zero bias the first epochs only learn that most labels are rare; early stopping on a small validation
    set can then stop before the features are used at all (seen on medical: best epoch 1, test mAP 0.04).
    """
    num_rows = Y.shape[0]
    frequency = np.asarray(Y.sum(axis=0), dtype=np.float64).ravel() / num_rows
    frequency = np.clip(frequency, 0.5 / num_rows, 1.0 - 0.5 / num_rows)
    with torch.no_grad():
        model.bias.copy_(torch.from_numpy(np.log(frequency / (1.0 - frequency))))


def _warn_degenerate_labels(label_names: list[str], counts: np.ndarray, num_rows: int) -> None:
    """Log labels that are never or always positive in training: they train, but nothing can be learned of them."""
    degenerate = (("no positive", np.flatnonzero(counts == 0)), ("only positives", np.flatnonzero(counts == num_rows)))
    for what, labels in degenerate:
        if len(labels):
            names = ", ".join(repr(label_names[index]) for index in labels[:5]) + (", ..." if len(labels) > 5 else "")
            logger.warning("%d label(s) with %s in the training data (%s): their scores only reflect that",
                           len(labels), what, names)


class LabelGCNClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label classifier whose label embeddings come from a GCN over the label co-occurrence graph.

    ``scores = sigmoid(encoder(x) W^T + b)`` with ``W = GCN(label features, label graph)`` (see
    :mod:`gnn_mlc.model`); ``use_graph=False`` gives the no-graph baseline (same encoder, independent heads).

    Args:
        use_graph: learn ``W`` through the label graph (True) or as free per-label vectors (False).
        hidden_channels: encoder hidden width.
        embedding_dim: size of the instance vectors and label embeddings.
        num_gcn_layers: graph propagation steps (see :class:`~gnn_mlc.model.LabelGCNModel`).
        dropout: encoder dropout.
        graph_weighting, tau, p: how the label graph is weighted (see :mod:`gnn_mlc.graph`; ML-GCN: 0.4 and 0.25).
        learning_rate, weight_decay: AdamW settings.
        pos_weight_power: each label's positive terms in the loss weigh ``max(1, negatives / positives) ** power``
            (0: plain BCE; 0.5, the default, lifts rare labels' scores: see :func:`~gnn_mlc.train.positive_weights`).
        batch_size: rows per training step.
        max_epochs, patience: early stopping on validation mAP.
        validation_fraction: share of the training rows held out for early stopping and threshold tuning, chosen by
            seeded iterative stratification so that every label with enough positives is represented.
        threshold_strategy: how :meth:`predict` turns scores into labels (:mod:`gnn_mlc.thresholds`): ``"global"``
            (default: one threshold tuned on the validation rows for micro-F1), ``"per_label"``, ``"pcut"``,
            ``"top_k"`` or ``"fixed"`` (``threshold``).
        threshold: the ``"fixed"`` threshold.
        top_k: labels per row for ``"top_k"``.
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
        top_k: int = 1,
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
        self.top_k = top_k
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
        (on CPU). ``Y_missing`` (rows, num_labels) marks unknown label values with 1: they are left out of the loss,
        the label graph's counts and the threshold tuning.
        """
        self._check_parameters()
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
        label_names = [f"l{j}" for j in range(Y.shape[1])] if label_names is None else list(label_names)
        if len(label_names) != Y.shape[1]:
            raise DataError(f"label_names: {len(label_names)} names for {Y.shape[1]} label columns; expected one each")
        if feature_names is not None and len(feature_names) != X.shape[1]:
            raise DataError(
                f"feature_names: {len(feature_names)} names for {X.shape[1]} feature columns; expected one each"
            )
        device = resolve_device(self.device)
        train_rows, validation_rows = stratified_split_indices(
            Y, test_fraction=self.validation_fraction, seed=self.random_state
        )
        self.scaler_ = FeatureScaler.fit(X[train_rows])
        X_scaled = self.scaler_.transform(X)
        self.graph_ = build_label_graph(
            Y[train_rows], label_names, weighting=self.graph_weighting, tau=self.tau, p=self.p,
            Y_missing=None if Y_missing is None else Y_missing[train_rows],
        ) if self.use_graph else None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            edges = None if self.graph_ is None else self.graph_.edge_index()
            self.model_ = self._build_model(X.shape[1], Y.shape[1], edges)
            initialise_bias(self.model_, Y[train_rows])
            generator = torch.Generator().manual_seed(self.random_state)
            self.training_: TrainingResult = train_model(
                self.model_,
                X_scaled[train_rows],
                Y[train_rows],
                X_scaled[validation_rows],
                Y[validation_rows],
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                batch_size=self.batch_size,
                max_epochs=self.max_epochs,
                patience=self.patience,
                device=device,
                generator=generator,
                progress=self.verbose,
                checkpoint=None if checkpoint is None else Path(checkpoint),
                resume=resume,
                missing_train=None if Y_missing is None else Y_missing[train_rows],
                missing_validation=None if Y_missing is None else Y_missing[validation_rows],
                pos_weight=positive_weights(Y[train_rows], self.pos_weight_power,
                                            None if Y_missing is None else Y_missing[train_rows]),
            )
        self.model_.cpu()
        self.label_counts_ = np.asarray(Y.sum(axis=0), dtype=np.int64).ravel()
        _warn_degenerate_labels(label_names, self.label_counts_, X.shape[0])
        self.cooccurrence_ = cooccurrence_counts(Y)
        self.n_samples_fit_ = X.shape[0]
        self._set_fitted_state(label_names, feature_names, X.shape[1])
        Y_validation = Y[validation_rows]
        self.decision_rule_ = fit_decision_rule(
            Y_validation.toarray() if hasattr(Y_validation, "toarray") else Y_validation,
            self.predict_proba(X[validation_rows]),
            strategy=self.threshold_strategy,
            threshold=self.threshold,
            k=self.top_k,
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

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the fitted model to the directory ``path``; see :mod:`gnn_mlc.model_directory`."""
        from gnn_mlc.model_directory import save_model

        return save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> LabelGCNClassifier:
        """Read a model directory written by :meth:`save`."""
        from gnn_mlc.model_directory import load_model

        return load_model(path)

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

    def _check_parameters(self) -> None:
        """Validate every constructor parameter (at ``fit`` and when a model directory is loaded)."""
        for name, choices in (("graph_weighting", WEIGHTINGS), ("threshold_strategy", STRATEGIES),
                              ("device", DEVICES)):
            value = getattr(self, name)
            if value not in choices and not (name == "device" and isinstance(value, str)
                                             and value.startswith("cuda:")):
                raise DataError(f"{name}: got {value!r}; expected one of {', '.join(choices)}")
        for name in ("use_graph", "at_least_one", "verbose"):
            if not isinstance(getattr(self, name), bool):
                raise DataError(f"{name}: got {getattr(self, name)!r}; expected True or False")
        if not isinstance(self.random_state, (int, np.integer)) or isinstance(self.random_state, bool):
            raise DataError(f"random_state: got {self.random_state!r}; expected an integer")
        for name in ("tau", "p", "pos_weight_power"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
                raise DataError(f"{name}: got {value!r}; expected a number in [0, 1]")
        positive_integers = ("hidden_channels", "embedding_dim", "batch_size", "max_epochs", "patience", "top_k")
        for name in positive_integers + (("num_gcn_layers",) if self.use_graph else ()):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise DataError(f"{name}: got {value!r}; expected a positive integer")
        for name, low, high in (("dropout", 0.0, 0.99), ("validation_fraction", 0.01, 0.9), ("threshold", 0.0, 1.0)):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not low <= value <= high:
                raise DataError(f"{name}: got {value!r}; expected a number in [{low}, {high}]")
        for name in ("learning_rate", "weight_decay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0 or (name == "learning_rate" and value == 0):
                raise DataError(f"{name}: got {value!r}; expected a positive number")
