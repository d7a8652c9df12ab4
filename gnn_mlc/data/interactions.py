"""Long-format interaction tables grouped into one row per user.

Recommenders log events one line each: ``user_id, item`` (what a user bought or watched) and ``user_id, label``
(the interests to learn). :func:`group_interactions` turns them into the wide table every command reads: one row
per id, the id column first, ``items`` (list<string>, the user's history in log order, repeats kept: they are the
term frequencies of tf-idf) and ``labels`` (list<string>, distinct, in first-seen order), plus the columns of an
optional one-row-per-user table of numeric features. An id found in only some tables gets empty lists, or nulls for
the user features: training refuses such a row and scoring rejects it with a reason, so give every id a users row
(or leave the users table out). Ids are integers or text: integer ids of any width are int64, float ids that are
all whole numbers are int64 too (a Parquet writer may have stored ``7`` as ``7.0``), other float ids and list or
struct ids are refused, as are null, NaN and empty ids. The id column keeps that type when every table has it
(integer ids stay integers; CSV ids are read as text), else it is text; rows are sorted by id, so the output does
not depend on log order.

``gnn-mlc group`` writes that table; ``train`` then reads ``items`` as an item column
(:mod:`gnn_mlc.data.items`), and the id carries through to every output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gnn_mlc._typing import DEFAULT_LABEL_COLUMN
from gnn_mlc.data.tabular import check_id_type, read_table
from gnn_mlc.errors import DataError, did_you_mean

ITEMS_COLUMN = "items"
"""The wide table's column of each user's items."""


def group_interactions(
    *,
    id_column: str,
    items: pa.Table | None = None,
    labels: pa.Table | None = None,
    users: pa.Table | None = None,
    item_column: str = "item",
    label_column: str = "label",
    sources: dict[str, str] | None = None,
) -> pa.Table:
    """One row per id from long ``(id, item)`` and ``(id, label)`` tables and a wide ``users`` table.

    Args:
        id_column: the id column, in every table given.
        items: long table of ``id_column`` and ``item_column`` (one event a row).
        labels: long table of ``id_column`` and ``label_column``.
        users: one row per id with other columns (user features), joined as they are.
        item_column: the item column of ``items``.
        label_column: the label column of ``labels``.
        sources: the file each table came from (keys ``items``, ``labels``, ``users``), for messages.

    Returns:
        ``id_column``, then ``items`` (with ``items``), ``labels`` (with ``labels``), then the other columns of
        ``users``; one row per id of any table, sorted by id (of the tables' common id type, else as strings).

    Raises:
        DataError: no table, a missing column, a null or empty id, an id repeated in ``users``, or an id column
            named like a grouped column.
    """
    sources = sources or {}
    given = {name: table for name, table in (("items", items), ("labels", labels), ("users", users))
             if table is not None}
    if not given:
        raise DataError("group: no table given; expected items (id, item rows), labels (id, label rows) and/or "
                        "users tables. Hint: --items, --labels, --users")
    for name, table in given.items():
        source = sources.get(name, name)
        needed = [id_column] + {"items": [item_column], "labels": [label_column], "users": []}[name]
        for column in needed:
            if column not in table.column_names:
                raise DataError(f"{source}: no column {column!r}{did_you_mean(column, table.column_names)}; "
                                f"columns are {table.column_names[:10]}. Hint: check --id-column, --item-column and "
                                "--label-column")
        given[name] = table.set_column(table.column_names.index(id_column), id_column,
                                       _checked_ids(table.column(id_column), id_column, source))
        for column in needed[1:]:
            if pa.types.is_nested(table.schema.field(column).type):
                raise DataError(f"{source}: column {column!r} has type {table.schema.field(column).type}; expected "
                                "one value per row (a long table: one event a row)")
    grouped = [column for name, column in (("items", ITEMS_COLUMN), ("labels", DEFAULT_LABEL_COLUMN)) if name in given]
    if id_column in grouped:
        raise DataError(f"group: the id column is named {id_column!r}, like a grouped column; expected another name. "
                        "Hint: rename the id column in the tables")
    types = {table.schema.field(id_column).type for table in given.values()}
    id_type = types.pop() if len(types) == 1 else pa.string()  # ids keep their type when the tables agree
    given = {name: table.set_column(table.column_names.index(id_column), id_column,
                                    table.column(id_column).cast(id_type)) for name, table in given.items()}
    ids = pc.unique(pa.chunked_array([table.column(id_column) for table in given.values()], type=id_type))
    wide = pa.table({id_column: ids.take(pc.array_sort_indices(ids))})
    if "items" in given:
        wide = wide.append_column(ITEMS_COLUMN, _lists(given["items"], id_column, item_column, wide, distinct=False))
    if "labels" in given:
        wide = wide.append_column(DEFAULT_LABEL_COLUMN, _lists(given["labels"], id_column, label_column, wide,
                                                               distinct=True))
    if "users" in given:
        wide = _join_users(wide, given["users"], id_column, sources.get("users", "users"))
    return wide


def _checked_ids(ids: pa.ChunkedArray, id_column: str, source: str) -> pa.ChunkedArray:
    """The id column as int64 (integer ids, and float ids that are whole numbers) or as it is (text).

    Raises:
        DataError: a list, struct or other nested id type; a null, NaN or empty id (with how many rows lack one);
            a float id that is not a whole number.
    """
    kind = ids.type
    check_id_type(kind, id_column, source=source)
    absent = pc.fill_null(pc.equal(ids.cast(pa.string()), ""), True)
    if pa.types.is_floating(kind):
        absent = pc.or_(absent, pc.fill_null(pc.is_nan(ids), True))
    missing = pc.sum(absent.cast(pa.int64())).as_py() or 0
    if missing:
        row = int(pc.index(absent, True).as_py())
        raise DataError(f"{source}: row {row} has no {id_column!r} (null, NaN or empty; {missing} such rows); "
                        "expected an id in every row")
    if pa.types.is_integer(kind):
        return ids.cast(pa.int64())
    if pa.types.is_floating(kind):
        values = ids.to_numpy().astype(np.float64)
        fractional = (values != np.round(values)) | (np.abs(values) >= 2.0**63)
        if fractional.any():
            row = int(np.flatnonzero(fractional)[0])
            raise DataError(f"{source}: id {values[row]:g} in row {row} of column {id_column!r} is not a whole "
                            "number; expected integer or text ids. Hint: cast the ids to integers or strings")
        return pa.chunked_array([values.astype(np.int64)], pa.int64())
    return ids


def _lists(table: pa.Table, id_column: str, value_column: str, wide: pa.Table, *, distinct: bool) -> pa.ListArray:
    """Each id's values (list<string>, in table order; the first of repeats when ``distinct``), aligned to
    ``wide``'s ids; empty for an id without any."""
    values = table.column(value_column).cast(pa.string()).combine_chunks()
    position = pc.index_in(table.column(id_column), value_set=wide.column(0)).to_numpy(
        zero_copy_only=False).astype(np.int64)
    order = np.argsort(position, kind="stable")  # by id, then in table order
    if distinct:
        codes = pc.dictionary_encode(values).indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        pairs = position[order] * (int(codes.max(initial=0)) + 2) + codes[order] + 1
        _, first = np.unique(pairs, return_index=True)
        order = order[np.sort(first)]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(position[order], minlength=wide.num_rows))])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int64()), values.take(pa.array(order)))


def _join_users(wide: pa.Table, users: pa.Table, id_column: str, source: str) -> pa.Table:
    """``wide`` with the other columns of ``users`` (one row per id; null where an id has no row there)."""
    ids = users.column(id_column)
    if pc.count_distinct(ids).as_py() != users.num_rows:
        counts = ids.value_counts()
        repeated = next(entry["values"] for entry in counts.to_pylist() if entry["counts"] > 1)
        raise DataError(f"{source}: id {repeated!r} appears more than once in column {id_column!r}; expected one "
                        "row per id in the users table")
    rows = pc.index_in(wide.column(0), value_set=ids)
    for name in users.column_names:
        if name != id_column:
            if name in wide.column_names:
                raise DataError(f"{source}: column {name!r} is also a grouped column; expected other names. "
                                "Hint: rename it")
            wide = wide.append_column(name, users.column(name).take(rows))
    return wide


def read_interactions(path: str | Path, *, text_columns: tuple[str, ...]) -> pa.Table:
    """One long or wide table, CSV or Parquet; from CSV, ``text_columns`` (ids, items, labels) are read as text, so
    ``007`` stays ``007``."""
    return read_table(path, string_columns=text_columns)
