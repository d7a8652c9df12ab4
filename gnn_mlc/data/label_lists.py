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
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        column = pc.split_pattern(column.cast(pa.string()), delimiter)
    elif not ((pa.types.is_list(kind) or pa.types.is_large_list(kind))
              and (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)
                   or pa.types.is_integer(kind.value_type) or pa.types.is_null(kind.value_type))):
        raise DataError(f"{source}: column {column_name!r} has type {kind}; expected a list of label names "
                        f"(list<string>, or a {delimiter!r}-delimited string)")
    names = pc.utf8_trim_whitespace(pc.list_flatten(column).cast(pa.string()))
    rows = pc.list_parent_indices(column)
    named = pc.fill_null(pc.not_equal(names, ""), False)
    names, rows = names.filter(named), rows.filter(named)
    counts = np.bincount(rows.to_numpy(zero_copy_only=False), minlength=len(column))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), names)


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
