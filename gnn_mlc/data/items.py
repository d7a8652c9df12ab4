"""Bag-of-items features: a list-valued column (a user's item history) as one sparse feature per item.

A recommender's rows carry what a user bought, watched or clicked as a list: a Parquet ``list<string>`` or
``list<int>`` column, or a CSV string joined by a delimiter (``"sku1|sku7"``). :class:`ItemColumn` turns such a
column into a sparse (rows, items) block of features named ``column=item``:

* the **vocabulary** is fitted on the training rows (every item seen there, sorted) and saved in the model
  directory; an item outside it is ignored when scoring and counted (:class:`ItemCounts`), never an error;
* **weighting** ``"binary"`` (default): 1 for each item a row has; ``"tfidf"``: scikit-learn's ``TfidfTransformer``
  defaults (term frequency x smooth idf ``ln((1 + n) / (1 + df)) + 1``, each row scaled to unit L2 norm), computed
  here with NumPy/SciPy so that the scoring path needs no scikit-learn;
* a null or empty list, and null or blank items inside one, are no items: a user without history is a valid row.

NumPy, SciPy and pyarrow only, vectorised over the Arrow arrays (no Python loop over rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from gnn_mlc.errors import DataError

ItemWeighting = Literal["binary", "tfidf"]
ITEM_WEIGHTINGS: tuple[str, ...] = ("binary", "tfidf")


def is_list_column(column: pa.ChunkedArray | pa.Array) -> bool:
    """Whether an Arrow column holds lists (Parquet ``list<...>``), the type read as items without being named."""
    return (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
            or pa.types.is_fixed_size_list(column.type))


def item_lists(column: pa.ChunkedArray | pa.Array, *, delimiter: str, name: str, source: str) -> pa.ListArray:
    """The column as ``list<string>``: lists as they are (items cast to text), strings split on ``delimiter`` and
    stripped; null lists become empty ones.

    Args:
        column: (rows,) lists of items, delimited strings, or one integer id a row.
        delimiter: the separator of items in a string.
        name: the column's name, for messages.
        source: the file (or batch) it came from, for messages.

    Raises:
        DataError: the column holds neither lists of strings or integers nor strings.
    """
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_fixed_size_list(column.type):  # e.g. equal-length histories handed over as a 2-D array
        column = column.cast(pa.list_(column.type.value_type))
    kind = column.type
    if pa.types.is_integer(kind):  # one item id a row (what CSV type inference makes of a single id)
        kind = pa.string()
        column = column.cast(kind)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        column = pc.split_pattern(column.cast(pa.string()), delimiter)
    elif not is_list_column(column) or not (pa.types.is_string(kind.value_type) or pa.types.is_large_string(
            kind.value_type) or pa.types.is_integer(kind.value_type) or pa.types.is_null(kind.value_type)):
        raise DataError(f"{source}: item column {name!r} has type {kind}; expected a list of item names or ids "
                        f"(list<string> or list<int>), or a {delimiter!r}-delimited string")
    column = column.fill_null(pa.scalar([], column.type)) if column.null_count else column
    values = pc.utf8_trim_whitespace(pc.list_flatten(column).cast(pa.string())).fill_null("")
    offsets = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    return pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(offsets)]), pa.int64()), values)


@dataclass(frozen=True)
class ItemCounts:
    """How many item occurrences a transform met, and how many of them are outside the vocabulary (ignored)."""

    occurrences: int
    unseen: int

    def __add__(self, other: ItemCounts) -> ItemCounts:
        return ItemCounts(self.occurrences + other.occurrences, self.unseen + other.unseen)

    def describe(self, name: str) -> str:
        """``history: 12 of 3,400 item occurrences (0.35%) not in the training vocabulary, ignored``."""
        share = self.unseen / self.occurrences if self.occurrences else 0.0
        return (f"{name}: {self.unseen:,} of {self.occurrences:,} item occurrences ({share:.2%}) not in the "
                "training vocabulary, ignored")


@dataclass(frozen=True)
class ItemColumn:
    """A fitted list-valued feature column: its name, item vocabulary and weighting.

    Attributes:
        name: the input column.
        items: the vocabulary, in feature order (the features are named ``f"{name}={item}"``).
        delimiter: the separator of items in a string column.
        idf: (len(items),) float64 inverse document frequencies for ``"tfidf"`` weighting, ``None`` for binary.
    """

    name: str
    items: tuple[str, ...]
    delimiter: str = "|"
    idf: np.ndarray | None = None

    @property
    def weighting(self) -> ItemWeighting:
        """``"tfidf"`` when the column has an idf, else ``"binary"``."""
        return "binary" if self.idf is None else "tfidf"

    @property
    def feature_names(self) -> list[str]:
        """The features this column makes, ``f"{name}={item}"`` in vocabulary order."""
        return [f"{self.name}={item}" for item in self.items]

    @classmethod
    def fit(cls, column: pa.ChunkedArray | pa.Array, *, name: str, delimiter: str = "|",
            weighting: ItemWeighting = "binary", source: str = "input") -> ItemColumn:
        """The vocabulary (every item the training rows have, sorted) and, for ``"tfidf"``, the idf.

        Raises:
            DataError: an unknown weighting, a column that holds no lists, or no item in any row.
        """
        if weighting not in ITEM_WEIGHTINGS:
            raise DataError(f"item weighting: got {weighting!r}; expected one of {', '.join(ITEM_WEIGHTINGS)}")
        lists = item_lists(column, delimiter=delimiter, name=name, source=source)
        values = pc.list_flatten(lists)
        present = pc.not_equal(values, "")
        items = tuple(sorted(pc.unique(values.filter(present)).to_pylist()))
        if not items:
            raise DataError(f"{source}: item column {name!r} holds no item in any row; expected item lists "
                            "(a user's history). Hint: leave the column out of the features")
        fitted = cls(name=name, items=items, delimiter=delimiter)
        if weighting == "binary":
            return fitted
        counts, _ = fitted._counts(lists)
        documents = np.bincount(counts.indices, minlength=len(items))  # rows holding each item
        idf = np.log((1.0 + counts.shape[0]) / (1.0 + documents)) + 1.0
        return cls(name=name, items=items, delimiter=delimiter, idf=idf)

    def transform(self, column: pa.ChunkedArray | pa.Array, *, source: str = "input"
                  ) -> tuple[sp.csr_matrix, ItemCounts]:
        """(rows, len(items)) float32 CSR features of ``column``, and the counts of item occurrences met and
        ignored (outside the vocabulary)."""
        counts, tally = self._counts(item_lists(column, delimiter=self.delimiter, name=self.name, source=source))
        if self.idf is None:
            counts.data[:] = 1.0
            return counts, tally
        weighted = sp.csr_matrix(counts @ sp.diags(self.idf))
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        weighted = sp.csr_matrix(sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0))
                                 @ weighted)
        return weighted.astype(np.float32), tally

    def _counts(self, lists: pa.ListArray) -> tuple[sp.csr_matrix, ItemCounts]:
        """(rows, len(items)) float32 CSR of how often each row lists each vocabulary item, and the tally."""
        values = pc.list_flatten(lists)
        rows = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
        named = pc.not_equal(values, "").to_numpy(zero_copy_only=False)
        position = pc.index_in(values, value_set=pa.array(self.items, pa.string()))
        known = position.is_valid().to_numpy(zero_copy_only=False)
        columns = position.fill_null(0).to_numpy(zero_copy_only=False)
        counts = sp.csr_matrix((np.ones(int(known.sum()), dtype=np.float32), (rows[known], columns[known])),
                               shape=(len(lists), len(self.items)))
        counts.sum_duplicates()
        return counts, ItemCounts(occurrences=int(named.sum()), unseen=int((named & ~known).sum()))

    def to_json(self) -> dict[str, Any]:
        """The column as plain JSON (the model directory's ``item_columns.json`` entry)."""
        return {"name": self.name, "delimiter": self.delimiter, "weighting": self.weighting,
                "items": list(self.items), "idf": None if self.idf is None else self.idf.tolist()}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ItemColumn:
        """The column :meth:`to_json` wrote.

        Raises:
            DataError: a field is missing or inconsistent (items not unique, idf of another length or not finite).
        """
        try:
            items = tuple(str(item) for item in value["items"])
            idf = None if value["idf"] is None else np.asarray(value["idf"], dtype=np.float64)
            column = cls(name=str(value["name"]), items=items, delimiter=str(value["delimiter"]), idf=idf)
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(f"item column: incomplete description ({error}); expected name, delimiter, items, "
                            "idf") from None
        if len(set(items)) != len(items) or (idf is not None and (idf.shape != (len(items),)
                                                                   or not np.isfinite(idf).all())):
            raise DataError(f"item column {column.name!r}: repeated items or an idf that does not match them; "
                            "expected unique items and one finite idf each. Hint: train the model again")
        return column


def with_item_bags(numeric: np.ndarray, table: pa.Table, item_columns: list[ItemColumn], *, source: str
                   ) -> tuple[sp.csr_matrix, dict[str, ItemCounts]]:
    """The features of a table with item columns, as training and scoring both build them.

    Args:
        numeric: (rows, num_numeric) its numeric feature columns, already read.
        table: the table holding the item columns.
        item_columns: the fitted item columns, in feature order.
        source: the file or batch, for messages.

    Returns:
        (rows, num_numeric + their items) float32 CSR: the numeric columns, then each column's bag of items; and each
        item column's tally of items read and ignored.
    """
    blocks, counts = [sp.csr_matrix(numeric)], {}
    for column in item_columns:
        bag, counts[column.name] = column.transform(table.column(column.name), source=source)
        blocks.append(bag)
    return sp.csr_matrix(sp.hstack(blocks, format="csr"), dtype=np.float32), counts
