"""``LabelGCNClassifier``: the scikit-learn face over the fitting pipeline and the fitted model.

The estimator checks its parameters, hands the fit to :func:`gnn_mlc.training.fit.fit_model` and keeps what it
returns, a :class:`~gnn_mlc.fitted.FittedModel`, as ``fitted_``: every fitted attribute (``classes_``,
``label_embeddings_``, ...) is a read-only view of it, and scoring is the fitted model's one rule.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import networkx as nx
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from gnn_mlc._typing import DeviceName, Matrix, Strategy, Weighting
from gnn_mlc.data import CategoricalColumn, ItemColumn
from gnn_mlc.errors import ModelDirectoryError
from gnn_mlc.graph.sources import ExternalEdges, GraphSources, LabelFeatures, LabelLog
from gnn_mlc.model_directory import load_model_parts, save_model_parts
from gnn_mlc.parameters import check_parameters
from gnn_mlc.training import TrainingResult
from gnn_mlc.training.fit import FitSettings, fit_model, training_module
from gnn_mlc.training.inputs import checked_inputs
from gnn_mlc.training.label_vectors import add_labels

if TYPE_CHECKING:
    from gnn_mlc.nn.label_models import LabelScoringModel


def _view(name: str, convert: Callable[[Any], Any] | None = None) -> property:
    """A read-only fitted attribute: ``fitted_``'s ``name`` (converted); AttributeError before ``fit``."""

    def read(self: LabelGCNClassifier) -> Any:
        value = getattr(self.fitted_, name)
        return value if convert is None else convert(value)

    return property(read, doc=f"``fitted_.{name}`` (read-only).")


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
            :class:`~gnn_mlc.nn.LabelGCNModel`); 0, the default, leaves them free (chosen on earlier test figures; on
            development rows, accuracy_dev.md, free vectors have the better mAP on 6 of 11 sets, one layer the better
            mean, +0.4 points, +7.3 on medical; cold mAP with a log, cold_start_dev.md: 0.384 both).
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
            matched the full loss's P@5 2.8x faster on 2 CPU cores after one epoch, one seed, synthetic data).
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

    Fitted attributes: ``fitted_``, the :class:`~gnn_mlc.fitted.FittedModel` (its attributes say what each part
    is); the others are read-only views of it: ``classes_`` (its ``label_names``: the training labels, then those
    only the graph sources name), ``label_embeddings_`` (``W``), ``label_bias_``, ``label_sources_``,
    ``trained_labels_``, ``decision_rule_``, ``thresholds_``, ``label_counts_``, ``cooccurrence_``,
    ``cooccurrence_rows_``, ``graph_`` (``None`` without graph and after loading), ``graph_rows_``, ``scaler_``,
    ``item_columns_``, ``n_features_in_``, ``feature_names_in_``, ``n_samples_fit_``; ``model_`` (the torch
    module, rebuilt from the state) and ``training_`` (the training report).
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
        categorical_columns: Sequence[CategoricalColumn] = (),
    ) -> LabelGCNClassifier:
        """Train on features ``X`` (rows, num_features) and 0/1 labels ``Y`` (rows, num_labels); returns ``self``.

        ``X`` may be SciPy sparse (it stays sparse). Names default to ``l0..``/``f0..``. ``checkpoint``: the training
        state is saved there every epoch; with ``resume``, training continues from it and ends as an uninterrupted
        run would (on CPU); a checkpoint of other data or parameters is refused. ``Y_missing`` (rows, num_labels): 1
        marks an unknown label value, left out of the loss, the graph's counts and the threshold tuning.

        Graph sources (:mod:`gnn_mlc.graph.sources`): ``graph_data``, label-only rows (a 0/1 matrix with
        ``graph_label_names``, a ``LabelLog`` or a file); ``graph_edges``, external edges (networkx, ``ExternalEdges``
        or a CSV/GraphML/GEXF file); ``label_features``, one vector per label. A label they name with no positive row
        in ``Y`` is a cold label: part of the model (in ``classes_``), scored from the graph.

        ``known_labels`` (rows, num_labels) 0/1 (:mod:`gnn_mlc.training.known_labels`): the labels each row already
        has (a user's history), evidence over the label graph (``predict_proba(X, known_labels=K)``); ``"split"``
        draws random known parts of each row's labels, so plain multi-label data trains for it too.
        ``item_columns``, ``categorical_columns``: ``Dataset``'s item-list columns (the features end with their items,
        standardised apart from the dense features before them) and text columns (their one-hot features precede).
        """
        check_parameters(self.get_params())
        inputs = checked_inputs(
            X, Y, label_names=label_names, feature_names=feature_names, Y_missing=Y_missing, graph_data=graph_data,
            graph_label_names=graph_label_names, graph_edges=graph_edges, label_features=label_features,
            known_labels=known_labels, item_columns=item_columns, categorical_columns=categorical_columns)
        settings = FitSettings(**{name: value for name, value in self.get_params().items() if name != "verbose"})
        self.fitted_ = fit_model(inputs, settings, checkpoint=checkpoint, resume=resume, progress=self.verbose)
        return self

    def add_labels(
        self,
        *,
        graph_data: LabelLog | Matrix | str | Path | None = None,
        graph_label_names: list[str] | None = None,
        graph_edges: ExternalEdges | nx.Graph | str | Path | None = None,
        label_features: LabelFeatures | tuple[np.ndarray, list[str]] | str | Path | None = None,
    ) -> LabelGCNClassifier:
        """A copy of this fitted model with the labels the new graph sources name added, without retraining.

        New labels get vectors as ``fit`` gives cold labels theirs (:mod:`gnn_mlc.training.label_vectors`: from the
        log, distilled on ``graph_rows_``, else edges, else label features); the rest is unchanged.

        Raises:
            DataError: no source given, a malformed source, or no new label in it.
        """
        check_is_fitted(self, "fitted_")
        extended = copy.copy(self)
        extended.fitted_ = add_labels(self.fitted_, GraphSources.resolve(graph_data, graph_label_names, graph_edges,
                                                                         label_features))
        return extended

    def predict_proba(self, X: Matrix, *, known_labels: Matrix | None = None) -> np.ndarray:
        """Label probabilities, (rows, num_labels) float32; see :meth:`decision_function`."""
        check_is_fitted(self, "fitted_")
        return self.fitted_.predict_proba(X, known=known_labels, device=self.device)

    def decision_function(self, X: Matrix, *, known_labels: Matrix | None = None) -> np.ndarray:
        """Logits ``h W^T + b`` (rows, num_labels) float32, plus the evidence of ``known_labels`` (rows, num_labels)
        0/1 for a model fitted with them: :meth:`gnn_mlc.fitted.FittedModel.logits`, the Scorer's rule too."""
        check_is_fitted(self, "fitted_")
        return self.fitted_.decision_function(X, known=known_labels, device=self.device)

    def predict(self, X: Matrix, *, known_labels: Matrix | None = None) -> np.ndarray:
        """0/1 decisions (rows, num_labels) uint8 by the fitted decision rule, on :meth:`predict_proba`'s scores."""
        check_is_fitted(self, "fitted_")
        return self.fitted_.predict(X, known=known_labels, device=self.device)

    def to_directory(self, path: str | Path, *, overwrite: bool = False,
                     data_columns: dict[str, str | None] | None = None) -> Path:
        """Write the fitted model to the directory ``path``, atomically (:mod:`gnn_mlc.model_directory`);
        ``overwrite``: replace it; ``data_columns``: the training file's ``id_column`` and ``label_column``, which
        scoring then defaults to."""
        check_is_fitted(self, "fitted_")
        fitted = self.fitted_ if data_columns is None else replace(self.fitted_, data_columns=dict(data_columns))
        return save_model_parts(fitted, path, overwrite=overwrite)

    @classmethod
    def from_directory(cls, path: str | Path) -> LabelGCNClassifier:
        """The fitted classifier saved in ``path`` (checked against its manifest; no code is executed).

        Raises:
            ModelDirectoryError: the directory is missing, changed, of another format version or inconsistent.
        """
        fitted = load_model_parts(path)  # parameters checked, with the encoder's weights
        try:
            training_module(fitted)  # the label model's weights (graph buffers) must fit the parameters too
        except (KeyError, RuntimeError) as error:
            raise ModelDirectoryError(
                f"{Path(path) / 'config.json'}: parameters and weights do not fit together "
                f"({str(error).splitlines()[0]}); expected files written by one 'gnn-mlc train'. Hint: train it again"
            ) from None
        classifier = cls(**fitted.parameters)
        classifier.fitted_ = fitted
        return classifier

    # The fitted attributes: read-only views of ``fitted_`` (see the class docstring).
    classes_ = _view("label_names", lambda names: np.asarray(names, dtype=object))
    label_embeddings_ = _view("label_embeddings")
    label_bias_ = _view("label_bias")
    label_sources_ = _view("label_sources", lambda sources: np.asarray(sources, dtype=object))
    trained_labels_ = _view("trained_labels", lambda labels: np.asarray(labels, dtype=np.int64))
    decision_rule_ = _view("decision_rule")
    thresholds_ = _view("decision_rule", lambda rule: rule.thresholds)
    label_counts_ = _view("label_counts")
    cooccurrence_ = _view("cooccurrence")
    cooccurrence_rows_ = _view("cooccurrence_rows")
    graph_ = _view("graph")
    graph_rows_ = _view("graph_rows")
    label_features_ = _view("label_features")
    scaler_ = _view("scaler")
    item_columns_ = _view("item_columns", list)
    n_features_in_ = _view("in_features")
    n_samples_fit_ = _view("num_rows")

    @property
    def model_(self) -> LabelScoringModel:
        """The torch module, rebuilt from the fitted state."""
        return training_module(self.fitted_)

    @property
    def training_(self) -> TrainingResult:
        return TrainingResult.from_metrics(self.fitted_.metrics)

    @property
    def feature_names_in_(self) -> np.ndarray:
        if self.fitted_.feature_names is None:
            raise AttributeError("feature_names_in_: the model was fitted on bare arrays, without feature names")
        return np.asarray(self.fitted_.feature_names, dtype=object)


def load_model(path: str | Path) -> LabelGCNClassifier:
    """Read a model directory written by :meth:`LabelGCNClassifier.to_directory` (``gnn-mlc train``)."""
    return LabelGCNClassifier.from_directory(path)
