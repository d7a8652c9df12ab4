"""The in-memory multi-label data set and the checks every array input passes."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from gnn_mlc._typing import Matrix
from gnn_mlc.data.categories import CategoricalColumn, CategoryCounts
from gnn_mlc.data.items import ItemColumn, ItemCounts
from gnn_mlc.errors import DataError, UnknownLabelError, did_you_mean


@dataclass
class Dataset:
    """Features, labels and names of one multi-label data set.

    Attributes:
        X: features, ``(num_rows, num_features)`` float32 ndarray, or SciPy CSR when the source is sparse.
        Y: labels, ``(num_rows, num_labels)`` uint8 in {0, 1}; CSR when ``X`` is CSR, else an ndarray.
        label_names: ``num_labels`` label names, in column order.
        feature_names: ``num_features`` feature names, in column order (one-hot columns are ``attribute=value``).
        ids: ``(num_rows,)`` row identifiers (from an ID attribute or column), or ``None``.
        dropped_attributes: source attributes not turned into features (string and identifier attributes).
        source: where the data came from, used in messages.
        Y_missing: like ``Y``, 1 where a label's value is unknown (MEKA's ``?``), or ``None`` when all are known.
            Unknown entries are 0 in ``Y`` and are left out of training, the label graph and the metrics.
        id_column: the table column ``ids`` came from (``None`` for ARFF identifiers and arrays).
        unlisted_labels_are_negative: ``True`` for tables, whose rows list all their labels: a label the file
            never mentions is 0 in every row. ``False`` for ARFF and arrays, which declare their label columns: a
            label not among ``label_names`` has no values (see :meth:`missing_labels`).
        known: like ``Y``, 1 for the labels each row already has (a user's history: evidence for a model trained
            with known labels, and never recommended), or ``None``.
        item_columns: the list-valued columns whose items are features (:mod:`gnn_mlc.data.items`), their
            features last in ``feature_names``; a model saves them to read its input the same way.
        item_counts: per item column, the item occurrences read and those outside its vocabulary (ignored).
        categorical_columns: the text columns read as one-hot categories (:mod:`gnn_mlc.data.categories`), their
            features just before the item columns' in ``feature_names``; a model saves them to read its input alike.
        category_counts: per categorical column, the values read and those outside its vocabulary.
        open_width: ``True`` for a headerless XC/svmlight file, which declares no width: a model feature the file
            lacks is a zero column, not an error (its rows just never reach the last indices).
    """

    X: Matrix
    Y: Matrix
    label_names: list[str]
    feature_names: list[str]
    ids: np.ndarray | None = None
    dropped_attributes: list[str] = field(default_factory=list)
    source: str = "<arrays>"
    Y_missing: Matrix | None = None
    id_column: str | None = None
    unlisted_labels_are_negative: bool = False
    known: Matrix | None = None
    item_columns: list[ItemColumn] = field(default_factory=list)
    item_counts: dict[str, ItemCounts] = field(default_factory=dict)
    categorical_columns: list[CategoricalColumn] = field(default_factory=list)
    category_counts: dict[str, CategoryCounts] = field(default_factory=dict)
    open_width: bool = False

    def __post_init__(self) -> None:
        validate_arrays(self.X, self.Y, source=self.source)
        if self.Y_missing is not None and self.Y_missing.shape != self.Y.shape:
            raise DataError(f"{self.source}: Y_missing has shape {self.Y_missing.shape}; expected {self.Y.shape}")
        if len(self.label_names) != self.Y.shape[1]:
            raise DataError(
                f"{self.source}: {len(self.label_names)} label names for {self.Y.shape[1]} label columns; "
                "expected one name per column"
            )
        if len(self.feature_names) != self.X.shape[1]:
            raise DataError(
                f"{self.source}: {len(self.feature_names)} feature names for {self.X.shape[1]} feature columns; "
                "expected one name per column"
            )
        duplicated = _first_duplicate(self.label_names)
        if duplicated is not None:
            raise DataError(f"{self.source}: label name {duplicated!r} appears twice; expected unique label names")

    @property
    def num_rows(self) -> int:
        return self.X.shape[0]

    @property
    def num_features(self) -> int:
        return self.X.shape[1]

    @property
    def num_labels(self) -> int:
        return self.Y.shape[1]

    @property
    def is_sparse(self) -> bool:
        return sp.issparse(self.X)

    @property
    def cardinality(self) -> float:
        """Mean number of positive labels per row."""
        return float(self.Y.sum()) / max(self.num_rows, 1)

    def subset(self, rows: np.ndarray) -> Dataset:
        """Return the rows ``rows`` (integer indices) as a new dataset sharing the names."""
        return replace(self, X=self.X[rows], Y=self.Y[rows], ids=None if self.ids is None else self.ids[rows],
                       Y_missing=None if self.Y_missing is None else self.Y_missing[rows],
                       known=None if self.known is None else self.known[rows])

    def missing_labels(self, label_names: Sequence[str]) -> list[str]:
        """The names in ``label_names`` this data has no values for, in that order.

        A table's rows list all their labels, so a label it never mentions is known to be 0 everywhere and is not
        missing; an ARFF file or an array declares its label columns, so any other label is missing.
        """
        if self.unlisted_labels_are_negative:
            return []
        own = set(self.label_names)
        return [name for name in label_names if name not in own]

    def without_labels(self, names: Sequence[str]) -> Dataset:
        """This data set without the label columns ``names``."""
        drop = set(names)
        keep = np.array([index for index, name in enumerate(self.label_names) if name not in drop], dtype=np.int64)
        return replace(self, Y=self.Y[:, keep], label_names=[self.label_names[index] for index in keep],
                       Y_missing=None if self.Y_missing is None else self.Y_missing[:, keep],
                       known=None if self.known is None else self.known[:, keep])

    def align(self, label_names: list[str], feature_names: list[str]) -> Dataset:
        """Reorder columns to a model's labels and features (matched by name).

        A label of the model that the data lacks becomes an all-zero column; when the data has no values for it
        (:meth:`missing_labels`), its entries are also marked unknown in ``Y_missing``, so the metrics leave it out.
        A data label the model does not know, or a model feature the data lacks, is an error.

        Raises:
            UnknownLabelError: a label of the data is not one of ``label_names``.
            DataError: the data's features are not ``feature_names``.
        """
        label_position = {name: index for index, name in enumerate(label_names)}
        unknown = [name for name in self.label_names if name not in label_position]
        if unknown:
            raise UnknownLabelError(
                f"{self.source}: label {unknown[0]!r} is not known to the model{did_you_mean(unknown[0], label_names)}"
                f" ({len(unknown)} unknown); expected labels from the model's {len(label_names)}"
            )
        X = self.features_as(feature_names, exact=True)
        columns = np.array([label_position[name] for name in self.label_names], dtype=np.int64)
        Y, Y_missing, known = (None if matrix is None else _reorder_columns(matrix, columns, len(label_names))
                               for matrix in (self.Y, self.Y_missing, self.known))
        absent = [label_position[name] for name in self.missing_labels(label_names)]
        if absent:
            Y_missing = _mark_columns(Y_missing, absent, Y.shape, sparse=sp.issparse(Y))
        return replace(self, X=X, Y=Y, label_names=list(label_names), feature_names=list(feature_names),
                       Y_missing=Y_missing, known=known)

    def features_as(self, feature_names: list[str], *, exact: bool = False) -> Matrix:
        """``X`` with its columns in the order of ``feature_names`` (a model's), matched by name.

        Args:
            feature_names: the model's feature names, in its column order.
            exact: also refuse data with features the model does not have (not only missing ones).

        Returns:
            (num_rows, len(feature_names)) features, dense or CSR like ``X``; with ``open_width``, a model feature
            the data lacks is a zero column.

        Raises:
            DataError: a model feature is missing (unless ``open_width``), or, with ``exact`` or ``open_width``, the
                data has features the model does not (a headerless XC file past the model's last feature).
        """
        position = {name: index for index, name in enumerate(self.feature_names)}
        missing = [name for name in feature_names if name not in position]
        known = set(feature_names)
        extra = [name for name in self.feature_names if name not in known]
        if (missing and not self.open_width) or (extra and (exact or self.open_width)):
            raise DataError(
                f"{self.source}: has {len(self.feature_names)} features, the model expects {len(feature_names)}"
                + (f"; feature {missing[0]!r} is missing{did_you_mean(missing[0], self.feature_names)}"
                   if missing and not self.open_width else f"; feature {extra[0]!r} is not the model's")
                + ". Hint: use data with the same columns as the training data"
            )
        if not missing:
            return self.X[:, np.array([position[name] for name in feature_names], dtype=np.int64)]
        zero = len(self.feature_names)  # an appended all-zero column stands for each missing feature
        order = np.array([position.get(name, zero) for name in feature_names], dtype=np.int64)
        if sp.issparse(self.X):
            padded = sp.hstack([sp.csr_matrix(self.X), sp.csr_matrix((self.num_rows, 1), dtype=np.float32)],
                               format="csr")
        else:
            padded = np.hstack([self.X, np.zeros((self.num_rows, 1), dtype=self.X.dtype)])
        return padded[:, order]

    @classmethod
    def from_arrays(
        cls,
        X: Matrix,
        Y: Matrix,
        *,
        label_names: list[str] | None = None,
        feature_names: list[str] | None = None,
        ids: np.ndarray | None = None,
    ) -> Dataset:
        """Wrap NumPy/SciPy arrays: ``X`` (n, d) numeric, ``Y`` (n, L) in {0, 1}; names default to ``f0..``/``l0..``."""
        X = as_feature_matrix(X, name="X")
        Y = as_label_matrix(Y, name="Y")
        label_names = label_names if label_names is not None else [f"l{j}" for j in range(Y.shape[1])]
        feature_names = feature_names if feature_names is not None else [f"f{j}" for j in range(X.shape[1])]
        return cls(X=X, Y=Y, label_names=list(label_names), feature_names=list(feature_names), ids=ids)


def as_feature_matrix(X: object, *, name: str = "X") -> Matrix:
    """Return ``X`` as float32 CSR (if sparse) or a C-contiguous float32 ndarray, checking it is 2-D and finite.

    Raises:
        DataError: ``X`` is not numeric, not 2-D, holds NaN or infinite values, or finite values beyond the float32
            range (which the cast would turn into infinities); the message names the first such row and column.
    """
    original = sp.csr_matrix(X) if sp.issparse(X) else X
    with np.errstate(over="ignore"):  # values too large for float32 are reported below, by row and column
        if sp.issparse(X):
            X = original.astype(np.float32, copy=False)
            values = X.data
        else:
            try:
                X = np.ascontiguousarray(X, dtype=np.float32)
            except (TypeError, ValueError) as error:
                raise DataError(
                    f"{name}: cannot be read as a float32 matrix ({error}); expected numeric values"
                ) from None
            values = X
    if X.ndim != 2:
        raise DataError(f"{name}: has {X.ndim} dimension(s), shape {X.shape}; expected a 2-D (rows, features) matrix")
    bad = ~np.isfinite(values)
    if bad.any():
        # Finite before the cast, infinite after it: too large for float32, which imputing would not fix.
        before = np.asarray(original.data if sp.issparse(X) else original, dtype=np.float64)
        overflow = bad & np.isfinite(before)
        first = np.flatnonzero((overflow if overflow.any() else bad).ravel())[0]
        if sp.issparse(X):
            row, column = int(np.searchsorted(X.indptr, first, side="right") - 1), int(X.indices[first])
        else:
            row, column = (int(i) for i in np.unravel_index(first, X.shape))
        if overflow.any():
            raise DataError(
                f"{name}: {int(overflow.sum())} value(s) beyond the float32 range (|x| > 3.4e38), first "
                f"{before.ravel()[first]:g} at row {row}, column {column}; expected numbers float32 can hold. "
                "Hint: rescale those features (e.g. log or standardise)"
            )
        raise DataError(
            f"{name}: {int(bad.sum())} NaN or infinite value(s), first at row {row}, column {column}; "
            "expected finite numbers. Hint: impute or drop those rows first"
        )
    return X


def as_label_matrix(Y: object, *, name: str = "Y") -> Matrix:
    """Return ``Y`` as uint8 CSR (if sparse) or ndarray, checking it is 2-D with values in {0, 1}."""
    if sp.issparse(Y):
        Y = sp.csr_matrix(Y)
        values = Y.data
    else:
        Y = np.asarray(Y)
        values = Y
    if Y.ndim != 2:
        raise DataError(
            f"{name}: has {Y.ndim} dimension(s), shape {Y.shape}; expected a 2-D (rows, labels) 0/1 indicator matrix. "
            "Hint: for lists of label names use sklearn.preprocessing.MultiLabelBinarizer"
        )
    if values.size and not np.isin(values, (0, 1)).all():
        found = values[~np.isin(values, (0, 1))].ravel()[0].item()
        raise DataError(f"{name}: contains the value {found!r}; expected only 0 and 1")
    if sp.issparse(Y):
        Y = sp.csr_matrix(Y, dtype=np.uint8)
        Y.eliminate_zeros()
        return Y
    return np.ascontiguousarray(Y, dtype=np.uint8)


def validate_arrays(X: Matrix, Y: Matrix, *, source: str = "<arrays>") -> None:
    """Check that features and labels agree in row count and are not empty."""
    if X.shape[0] != Y.shape[0]:
        raise DataError(
            f"{source}: X has {X.shape[0]} rows but Y has {Y.shape[0]}; expected one label row per feature row"
        )
    if X.shape[0] == 0:
        raise DataError(f"{source}: no rows; expected at least one example")
    if Y.shape[1] == 0:
        raise DataError(f"{source}: no label columns; expected at least one label")


def invalid_label_character(name: str) -> str | None:
    """The first character of ``name`` a label name must not hold, or ``None``: ``|`` (it separates labels in CSV
    output, so it would make that ambiguous) and control characters (Unicode category ``C*``, such as ``\\n``,
    ``\\t`` or ``\\x00``: GraphML cannot hold most of them)."""
    return next((char for char in name if char == "|" or unicodedata.category(char).startswith("C")), None)


def check_label_name(name: str, *, where: str) -> None:
    """Refuse a label name holding an :func:`invalid_label_character`.

    Raises:
        DataError: naming ``where`` (the file and row, or file:line), the name and the character.
    """
    bad = invalid_label_character(name)
    if bad is not None:
        raise DataError(
            f"{where}: label name {name!r} contains {bad!r}; expected no '|' (it separates labels in CSV output) "
            "and no control character. Hint: rename the label"
        )


def _mark_columns(Y_missing: Matrix | None, columns: list[int], shape: tuple[int, int], *, sparse: bool) -> Matrix:
    """``Y_missing`` (or an all-known matrix of ``shape``) with every entry of ``columns`` marked unknown."""
    if not sparse:
        marked = np.zeros(shape, dtype=np.uint8) if Y_missing is None else np.array(Y_missing, dtype=np.uint8)
        marked[:, columns] = 1
        return marked
    rows = np.repeat(np.arange(shape[0]), len(columns))
    marks = sp.csr_matrix((np.ones(rows.size, dtype=np.uint8), (rows, np.tile(columns, shape[0]))), shape=shape)
    return marks if Y_missing is None else sp.csr_matrix(marks.maximum(sp.csr_matrix(Y_missing)))


def _reorder_columns(Y: Matrix, columns: np.ndarray, num_columns: int) -> Matrix:
    """Place column ``k`` of ``Y`` at ``columns[k]`` of a (rows, num_columns) matrix of zeros."""
    if sp.issparse(Y):
        placement = sp.csr_matrix((np.ones(len(columns), dtype=np.uint8), (np.arange(len(columns)), columns)),
                                  shape=(len(columns), num_columns))
        return sp.csr_matrix(sp.csr_matrix(Y) @ placement)
    aligned = np.zeros((Y.shape[0], num_columns), dtype=np.uint8)
    aligned[:, columns] = Y
    return aligned


def _first_duplicate(names: list[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None
