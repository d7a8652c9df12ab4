"""A fit's inputs checked at the public boundary: arrays, names, known labels, item and categorical columns, graph
sources."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import networkx as nx
import numpy as np
import scipy.sparse as sp

from gnn_mlc._typing import Matrix
from gnn_mlc.data.categories import CategoricalColumn
from gnn_mlc.data.dataset import as_feature_matrix, as_label_matrix, check_label_name, validate_arrays
from gnn_mlc.data.graph_sources import ExternalEdges, LabelFeatures, LabelLog
from gnn_mlc.data.items import ItemColumn
from gnn_mlc.errors import DataError
from gnn_mlc.graph.sources import GraphSources
from gnn_mlc.training.fit import FitInputs


def checked_inputs(
    X: Matrix,
    Y: Matrix,
    *,
    label_names: list[str] | None,
    feature_names: list[str] | None,
    Y_missing: Matrix | None,
    graph_data: LabelLog | Matrix | str | Path | None,
    graph_label_names: list[str] | None,
    graph_edges: ExternalEdges | nx.Graph | str | Path | None,
    label_features: LabelFeatures | tuple[np.ndarray, list[str]] | str | Path | None,
    known_labels: Matrix | Literal["split"] | None,
    item_columns: Sequence[ItemColumn],
    categorical_columns: Sequence[CategoricalColumn] = (),
    data_columns: dict[str, str | None] | None = None,
) -> FitInputs:
    """``fit``'s arguments checked and converted (see :meth:`~gnn_mlc.estimator.LabelGCNClassifier.fit`).

    Raises:
        DataError: one line naming the first argument that is wrong, what was expected and what was found.
    """
    X, Y, Y_missing = _checked_arrays(X, Y, Y_missing)
    known = _checked_known(known_labels, Y.shape)
    feature_names = None if feature_names is None else _checked_names(feature_names, X.shape[1], "feature_names", "f")
    return FitInputs(
        X=X, Y=Y, label_names=_checked_names(label_names, Y.shape[1], "label_names", "l"),
        feature_names=feature_names, Y_missing=Y_missing,
        sources=GraphSources.resolve(graph_data, graph_label_names, graph_edges, label_features), known=known,
        item_columns=_checked_item_columns(item_columns, X.shape[1], feature_names),
        categorical_columns=_checked_categorical_columns(categorical_columns, item_columns, X.shape[1],
                                                         feature_names),
        data_columns=dict(data_columns or {}),
    )


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


def _checked_categorical_columns(categorical_columns: Sequence[CategoricalColumn], item_columns: Sequence[ItemColumn],
                                 num_features: int, feature_names: list[str] | None) -> list[CategoricalColumn]:
    """``categorical_columns`` as a list, checked to be the features just before the item columns' (by name when
    named).

    Raises:
        DataError: their features and the items outnumber the features, or the names before the items are not
            theirs.
    """
    categorical_columns = list(categorical_columns)
    names = [name for column in categorical_columns for name in column.feature_names]
    end = num_features - sum(len(column.items) for column in item_columns)
    if len(names) > end or (feature_names is not None and feature_names[end - len(names):end] != names):
        raise DataError("categorical_columns: their one-hot features are not the features before the item columns'; "
                        "expected the categorical columns of these features (Dataset.categorical_columns of the same "
                        "read)")
    return categorical_columns


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
    if matrix.nnz == 0:  # the term would be fitted and its blend chosen from nothing
        raise DataError(f"known_labels: none of the {shape[0]} rows has a known label; expected at least one. Hint: "
                        "leave known_labels out (CLI: --known-column), or pass 'split' (CLI: --known-split) to reveal "
                        "a random half of each row's labels")
    return matrix
