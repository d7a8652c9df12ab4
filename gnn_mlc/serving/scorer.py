"""``Scorer``: a loaded model that turns a batch of feature rows into top-k recommendations.

It is the unit every execution engine wraps: ``gnn-mlc predict`` (one file), the ``gnn-mlc score`` job, Ray Data's
``map_batches``, Spark's ``mapInPandas``. It holds the :class:`~gnn_mlc.fitted.FittedModel` read from the model
directory and scores with its one rule (:meth:`~gnn_mlc.fitted.FittedModel.logits`): it imports neither scikit-learn
nor the estimator nor the training loop, and does no graph work. Dense models get the feature scaling folded into the
encoder's first layer, so scoring a batch is: encoder pass, one matmul ``h W^T + b``, a top-k on the logits, and a
sigmoid on the k kept logits only.

Rows whose features are missing (null), NaN, infinite or beyond float32, and rows whose finite features overflow the
model (its logits are not finite), are never scored: they come back separately with their id and the reason (the
one policy of ``predict`` and ``score``), never with a score of NaN or 1.0. Item-list columns (a user's history, see
:mod:`gnn_mlc.data.items`) become the model's bag-of-items features with its training vocabulary; an item outside
it is ignored and counted in :attr:`Scorer.item_counts`, and a null list is an empty history, not a bad row.
Categorical columns (:mod:`gnn_mlc.data.categories`) become the model's one-hot features with its training
categories; a value outside them goes to ``column=__other__`` (when the column has it) or to no feature, counted in
:attr:`Scorer.category_counts`, and a null value is a row with no category, not a bad row.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
import torch
from torch import Tensor

from gnn_mlc._torch import resolve_device
from gnn_mlc._typing import DEFAULT_LABEL_COLUMN, Matrix
from gnn_mlc.data.categories import CategoryCounts, with_categories
from gnn_mlc.data.items import ItemCounts, with_item_bags
from gnn_mlc.data.label_lists import DEFAULT_LABEL_DELIMITER, NameCounts, label_positions
from gnn_mlc.data.tabular import check_numeric_column, resolve_id_column
from gnn_mlc.errors import DataError, GnnMlcError
from gnn_mlc.fitted import FittedModel
from gnn_mlc.model_directory import load_model_parts, manifest_digest
from gnn_mlc.serving.options import ScoringOptions
from gnn_mlc.serving.topk import recommendations_table, top_k_labels

Batch = pa.RecordBatch | pa.Table | Mapping[str, Any]
MAX_SCORES = 2**25
"""At most this many logits (rows x labels, 128 MB) are held at once: larger batches are scored in slices."""
MAX_FEATURE_VALUES = 2**22
"""At most this many dense feature values (rows x numeric and one-hot columns, 16 MB of float32) are read from a
batch at once: a larger batch is read and scored in slices of rows, so a wide batch's features are not one fresh
array (bibtex's 1,836 columns x 50,000 rows are 375 MB; first-touching that much memory has cost this project's
machine seconds) and each slice's memory is reused by the next."""
OVERFLOW = "features overflow the model"
"""The reason of a row whose features are finite but so large that the model's scores are not."""
FLOAT32_MAX = float(np.finfo(np.float32).max)
ROW_ID = "row"
"""The id column written when the input has none: each row's 0-based position in the input."""


class Scorer:
    """Score batches of rows with a saved model.

    Args:
        model: the model directory.
        options: the scoring options (:class:`~gnn_mlc.serving.ScoringOptions`: ``top_k``, ``id_column``,
            ``output_id_column``, ``exclude_column``, ``known_column``, ``min_score``, ``with_labels``,
            ``keep_known``, ``without_history``, ``device``, ``label_delimiter``).
        **keywords: the same options as keywords, when ``options`` is not given (``Scorer(model, top_k=5)``, as
            Ray's ``fn_constructor_kwargs`` passes them).

    Calling it on a batch (an Arrow record batch or table, a dict of column arrays as Ray Data passes them, or a
    pandas DataFrame) returns an Arrow table with one row per input row, in input order: the id column (under its
    input name), ``labels`` (list<string>, best first), ``scores`` (list<float32>), ``predicted`` with
    ``with_labels``, and ``reason``: null for a scored row, the reason (``"age: missing or NaN"``, or
    ``"features overflow the model"`` for finite features so large that the model's scores are not finite) for a
    row not scored, whose lists are empty. So an engine never loses a row silently; filter on ``reason`` to split
    the rejects off. :meth:`score_table` returns the two parts separately.

    Label lists (``known_column``, ``exclude_column``) are read by the one reader of label lists
    (:func:`~gnn_mlc.data.read_label_lists`: ``list<string>`` or ``label_delimiter``-joined strings, names
    stripped). A name the model does not know is ignored and counted (:attr:`list_counts`,
    :meth:`list_report`); lists that hold names of which none is a model label are an error.

    Shapes:
        features: (batch, in_features) -> logits (batch, num_labels) -> ``labels``/``scores`` (batch, top_k).

    Attributes:
        options: the options, as given.
        input_columns: the input columns the model reads: its numeric feature columns, then its categorical
            columns, then its item columns.
        numeric_columns: the numeric ones (CSV readers read them as float64).
        text_columns: the categorical and item columns (CSV readers read them as text, never type-guessed).
        label_delimiter: the delimiter string list columns are split on (the option, else the model's).

    Raises:
        GnnMlcError: invalid options; a model trained with known labels without ``known_column`` or
            ``without_history``; ``known_column`` for a model without a known-label term.
    """

    def __init__(self, model: str | Path, options: ScoringOptions | None = None, **keywords: Any) -> None:
        if options is not None and keywords:
            raise GnnMlcError(f"Scorer: got options= and {', '.join(sorted(keywords))}=; expected one of them")
        options = options if options is not None else ScoringOptions(**keywords)
        parts = load_model_parts(model)
        if parts.feature_names is None:
            raise GnnMlcError(f"{model}: the model has no feature names; expected a model trained from a file")
        _check_history(parts, options, model)
        self.options = options
        self.model_digest = manifest_digest(model)
        self.device = resolve_device(options.device)
        self.feature_names = list(parts.feature_names)
        self.item_columns = list(parts.item_columns)
        self.categorical_columns = list(parts.categorical_columns)
        self.numeric_columns = parts.numeric_features
        self.dense_width = len(self.numeric_columns) + sum(len(column.feature_names)
                                                           for column in self.categorical_columns)
        """The dense features a row is read into (numeric columns and one-hot blocks; item bags are sparse)."""
        self.input_columns = parts.input_columns
        self.text_columns = [column.name for column in [*self.categorical_columns, *self.item_columns]]
        self.item_counts = {column.name: ItemCounts(0, 0) for column in self.item_columns}
        """Per item column, the item occurrences met in every batch scored so far, and those ignored (unseen)."""
        self.category_counts = {column.name: CategoryCounts(0, 0) for column in self.categorical_columns}
        """Per categorical column, the values met in every batch scored so far, and those outside its categories."""
        self.list_counts = {column: NameCounts(0, 0) for column in (options.known_column, options.exclude_column)
                            if column is not None}
        """Per label-list column, the names met in every batch scored so far, and those the model does not know."""
        self.label_names = np.asarray(parts.label_names, dtype=object)
        self.top_k = min(options.top_k, len(self.label_names))
        self.training_id_column = parts.data_columns.get("id_column")
        self.training_label_column = parts.data_columns.get("label_column", DEFAULT_LABEL_COLUMN)
        self.label_delimiter = (options.label_delimiter or parts.data_columns.get("label_delimiter")
                                or DEFAULT_LABEL_DELIMITER)
        self.model = parts
        self.label_index = pa.array(parts.label_names, pa.string())
        self.decision_rule = parts.decision_rule

    def __call__(self, batch: Batch) -> pa.Table:
        table = _as_table(batch)
        if self.resolve_id_column(table.column_names) is None:  # batches of an engine are scored independently
            raise DataError(f"input: no id column among {table.column_names[:10]}; expected one, since row positions "
                            "restart in every batch. Hint: pass id_column=")
        scored, reasons = self._score_valid_rows(table, row_offset=0)
        valid = reasons == ""
        id_name = scored.column_names[0]
        if valid.all():
            return scored.append_column("reason", pa.nulls(table.num_rows, pa.string()))
        # One row per input row, in input order: scored rows where valid, empty lists and the reason elsewhere.
        position = np.where(valid, np.cumsum(valid) - 1, scored.num_rows)  # bad rows point at an appended empty row
        empty = {name: pa.array([[]], scored.schema.field(name).type) for name in scored.column_names[1:]}
        padded = pa.concat_tables([scored, pa.table({id_name: pa.nulls(1, scored.schema.field(id_name).type),
                                                     **empty}, schema=scored.schema)])
        result = padded.take(pa.array(position))
        result = result.set_column(0, id_name, self._ids(table, row_offset=0)[1])
        return result.append_column("reason", pa.array(np.where(valid, None, reasons).tolist(), pa.string()))

    def resolve_id_column(self, column_names: list[str]) -> str | None:
        """The input column this scorer takes the ids from (``None``: row positions); see the class docstring."""
        return resolve_id_column(column_names, self.options.id_column, self.training_id_column, source="input")

    def score_table(self, table: pa.Table | pa.RecordBatch, *, row_offset: int = 0) -> tuple[pa.Table, pa.Table]:
        """Score every valid row of ``table``.

        Args:
            table: the rows, with the model's feature columns (matched by name) and the id column.
            row_offset: the position of the first row in the whole input (ids when there is no id column).

        Returns:
            ``(scored, rejected)``: ``scored`` has the id column, ``labels``, ``scores`` (and ``predicted``), one
            row per valid input row in input order; ``rejected`` has the id column and ``reason`` for rows with bad
            features.
        """
        table = _as_table(table)
        scored, reasons = self._score_valid_rows(table, row_offset=row_offset)
        bad = np.flatnonzero(reasons != "")
        id_name, ids = self._ids(table, row_offset=row_offset)
        rejected = pa.table({id_name: ids.take(pa.array(bad)), "reason": pa.array(reasons[bad].tolist(), pa.string())})
        return scored, rejected

    def score_features(
        self, ids: pa.Array | pa.ChunkedArray, X: Matrix, *, id_name: str,
        exclude: tuple[np.ndarray, np.ndarray] | None = None,
        known: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[pa.Table, np.ndarray]:
        """The top-k table of feature rows ``X`` (rows, in_features), dense or CSR, already checked finite.

        Args:
            ids: (rows,) the id of each row.
            X: the feature rows.
            id_name: the output's id column name.
            exclude: (row indices, label indices) of labels not to recommend to those rows.
            known: (row indices, label indices) of the labels those rows already have.

        Returns:
            ``(scored, reasons)``: the top-k table of the rows whose logits are finite, in input order, and (rows,)
            reasons, ``""`` for a scored row and :data:`OVERFLOW` for a row whose finite features are so large
            that the model's logits are not (it is never given a score of NaN or 1.0).
        """
        exclude, known = _by_row(exclude), _by_row(known)
        step = max(1, MAX_SCORES // len(self.label_names))
        if X.shape[0] > step:  # (rows, num_labels) logits at once: 65,536 rows x 50,000 labels would be 13 GB
            parts = [self.score_features(ids[start:start + step], X[start:start + step], id_name=id_name,
                                         exclude=_rows_of(exclude, start, step), known=_rows_of(known, start, step))
                     for start in range(0, X.shape[0], step)]
            return pa.concat_tables([part[0] for part in parts]), np.concatenate([part[1] for part in parts])
        reasons = np.full(X.shape[0], "", dtype=object)
        with torch.no_grad():
            logits = self.logits(X, known=known)
            finite = _finite_rows(logits).cpu().numpy()
            if not finite.all():
                reasons[~finite] = OVERFLOW
                kept = np.flatnonzero(finite)
                logits, ids = logits[torch.from_numpy(kept).to(logits.device)], ids.take(pa.array(kept))
                new_row = np.full(len(finite), -1)
                new_row[kept] = np.arange(len(kept))
                exclude, known = (None if pairs is None else _renumbered(pairs, new_row) for pairs in (exclude, known))
            if known is not None and not self.options.keep_known:
                exclude = known if exclude is None else tuple(np.concatenate(pair) for pair in zip(exclude, known))
            if exclude is not None and len(exclude[0]):
                logits[torch.from_numpy(exclude[0]), torch.from_numpy(exclude[1])] = -torch.inf
            indices, top_logits = top_k_labels(logits, self.top_k)
            scores = _sigmoid(top_logits)
            keep = None
            if exclude is not None or self.options.min_score is not None:
                keep = np.isfinite(top_logits) & (scores >= (self.options.min_score or 0.0))
            table = recommendations_table(ids, self.label_index, indices, scores, id_name=id_name, keep=keep)
            if self.options.with_labels:
                table = table.append_column("predicted", self._predicted(torch.sigmoid(logits).cpu().numpy()))
        return table, reasons

    def label_lists(self, table: pa.Table, column_name: str | None, flag: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(row indices, label indices) of the label names a list column holds per row.

        Names the model does not know are ignored and counted in :attr:`list_counts`.

        Raises:
            DataError: the column is absent or holds no lists of names, or its lists (in every batch so far) hold
                names and none of them is a label of the model.
        """
        if column_name is None:
            return None
        if column_name not in table.column_names:
            raise DataError(f"input: no column {column_name!r} for {flag}; expected a list<string> column of label "
                            "names. Hint: check the column name")
        found = label_positions(table.column(column_name), self.label_delimiter, self.label_index, source="input",
                                column_name=column_name)
        named = found.positions >= 0
        self.list_counts[column_name] += NameCounts(len(named), int(len(named) - named.sum()))
        counts = self.list_counts[column_name]
        if counts.names and counts.unknown == counts.names:
            raise DataError(
                f"input: column {column_name!r} ({flag}): none of its {counts.names:,} label names is a label of the "
                f"model (first {found.first_name!r}); expected names among the model's {len(self.label_names):,} "
                f"labels. Hint: check the column holds this model's label names (not another catalogue's ids) and "
                f"--label-delimiter ({self.label_delimiter!r})")
        return found.rows[named], found.positions[named]

    def logits(self, X: Matrix, *, known: tuple[np.ndarray, np.ndarray] | None = None) -> Tensor:
        """``h W^T + b`` (rows, num_labels) of feature rows ``X`` (rows, in_features), on the scorer's device; with
        ``known`` (row indices, label indices), plus those known labels' evidence: the fitted model's one rule,
        :meth:`~gnn_mlc.fitted.FittedModel.logits`."""
        signal, known = None, _by_row(known)
        if known is not None and self.model.has_known_term and len(known[0]):  # pairs sorted by row: CSR as it is
            indptr = np.concatenate([[0], np.cumsum(np.bincount(known[0], minlength=X.shape[0]))])
            signal = sp.csr_matrix((np.ones(len(known[0]), dtype=np.uint8), known[1], indptr),
                                   shape=(X.shape[0], len(self.label_names)))
        return self.model.logits(X, known=signal, device=self.device)

    def _predicted(self, probabilities: np.ndarray) -> pa.ListArray:
        decisions = self.decision_rule.decide(probabilities)
        row_index, label_index = np.nonzero(decisions)
        offsets = np.concatenate([[0], np.cumsum(np.bincount(row_index, minlength=probabilities.shape[0]))])
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)),
                                        pa.array(self.label_names[label_index], pa.string()))

    def _ids(self, table: pa.Table, *, row_offset: int) -> tuple[str, pa.ChunkedArray | pa.Array]:
        column = self.resolve_id_column(table.column_names)
        if column is None:
            ids = pa.array(np.arange(row_offset, row_offset + table.num_rows, dtype=np.int64))
            return self.options.output_id_column or ROW_ID, ids
        return self.options.output_id_column or column, table.column(column)

    def check_columns(self, column_names: list[str], *, source: str = "input") -> None:
        """Raise a one-line :class:`DataError` unless the model's input columns (and a requested id column) are
        among ``column_names``; used to fail before a job writes anything."""
        available = set(column_names)
        missing = [name for name in self.input_columns if name not in available]
        id_column = resolve_id_column(column_names, self.options.id_column, self.training_id_column, source=source)
        if missing:
            known = {*self.input_columns, id_column, self.training_label_column}
            extra = [name for name in column_names if name not in known]
            raise DataError(
                f"{source}: {len(missing)} of the model's {len(self.input_columns)} feature columns are missing, "
                f"first {missing[0]!r}" + (f"; columns the model does not know: {extra[:5]}" if extra else "")
                + ". Hint: score data with the training data's feature columns"
            )

    def _score_valid_rows(self, table: pa.Table, *, row_offset: int) -> tuple[pa.Table, np.ndarray]:
        """The scored table of the valid rows, and (rows,) reasons ("" for a scored row); its columns checked once,
        then read and scored in slices of at most :data:`MAX_FEATURE_VALUES` dense feature values."""
        self.check_columns(table.column_names)
        step = max(1, MAX_FEATURE_VALUES // max(1, self.dense_width))
        if table.num_rows <= step:
            return self._score_slice(table, row_offset=row_offset)
        parts = [self._score_slice(table.slice(start, step), row_offset=row_offset + start)
                 for start in range(0, table.num_rows, step)]
        return pa.concat_tables([part[0] for part in parts]), np.concatenate([part[1] for part in parts])

    def _score_slice(self, table: pa.Table, *, row_offset: int) -> tuple[pa.Table, np.ndarray]:
        """:meth:`_score_valid_rows` of a slice whose columns are checked."""
        id_name, ids = self._ids(table, row_offset=row_offset)
        features, reasons = self._features(table)
        if ids.null_count:  # a row without an id cannot be joined back to anything
            reasons[(reasons == "") & ~ids.is_valid().to_numpy(zero_copy_only=False)] = "id: missing"
        exclude = self.label_lists(table, self.options.exclude_column, "--exclude-column")
        known = self.label_lists(table, self.options.known_column, "--known-column")
        good = np.flatnonzero(reasons == "")
        if len(good) < len(reasons):
            features, ids = features[good], ids.take(pa.array(good))
            new_row = np.full(len(reasons), -1)
            new_row[good] = np.arange(len(good))
            exclude, known = (None if pairs is None else _renumbered(pairs, new_row) for pairs in (exclude, known))
        scored, overflow = self.score_features(ids, features, id_name=id_name, exclude=exclude, known=known)
        reasons[good] = overflow
        return scored, reasons

    def _features(self, table: pa.Table) -> tuple[Matrix, np.ndarray]:
        """(rows, num_features) float32 features (the numeric columns, the categories' one-hot blocks, the bags of
        items: CSR with item columns) and (rows,) reasons ("" for a valid row)."""
        features = np.empty((table.num_rows, len(self.numeric_columns)), dtype=np.float32)
        reasons = np.full(table.num_rows, "", dtype=object)
        for index, name in enumerate(self.numeric_columns):
            column = table.column(name)
            check_numeric_column(column, name, source="input")
            with np.errstate(over="ignore"):  # a value beyond float32 becomes infinite here, told apart below
                features[:, index] = _float64_values(column)
        for index in np.flatnonzero(~np.isfinite(features).all(axis=0)):  # the columns with a bad value, in order
            name = self.numeric_columns[index]
            values = _float64_values(table.column(name))
            with np.errstate(invalid="ignore"):  # NaN compares False: it is told apart just below
                invalid = (np.abs(values) > FLOAT32_MAX) | np.isnan(values)
            fresh = invalid & (reasons == "")
            kinds = np.where(np.isnan(values[fresh]), "missing or NaN",
                             np.where(np.isinf(values[fresh]), "infinite", "beyond the float32 range"))
            reasons[fresh] = [f"{name}: {kind}" for kind in kinds]
            features[invalid, index] = 0.0
        if self.categorical_columns:
            features, categories = with_categories(features, table, self.categorical_columns)
            for name, tally in categories.items():
                self.category_counts[name] += tally
        if not self.item_columns:
            return features, reasons
        features, counts = with_item_bags(features, table, self.item_columns, source="input")
        for name, tally in counts.items():
            self.item_counts[name] += tally
        return features, reasons

    def item_report(self) -> str:
        """One sentence per item column on the items ignored so far (``""`` for a model without item columns)."""
        return "; ".join(counts.describe(name) for name, counts in self.item_counts.items())

    def category_report(self) -> str:
        """One sentence per categorical column on the values outside its categories so far (``""`` for a model
        without categorical columns)."""
        return "; ".join(self.category_counts[column.name].describe(column.name, other=column.other)
                         for column in self.categorical_columns)

    def report(self) -> str:
        """What the scorer ignored or folded so far, one line each: items outside the vocabulary, categories
        outside the training ones, list names the model does not know (``""`` when there is nothing to say)."""
        return "\n".join(line for line in (self.item_report(), self.category_report(), self.list_report()) if line)

    def list_report(self) -> str:
        """One warning line per label-list column whose names the model did not all know, so far (else ``""``)."""
        return "\n".join(line for line in (counts.describe(f"column {name!r}") for name, counts
                                           in self.list_counts.items()) if line)


def _check_history(model: FittedModel, options: ScoringOptions, directory: str | Path) -> None:
    """Known labels are part of a model's contract: a model with a known-label term scores with them (or, said
    explicitly, without history), and one without such a term refuses them rather than silently only excluding.

    Raises:
        GnnMlcError: naming the model directory and the way out.
    """
    if model.has_known_term and options.known_column is None and not options.without_history:
        raise GnnMlcError(f"{directory}: the model was trained with known labels (a user's history) and none are "
                          "given; expected known_column= (CLI: --known-column). Hint: pass without_history=True "
                          "(CLI: --without-history) to score every row as a user without history")
    if options.known_column is not None and not model.has_known_term:
        raise GnnMlcError(f"{directory}: known_column {options.known_column!r} given, but the model was not trained "
                          "with known labels; expected a model trained with --known-column or --known-split. Hint: "
                          "pass the column as exclude_column= (CLI: --exclude-column) to only keep its labels out of "
                          "the recommendations")


def _by_row(pairs: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(row, label) pairs sorted by row (stably; as :meth:`Scorer.label_lists` gives them, they already are)."""
    if pairs is None or np.all(pairs[0][1:] >= pairs[0][:-1]):
        return pairs
    order = np.argsort(pairs[0], kind="stable")
    return pairs[0][order], pairs[1][order]


def _rows_of(pairs: tuple[np.ndarray, np.ndarray] | None, start: int, count: int
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """The (row, label) pairs of rows ``start .. start + count``, renumbered from 0; ``pairs`` are sorted by row (as
    :meth:`Scorer.label_lists` gives them), so a block's pairs are found by bisection, not by a pass over all."""
    if pairs is None:
        return None
    first, last = np.searchsorted(pairs[0], [start, start + count])
    return pairs[0][first:last] - start, pairs[1][first:last]


def _renumbered(pairs: tuple[np.ndarray, np.ndarray], new_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, label) pairs of the rows kept, with their new row numbers (``new_row``: -1 for a dropped row)."""
    kept = new_row[pairs[0]] >= 0
    return new_row[pairs[0]][kept], pairs[1][kept]


def check_unique_ids(ids: pa.ChunkedArray | pa.Array, where: str | Path) -> None:
    """Raise a one-line :class:`DataError` naming an id that appears more than once in ``ids``."""
    if pc.count_distinct(ids).as_py() != len(ids):
        counts = pc.value_counts(ids)
        duplicate = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
        raise DataError(f"{where}: id {duplicate!r} appears more than once; expected one row per id. Hint: "
                        "deduplicate the input, or pass another --id-column")


def _float64_values(column: pa.ChunkedArray) -> np.ndarray:
    """(rows,) float64 values of a numeric column, a null as NaN; a column without nulls is read as it is (no cast
    and fill through Arrow: a wide table's thousands of columns cost that per column and per slice)."""
    if column.null_count:
        return pc.fill_null(column.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    return column.to_numpy().astype(np.float64, copy=False)


def _finite_rows(logits: Tensor) -> Tensor:
    """(rows,) bool: whether every logit of a row (rows, num_labels) is finite. A row's sum is finite only if all
    its values are (a NaN or an infinity carries into it); only the rare rows whose sum is not (an overflow of the
    sum, or a value that is not finite) are checked value by value: one pass instead of two."""
    finite = torch.isfinite(logits.sum(dim=1))
    if not bool(finite.all()):
        suspects = (~finite).nonzero().squeeze(1)
        finite[suspects] = torch.isfinite(logits[suspects]).all(dim=1)
    return finite


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return torch.sigmoid(torch.from_numpy(logits)).numpy()


def _as_table(batch: Batch) -> pa.Table:
    if isinstance(batch, pa.Table):
        return batch
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if hasattr(batch, "to_dict") and hasattr(batch, "columns"):  # a pandas DataFrame (Spark's mapInPandas)
        return pa.Table.from_pandas(batch, preserve_index=False)
    # Ray Data's dict of NumPy arrays; a list column (item histories) comes as an object array of arrays
    return pa.table({name: _as_array(values) for name, values in batch.items()})


def _as_array(values: Any) -> pa.Array:
    """One column of a dict batch as Arrow: NumPy arrays and plain lists, ragged lists (histories) included."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return pa.array([value.tolist() if isinstance(value, np.ndarray) else value for value in values])
    if isinstance(values, np.ndarray) and values.ndim == 2:  # lists of equal length: Ray stacks them
        return pa.array(values.tolist())
    return pa.array(values if isinstance(values, list) else np.asarray(values))
