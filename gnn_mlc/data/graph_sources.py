"""What the label graph can be built from besides the labelled feature rows: label-only logs, external edges and
label features; read, checked and put on one label space.

* **Label-only log** (:class:`LabelLog`): rows with interests and no features (baskets, sessions, co-tagged items),
  usually far more of them than labelled feature rows. Files: ARFF (its label attributes), CSV/Parquet with a label
  column (a list of names, or a delimited string), or a long table of ``(row id, label)`` pairs grouped per row.
* **External edges** (:class:`ExternalEdges`): a catalogue taxonomy, bought-together pairs, curated relations.
  Files: CSV with ``source``, ``target`` and an optional ``weight`` (default 1) column, GraphML or GEXF (edge
  attribute ``weight``, default 1); or a ``networkx`` graph. An undirected graph's edge links both ways; a directed
  one (GraphML/GEXF/networkx ``DiGraph``; a CSV is read as undirected) only from source to target.
* **Label features** (:class:`LabelFeatures`): one vector per label (text embeddings of interest names, catalogue
  attributes). Files: CSV/Parquet with a ``label`` column and numeric columns.

Label names (and a long table's row ids) are stripped of surrounding whitespace in every source, as in the training
data: ``hiking, camping`` in an edge file is the edge between ``hiking`` and ``camping``.

This module reads and checks them (data in); :class:`~gnn_mlc.graph.sources.GraphSources` bundles them for the
label graph, and :mod:`gnn_mlc.graph.label_space` puts them and the training labels on one label space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from gnn_mlc._typing import DEFAULT_LABEL_COLUMN, Matrix
from gnn_mlc.data.dataset import as_label_matrix, check_label_name
from gnn_mlc.errors import DataError, did_you_mean


@dataclass(frozen=True)
class LabelLog:
    """Label-only rows.

    Attributes:
        Y: (rows, len(label_names)) uint8 CSR, 1 where the row has the label.
        label_names: the column names.
        source: where it came from, for messages.
    """

    Y: sp.csr_matrix
    label_names: list[str]
    source: str = "<graph_data>"

    def __post_init__(self) -> None:
        empty = np.flatnonzero(np.diff(self.Y.indptr) == 0)
        if len(empty):
            raise DataError(f"{self.source}: log row {int(empty[0])} has no label ({len(empty)} such rows); expected "
                            "every label-only row to name at least one label. Hint: drop the empty rows")

    def aligned(self, label_names: Sequence[str]) -> sp.csr_matrix:
        """The log's rows as a (rows, len(label_names)) CSR over another label space that holds all its labels."""
        position = {name: index for index, name in enumerate(label_names)}
        columns = np.array([position[name] for name in self.label_names], dtype=np.int64)
        placement = sp.csr_matrix((np.ones(len(columns)), (np.arange(len(columns)), columns)),
                                  shape=(len(columns), len(label_names)))
        return sp.csr_matrix(self.Y @ placement, dtype=np.uint8)


@dataclass(frozen=True)
class ExternalEdges:
    """Edges between labels from outside the data: ``source[e] -> target[e]`` with ``weight[e] > 0``.

    Attributes:
        source, target: (num_edges,) label names (an undirected input holds both directions).
        weight: (num_edges,) float64, finite and positive.
        origin: where they came from, for messages.
    """

    source: list[str]
    target: list[str]
    weight: np.ndarray
    origin: str = "<graph_edges>"

    @property
    def label_names(self) -> list[str]:
        return sorted(set(self.source) | set(self.target))

    def adjacency(self, label_names: Sequence[str]) -> sp.csr_matrix:
        """(L, L) float32 CSR ``A[i, j]``: the weight of the edge i -> j over ``label_names`` (which hold them all)."""
        position = {name: index for index, name in enumerate(label_names)}
        rows = np.array([position[name] for name in self.source], dtype=np.int64)
        columns = np.array([position[name] for name in self.target], dtype=np.int64)
        return sp.csr_matrix((self.weight, (rows, columns)), shape=(len(label_names),) * 2, dtype=np.float32)


@dataclass(frozen=True)
class LabelFeatures:
    """One feature vector per label: ``X`` (len(label_names), num_features) float32, finite; ``skipped``: the rows
    of the file left out as incomplete (:func:`read_label_features` with ``skip_incomplete``)."""

    X: np.ndarray
    label_names: list[str]
    origin: str = "<label_features>"
    skipped: int = 0

    def describe_skipped(self) -> str:
        """``3 rows of items.csv skipped: no label name, or a missing or non-finite feature`` (``""`` for none)."""
        return f"{self.skipped:,} rows of {self.origin} skipped: no label name, or a missing or non-finite feature" \
            if self.skipped else ""


def as_label_log(Y: Matrix, label_names: Sequence[str], *, source: str = "graph_data") -> LabelLog:
    """A label-only log from a 0/1 matrix (rows, len(label_names)) and its column names."""
    Y = as_label_matrix(Y, name=source)
    if Y.shape[1] != len(label_names):
        raise DataError(f"graph_label_names: {len(label_names)} names for {Y.shape[1]} columns of {source}; "
                        "expected one name per column")
    _check_names(list(label_names), source)
    return LabelLog(Y=sp.csr_matrix(Y, dtype=np.uint8), label_names=list(label_names), source=source)


def read_label_log(
    path: str | Path,
    *,
    label_column: str = DEFAULT_LABEL_COLUMN,
    row_column: str | None = None,
    label_delimiter: str = "|",
    labels: str | Path | None = None,
) -> LabelLog:
    """Read label-only rows from a file.

    Args:
        path: ARFF (its label attributes: ``labels`` is the Mulan XML, else the one beside it or MEKA's ``-C``),
            or CSV/Parquet.
        label_column: CSV/Parquet: the labels of each row (a list, or a ``label_delimiter``-joined string), or,
            with ``row_column``, one label per line of a long table.
        row_column: CSV/Parquet long table: the column naming each line's row; lines with one row id form a row.
        label_delimiter: separator inside a string label column (ignored for a long table).
        labels: ARFF only: the label XML.

    Raises:
        DataError: an unreadable file, a missing column, a row with no label, a bad label name.
    """
    from gnn_mlc.data import read_arff, read_table

    path = Path(path)
    if ".arff" in path.name.lower():
        data = read_arff(path, labels=labels)
        return LabelLog(Y=sp.csr_matrix(data.Y, dtype=np.uint8), label_names=list(data.label_names),
                        source=str(path))
    table = read_table(path, string_columns=[name for name in (row_column, label_column) if name])
    for column in (label_column, row_column):
        if column is not None and column not in table.column_names:
            raise DataError(f"{path}: no column {column!r}{did_you_mean(column, table.column_names)}; columns are "
                            f"{table.column_names[:10]}. Hint: pass --graph-label-column / --graph-row-column")
    if row_column is not None:
        return _long_table(table, row_column, label_column, path)
    from gnn_mlc.data.tabular import label_sets

    sets = label_sets(table.column(label_column), label_delimiter, path, label_column)
    names = sorted({name for names in sets for name in names})
    return _log_from_sets(sets, names, str(path))


def _long_table(table: pa.Table, row_column: str, label_column: str, path: Path) -> LabelLog:
    """Group a ``(row id, label)`` long table into one log row per row id (first appearance order)."""
    for column in (row_column, label_column):
        values = table.column(column).cast(pa.string())
        empty = pc.or_kleene(pc.is_null(values), pc.equal(pc.utf8_trim_whitespace(values), ""))
        if pc.any(empty).as_py():
            row = int(pc.index(empty, True).as_py())
            raise DataError(f"{path}: column {column!r} is empty at line {row}; expected a row id and a label on "
                            "every line")
    rows = _stripped(table.column(row_column))
    labels = _stripped(table.column(label_column))
    row_ids = list(dict.fromkeys(rows))
    names = sorted(set(labels))
    sets = {row: [] for row in row_ids}
    for row, label in zip(rows, labels):
        sets[row].append(label)
    return _log_from_sets([sets[row] for row in row_ids], names, str(path))


def _stripped(column: pa.ChunkedArray) -> list[str | None]:
    """A column's values as text without surrounding whitespace (``" camping"`` written after a delimiter is
    ``"camping"``); nulls stay ``None``."""
    return pc.utf8_trim_whitespace(column.cast(pa.string())).to_pylist()


def _check_names(names: Sequence[str], origin: str) -> None:
    for name in names:
        if not isinstance(name, str) or not name:
            raise DataError(f"{origin}: label name {name!r}; expected non-empty strings")
        check_label_name(name, where=origin)


def _log_from_sets(sets: list[list[str]], names: list[str], source: str) -> LabelLog:
    _check_names(names, source)
    position = {name: index for index, name in enumerate(names)}
    rows = np.repeat(np.arange(len(sets)), [len(labels) for labels in sets])
    columns = np.array([position[name] for labels in sets for name in labels], dtype=np.int64)
    Y = sp.csr_matrix((np.ones(len(columns), dtype=np.uint8), (rows, columns)), shape=(len(sets), len(names)))
    Y.data[:] = 1  # a label twice in a row is once
    return LabelLog(Y=Y, label_names=names, source=source)


def read_graph_edges(source: str | Path | nx.Graph) -> ExternalEdges:
    """Read external label edges from a CSV (``source``, ``target``, optional ``weight``), a GraphML or GEXF file,
    or take them from a networkx graph (see the module docstring for direction).

    Raises:
        DataError: missing columns, a self-loop, a negative, zero, NaN or infinite weight, a duplicate edge.
    """
    if isinstance(source, nx.Graph):
        return _edges_from_networkx(source, "graph_edges")
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix in (".graphml", ".gexf"):
        if not path.is_file():
            raise DataError(f"{path}: no such file; expected a GraphML or GEXF file of label edges")
        try:
            graph = nx.read_graphml(path) if suffix == ".graphml" else nx.read_gexf(path)
        except Exception as error:  # networkx raises several types for a malformed file
            raise DataError(f"{path}: cannot be read as {suffix[1:].upper()} ({str(error).splitlines()[0][:200]})") \
                from None
        return _edges_from_networkx(graph, str(path))
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataError(f"{path}: unknown edge file format; expected .csv, .parquet, .graphml or .gexf")
    from gnn_mlc.data import read_table

    table = read_table(path, string_columns=["source", "target"], float_columns=["weight"])
    missing = [name for name in ("source", "target") if name not in table.column_names]
    if missing:
        raise DataError(f"{path}: no {missing[0]!r} column; expected columns source, target and optionally weight "
                        f"(found {table.column_names[:10]})")
    weights = table.column("weight").to_numpy(zero_copy_only=False).astype(np.float64) \
        if "weight" in table.column_names else np.ones(table.num_rows)
    sources = _stripped(table.column("source"))
    targets = _stripped(table.column("target"))
    both = [(source, target) for pair in zip(sources, targets) for source, target in (pair, pair[::-1])]
    return _checked_edges([pair[0] for pair in both], [pair[1] for pair in both], np.repeat(weights, 2), str(path),
                          lines=[index // 2 for index in range(len(both))])


def _edges_from_networkx(graph: nx.Graph, origin: str) -> ExternalEdges:
    sources, targets, weights = [], [], []
    for source, target, data in graph.edges(data=True):
        weight = data.get("weight", 1.0)
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise DataError(f"{origin}: edge {source!r} -> {target!r} has weight {weight!r}; expected a number") \
                from None
        source, target = str(source).strip(), str(target).strip()
        sources.append(source)
        targets.append(target)
        weights.append(weight)
        if not graph.is_directed():
            sources.append(target)
            targets.append(source)
            weights.append(weight)
    step = 1 if graph.is_directed() else 2
    return _checked_edges(sources, targets, np.asarray(weights, dtype=np.float64), origin,
                          lines=[index // step for index in range(len(sources))])


def _checked_edges(sources: list[str | None], targets: list[str | None], weights: np.ndarray, origin: str,
                   *, lines: list[int]) -> ExternalEdges:
    seen: set[tuple[str, str]] = set()
    for source, target, weight, line in zip(sources, targets, weights, lines):
        where = f"{origin}: edge {line} ({source!r} -> {target!r}; edges count from 0)"
        if not source or not target:
            raise DataError(f"{where}: an end is empty; expected two label names")
        if source == target:
            raise DataError(f"{where}: a self-loop; expected edges between two different labels")
        if not math.isfinite(weight) or weight <= 0:
            raise DataError(f"{where}: weight {weight}; expected a finite positive number")
        if (source, target) in seen:
            raise DataError(f"{where}: appears twice; expected each edge once (an undirected file lists a pair once)")
        seen.add((source, target))
    names = sorted(set(sources) | set(targets))
    _check_names(names, origin)  # type: ignore[arg-type]
    if not sources:
        raise DataError(f"{origin}: no edge; expected at least one")
    return ExternalEdges(source=list(sources), target=list(targets), weight=weights, origin=origin)  # type: ignore


def read_label_features(source: str | Path | tuple[np.ndarray, Sequence[str]], *, skip_incomplete: bool = False
                        ) -> LabelFeatures:
    """Label feature vectors from a CSV/Parquet file (a ``label`` column and numeric columns) or a
    ``(matrix, label_names)`` pair.

    Args:
        source: the file or the pair.
        skip_incomplete: a file's rows with no label name (null or blank) or a missing (null), NaN or infinite
            feature are left out and counted in ``LabelFeatures.skipped`` instead of refused (a catalogue-wide
            metadata file at ``add-labels``).

    Raises:
        DataError: a missing ``label`` column, a non-numeric or non-finite value, a duplicate or bad label name.
    """
    if isinstance(source, tuple):
        matrix, names, origin = np.asarray(source[0], dtype=np.float64), list(source[1]), "label_features"
        skipped = 0
        if matrix.ndim != 2 or matrix.shape[0] != len(names):
            raise DataError(f"label_features: shape {matrix.shape} for {len(names)} label names; expected "
                            "(labels, features)")
    else:
        from gnn_mlc.data import read_table
        from gnn_mlc.data.tabular import feature_matrix

        origin = str(source)
        table = read_table(source, string_columns=["label"])
        if "label" not in table.column_names:
            raise DataError(f"{source}: no 'label' column; expected a label column and numeric feature columns "
                            f"(found {table.column_names[:10]})")
        columns = [name for name in table.column_names if name != "label"]
        complete = _complete_rows(table, columns) if skip_incomplete else np.ones(table.num_rows, dtype=bool)
        table = table.filter(pa.array(complete))
        skipped = int((~complete).sum())
        names = _stripped(table.column("label"))
        matrix = feature_matrix(table, columns, source=origin)
    if not np.isfinite(matrix).all():
        raise DataError(f"{origin}: NaN or infinite label features; expected finite numbers")
    _check_names(names, origin)
    if len(set(names)) != len(names):
        duplicate = next(name for index, name in enumerate(names) if name in names[:index])
        raise DataError(f"{origin}: label {duplicate!r} appears twice; expected one vector per label")
    return LabelFeatures(X=np.asarray(matrix, dtype=np.float32), label_names=names, origin=origin,
                         skipped=skipped)


def _complete_rows(table: pa.Table, columns: Sequence[str]) -> np.ndarray:
    """(rows,) bool: the rows with a label name and a present, finite value in every numeric column of ``columns``
    (a column of another type is left to the reader, which refuses it)."""
    labels = pc.utf8_trim_whitespace(table.column("label").cast(pa.string()))
    complete = pc.fill_null(pc.not_equal(labels, ""), False).to_numpy(zero_copy_only=False)
    for name in columns:
        column = table.column(name)
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            values = pc.fill_null(column.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
            complete &= np.isfinite(values)
    return complete
