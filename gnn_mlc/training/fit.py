"""The fitting pipeline: from checked arrays and graph sources to a :class:`~gnn_mlc.fitted.FittedModel`.

Steps, in order: the label space and its plan (trained, cold and rare labels, :mod:`gnn_mlc.graph.label_space`); a
stratified validation split; the feature scaler; the label graph; the torch module trained on the features with
early stopping (:mod:`gnn_mlc.training.loop`); the kept training rows and the graph-scored labels' vectors
(:mod:`gnn_mlc.training.label_vectors`); with known labels, the item-item term fitted out of fold and the blend of
term and network chosen on held-out validation rows (:mod:`gnn_mlc.training.known_labels`); the decision rule, tuned
on the validation rows' scores of the model as served (the term's out of fold).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch

from gnn_mlc._torch import encode, resolve_device
from gnn_mlc._typing import DeviceName, Matrix, Strategy, Weighting
from gnn_mlc.data.categories import CategoricalColumn
from gnn_mlc.data.items import ItemColumn
from gnn_mlc.data.preprocessing import FeatureScaler
from gnn_mlc.data.split import stratified_split_indices
from gnn_mlc.errors import DataError
from gnn_mlc.fitted import FittedModel
from gnn_mlc.graph import build_label_graph, cooccurrence_counts
from gnn_mlc.graph.label_space import place_columns, plan_labels
from gnn_mlc.graph.sources import GraphSources
from gnn_mlc.nn.label_models import IndependentLabelModel, LabelGCNModel, LabelScoringModel
from gnn_mlc.thresholds import DecisionRule, best_f1_threshold_by_blocks, fit_decision_rule
from gnn_mlc.training.blend import HeldOutRows
from gnn_mlc.training.checkpoint import Checkpoint, names_fingerprint
from gnn_mlc.training.known_labels import fit_known_term, held_out_rows
from gnn_mlc.training.label_vectors import graph_label_vectors
from gnn_mlc.training.loop import TrainingSettings, TrainingSplit, train_model
from gnn_mlc.training.loss import log_odds_bias, positive_weights

logger = logging.getLogger(__name__)
VALIDATION_ROWS = 10_000
"""At most this many validation rows (a seeded sample of the held-out share) are scored for early stopping and
decision thresholds: at 50,000 labels they alone are 500 million scores."""
DENSE_SCORES = 50_000_000
"""Above this many validation scores, decision thresholds are tuned block by block (see ``fit_rule``)."""
GRAPH_ROWS = 20_000
"""Training rows kept (their encodings and labels, a seeded sample) to distil graph-scored labels into vectors."""


@dataclass(frozen=True)
class FitSettings:
    """The estimator's parameters that shape a fit (each declared and validated in :mod:`gnn_mlc.parameters`;
    :class:`~gnn_mlc.estimator.LabelGCNClassifier` documents them)."""

    use_graph: bool
    hidden_channels: int
    embedding_dim: int
    num_gcn_layers: int
    dropout: float
    graph_weighting: Weighting
    tau: float
    p: float
    learning_rate: float
    weight_decay: float
    pos_weight_power: float
    batch_size: int
    negative_samples: int
    max_epochs: int
    patience: int
    validation_fraction: float
    rare_label_positives: int
    threshold_strategy: Strategy
    threshold: float
    decision_top_k: int
    at_least_one: bool
    device: DeviceName
    random_state: int


@dataclass(frozen=True)
class FitInputs:
    """What a fit learns from, checked (see :func:`~gnn_mlc.training.inputs.checked_inputs`).

    Attributes:
        X: (rows, in_features) float32 features, dense or CSR.
        Y: (rows, num_labels) uint8 labels, unknown values zeroed.
        label_names, feature_names: the columns' names (``feature_names`` ``None`` for bare arrays).
        Y_missing: (rows, num_labels) 1 where a label value is unknown, or ``None``.
        sources: the graph sources (label-only log, external edges, label features).
        known: (rows, num_labels) uint8 CSR of the labels each row already has, ``"split"``, or ``None``.
        item_columns: the item-list columns the features end with.
        categorical_columns: the categorical columns whose one-hot features come just before the items.
        data_columns: the training file's ``id_column`` and ``label_column`` (scoring defaults to them).
    """

    X: Matrix
    Y: Matrix
    label_names: list[str]
    feature_names: list[str] | None
    Y_missing: Matrix | None
    sources: GraphSources
    known: sp.csr_matrix | Literal["split"] | None
    item_columns: list[ItemColumn]
    categorical_columns: list[CategoricalColumn]
    data_columns: dict[str, str | None]


def fit_model(inputs: FitInputs, settings: FitSettings, *, checkpoint: str | Path | None = None, resume: bool = False,
              progress: bool = False, validation_rows: np.ndarray | None = None) -> FittedModel:
    """Train a model on ``inputs`` with ``settings``; see :meth:`~gnn_mlc.estimator.LabelGCNClassifier.fit`.

    Args:
        inputs: the checked training data and graph sources.
        settings: the model's parameters.
        checkpoint: save the training state there after every epoch; with ``resume``, continue from it.
        progress: show a progress bar per epoch.
        validation_rows: the rows of ``inputs`` held out for early stopping and the decision rule (the network
            never trains on them); ``None``: a stratified ``validation_fraction`` of them.
    """
    X, Y, Y_missing, known, sources = inputs.X, inputs.Y, inputs.Y_missing, inputs.known, inputs.sources
    label_names = inputs.label_names
    if not settings.use_graph and (sources or known is not None):
        raise DataError("graph sources (graph_data, graph_edges, label_features) or known labels were given with "
                        "use_graph=False; expected use_graph=True, the default. Hint: drop --no-graph")
    space = sources.label_space(label_names) if sources else label_names
    Y_space = place_columns(Y, label_names, space)
    log_rows = None if sources.log is None else sources.log.aligned(space)
    plan = plan_labels(space, len(label_names), np.asarray(Y_space.sum(axis=0)).ravel(), _graph_label_set(sources),
                       np.zeros(len(space)) if log_rows is None else np.asarray(log_rows.sum(axis=0)).ravel(),
                       max_rare_positives=settings.rare_label_positives)
    missing = None if Y_missing is None else place_columns(Y_missing, label_names, space)
    unknown = _unknown_values(missing, len(space), plan.cold)  # built for the rows it is asked for
    if validation_rows is None:
        train_rows, validation_rows = stratified_split_indices(Y, test_fraction=settings.validation_fraction,
                                                               seed=settings.random_state)
    else:
        train_rows = np.setdiff1d(np.arange(X.shape[0]), validation_rows)
        if not len(train_rows) or not len(validation_rows):
            raise ValueError(f"validation_rows: {len(validation_rows)} of {X.shape[0]} rows; expected some rows for "
                             "each of training and validation")
    if len(validation_rows) > VALIDATION_ROWS:  # scored every epoch: a seeded sample at recommender scale
        validation_rows = np.sort(np.random.default_rng(settings.random_state).choice(
            validation_rows, VALIDATION_ROWS, replace=False))
    # with item columns, the numeric and one-hot features before the bags are standardised, not row-normalised
    dense_columns = X.shape[1] - sum(len(c.items) for c in inputs.item_columns) if inputs.item_columns else 0
    scaler = FeatureScaler.fit(X[train_rows], dense_columns=dense_columns)
    X_scaled = scaler.transform(X)
    edges_space = None if sources.edges is None else sources.edges.adjacency(space)
    trained = plan.trained  # the columns of Y: the network learns exactly what the no-graph network would
    graph = build_label_graph(
        Y[train_rows], label_names, weighting=settings.graph_weighting, tau=settings.tau, p=settings.p,
        Y_missing=None if Y_missing is None else Y_missing[train_rows],
        log_rows=None if log_rows is None else log_rows[:, trained],
        external=None if edges_space is None else edges_space[trained][:, trained],
    ) if settings.use_graph else None
    # the network learns from the features alone: a row's known labels are neither targets nor negatives for it
    network_missing = Y_missing if not isinstance(known, sp.csr_matrix) else sp.csr_matrix(
        known if Y_missing is None else known.maximum(sp.csr_matrix(Y_missing)), dtype=np.uint8)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.random_state)
        module = build_module(asdict(settings), X.shape[1], len(trained),
                              None if graph is None or settings.num_gcn_layers == 0 else graph.edge_index())
        with torch.no_grad():
            module.bias.copy_(log_odds_bias(Y[train_rows]))
        split = TrainingSplit(
            X_train=X_scaled[train_rows], Y_train=Y[train_rows], X_validation=X_scaled[validation_rows],
            Y_validation=Y[validation_rows],
            missing_train=None if network_missing is None else network_missing[train_rows],
            missing_validation=None if network_missing is None else network_missing[validation_rows],
        )
        result = train_model(
            module, split, TrainingSettings(learning_rate=settings.learning_rate, weight_decay=settings.weight_decay,
                                            batch_size=settings.batch_size, max_epochs=settings.max_epochs,
                                            patience=settings.patience, negative_samples=settings.negative_samples),
            device=resolve_device(settings.device), generator=torch.Generator().manual_seed(settings.random_state),
            pos_weight=positive_weights(split.Y_train, settings.pos_weight_power, split.missing_train),
            checkpoint=None if checkpoint is None else Checkpoint(
                Path(checkpoint), resume=resume, identity=run_identity(inputs, settings)),
            progress=progress,
        )
    module.cpu()
    label_counts = np.asarray(Y_space.sum(axis=0), dtype=np.int64).ravel()
    _warn_degenerate_labels(space, label_counts, X.shape[0], skip=plan.cold)
    embeddings = np.zeros((len(space), settings.embedding_dim), dtype=np.float32)
    bias = np.zeros(len(space), dtype=np.float32)
    label_sources = np.full(len(space), "none", dtype=object)
    with torch.no_grad():
        embeddings[trained] = module.label_embeddings().numpy()
        bias[trained] = module.bias.numpy()
    label_sources[trained] = "trained"
    model = FittedModel(
        parameters=asdict(settings), kind="gcn" if isinstance(module, LabelGCNModel) else "independent",
        in_features=X.shape[1], label_names=list(space), feature_names=inputs.feature_names,
        state={name: tensor.detach().cpu() for name, tensor in module.state_dict().items()}, scaler=scaler,
        label_embeddings=embeddings, label_bias=bias,
        decision_rule=DecisionRule(strategy="fixed", thresholds=np.full(len(space), 0.5, np.float32)),
        label_counts=label_counts, num_rows=X.shape[0],
        cooccurrence=cooccurrence_counts(Y_space if log_rows is None else sp.vstack([Y_space, log_rows])),
        metrics=result.to_metrics(), data_columns=dict(inputs.data_columns),
        trained_labels=[int(index) for index in trained], label_sources=[str(s) for s in label_sources],
        cooccurrence_rows=X.shape[0] + (0 if log_rows is None else log_rows.shape[0]),
        graph_rows=_graph_rows(module, X_scaled, Y_space, missing, seed=settings.random_state),
        item_columns=list(inputs.item_columns), categorical_columns=list(inputs.categorical_columns), graph=graph,
    )
    model = graph_label_vectors(model, plan, sources, log_rows, edges_space, targets=plan.graph_scored)
    cardinality = label_counts.sum() / X.shape[0]
    if known is None:
        X_validation = X[validation_rows]
        rule = fit_rule(lambda rows: model.predict_proba(X_validation[rows], device=settings.device), settings,
                        Y_space[validation_rows], unknown(validation_rows),
                        cardinality=cardinality)
        return replace(model, decision_rule=rule)
    given = None if isinstance(known, str) else place_columns(known, label_names, space)
    held = held_out_rows(Y_space, given, validation_rows, seed=settings.random_state)
    every = Y_space if given is None else sp.csr_matrix(Y_space.maximum(given), dtype=np.uint8)

    def fold_parts(rows: np.ndarray) -> tuple[HeldOutRows, FittedModel]:
        """``rows``' held-out known labels and targets, and the network fitted on every other row and early-stopped
        on ``rows``, as the served one is on the validation rows (features only, a row's known labels unknown to
        it). A fold's own stratified split would early-stop on a few dozen rows on the small sets this is for
        (medical's development folds stopped at epochs 6 and 10, the whole fit at 71). The fold's label graph masks
        the known labels too (the served graph counts them): the networks differ by that only with
        ``num_gcn_layers`` > 0 (the default is 0, whose network does not read the graph)."""
        features_only = replace(inputs, known=None, Y_missing=network_missing)
        with _errors_only(logging.getLogger("gnn_mlc")):  # its warnings repeat the whole fit's: the same rows
            network = fit_model(features_only, settings, validation_rows=rows)
        return held_out_rows(Y_space, given, rows, seed=settings.random_state), network

    model, held_logits, figures = fit_known_term(  # with a log, a fold's fit distils the cold labels again
        model, X, every, held, log_rows, device=settings.device, seed=settings.random_state,
        fold_parts=fold_parts if log_rows is None else None, given=given)
    hidden = unknown(held.rows)
    unknown_held = held.known if hidden is None else sp.csr_matrix(held.known.maximum(hidden))
    probabilities = torch.sigmoid_(torch.from_numpy(held_logits)).numpy()  # a known label: no decision, no miss
    rule = fit_rule(lambda rows: probabilities[rows], settings, held.targets, unknown_held, cardinality=cardinality)
    return replace(model, decision_rule=rule, metrics={**model.metrics, "known_term": figures})


def fit_rule(scores: Callable[[slice | np.ndarray], np.ndarray], settings: FitSettings, Y: sp.csr_matrix,
             unknown: sp.csr_matrix | None, *, cardinality: float) -> DecisionRule:
    """The decision rule tuned on validation rows with labels ``Y`` (rows, num_labels) and probabilities
    ``scores(rows)`` (unknown entries, cold labels and known labels left out). Up to ``DENSE_SCORES`` scores at once
    it is :func:`~gnn_mlc.thresholds.fit_decision_rule`; above, the global threshold is found exactly over blocks
    of rows, and ``per_label`` and ``pcut`` use the first ``DENSE_SCORES // num_labels`` rows."""
    if Y.shape[0] * Y.shape[1] > DENSE_SCORES and settings.threshold_strategy == "global":
        tuned = best_f1_threshold_by_blocks(Y, scores, missing=unknown)
        return DecisionRule(strategy="global", thresholds=np.full(Y.shape[1], tuned, dtype=np.float32),
                            k=settings.decision_top_k, at_least_one=settings.at_least_one, default=tuned)
    rows = np.arange(min(Y.shape[0], max(1, DENSE_SCORES // Y.shape[1])))
    return fit_decision_rule(
        Y[rows].toarray(), scores(rows), train_cardinality=float(cardinality),
        missing=None if unknown is None else unknown[rows], strategy=settings.threshold_strategy,
        threshold=settings.threshold, k=settings.decision_top_k, at_least_one=settings.at_least_one)


def build_module(parameters: dict[str, Any], in_features: int, num_labels: int,
                 edges: tuple[torch.Tensor, torch.Tensor] | None) -> LabelScoringModel:
    """The torch module of these parameters (``hidden_channels``, ``embedding_dim``, ``num_gcn_layers``,
    ``dropout``); ``edges`` is the graph's (edge_index, edge_weight), or None for independent label vectors."""
    sizes = {"hidden_channels": int(parameters["hidden_channels"]), "embedding_dim": int(parameters["embedding_dim"]),
             "dropout": float(parameters["dropout"])}
    if edges is None:
        return IndependentLabelModel(in_features, num_labels, **sizes)
    return LabelGCNModel(in_features, num_labels, edges[0], edges[1],
                         num_gcn_layers=int(parameters["num_gcn_layers"]), **sizes)


def training_module(model: FittedModel) -> LabelScoringModel:
    """The torch module of a fitted model, rebuilt from its state (evaluation mode).

    Raises:
        KeyError, RuntimeError: the state does not fit the parameters.
    """
    edges = (model.state["edge_index"], model.state["edge_weight"]) if model.kind == "gcn" else None
    with torch.random.fork_rng(devices=[]):  # its initial values are overwritten: the caller's seed stays
        module = build_module(model.parameters, model.in_features, len(model.trained_labels), edges)
    module.load_state_dict(model.state, strict=True)
    return module.eval()


def run_identity(inputs: FitInputs, settings: FitSettings) -> dict[str, Any]:
    """What a resumed training must share with the run that wrote its checkpoint: the parameters that shape the
    result (not ``device``), a fingerprint of the data (known labels included) and one of each graph source (the
    label-only log, the external edges, the label features: contents and label names), so that a resume with
    other sources, which would change the label space and the graph under the saved weights, is refused."""
    parameters = {name: value for name, value in asdict(settings).items() if name != "device"}
    known = inputs.known
    items = [[column.name, len(column.items), column.weighting] for column in inputs.item_columns]
    log, edges, features = inputs.sources.log, inputs.sources.edges, inputs.sources.features
    categories = [column.to_json() for column in inputs.categorical_columns]
    return {**parameters, "known": known if isinstance(known, str) else None, "item_columns": items,
            "categorical_columns": categories,
            "data": data_fingerprint(inputs.X, inputs.Y, inputs.Y_missing, None if isinstance(known, str) else known),
            "graph_data": None if log is None else names_fingerprint(log.label_names, [data_fingerprint(log.Y)]),
            "graph_edges": None if edges is None else names_fingerprint(edges.source, edges.target,
                                                                        [data_fingerprint(edges.weight)]),
            "label_features": None if features is None else names_fingerprint(features.label_names,
                                                                              [data_fingerprint(features.X)])}


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


def _graph_rows(module: LabelScoringModel, X_scaled: Matrix, Y_space: sp.csr_matrix, missing: sp.csr_matrix | None,
                *, seed: int) -> tuple[np.ndarray, sp.csr_matrix]:
    """``(encodings, labels)`` of a seeded sample of up to ``GRAPH_ROWS`` training rows: what distils graph-scored
    labels into vectors, now and at ``add_labels``; ``missing`` (rows, len(space)) 1 where a value is unknown (left
    out; a cold label's column needs no mask, it is 0 in every training row)."""
    rows = np.arange(X_scaled.shape[0])
    if len(rows) > GRAPH_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, GRAPH_ROWS, replace=False))
    encodings = encode(module.encoder, X_scaled[rows], batch_size=4096, device=torch.device("cpu"))
    labels, hidden = Y_space[rows], None if missing is None else missing[rows]
    if hidden is not None:
        labels = sp.csr_matrix(labels - labels.multiply(hidden), dtype=np.uint8)
        labels.eliminate_zeros()
    return encodings, labels


@contextmanager
def _errors_only(logger: logging.Logger) -> Iterator[None]:
    """``logger`` (and the loggers under it) logs only errors inside the block."""
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _graph_label_set(sources: GraphSources) -> set[str]:
    """The labels a graph source names (log, edges, label features)."""
    names: set[str] = set()
    for part in (sources.log, sources.edges, sources.features):
        if part is not None:
            names.update(part.label_names)
    return names


def _unknown_values(missing: sp.csr_matrix | None, num_labels: int, cold: np.ndarray
                    ) -> Callable[[np.ndarray], sp.csr_matrix | None]:
    """``rows -> (len(rows), num_labels)`` 1 where a training label value is unknown: ``missing``'s entries ((rows,
    num_labels), placed in the label space) and every cold label's column (a label the feature rows do not carry is
    not a negative), or ``None`` where nothing is unknown. Built for the rows asked (the validation and held-out
    rows: samples), never for every training row: the cold columns alone would be rows x cold labels entries."""
    if missing is None and not len(cold):
        return lambda rows: None
    cold = np.sort(np.asarray(cold, dtype=np.int32))

    def of(rows: np.ndarray) -> sp.csr_matrix:  # built as CSR parts: 5 bytes an entry, no (row, column) pairs
        columns = sp.csr_matrix((np.ones(len(rows) * len(cold), dtype=np.uint8), np.tile(cold, len(rows)),
                                 np.arange(len(rows) + 1, dtype=np.int64) * len(cold)), shape=(len(rows), num_labels))
        return columns if missing is None else sp.csr_matrix(columns.maximum(missing[rows]), dtype=np.uint8)

    return of


def _warn_degenerate_labels(label_names: list[str], counts: np.ndarray, num_rows: int, *, skip: np.ndarray) -> None:
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
