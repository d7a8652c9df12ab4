"""The one reader of label lists: a row's labels, known labels or labels to exclude, in every command and the Scorer.

A label-list column holds, per row, either a list of names (Parquet ``list<string>``) or one string of names joined
by a delimiter (CSV: ``"hiking|camping"``). Names are stripped of surrounding whitespace (``"hiking | camping"`` is
``[hiking, camping]``, and ``" hiking"`` names the label ``hiking``); a null or empty entry, and a null, empty or
blank name inside a list, is no label. Vectorised with pyarrow: no Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gnn_mlc.errors import DataError

DEFAULT_LABEL_DELIMITER = "|"
"""The separator of names in a string label column unless ``--label-delimiter`` says otherwise."""


def read_label_lists(column: pa.Array | pa.ChunkedArray, delimiter: str, *, source: str,
                     column_name: str) -> pa.LargeListArray:
    """Each row's label names, stripped, with null, empty and blank names dropped.

    Args:
        column: (rows,) lists of names (string or integer items), or ``delimiter``-joined strings, or all null.
        delimiter: the separator inside a string entry.
        source: the file or ``"input"``, for the error message.
        column_name: the column, for the error message.

    Returns:
        (rows,) ``large_list<string>``; a null row is an empty list.

    Raises:
        DataError: the column holds neither lists of names nor strings (naming the source, column and type).
    """
    column = _as_lists(column, delimiter, source=source, column_name=column_name)
    names = pc.utf8_trim_whitespace(pc.list_flatten(column).cast(pa.string()))
    rows = pc.list_parent_indices(column)
    named = pc.fill_null(pc.not_equal(names, ""), False)
    names, rows = names.filter(named), rows.filter(named)
    counts = np.bincount(rows.to_numpy(zero_copy_only=False), minlength=len(column))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), names)


@dataclass(frozen=True)
class LabelPositions:
    """The names of a label-list column (as :func:`read_label_lists` reads them) as places in a label list.

    Attributes:
        rows: (names,) int64 the row of each name, non-decreasing (the column's order).
        positions: (names,) int64 its index in the labels, -1 for a name that is not one of them.
        first_name: the column's first name, or ``None`` when it has none (for messages).
    """

    rows: np.ndarray
    positions: np.ndarray
    first_name: str | None


def label_positions(column: pa.Array | pa.ChunkedArray, delimiter: str, labels: pa.Array, *, source: str,
                    column_name: str) -> LabelPositions:
    """The names of ``column`` (read as :func:`read_label_lists` does: stripped, null, empty and blank names
    dropped) looked up in ``labels`` (num_labels,) ``string``. Every name is looked up as it is (one hash pass over
    the column, no copy of its strings: a column of millions of stripped names from a catalogue costs about that);
    only the names not found so are stripped and looked up again. Where a label itself has surrounding whitespace
    (which no stripped name can equal), every name is stripped first.

    Raises:
        DataError: the column holds neither lists of names nor strings (naming the source, column and type).
    """
    column = _as_lists(column, delimiter, source=source, column_name=column_name)
    names = pc.list_flatten(column).cast(pa.string())
    if pc.any(pc.not_equal(labels, pc.utf8_trim_whitespace(labels))).as_py():  # a name as it is could match
        names = pc.utf8_trim_whitespace(names)
    positions = pc.fill_null(pc.index_in(names, value_set=labels), -1).to_numpy(zero_copy_only=False).astype(np.int64)
    missed = np.flatnonzero(positions < 0)  # unknown, or to be stripped, or no name (null, empty, blank)
    words = pc.utf8_trim_whitespace(names.take(pa.array(missed)))
    again = pc.fill_null(pc.index_in(words, value_set=labels), -1).to_numpy(zero_copy_only=False).astype(np.int64)
    again[pc.fill_null(pc.equal(words, ""), True).to_numpy(zero_copy_only=False)] = -2  # no name
    positions[missed] = again
    rows = pc.list_parent_indices(column).to_numpy(zero_copy_only=False).astype(np.int64)
    if (positions == -2).any():
        named = np.flatnonzero(positions > -2)
        rows, positions, names = rows[named], positions[named], names.take(pa.array(named))
    first = pc.utf8_trim_whitespace(names.slice(0, 1))[0].as_py() if len(names) else None
    return LabelPositions(rows=rows, positions=positions, first_name=first)


def _as_lists(column: pa.Array | pa.ChunkedArray, delimiter: str, *, source: str, column_name: str) -> pa.Array:
    """``column`` as one list array: a string column split at ``delimiter``, a list column as it is.

    Raises:
        DataError: the column holds neither lists of names nor strings.
    """
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return pc.split_pattern(column.cast(pa.string()), delimiter)
    if not ((pa.types.is_list(kind) or pa.types.is_large_list(kind))
            and (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)
                 or pa.types.is_integer(kind.value_type) or pa.types.is_null(kind.value_type))):
        raise DataError(f"{source}: column {column_name!r} has type {kind}; expected a list of label names "
                        f"(list<string>, or a {delimiter!r}-delimited string)")
    return column


@dataclass(frozen=True)
class NameCounts:
    """How many label names a list column gave, and how many of them the model does not know (ignored)."""

    names: int
    unknown: int

    def __add__(self, other: NameCounts) -> NameCounts:
        return NameCounts(self.names + other.names, self.unknown + other.unknown)

    def describe(self, what: str) -> str:
        """``warning: --known-column 'history': 3 of 1,200 label names (0.25%) are not labels of the model, ignored``
        (``""`` when every name is known)."""
        if not self.unknown:
            return ""
        share = self.unknown / self.names
        return (f"warning: {what}: {self.unknown:,} of {self.names:,} label names ({share:.2%}) are not labels of the "
                "model, ignored")
