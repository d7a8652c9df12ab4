"""Categorical features: a string (or dictionary-encoded) column as one-hot features, one per category.

A table's text columns (``gender``, ``occupation``) hold one value a row out of a small set. :class:`CategoricalColumn`
turns such a column into a dense (rows, categories) block of 0/1 features named ``column=value``:

* the **vocabulary** is fitted on the training rows: the ``max_categories`` most frequent values (ties broken by
  name), in sorted order; when the rows hold more values than that, every other value goes to one more feature,
  ``column=__other__``. It is saved in the model directory (``categorical_columns.json``);
* at scoring, a value outside the vocabulary goes to ``column=__other__`` when the column has it, else to no
  feature; it is counted (:class:`CategoryCounts`), never an error;
* a null, empty or blank value is a row with no category (all zeros), not a bad row; values are stripped of
  surrounding whitespace, and a value ``__other__`` in the data is the other category itself.

The features are dense: they join the numeric features, before any bag of items (:mod:`gnn_mlc.data.items`), and
are standardised with them (:class:`~gnn_mlc.data.preprocessing.FeatureScaler`'s ``dense_columns``).

NumPy and pyarrow only, vectorised over the Arrow arrays; the scoring path applies it without scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gnn_mlc.errors import DataError

OTHER = "__other__"
"""The category of every value outside a column's vocabulary (only for a column capped at ``max_categories``)."""
DEFAULT_MAX_CATEGORIES = 100


def is_categorical_column(column: pa.ChunkedArray | pa.Array) -> bool:
    """Whether an Arrow column is read as categories: text (``string``, ``large_string``) or dictionary-encoded
    (pandas ``category``)."""
    kind = column.type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind)


def category_values(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """(rows,) the column as stripped ``string`` values, null where a row has no category (null, empty or blank);
    dictionary-encoded columns decoded, and other primitive values (an integer code in a scoring file) as text."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    values = pc.utf8_trim_whitespace(column.cast(pa.string()))
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


@dataclass(frozen=True)
class CategoryCounts:
    """How many values a transform met (non-null), and how many of them are outside the vocabulary."""

    values: int
    unseen: int

    def __add__(self, other: CategoryCounts) -> CategoryCounts:
        return CategoryCounts(self.values + other.values, self.unseen + other.unseen)

    def describe(self, name: str, *, other: bool) -> str:
        """``occupation: 3 of 1,000 values (0.30%) not among the training categories, counted as
        occupation=__other__`` (``ignored`` for a column without the other category)."""
        share = self.unseen / self.values if self.values else 0.0
        where = f"counted as {name}={OTHER}" if other else "ignored (no category)"
        return f"{name}: {self.unseen:,} of {self.values:,} values ({share:.2%}) not among the training categories, " \
               f"{where}"


@dataclass(frozen=True)
class CategoricalColumn:
    """A fitted categorical column: its name, its categories and whether it has the other category.

    Attributes:
        name: the input column.
        categories: the kept values, in feature order (sorted); features ``f"{name}={value}"``.
        other: whether ``f"{name}=__other__"`` follows them (the training rows held more than the cap).
    """

    name: str
    categories: tuple[str, ...]
    other: bool = False

    @property
    def feature_names(self) -> list[str]:
        """The features this column makes: one per category, then ``column=__other__`` when it has one."""
        return [f"{self.name}={value}" for value in self.categories] + ([f"{self.name}={OTHER}"] if self.other else [])

    @classmethod
    def fit(cls, column: pa.ChunkedArray | pa.Array, *, name: str, max_categories: int = DEFAULT_MAX_CATEGORIES,
            source: str = "input") -> CategoricalColumn:
        """The vocabulary of the training rows ``column`` (rows,): its ``max_categories`` most frequent values.

        Raises:
            DataError: ``max_categories`` below 1, or no value in any row.
        """
        if isinstance(max_categories, bool) or not isinstance(max_categories, int) or max_categories < 1:
            raise DataError(f"max_categories: got {max_categories!r}; expected a positive integer (CLI: "
                            "--max-categories)")
        counts = pc.value_counts(category_values(column).drop_null())
        values = counts.field("values").to_pylist()
        frequency = counts.field("counts").to_numpy(zero_copy_only=False)
        if not values:
            raise DataError(f"{source}: categorical column {name!r} holds no value in any row; expected category "
                            "names. Hint: leave the column out of the features")
        ranked = sorted(((-int(count), value) for value, count in zip(values, frequency) if value != OTHER))
        kept = tuple(sorted(value for _, value in ranked[:max_categories]))
        return cls(name=name, categories=kept, other=len(ranked) > max_categories or OTHER in values)

    def transform(self, column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, CategoryCounts]:
        """(rows, len(feature_names)) float32 one-hot features of ``column`` (rows,), and the counts of values
        met and of those outside the vocabulary (into ``__other__`` when the column has it, else no feature)."""
        values = category_values(column)
        present = values.is_valid().to_numpy(zero_copy_only=False)
        position = pc.index_in(values, value_set=pa.array(self.categories, pa.string()))
        known = position.is_valid().to_numpy(zero_copy_only=False)
        columns = position.fill_null(len(self.categories)).to_numpy(zero_copy_only=False).astype(np.int64)
        unseen = present & ~known
        named_other = unseen & (values.fill_null("").to_numpy(zero_copy_only=False) == OTHER) if self.other \
            else np.zeros(len(present), dtype=bool)
        features = np.zeros((len(values), len(self.feature_names)), dtype=np.float32)
        hot = known | (unseen & self.other)
        features[np.flatnonzero(hot), columns[hot]] = 1.0
        return features, CategoryCounts(values=int(present.sum()), unseen=int((unseen & ~named_other).sum()))

    def to_json(self) -> dict[str, Any]:
        """The column as plain JSON (the model directory's ``categorical_columns.json`` entry)."""
        return {"name": self.name, "categories": list(self.categories), "other": self.other}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> CategoricalColumn:
        """The column :meth:`to_json` wrote.

        Raises:
            DataError: a field is missing or of another type, or the categories repeat.
        """
        try:
            categories = tuple(value["categories"])
            column = cls(name=value["name"], categories=categories, other=value["other"])
        except (KeyError, TypeError) as error:
            raise DataError(f"categorical column: incomplete description ({error}); expected name, categories, "
                            "other") from None
        if not isinstance(column.name, str) or not isinstance(column.other, bool) \
                or not all(isinstance(item, str) and item for item in categories) \
                or len(set(categories)) != len(categories) or OTHER in categories:
            raise DataError(f"categorical column {column.name!r}: categories that are not distinct non-empty names; "
                            "expected the ones 'gnn-mlc train' writes. Hint: train the model again")
        return column


def with_categories(numeric: np.ndarray, table: pa.Table, columns: list[CategoricalColumn]
                    ) -> tuple[np.ndarray, dict[str, CategoryCounts]]:
    """The dense features of a table with categorical columns, as training and scoring both build them.

    Args:
        numeric: (rows, num_numeric) its numeric feature columns, already read.
        table: the table holding the categorical columns.
        columns: the fitted categorical columns, in feature order.

    Returns:
        (rows, num_numeric + their features) float32: the numeric columns, then each column's one-hot block; and
        each column's tally of values read and outside its vocabulary.
    """
    blocks, counts = [numeric], {}
    for column in columns:
        values = table.column(column.name)
        if pa.types.is_nested(values.type) or pa.types.is_binary(values.type):
            raise DataError(f"input: column {column.name!r} has type {values.type}; expected the text categories the "
                            "model was trained on. Hint: pass the same column as in training")
        block, counts[column.name] = column.transform(values)
        blocks.append(block)
    return np.hstack(blocks).astype(np.float32, copy=False), counts
