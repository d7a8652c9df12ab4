"""CSV and Parquet tables: numeric and item-list feature columns, an optional id column, one label column.

The label column holds, per row, either a list of label names (Parquet ``list<string>``) or one string of names
joined by ``label_delimiter`` (``"hiking|camping"``). A null or empty entry means "no label"; so does a null, empty
or blank name inside a list (``["a", None, ""]`` is the label set ``{a}``). Names are stripped of surrounding
whitespace (``"hiking | camping"`` is ``{hiking, camping}``). A row lists all its labels, so a label the file never
mentions is 0 in every row. Label names holding ``|`` or a control character are refused.

Every column other than the label and id columns is a feature, unless ``feature_columns`` names the features or
``exclude_columns`` leaves some out. A feature column holding lists (Parquet ``list<string>``/``list<int>``), or one
named in ``item_columns`` (a delimited string in CSV), is a bag of items (:mod:`gnn_mlc.data.items`): one sparse
feature per item, and the data set is sparse (CSR ``X`` and ``Y``). A text (or dictionary-encoded) feature column
is categorical (:mod:`gnn_mlc.data.categories`): one 0/1 feature per category. The features are the numeric columns
first, then each categorical column's categories, then each item column's items. Without an id column or
``feature_columns``, a feature column that looks like an identifier (its name ends in ``id`` and its values are
distinct integers) is logged as a warning; a text column with a different value in every row is refused as one. A
pandas index saved in a Parquet file (the ``index_columns`` of its ``pandas`` schema metadata, e.g.
``__index_level_0__``) is never a feature; every column left out of the features is named in the log (INFO), with
the reason. The id column is read as text from CSV (``007`` stays ``007``); a null, empty or repeated id is an
error.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import scipy.sparse as sp

from gnn_mlc._typing import DEFAULT_ID_COLUMN
from gnn_mlc.data.categories import (
    CategoricalColumn,
    CategoryCounts,
    category_values,
    is_categorical_column,
    with_categories,
)
from gnn_mlc.data.dataset import Dataset, check_label_name, invalid_label_character
from gnn_mlc.data.items import (
    ItemColumn,
    ItemCounts,
    ItemWeighting,
    is_list_column,
    with_item_bags,
)
from gnn_mlc.data.label_lists import read_label_lists
from gnn_mlc.data.table_options import TableOptions
from gnn_mlc.errors import DataError, did_you_mean

logger = logging.getLogger(__name__)


def read_table(
    path: str | Path, *, string_columns: Sequence[str] = (), float_columns: Sequence[str] = ()
) -> pa.Table:
    """Read a whole ``.csv`` or ``.parquet`` file into an Arrow table, with a one-line error if it cannot be read.

    Args:
        path: the file.
        string_columns: CSV only: columns read as text, not type-guessed (id columns: ``007`` stays ``007``).
        float_columns: CSV only: columns read as float64 (features: a decimal after the first block is no error).

    Raises:
        DataError: the file is missing or unreadable, or two of its columns have one name.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; expected a CSV or Parquet file")
    try:
        if path.suffix.lower() == ".csv":
            table = pa_csv.read_csv(path, convert_options=csv_convert_options(string_columns, float_columns))
            _check_unique_columns(table.column_names, f"{path}:1 (the header)")
            return table
        # Read the schema first: pyarrow refuses duplicate names while reading, with a message naming no column.
        _check_unique_columns(pq.read_schema(path).names, f"{path} (its schema)")
        return pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: cannot be read as {path.suffix.lstrip('.').upper()} ({first_line})") from None


def _check_unique_columns(names: Sequence[str], where: str) -> None:
    name, count = Counter(names).most_common(1)[0] if names else ("", 0)
    if count > 1:
        raise DataError(
            f"{where}: column name {name!r} appears {count} times; expected unique column names "
            "(which one would be meant is ambiguous). Hint: rename or drop the repeats"
        )


def csv_convert_options(string_columns: Sequence[str], float_columns: Sequence[str]) -> pa_csv.ConvertOptions:
    """pyarrow CSV options that read ``string_columns`` as strings and ``float_columns`` as float64."""
    types = {name: pa.float64() for name in float_columns}
    types.update({name: pa.string() for name in string_columns})
    return pa_csv.ConvertOptions(column_types=types)


def read_tabular_dataset(
    path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    options: TableOptions | None = None,
    training_id_column: str | None = None,
    vocabularies: Sequence[ItemColumn] = (),
    categories: Sequence[CategoricalColumn] = (),
) -> Dataset:
    """Read a CSV or Parquet file with feature columns and a label column into a :class:`Dataset`.

    Args:
        path: ``.csv`` or ``.parquet`` file.
        labels: the label vocabulary, in column order; ``None`` takes the sorted distinct names found in the file.
            A name in the file that is not in ``labels`` is an error.
        options: which columns are labels, id, features, known labels and item lists, and the delimiter of
            string lists (:class:`~gnn_mlc.data.table_options.TableOptions`; ``None``: its defaults). The
            known-label column is read like the label column into ``Dataset.known`` over the same vocabulary
            (which then holds its names too).
        training_id_column: the id column a model was trained with, used when ``options.id_column`` is ``None``
            and the file has it.
        vocabularies: fitted item columns (a model's): those columns are transformed with them, not fitted.
        categories: fitted categorical columns (a model's): those columns are transformed with them, not fitted
            (read as text from CSV); any other text column is fitted with ``options.max_categories``.

    Returns:
        The dataset with float32 ``X`` (rows, features) and uint8 ``Y`` (rows, labels): ndarrays, or CSR when there
        are item columns; ``Dataset.item_columns`` the fitted item columns, ``Dataset.item_counts`` their tallies;
        ``Dataset.categorical_columns`` the fitted categorical columns, ``Dataset.category_counts`` theirs.

    Raises:
        DataError: a column named in the options is absent, a label or feature value is invalid, or an id is
            missing or repeated; the message names the file, the column and the row.
    """
    options = options if options is not None else TableOptions()
    label_column, id_column, known_column = options.label_column, options.id_column, options.known_column
    item_columns, label_delimiter = options.item_columns, options.label_delimiter
    candidates = [id_column] if id_column is not None else [training_id_column, DEFAULT_ID_COLUMN]
    text = [*candidates, *item_columns, *(column.name for column in [*vocabularies, *categories])]  # CSV: as text
    table = read_table(path, string_columns=[name for name in text if name is not None])
    if label_column not in table.column_names:
        raise DataError(
            f"{path}: no label column {label_column!r}{did_you_mean(label_column, table.column_names)}; "
            f"columns are {table.column_names[:10]}. Hint: pass label_column= (CLI: --label-column)"
        )
    id_column = resolve_id_column(table.column_names, id_column, training_id_column, source=str(path))
    if known_column is not None and known_column not in table.column_names:
        hint = did_you_mean(known_column, table.column_names)
        raise DataError(f"{path}: no known-label column {known_column!r}{hint}"
                        f"; columns are {table.column_names[:10]}. Hint: check --known-column")
    row_labels = label_sets(table.column(label_column), label_delimiter, path, label_column)
    known_labels = None if known_column is None else label_sets(table.column(known_column), label_delimiter, path,
                                                                known_column)
    for name in labels or ():
        check_label_name(name, where="labels")
    vocabulary = list(labels) if labels is not None else sorted(
        {name for sets in (row_labels, known_labels or []) for names in sets for name in names})
    if not vocabulary:
        raise DataError(f"{path}: column {label_column!r} holds no label at all; expected at least one label")
    reserved: dict[str | None, str] = {label_column: "label", id_column: "id", known_column: "known-label"}
    for name in pandas_index_columns(table.schema):
        reserved.setdefault(name, "pandas index")
    columns = _select_features(table.column_names, options.feature_columns, options.exclude_columns, path=path,
                               reserved=reserved)
    fitted = _item_columns(table, columns, item_columns, vocabularies, delimiter=label_delimiter,
                           weighting=options.item_weighting, path=path)
    rest = [name for name in columns if name not in {column.name for column in fitted}]
    categorical = _categorical_columns(table, rest, categories, max_categories=options.max_categories, path=path)
    numeric = [name for name in rest if name not in {column.name for column in categorical}]
    if id_column is None and options.feature_columns is None:  # an explicit feature list is the user's own choice
        _warn_identifier_like(table, numeric, path)
    X, category_counts, item_counts = _features(table, numeric, categorical, fitted, source=str(path))
    sparse = sp.issparse(X)
    Y = _indicator(row_labels, vocabulary, path, label_column, sparse=sparse)
    known = None if known_labels is None else _indicator(known_labels, vocabulary, path, known_column, sparse=sparse)
    ids = None if id_column is None else _read_ids(table.column(id_column), path, id_column)
    dropped = [name for name in table.column_names if name not in {*columns, label_column, id_column}]
    if dropped:
        excluded = set(options.exclude_columns or ())
        why = {name: reserved.get(name) or ("excluded" if name in excluded else "not in feature_columns")
               for name in dropped}
        reasons = [f"{name!r} ({reason})" for name, reason in why.items()]
        logger.info("%s: columns that are not features: %s", path, ", ".join(reasons))
    feature_names = numeric + [name for column in [*categorical, *fitted] for name in column.feature_names]
    return Dataset(X=X, Y=Y, label_names=vocabulary, feature_names=feature_names, ids=ids,
                   dropped_attributes=dropped, source=str(path), id_column=id_column,
                   unlisted_labels_are_negative=True, known=known, item_columns=fitted, item_counts=item_counts,
                   categorical_columns=categorical, category_counts=category_counts)


IDENTIFIER_ROWS = 10
"""A text column with a different value in each of at least this many rows is an identifier, not a category (on
fewer rows, distinct values are as likely a small table's categories)."""


def _categorical_columns(table: pa.Table, columns: list[str], given: Sequence[CategoricalColumn], *,
                         max_categories: int, path: Path) -> list[CategoricalColumn]:
    """The categorical columns among the feature ``columns``: those with a fitted vocabulary, and the text or
    dictionary-encoded ones, fitted here with ``max_categories``; in column order.

    Raises:
        DataError: a text column to fit holds a different value in every row, like an identifier (a category seen
            in one row cannot be learned, and a forgotten ``--id-column`` would otherwise become features).
    """
    by_name = {column.name: column for column in given}
    chosen = [name for name in columns if name in by_name or is_categorical_column(table.column(name))]
    for name in chosen:
        values = category_values(table.column(name)).drop_null()
        if name not in by_name and len(values) >= IDENTIFIER_ROWS and pc.count_distinct(values).as_py() == len(values):
            raise DataError(f"{path}: text column {name!r} has a different value in each of its {len(values)} rows, "
                            "like an identifier; expected a categorical column (values shared by rows). Hint: pass it "
                            "as --id-column, or leave it out with --exclude-columns")
    return [by_name.get(name) or CategoricalColumn.fit(table.column(name), name=name, max_categories=max_categories,
                                                       source=str(path)) for name in chosen]


def _item_columns(table: pa.Table, columns: list[str], named: Sequence[str], vocabularies: Sequence[ItemColumn], *,
                  delimiter: str, weighting: ItemWeighting, path: Path) -> list[ItemColumn]:
    """The item columns among the feature ``columns``: those with a fitted vocabulary, those ``named``, the
    list-typed ones; fitted here unless a vocabulary is given, in column order."""
    for name in named:
        if name not in columns:
            where = "a feature column" if name in table.column_names else "a column"
            raise DataError(f"{path}: item_columns names {name!r}, which is not {where}"
                            f"{did_you_mean(name, columns)}; expected feature columns. Hint: check --item-columns")
    given = {column.name: column for column in vocabularies}
    chosen = [name for name in columns if name in given or name in named or is_list_column(table.column(name))]
    return [given.get(name) or ItemColumn.fit(table.column(name), name=name, delimiter=delimiter,
                                              weighting=weighting, source=str(path)) for name in chosen]


def _features(table: pa.Table, numeric: list[str], categorical: list[CategoricalColumn],
              item_columns: list[ItemColumn], *, source: str
              ) -> tuple[np.ndarray | sp.csr_matrix, dict[str, CategoryCounts], dict[str, ItemCounts]]:
    """The numeric columns, then each categorical column's one-hot block, then each item column's bag of items:
    dense float32 without item columns, else CSR; and each categorical and item column's tally."""
    if not categorical and not item_columns:
        return feature_matrix(table, numeric, source=source), {}, {}
    numbers = feature_matrix(table, numeric, source=source) if numeric else np.zeros((table.num_rows, 0), np.float32)
    dense, category_counts = with_categories(numbers, table, categorical)
    if not item_columns:
        return dense, category_counts, {}
    X, item_counts = with_item_bags(dense, table, item_columns, source=source)
    return X, category_counts, item_counts


def _indicator(row_labels: list[list[str]], vocabulary: list[str], path: Path, column: str, *, sparse: bool
               ) -> np.ndarray | sp.csr_matrix:
    """(rows, len(vocabulary)) uint8: 1 where a row lists a label; CSR when ``sparse``.

    Raises:
        DataError: a row lists a label outside ``vocabulary`` (naming the row and the column).
    """
    position = {name: index for index, name in enumerate(vocabulary)}
    rows, columns = [], []
    for row, names in enumerate(row_labels):
        for name in names:
            if name not in position:
                raise DataError(
                    f"{path}: row {row}, column {column!r}: unknown label {name!r}"
                    f"{did_you_mean(name, vocabulary)}; expected one of the {len(vocabulary)} known labels"
                )
            rows.append(row)
            columns.append(position[name])
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.uint8), (rows, columns)),
                           shape=(len(row_labels), len(vocabulary)))
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix if sparse else matrix.toarray()


def pandas_index_columns(schema: pa.Schema) -> list[str]:
    """The columns holding a pandas index saved with the table (``__index_level_0__``, or the index's name): the
    string entries of ``index_columns`` in the ``pandas`` schema metadata that pandas writes (a ``RangeIndex`` is
    stored as a description, not a column); none for a table without that metadata or with unreadable metadata."""
    metadata = (schema.metadata or {}).get(b"pandas")
    try:
        index_columns = json.loads(metadata).get("index_columns", []) if metadata else []
    except (ValueError, AttributeError):
        return []
    return [name for name in index_columns if isinstance(name, str) and name in schema.names] \
        if isinstance(index_columns, list) else []


def _select_features(
    column_names: Sequence[str],
    feature_columns: Sequence[str] | None,
    exclude_columns: Sequence[str],
    *,
    path: Path,
    reserved: dict[str | None, str],
) -> list[str]:
    """The feature columns: ``feature_columns`` (or every column not ``reserved``) less ``exclude_columns``."""
    for option, names in (("feature_columns", feature_columns or ()), ("exclude_columns", exclude_columns)):
        unknown = [name for name in names if name not in column_names]
        if unknown:
            raise DataError(
                f"{path}: {option} names {unknown[0]!r}, which is not a column{did_you_mean(unknown[0], column_names)}"
                f"; columns are {list(column_names)[:10]}. Hint: check --{option.replace('_', '-')}"
            )
    if feature_columns is None:
        chosen = [name for name in column_names if name not in reserved]
    else:
        chosen = list(feature_columns)
        for index, name in enumerate(chosen):
            if name in reserved:
                raise DataError(f"{path}: feature_columns names {name!r}, the {reserved[name]} column; expected "
                                "feature columns only. Hint: leave it out of --feature-columns")
            if name in chosen[:index]:
                raise DataError(f"{path}: feature_columns names {name!r} twice; expected each column once")
    excluded = set(exclude_columns)
    return [name for name in chosen if name not in excluded]


def _warn_identifier_like(table: pa.Table, feature_names: Sequence[str], path: Path) -> None:
    """Log feature columns that look like a row identifier: an id that is a feature lets a model memorise rows."""
    for name in feature_names:
        column = table.column(name)
        if (name.lower().endswith("id") and pa.types.is_integer(column.type)
                and pc.count_distinct(column).as_py() == table.num_rows):
            logger.warning(
                "%s: feature column %r looks like an identifier (its name ends in 'id' and its %d values are distinct "
                "integers) but is used as a feature. Hint: --id-column %s or --exclude-columns %s",
                path, name, table.num_rows, name, name,
            )


def _read_ids(column: pa.ChunkedArray, path: Path, id_column: str) -> np.ndarray:
    """The id column as an array, checked: a table's id column is its key, so every row has one, unlike any other.

    (An ARFF identifier attribute is not checked: genbase's train and test files share a protein.)
    """
    check_id_type(column.type, id_column, source=str(path))
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        absent = pc.fill_null(pc.equal(column, ""), True)
    else:
        absent = pc.is_null(column)
    if pc.any(absent).as_py():
        row = int(pc.index(absent, True).as_py())
        raise DataError(
            f"{path}: row {row} has no id (null or empty) in column {id_column!r}; expected an id in every row. "
            "Hint: fill it in, or pass another --id-column"
        )
    ids = column.to_numpy(zero_copy_only=False)
    values, counts = np.unique(ids.astype(str), return_counts=True)
    if (counts > 1).any():
        duplicated = str(values[np.flatnonzero(counts > 1)[0]])
        rows = np.flatnonzero(ids.astype(str) == duplicated)[:2]
        raise DataError(
            f"{path}: id {duplicated!r} appears more than once in column {id_column!r} (rows {rows[0]} and "
            f"{rows[1]}); expected one row per id. Hint: deduplicate, or pass another --id-column"
        )
    return ids


def feature_matrix(table: pa.Table, feature_names: Sequence[str], *, source: str) -> np.ndarray:
    """Return the named numeric columns of ``table`` as a float32 (rows, len(feature_names)) matrix.

    Raises:
        DataError: a column is missing, not numeric, null, not finite or beyond the float32 range (naming the column
            and first row).
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
        values = column.to_numpy(zero_copy_only=False)
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DataError(
                f"{source}: column {name!r} is {values[row]} at row {row}; expected finite numbers. "
                "Hint: impute or drop those rows first"
            )
        with np.errstate(over="ignore"):  # reported just below
            X[:, index] = values
        if not np.isfinite(X[:, index]).all():
            row = int(np.flatnonzero(~np.isfinite(X[:, index]))[0])
            raise DataError(
                f"{source}: column {name!r} is {values[row]:g} at row {row}, beyond the float32 range "
                "(|x| > 3.4e38); expected numbers float32 can hold. Hint: rescale the column (e.g. log or standardise)"
            )
    return X


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


def check_id_type(kind: pa.DataType, id_column: str, *, source: str) -> None:
    """Refuse an id column of lists, structs or maps: an id is one value per row (integers or text), which an output
    can carry and a join can match.

    Raises:
        DataError: naming the source, the column and its type.
    """
    if pa.types.is_nested(kind):
        raise DataError(f"{source}: id column {id_column!r} has type {kind}; expected one integer or text id per "
                        "row. Hint: check --id-column")


def label_sets(column: pa.ChunkedArray, delimiter: str, path: Path, label_column: str) -> list[list[str]]:
    """Each row's label names, read by :func:`~gnn_mlc.data.label_lists.read_label_lists` (stripped; null, empty
    and blank names are no label); ``|`` and control characters refused."""
    sets = read_label_lists(column, delimiter, source=str(path), column_name=label_column).to_pylist()
    invalid = {name for names in sets for name in names if invalid_label_character(name) is not None}
    if invalid:  # name the first row holding one
        row, name = next((row, name) for row, names in enumerate(sets) for name in names if name in invalid)
        check_label_name(name, where=f"{path}: row {row}, column {label_column!r}")
    return sets
