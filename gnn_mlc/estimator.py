"""``LabelGCNClassifier``: the scikit-learn style face of data checks, label graph, model and training."""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from gnn_mlc._torch import encode, resolve_device
from gnn_mlc._typing import DeviceName, Matrix, Strategy, Weighting
from gnn_mlc.data.dataset import (
    as_feature_matrix,
    as_label_matrix,
    check_label_name,
    validate_arrays,
)
from gnn_mlc.data.items import ItemColumn
from gnn_mlc.data.preprocessing import FeatureScaler
from gnn_mlc.data.split import stratified_split_indices
from gnn_mlc.errors import DataError, ModelDirectoryError
from gnn_mlc.graph import build_label_graph, cooccurrence_counts
from gnn_mlc.graph.label_space import LabelPlan, place_columns, plan_labels
from gnn_mlc.graph.sources import ExternalEdges, GraphSources, LabelFeatures, LabelLog
from gnn_mlc.model_directory import ModelParts, load_model_parts, save_model_parts
from gnn_mlc.nn.label_models import (
    IndependentLabelModel,
    LabelGCNModel,
    LabelScoringModel,
)
from gnn_mlc.nn.label_propagation import KnownLabelTerm
from gnn_mlc.parameters import check_parameters
from gnn_mlc.thresholds import (
    DecisionRule,
    best_f1_threshold_by_blocks,
    fit_decision_rule,
)
from gnn_mlc.training import (
    Checkpoint,
    TrainingResult,
    TrainingSettings,
    TrainingSplit,
    log_odds_bias,
    positive_weights,
    train_model,
)
from gnn_mlc.training.graph_labels import infer_graph_label_vectors
from gnn_mlc.training.known_labels import (
    calibrate_known_term,
    fit_known_label_term,
    random_known_split,
)

logger = logging.getLogger(__name__)
RARE_OWN_SHARE = 0.5
"""A rare label's vector: this share of the network's own, the rest from the log (see gnn_mlc.graph.label_space)."""
VALIDATION_ROWS = 10_000
"""At most this many validation rows (a seeded sample of the held-out share) are scored for early stopping and
decision thresholds: at 50,000 labels they alone are 500 million scores."""
DENSE_SCORES = 50_000_000
"""Above this many validation scores, decision thresholds are tuned block by block (see ``_fit_decision_rule``)."""
GRAPH_ROWS = 20_000
"""Training rows kept (their encodings and labels, a seeded sample) to distil graph-scored labels into vectors."""


class LabelGCNClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label classifier whose label embeddings come from a GCN over the label co-occurrence graph.

    ``scores = sigmoid(encoder(x) W^T + b)`` with ``W = GCN(label vectors, label graph)`` (see
    :mod:`gnn_mlc.nn.label_models`); ``use_graph=False`` gives the no-graph baseline (same encoder, independent
    heads). Every parameter's valid values are declared once in :mod:`gnn_mlc.parameters` and checked at ``fit``.

    Args:
        use_graph: build the label graph (training rows, and the graph sources ``fit`` takes) and score through it the
            labels the network cannot learn (cold and rare labels); False: the no-graph baseline, no graph sources.
        hidden_channels: encoder hidden width.
        embedding_dim: size of the instance vectors and label embeddings.
        num_gcn_layers: GCN propagation steps of the trained labels' vectors over the graph (see
            :class:`~gnn_mlc.nn.LabelGCNModel`); 0, the default, leaves them free: on labels the network learns, the
            propagation was level with free vectors on full data sets and cost up to 2.4 points of mAP on small ones
            (benchmarks/results/accuracy.md, cold_start.md).
        dropout: encoder dropout, in [0, 1).
        graph_weighting, tau, p: how the label graph is weighted (see :mod:`gnn_mlc.graph.cooccurrence`; ML-GCN:
            0.4 and 0.25).
        learning_rate, weight_decay: AdamW settings.
        pos_weight_power: each label's positive terms in the loss weigh ``max(1, negatives / positives) ** power``
            (0: plain BCE; 0.5, the default, lifts rare labels' scores: see
            :func:`~gnn_mlc.training.loss.positive_weights`).
        batch_size: rows per training step.
        negative_samples: 0 (default) trains on every label's loss; ``n`` > 0 scores each step's positive labels and
            ``n`` others drawn at random, weighted to an unbiased estimate of the full loss
            (:func:`~gnn_mlc.training.loss.sample_label_columns`): for tens of thousands of labels (at 50,000, 8,192
            matched the full loss's P@5 in 2.8x less time on 2 CPU cores, 3.6x on a GPU). Not with ``known_labels``.
        max_epochs, patience: early stopping on validation mAP.
        validation_fraction: share of the training rows held out for early stopping and threshold tuning, chosen by
            seeded iterative stratification so that every label with enough positives is represented.
        rare_label_positives: a label with at most this many positive training rows that the label-only log
            (``graph_data``) covers takes its vector from the log, its few positives as shots (0: never); see
            :mod:`gnn_mlc.graph.label_space`.
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
        classes_: (num_labels,) label names: the training labels, then the labels only the graph sources name.
        label_embeddings_: (num_labels, embedding_dim) float32, the scoring vectors ``W`` of every label.
        label_bias_: (num_labels,). label_sources_: (num_labels,) where each vector came from: ``"trained"`` (the
        network), ``"log"``, ``"edges"``, ``"features"`` (:mod:`gnn_mlc.training.graph_labels`).
        trained_labels_: indices of the labels the torch module ``model_`` scores (in its output order).
        decision_rule_: the fitted :class:`~gnn_mlc.thresholds.DecisionRule`; thresholds_: its (num_labels,)
        thresholds. label_counts_: (num_labels,) positive training (feature) rows per label.
        cooccurrence_: (num_labels, num_labels) int64 CSR co-occurrence counts of the training rows and the
        label-only log, ``cooccurrence_rows_`` rows in all. graph_: the :class:`~gnn_mlc.graph.LabelGraph` of the
        trained labels (``None`` without graph, and after loading: the model directory keeps it as
        ``label_graph.graphml``). graph_rows_: ``(encodings, labels)`` of up to 20,000 training rows, kept so that
        :meth:`add_labels` can distil new labels without the training data. scaler_, model_, training_: the
        scaler, torch module and training report. n_features_in_, feature_names_in_, n_samples_fit_.
    """

    def __init__(
        self,
        *,
        use_graph: bool = True,
        hidden_channels: int = 256,
        embedding_dim: int = 128,
        num_gcn_layers: int = 0,
        dropout: float = 0.3,
        graph_weighting: Weighting = "mlgcn",
        tau: float = 0.4,
        p: float = 0.25,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        pos_weight_power: float = 0.5,
        batch_size: int = 128,
        negative_samples: int = 0,
        max_epochs: int = 100,
        patience: int = 20,
        validation_fraction: float = 0.15,
        rare_label_positives: int = 3,
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
        self.negative_samples = negative_samples
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.rare_label_positives = rare_label_positives
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
        graph_data: LabelLog | Matrix | str | Path | None = None,
        graph_label_names: list[str] | None = None,
        graph_edges: ExternalEdges | nx.Graph | str | Path | None = None,
        label_features: LabelFeatures | tuple[np.ndarray, list[str]] | str | Path | None = None,
        known_labels: Matrix | Literal["split"] | None = None,
        item_columns: Sequence[ItemColumn] = (),
    ) -> LabelGCNClassifier:
        """Train on features ``X`` (rows, num_features) and 0/1 labels ``Y`` (rows, num_labels); returns ``self``.

        ``X`` may be a SciPy sparse matrix: it stays sparse. ``label_names``/``feature_names`` default to
        ``l0..``/``f0..``. With ``checkpoint``, the training state is saved there after every epoch; with ``resume``
        too, training continues from it and ends exactly as an uninterrupted run with the same data and seed would
        (on CPU); a checkpoint of other data or other parameters is refused. ``Y_missing`` (rows, num_labels) marks
        unknown label values with 1: they are left out of the loss, the label graph's counts and the threshold
        tuning.

        Graph sources (see :mod:`gnn_mlc.graph.sources`): ``graph_data``, label-only rows (a 0/1 matrix with
        ``graph_label_names``, a :class:`~gnn_mlc.graph.sources.LabelLog` or a file), merged into the co-occurrence
        counts; ``graph_edges``, external edges (a networkx graph, a :class:`~gnn_mlc.graph.sources.ExternalEdges`
        or a CSV/GraphML/GEXF file); ``label_features``, one vector per label. A label they name that has no positive
        row in ``Y`` is a cold label: part of the model (in ``classes_``), scored from the graph.

        Known labels (:mod:`gnn_mlc.training.known_labels`): ``known_labels`` (rows, num_labels) 0/1 marks the labels
        each row already has (a user's history), ``Y`` the labels to learn; the model then takes a row's known labels
        as evidence over the label graph (``predict_proba(X, known_labels=K)``). ``known_labels="split"`` draws
        random known parts of each training row's labels instead, so plain multi-label data trains for it too.

        ``item_columns``: the item-list columns the features end with (``Dataset.item_columns`` of a table with
        item histories): the numeric features before them are standardised apart from the bags of items, and the
        model directory keeps the vocabularies so that scoring reads its input the same way.
        """
        check_parameters(self.get_params())
        X, Y, Y_missing = _checked_arrays(X, Y, Y_missing)
        known = _checked_known(known_labels, Y.shape)
        if known is not None and self.negative_samples:
            raise DataError("negative_samples: sampled negatives do not combine with known_labels (the known-label "
                            "term scores every label); expected negative_samples=0 with known labels")
        label_names = _checked_names(label_names, Y.shape[1], "label_names", "l")
        feature_names = None if feature_names is None else _checked_names(feature_names, X.shape[1],
                                                                          "feature_names", "f")
        sources = GraphSources.resolve(graph_data, graph_label_names, graph_edges, label_features)
        space = sources.label_space(label_names) if sources else label_names
        Y_space = place_columns(Y, label_names, space)
        log_rows = None if sources.log is None else sources.log.aligned(space)
        plan = plan_labels(space, len(label_names), np.asarray(Y_space.sum(axis=0)).ravel(),
                           _graph_label_set(sources),
                           np.zeros(len(space)) if log_rows is None else np.asarray(log_rows.sum(axis=0)).ravel(),
                           max_rare_positives=self.rare_label_positives)
        unknown = _unknown_entries(Y_missing, label_names, space, plan.cold, X.shape[0])  # for the graph
        device = resolve_device(self.device)
        train_rows, validation_rows = stratified_split_indices(
            Y, test_fraction=self.validation_fraction, seed=self.random_state
        )
        if len(validation_rows) > VALIDATION_ROWS:  # scored every epoch: a seeded sample at recommender scale
            validation_rows = np.sort(np.random.default_rng(self.random_state).choice(
                validation_rows, VALIDATION_ROWS, replace=False))
        self.item_columns_ = _checked_item_columns(item_columns, X.shape[1], feature_names)
        dense_columns = X.shape[1] - sum(len(column.items) for column in item_columns) if item_columns else 0
        self.scaler_ = FeatureScaler.fit(X[train_rows], dense_columns=dense_columns)
        X_scaled = self.scaler_.transform(X)
        trained = plan.trained  # the columns of Y: the network learns exactly what the no-graph network would
        self.trained_labels_ = trained
        Y_trained, missing_trained = Y, Y_missing
        edges_space = None if sources.edges is None else sources.edges.adjacency(space)
        if not self.use_graph and (sources or known is not None):
            raise DataError("graph sources (graph_data, graph_edges, label_features) or known labels were given with "
                            "use_graph=False; expected use_graph=True, the default. Hint: drop --no-graph")
        self.graph_ = build_label_graph(
            Y_trained[train_rows], label_names, weighting=self.graph_weighting, tau=self.tau,
            p=self.p, Y_missing=None if missing_trained is None else missing_trained[train_rows],
            log_rows=None if log_rows is None else log_rows[:, trained],
            external=None if edges_space is None else edges_space[trained][:, trained],
        ) if self.use_graph else None
        known_term, known_validation, known_bias = self._known_label_term(Y, known, train_rows, validation_rows)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            edges = None if self.graph_ is None or self.num_gcn_layers == 0 else self.graph_.edge_index()
            self.model_ = self._build_model(X.shape[1], len(trained), edges)
            with torch.no_grad():
                if known_bias is None:
                    self.model_.bias.copy_(log_odds_bias(Y_trained[train_rows]))
                else:  # start from the calibrated known-label term alone (gnn_mlc.training.known_labels)
                    self.model_.bias.fill_(known_bias)
                    self.model_.free_label_vectors().zero_()
            split = TrainingSplit(
                X_train=X_scaled[train_rows], Y_train=Y_trained[train_rows], X_validation=X_scaled[validation_rows],
                Y_validation=Y_trained[validation_rows],
                missing_train=None if missing_trained is None else missing_trained[train_rows],
                missing_validation=None if missing_trained is None else missing_trained[validation_rows],
                known_train=None if not isinstance(known, sp.csr_matrix) else known[train_rows],
                known_validation=known_validation, known_split=isinstance(known, str),
            )
            self.training_: TrainingResult = train_model(
                self.model_, split, self._training_settings(), device=device,
                generator=torch.Generator().manual_seed(self.random_state),
                pos_weight=positive_weights(split.Y_train, self.pos_weight_power, split.missing_train),
                checkpoint=None if checkpoint is None else Checkpoint(
                    Path(checkpoint), resume=resume, identity=self._run_identity(X, Y, Y_missing, sources, known)),
                progress=self.verbose, known_term=known_term,
            )
        self.model_.cpu()
        self.known_term_ = None if known_term is None else self._refit_known_term(known_term, Y, known)
        self.classes_ = np.asarray(space, dtype=object)
        self.n_features_in_ = X.shape[1]
        if feature_names is not None:
            self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        self.label_counts_ = np.asarray(Y_space.sum(axis=0), dtype=np.int64).ravel()
        _warn_degenerate_labels(space, self.label_counts_, X.shape[0], skip=plan.cold)
        self.cooccurrence_ = cooccurrence_counts(Y_space if log_rows is None else sp.vstack([Y_space, log_rows]))
        self.cooccurrence_rows_ = X.shape[0] + (0 if log_rows is None else log_rows.shape[0])
        self.n_samples_fit_ = X.shape[0]
        self.graph_rows_ = self._graph_rows(X_scaled, Y_space, unknown)
        self._set_label_vectors(plan, sources, log_rows, edges_space)
        held = None if known_validation is None else place_columns(known_validation, label_names, space)
        unknown_validation = None if unknown is None else unknown[validation_rows]
        if held is not None:  # a known label is neither a decision to tune for nor a miss
            unknown_validation = held if unknown_validation is None else sp.csr_matrix(held.maximum(unknown_validation))
        self.decision_rule_ = self._fit_decision_rule(X[validation_rows], Y_space[validation_rows], held,
                                                      unknown_validation, cardinality=self.label_counts_.sum() / X.shape[0])
        self.thresholds_ = self.decision_rule_.thresholds
        return self

    def _fit_decision_rule(self, X: Matrix, Y: sp.csr_matrix, known: sp.csr_matrix | None,
                           unknown: sp.csr_matrix | None, *, cardinality: float) -> DecisionRule:
        """The decision rule tuned on validation rows ``X``, ``Y`` (unknown entries, cold labels and known labels
        left out). Up to ``DENSE_SCORES`` scores at once it is :func:`~gnn_mlc.thresholds.fit_decision_rule`; above,
        the global threshold is found exactly over blocks of rows, and ``per_label`` and ``pcut`` use the first
        ``DENSE_SCORES // num_labels`` rows."""
        options = {"strategy": self.threshold_strategy, "threshold": self.threshold, "k": self.decision_top_k,
                   "at_least_one": self.at_least_one}
        if Y.shape[0] * Y.shape[1] > DENSE_SCORES and self.threshold_strategy == "global":
            tuned = best_f1_threshold_by_blocks(
                Y, lambda rows: self.predict_proba(X[rows], known_labels=None if known is None else known[rows]),
                missing=unknown)
            return DecisionRule(strategy="global", thresholds=np.full(Y.shape[1], tuned, dtype=np.float32),
                                k=self.decision_top_k, at_least_one=self.at_least_one, default=tuned)
        rows = np.arange(min(Y.shape[0], max(1, DENSE_SCORES // Y.shape[1])))
        return fit_decision_rule(
            Y[rows].toarray(), self.predict_proba(X[rows], known_labels=None if known is None else known[rows]),
            train_cardinality=float(cardinality), missing=None if unknown is None else unknown[rows], **options)

    def add_labels(
        self,
        *,
        graph_data: LabelLog | Matrix | str | Path | None = None,
        graph_label_names: list[str] | None = None,
        graph_edges: ExternalEdges | nx.Graph | str | Path | None = None,
        label_features: LabelFeatures | tuple[np.ndarray, list[str]] | str | Path | None = None,
    ) -> LabelGCNClassifier:
        """A copy of this fitted model with the labels the new graph sources name added, without retraining.

        Each new label gets a vector, a bias and the decision rule's default threshold by the procedure ``fit``
        uses for cold labels (:mod:`gnn_mlc.training.graph_labels`): from the log (distilled on the training rows
        kept in ``graph_rows_``), else from edges to known labels, else from label features. The network and the
        existing labels are unchanged.

        Raises:
            DataError: no source given, a malformed source, or no new label in it.
        """
        check_is_fitted(self, "decision_rule_")
        sources = GraphSources.resolve(graph_data, graph_label_names, graph_edges, label_features)
        if not sources:
            raise DataError("add_labels: no graph source; expected graph_data, graph_edges or label_features")
        space = sources.label_space([str(name) for name in self.classes_])
        new = np.arange(len(self.classes_), len(space))
        if not len(new):
            raise DataError("add_labels: every label the sources name is already in the model; expected new labels")
        extended = copy.deepcopy(self)
        extended._extend_label_space(space)
        log_rows = None if sources.log is None else sources.log.aligned(space)
        edges_space = None if sources.edges is None else sources.edges.adjacency(space)
        plan = LabelPlan(label_names=space, trained=extended.trained_labels_, cold=new, rare=np.zeros(0, dtype=np.int64))
        extended._set_label_vectors(plan, sources, log_rows, edges_space, only=new)
        return extended

    def predict_proba(self, X: Matrix, *, known_labels: Matrix | None = None) -> np.ndarray:
        """Label probabilities, (rows, num_labels) float32; see :meth:`decision_function`."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(X, known_labels=known_labels)))

    def decision_function(self, X: Matrix, *, known_labels: Matrix | None = None) -> np.ndarray:
        """Logits ``h W^T + b``, (rows, num_labels) float32, with ``W``, ``b`` = ``label_embeddings_``,
        ``label_bias_`` (the computation of :class:`~gnn_mlc.serving.Scorer`); with ``known_labels`` (rows,
        num_labels) 0/1, plus the known labels' evidence (a model fitted with ``known_labels``)."""
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
            encodings = encode(self.model_.encoder, self.scaler_.transform(X), batch_size=4096, device=device)
        finally:
            self.model_.cpu()
        logits = encodings @ self.label_embeddings_.T + self.label_bias_
        if known_labels is not None:
            logits += self._known_evidence(known_labels, X.shape[0])
        return logits

    def _known_evidence(self, known_labels: Matrix, num_rows: int) -> np.ndarray:
        """(rows, num_labels) the known labels' evidence over the label space (trained labels only).

        Raises:
            DataError: the model was not fitted with known labels, or ``known_labels`` has another shape.
        """
        if getattr(self, "known_term_", None) is None:
            raise DataError("known_labels: this model was not fitted with known labels; expected a model fitted with "
                            "known_labels= (CLI: train --known-column or --known-split)")
        known = _checked_known(known_labels, (num_rows, len(self.classes_)))
        evidence = np.zeros((num_rows, len(self.classes_)), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, num_rows, 4096):
                block = torch.from_numpy(known[start:start + 4096][:, self.trained_labels_].toarray()).float()
                evidence[start:start + 4096, self.trained_labels_] = self.known_term_(block).numpy()
        return evidence

    def predict(self, X: Matrix) -> np.ndarray:
        """0/1 decisions (rows, num_labels) uint8, by the fitted decision rule (see ``threshold_strategy``)."""
        check_is_fitted(self, "decision_rule_")
        return self.decision_rule_.decide(self.predict_proba(X))

    def to_directory(
        self, path: str | Path, *, overwrite: bool = False, data_columns: dict[str, str | None] | None = None,
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
            parameters=parameters, kind="gcn" if isinstance(self.model_, LabelGCNModel) else "independent",
            in_features=int(self.n_features_in_), label_names=[str(name) for name in self.classes_],
            feature_names=None if not hasattr(self, "feature_names_in_") else [str(n) for n in self.feature_names_in_],
            state=self.model_.state_dict(), scaler=self.scaler_, label_embeddings=self.label_embeddings_,
            label_bias=self.label_bias_, decision_rule=self.decision_rule_, label_counts=self.label_counts_,
            num_rows=int(self.n_samples_fit_), cooccurrence=self.cooccurrence_,
            metrics={"validation": self.training_.best_validation, "validation_metric": self.training_.validation_metric,
                     "best_epoch": self.training_.best_epoch,
                     "epochs_run": self.training_.epochs_run, "history": self.training_.history},
            data_columns=dict(data_columns or {}), graph=self.graph_,
            trained_labels=[int(index) for index in self.trained_labels_],
            label_sources=[str(source) for source in self.label_sources_],
            cooccurrence_rows=int(self.cooccurrence_rows_), graph_rows=self.graph_rows_,
            label_features=getattr(self, "label_features_", None),
            known_term=None if getattr(self, "known_term_", None) is None else (
                self.known_term_.edge_index.numpy(), self.known_term_.weight.numpy(),
                float(self.known_term_.scale.detach())),
            item_columns=list(self.item_columns_),
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
            model = classifier._build_model(parts.in_features, len(parts.trained_labels), graph_edges)
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
        self.item_columns_ = list(parts.item_columns)
        self.graph_ = None  # the GraphML is for people and tools; the model carries its edges as buffers
        self.training_ = TrainingResult(
            best_epoch=int(parts.metrics.get("best_epoch", 0)),
            best_validation=float(parts.metrics.get("validation") or float("nan")),
            validation_metric=str(parts.metrics.get("validation_metric", "map")),
            epochs_run=int(parts.metrics.get("epochs_run", 0)), history=list(parts.metrics.get("history", [])),
        )
        self.classes_ = np.asarray(parts.label_names, dtype=object)
        self.n_features_in_ = parts.in_features
        if parts.feature_names is not None:
            self.feature_names_in_ = np.asarray(parts.feature_names, dtype=object)
        self.label_embeddings_, self.label_bias_ = parts.label_embeddings, parts.label_bias
        self.label_sources_ = np.asarray(parts.label_sources, dtype=object)
        self.trained_labels_ = np.asarray(parts.trained_labels, dtype=np.int64)
        self.label_counts_ = parts.label_counts
        self.cooccurrence_ = parts.cooccurrence
        self.cooccurrence_rows_ = parts.cooccurrence_rows
        self.graph_rows_ = parts.graph_rows
        if parts.label_features is not None:
            self.label_features_ = parts.label_features
        self.known_term_ = None if parts.known_term is None else KnownLabelTerm.from_parts(
            *parts.known_term, num_labels=len(parts.trained_labels))
        self.n_samples_fit_ = parts.num_rows
        self.decision_rule_ = parts.decision_rule
        self.thresholds_ = parts.decision_rule.thresholds

    def _set_label_vectors(self, plan: LabelPlan, sources: GraphSources, log_rows: sp.csr_matrix | None,
                           edges: sp.csr_matrix | None, *, only: np.ndarray | None = None) -> None:
        """``label_embeddings_``, ``label_bias_``, ``label_sources_``: the network's vectors for the trained
        labels, the graph's for the cold and rare ones (``only``: infer these, keep the rest as they are)."""
        if only is None:
            embeddings = np.zeros((len(plan.label_names), self.embedding_dim), dtype=np.float32)
            bias = np.zeros(len(plan.label_names), dtype=np.float32)
            label_sources = np.full(len(plan.label_names), "none", dtype=object)
            with torch.no_grad():
                embeddings[plan.trained] = self.model_.label_embeddings().numpy()
                bias[plan.trained] = self.model_.bias.numpy()
            label_sources[plan.trained] = "trained"
            targets = plan.graph_scored
        else:
            embeddings, bias, label_sources = self.label_embeddings_, self.label_bias_, self.label_sources_
            targets = only
        features, has_features = sources.feature_matrix(plan.label_names)
        if features is not None:
            features, has_features = self._merge_label_features(features, has_features)
        if len(targets):
            inputs = np.setdiff1d(np.flatnonzero(label_sources == "trained"), targets)
            encodings, rows = self.graph_rows_
            unknown = sp.csr_matrix((np.ones(rows.shape[0] * len(plan.cold), dtype=np.uint8),
                                     (np.repeat(np.arange(rows.shape[0]), len(plan.cold)),
                                      np.tile(plan.cold, rows.shape[0]))), shape=rows.shape)
            vectors = infer_graph_label_vectors(
                targets, inputs=inputs, embeddings=embeddings, bias=bias, encodings=encodings, feature_rows=rows,
                log_rows=log_rows, unknown=unknown, edges=None if edges is None else edges.T.tocsr(),
                label_features=features, has_features=has_features,
            )
            own = np.isin(vectors.labels, plan.rare)  # a rare label's own head keeps a share (RARE_OWN_SHARE)
            embeddings[vectors.labels] = np.where(own[:, None], RARE_OWN_SHARE * embeddings[vectors.labels]
                                                  + (1 - RARE_OWN_SHARE) * vectors.embeddings, vectors.embeddings)
            bias[vectors.labels] = np.where(own, RARE_OWN_SHARE * bias[vectors.labels]
                                            + (1 - RARE_OWN_SHARE) * vectors.bias, vectors.bias)
            label_sources[vectors.labels] = vectors.sources
            unreached = np.setdiff1d(targets, vectors.labels)
            if len(unreached):
                names = ", ".join(repr(plan.label_names[index]) for index in unreached[:5])
                logger.warning("%d new label(s) linked to nothing the model knows (%s%s): they can only be scored "
                               "from label features; without them they are never recommended", len(unreached),
                               names, ", ..." if len(unreached) > 5 else "")
                embeddings[unreached], bias[unreached] = 0.0, float(bias[inputs].min()) if len(inputs) else -10.0
        self.label_embeddings_, self.label_bias_, self.label_sources_ = embeddings, bias, label_sources

    def _merge_label_features(self, features: np.ndarray, has_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """These label features, over the stored ones of a fitted model (the new ones win); kept as
        ``label_features_``.

        Raises:
            DataError: a width other than the stored features'.
        """
        stored = getattr(self, "label_features_", None)
        if stored is not None:
            old, old_mask = stored
            if old.shape[1] != features.shape[1]:
                raise DataError(f"label_features: {features.shape[1]} values per label; expected "
                                f"{old.shape[1]}, the width of the model's label features")
            features, has_features = features.copy(), has_features.copy()
            keep = old_mask & ~has_features[: len(old_mask)]
            features[: len(old_mask)][keep] = old[keep]
            has_features[: len(old_mask)] |= old_mask
        self.label_features_ = (features, has_features)
        return features, has_features

    def _extend_label_space(self, space: list[str]) -> None:
        """Grow every per-label attribute to ``space`` (the current labels first); new labels have no vector yet."""
        extra = len(space) - len(self.classes_)
        self.classes_ = np.asarray(space, dtype=object)
        self.label_embeddings_ = np.vstack([self.label_embeddings_, np.zeros((extra, self.label_embeddings_.shape[1]),
                                                                             dtype=np.float32)])
        self.label_bias_ = np.concatenate([self.label_bias_, np.zeros(extra, dtype=np.float32)])
        self.label_sources_ = np.concatenate([self.label_sources_, np.full(extra, "none", dtype=object)])
        self.label_counts_ = np.concatenate([self.label_counts_, np.zeros(extra, dtype=np.int64)])
        self.cooccurrence_ = sp.csr_matrix(sp.block_diag([self.cooccurrence_, sp.csr_matrix((extra, extra))]),
                                           dtype=np.int64)
        encodings, rows = self.graph_rows_
        self.graph_rows_ = (encodings, sp.csr_matrix(sp.hstack([rows, sp.csr_matrix((rows.shape[0], extra))]),
                                                     dtype=np.uint8))
        if hasattr(self, "label_features_"):
            features, mask = self.label_features_
            self.label_features_ = (np.vstack([features, np.zeros((extra, features.shape[1]), np.float32)]),
                                    np.concatenate([mask, np.zeros(extra, dtype=bool)]))
        self.decision_rule_ = self.decision_rule_.extended(extra)
        self.thresholds_ = self.decision_rule_.thresholds

    def _graph_rows(self, X_scaled: Matrix, Y_space: sp.csr_matrix, unknown: sp.csr_matrix | None
                    ) -> tuple[np.ndarray, sp.csr_matrix]:
        """``(encodings, labels)`` of a seeded sample of up to ``GRAPH_ROWS`` training rows: what distils graph-
        scored labels into vectors, now and in :meth:`add_labels` (unknown label values are left out)."""
        rows = np.arange(X_scaled.shape[0])
        if len(rows) > GRAPH_ROWS:
            rows = np.sort(np.random.default_rng(self.random_state).choice(rows, GRAPH_ROWS, replace=False))
        with torch.no_grad():
            encodings = encode(self.model_.encoder, X_scaled[rows], batch_size=4096, device=torch.device("cpu"))
        labels = Y_space[rows]
        if unknown is not None:
            labels = sp.csr_matrix(labels - labels.multiply(unknown[rows]), dtype=np.uint8)
            labels.eliminate_zeros()
        return encodings, labels

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

    def _training_settings(self) -> TrainingSettings:
        return TrainingSettings(learning_rate=self.learning_rate, weight_decay=self.weight_decay,
                                batch_size=self.batch_size, max_epochs=self.max_epochs, patience=self.patience,
                                negative_samples=self.negative_samples)

    def _run_identity(self, X: Matrix, Y: Matrix, Y_missing: Matrix | None, sources: GraphSources,
                      known: sp.csr_matrix | str | None) -> dict[str, Any]:
        """What a resumed training must share with the run that wrote its checkpoint: the parameters that shape
        the result (not ``verbose``, ``device``) and a fingerprint of the data (the log and known labels included)."""
        parameters = {name: value for name, value in self.get_params().items() if name not in ("verbose", "device")}
        log = None if sources.log is None else sources.log.Y
        items = [[column.name, len(column.items), column.weighting] for column in self.item_columns_]
        return {**parameters, "known": known if isinstance(known, str) else None, "item_columns": items,
                "data": data_fingerprint(X, Y, Y_missing, log, None if isinstance(known, str) else known)}

    def _refit_known_term(self, term: KnownLabelTerm, Y: Matrix, known: sp.csr_matrix | str) -> KnownLabelTerm:
        """The term's weights fitted again on every training row (validation rows included), its scale kept."""
        every = sp.csr_matrix(Y, dtype=np.uint8) if isinstance(known, str) else sp.csr_matrix(Y + known)
        refitted, _ = fit_known_label_term(every, seed=self.random_state, regularisation=self.known_regularisation_)
        with torch.no_grad():
            refitted.scale.copy_(term.scale.detach().cpu())
        return refitted.eval()

    def _known_label_term(
        self, Y: Matrix, known: sp.csr_matrix | str | None, train_rows: np.ndarray, validation_rows: np.ndarray
    ) -> tuple[KnownLabelTerm | None, sp.csr_matrix | None, float | None]:
        """The known-label term fitted and calibrated on the training rows (:mod:`gnn_mlc.training.known_labels`),
        the validation rows' known labels (a seeded random split with ``known="split"``) and the network's starting
        biases; ``(None, None, None)`` without known labels."""
        if known is None:
            return None, None, None
        Y = sp.csr_matrix(Y, dtype=np.uint8)
        given = None if isinstance(known, str) else known[train_rows]
        every = Y[train_rows] if given is None else sp.csr_matrix(Y[train_rows] + given)  # known and target alike
        term, self.known_regularisation_ = fit_known_label_term(every, seed=self.random_state)
        bias = calibrate_known_term(term, Y[train_rows], "split" if given is None else given, seed=self.random_state)
        if isinstance(known, str):
            return term, random_known_split(Y[validation_rows], np.random.default_rng(self.random_state + 1)), bias
        return term, known[validation_rows], bias


def data_fingerprint(*matrices: Matrix | None) -> str:
    """A short hash of the training arrays' shapes and contents (dense and CSR copies of the same data differ)."""
    digest = hashlib.blake2b(digest_size=16)
    for matrix in matrices:
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


def _checked_item_columns(item_columns: Sequence[ItemColumn], num_features: int, feature_names: list[str] | None
                          ) -> list[ItemColumn]:
    """``item_columns`` as a list, checked to be the last of ``num_features`` features (by name when named).

    Raises:
        DataError: their items outnumber the features, or the feature names do not end with theirs.
    """
    item_columns = list(item_columns)
    names = [name for column in item_columns for name in column.feature_names]
    if len(names) > num_features:
        raise DataError(f"item_columns: {len(names)} item features for {num_features} feature columns; expected the "
                        "item columns of these features (Dataset.item_columns of the same read)")
    if feature_names is not None and names and feature_names[len(feature_names) - len(names):] != names:
        raise DataError("item_columns: the feature names do not end with the item columns' features; expected the "
                        "item columns of these features (Dataset.item_columns of the same read)")
    return item_columns


def _checked_known(known: Matrix | str | None, shape: tuple[int, int]) -> sp.csr_matrix | str | None:
    """``known_labels`` as a uint8 CSR of ``shape``, ``"split"``, or ``None``."""
    if known is None or (isinstance(known, str) and known == "split"):
        return known
    if isinstance(known, str):
        raise DataError(f"known_labels: got {known!r}; expected a 0/1 matrix or 'split'")
    matrix = sp.csr_matrix(as_label_matrix(known, name="known_labels"), dtype=np.uint8)
    if matrix.shape != shape:
        raise DataError(f"known_labels: shape {matrix.shape}; expected {shape}, one row per row and one column per "
                        "label")
    return matrix


def _graph_label_set(sources: GraphSources) -> set[str]:
    """The labels a graph source names (log, edges, label features)."""
    names: set[str] = set()
    for part in (sources.log, sources.edges, sources.features):
        if part is not None:
            names.update(part.label_names)
    return names


def _unknown_entries(Y_missing: Matrix | None, label_names: list[str], space: list[str], cold: np.ndarray,
                     num_rows: int) -> sp.csr_matrix | None:
    """(rows, len(space)) 1 where a training label value is unknown: ``Y_missing``'s entries and every cold
    label's column (a label the feature rows do not carry is not a negative)."""
    if Y_missing is None and not len(cold):
        return None
    unknown = sp.csr_matrix((num_rows, len(space)), dtype=np.uint8) if Y_missing is None \
        else place_columns(Y_missing, label_names, space)
    cold_columns = sp.csr_matrix((np.ones(num_rows * len(cold), dtype=np.uint8),
                                  (np.repeat(np.arange(num_rows), len(cold)), np.tile(cold, num_rows))),
                                 shape=unknown.shape)
    return sp.csr_matrix(unknown.maximum(cold_columns), dtype=np.uint8)


def _warn_degenerate_labels(label_names: list[str], counts: np.ndarray, num_rows: int, *,
                            skip: np.ndarray) -> None:
    """Log labels that are never or always positive in training (cold labels, scored from the graph, aside): they
    train, but nothing can be learned of them."""
    counts = counts.copy()
    counts[skip] = -1
    degenerate = (("no positive", np.flatnonzero(counts == 0)), ("only positives", np.flatnonzero(counts == num_rows)))
    for what, labels in degenerate:
        if len(labels):
            names = ", ".join(repr(label_names[index]) for index in labels[:5]) + (", ..." if len(labels) > 5 else "")
            logger.warning("%d label(s) with %s in the training data (%s): their scores only reflect that",
                           len(labels), what, names)
