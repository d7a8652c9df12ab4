"""CSV and Parquet tables: numeric feature columns, an optional id column, one label column.

The label column holds, per row, either a list of label names (Parquet ``list<string>``) or one string of names
joined by ``label_delimiter`` (``"hiking|camping"``). A null or empty entry means "no label".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from gnn_mlc._typing import DEFAULT_ID_COLUMN, DEFAULT_LABEL_COLUMN
from gnn_mlc.data.dataset import Dataset
from gnn_mlc.errors import DataError, did_you_mean


def read_table(
    path: str | Path, *, string_columns: Sequence[str] = (), float_columns: Sequence[str] = ()
) -> pa.Table:
    """Read a whole ``.csv`` or ``.parquet`` file into an Arrow table, with a one-line error if it cannot be read.

    Args:
        path: the file.
        string_columns: CSV only: columns read as text, not type-guessed (id columns: ``007`` stays ``007``).
        float_columns: CSV only: columns read as float64 (features: a decimal after the first block is no error).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; expected a CSV or Parquet file")
    try:
        if path.suffix.lower() == ".csv":
            return pa_csv.read_csv(path, convert_options=csv_convert_options(string_columns, float_columns))
        return pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: cannot be read as {path.suffix.lstrip('.').upper()} ({first_line})") from None


def csv_convert_options(string_columns: Sequence[str], float_columns: Sequence[str]) -> pa_csv.ConvertOptions:
    """pyarrow CSV options that read ``string_columns`` as strings and ``float_columns`` as float64."""
    types = {name: pa.float64() for name in float_columns}
    types.update({name: pa.string() for name in string_columns})
    return pa_csv.ConvertOptions(column_types=types)


def read_tabular_dataset(
    path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    label_column: str = DEFAULT_LABEL_COLUMN,
    id_column: str | None = None,
    label_delimiter: str = "|",
) -> Dataset:
    """Read a CSV or Parquet file with feature columns and a label column into a dense :class:`Dataset`.

    Args:
        path: ``.csv`` or ``.parquet`` file.
        labels: the label vocabulary, in column order; ``None`` takes the sorted distinct names found in the file.
            A name in the file that is not in ``labels`` is an error.
        label_column: the column holding each row's labels.
        id_column: the identifier column (not a feature); ``None`` uses a column named ``id`` if there is one.
        label_delimiter: separator of label names when the label column holds strings.

    Returns:
        The dataset with float32 ``X`` (rows, features) and uint8 ``Y`` (rows, labels), both ndarrays.
    """
    table = read_table(path, string_columns=[id_column or DEFAULT_ID_COLUMN])
    if label_column not in table.column_names:
        raise DataError(
            f"{path}: no label column {label_column!r}{did_you_mean(label_column, table.column_names)}; "
            f"columns are {table.column_names[:10]}. Hint: pass label_column= (CLI: --label-column)"
        )
    id_column = resolve_id_column(table.column_names, id_column, source=str(path))
    label_sets = _label_sets(table.column(label_column), label_delimiter, path, label_column)
    vocabulary = list(labels) if labels is not None else sorted({name for names in label_sets for name in names})
    if not vocabulary:
        raise DataError(f"{path}: column {label_column!r} holds no label at all; expected at least one label")
    position = {name: index for index, name in enumerate(vocabulary)}
    Y = np.zeros((table.num_rows, len(vocabulary)), dtype=np.uint8)
    for row, names in enumerate(label_sets):
        for name in names:
            if name not in position:
                raise DataError(
                    f"{path}: row {row}, column {label_column!r}: unknown label {name!r}"
                    f"{did_you_mean(name, vocabulary)}; expected one of the {len(vocabulary)} known labels"
                )
            Y[row, position[name]] = 1
    feature_names = [name for name in table.column_names if name not in (label_column, id_column)]
    X = feature_matrix(table, feature_names, source=str(path))
    ids = None if id_column is None else table.column(id_column).to_numpy(zero_copy_only=False)
    if ids is not None:
        _check_unique_ids(ids, path, id_column)
    return Dataset(X=X, Y=Y, label_names=vocabulary, feature_names=feature_names, ids=ids, source=str(path),
                   id_column=id_column)


def feature_matrix(table: pa.Table, feature_names: Sequence[str], *, source: str) -> np.ndarray:
    """Return the named numeric columns of ``table`` as a float32 (rows, len(feature_names)) matrix.

    Raises:
        DataError: a column is missing, not numeric, null or not finite (naming the column and first row).
    """
    missing = [name for name in feature_names if name not in table.column_names]
    if missing:
        raise DataError(
            f"{source}: {len(missing)} feature column(s) missing, first {missing[0]!r}"
            f"{did_you_mean(missing[0], table.column_names)}; expected the {len(feature_names)} columns the model "
            "was trained on"
        )
    if not feature_names:
        raise DataError(f"{source}: no feature columns; expected at least one numeric column")
    X = np.empty((table.num_rows, len(feature_names)), dtype=np.float32)
    for index, name in enumerate(feature_names):
        column = table.column(name)
        check_numeric_column(column, name, source=source)
        if column.null_count:
            row = int(pc.index(pc.is_null(column), True).as_py())
            raise DataError(f"{source}: column {name!r} is null at row {row}; expected a number in every row")
        values = column.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DataError(
                f"{source}: column {name!r} is {values[row]} at row {row}; expected finite numbers. "
                "Hint: impute or drop those rows first"
            )
        X[:, index] = values
    return X


def _check_unique_ids(ids: np.ndarray, path: Path, id_column: str) -> None:
    """A table's id column is its key: two rows with one id are an error (an ARFF identifier attribute is not
    checked: genbase's train and test files share a protein)."""
    values, counts = np.unique(ids.astype(str), return_counts=True)
    if (counts > 1).any():
        duplicated = str(values[np.flatnonzero(counts > 1)[0]])
        rows = np.flatnonzero(ids.astype(str) == duplicated)[:2]
        raise DataError(
            f"{path}: id {duplicated!r} appears more than once in column {id_column!r} (rows {rows[0]} and "
            f"{rows[1]}); expected one row per id. Hint: deduplicate, or pass another --id-column"
        )


def check_numeric_column(column: pa.ChunkedArray, name: str, *, source: str) -> None:
    """Raise a one-line :class:`DataError` unless ``column`` holds numbers (integers, floats, booleans or nulls)."""
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
            or pa.types.is_null(kind)):
        raise DataError(
            f"{source}: column {name!r} has type {kind}; expected a numeric feature column. "
            "Hint: pass it as the id column or drop it"
        )


def resolve_id_column(
    column_names: Sequence[str], requested: str | None, remembered: str | None = None, *, source: str
) -> str | None:
    """The one rule for which column identifies a row, in every command.

    ``requested`` (``--id-column``) when given (it must exist); else ``remembered`` (the model's training id column)
    when the input has it; else a column named ``id`` when there is one; else ``None``: rows are identified by their
    position.

    Raises:
        DataError: ``requested`` is not a column of the input.
    """
    if requested is not None:
        if requested not in column_names:
            raise DataError(
                f"{source}: no id column {requested!r}{did_you_mean(requested, column_names)}; "
                f"columns are {list(column_names)[:10]}. Hint: check --id-column"
            )
        return requested
    for candidate in (remembered, DEFAULT_ID_COLUMN):
        if candidate is not None and candidate in column_names:
            return candidate
    return None


def _label_sets(column: pa.ChunkedArray, delimiter: str, path: Path, label_column: str) -> list[list[str]]:
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return [[str(name) for name in names] if names else [] for names in column.to_pylist()]
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_null(column.type):
        return [
            [name.strip() for name in text.split(delimiter) if name.strip()] if text else []
            for text in column.to_pylist()
        ]
    raise DataError(
        f"{path}: label column {label_column!r} has type {column.type}; expected a list of strings or "
        f"a {delimiter!r}-delimited string"
    )
