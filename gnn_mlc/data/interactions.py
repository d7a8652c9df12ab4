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

Recommendation data is prepared on the way (:class:`EventOptions`):

* ``weight_column`` and ``min_weight``: only events weighing at least ``min_weight`` count (ratings >= 4 as
  positives); the others are dropped before anything else.
* ``time_column`` and ``holdout_fraction``: a temporal holdout per user. Each user's events are ordered by time
  (ties in log order) and the latest ``round(F * n)`` of the ``n`` (at least 1, at most ``n - 1``; a user with one
  event keeps it as history) become the ``labels`` (the targets), the earlier ones the history: the ``items``
  column (features) and the ``history`` column, the known labels (``train``/``evaluate --known-column history``);
  the lists are then in time order, not log order.
* ``item_labels``: a map item -> labels (movie -> genres): a user's labels (and history) become the union of
  their items' labels. Items the map lacks are counted (:attr:`GroupedInteractions.unmapped`) and have no label;
  map items the table never names are counted too; a map naming no item of the table is an error.

Without an item map the labels of a holdout are the held-out items themselves (item recommendation).

``gnn-mlc group`` writes that table; ``train`` then reads ``items`` as an item column
(:mod:`gnn_mlc.data.items`), and the id carries through to every output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gnn_mlc._typing import DEFAULT_LABEL_COLUMN
from gnn_mlc.data.label_lists import read_label_lists
from gnn_mlc.data.tabular import check_id_type, read_table
from gnn_mlc.errors import DataError, did_you_mean

ITEMS_COLUMN = "items"
"""The wide table's column of each user's items."""
HISTORY_COLUMN = "history"
"""The wide table's column of each user's known labels (the history before a temporal holdout)."""


@dataclass(frozen=True)
class EventOptions:
    """How the events of the items table become recommendation data (see the module docstring).

    Attributes:
        time_column: the items table's time column (numeric, date or timestamp), for ``holdout_fraction``.
        holdout_fraction: in (0, 1): each user's latest share of events that become the labels.
        weight_column: the items table's weight column (a rating), for ``min_weight``.
        min_weight: events weighing less are dropped.
        item_labels: ``(item, labels)`` table: each item's labels (list<string>), read by :func:`read_item_labels`.

    Raises:
        DataError: a holdout fraction outside (0, 1), or an option without its partner column.
    """

    time_column: str | None = None
    holdout_fraction: float | None = None
    weight_column: str | None = None
    min_weight: float | None = None
    item_labels: pa.Table | None = None

    def __post_init__(self) -> None:
        if self.holdout_fraction is not None and not 0.0 < self.holdout_fraction < 1.0:
            raise DataError(f"holdout_fraction: got {self.holdout_fraction}; expected a number strictly between 0 "
                            "and 1 (the share of each user's latest events that become the labels)")
        for option, partner, value, other in (("holdout_fraction", "time_column", self.holdout_fraction,
                                               self.time_column),
                                              ("min_weight", "weight_column", self.min_weight, self.weight_column)):
            if (value is None) != (other is None):
                raise DataError(f"group: {option} and {partner} go together; got only "
                                f"{option if value is not None else partner}. Hint: --{option.replace('_', '-')} "
                                f"with --{partner.replace('_', '-')}")

    @property
    def prepares_labels(self) -> bool:
        """Whether the labels come from the items table (a holdout or an item map), not a labels table."""
        return self.holdout_fraction is not None or self.item_labels is not None


@dataclass(frozen=True)
class GroupedInteractions:
    """The wide table and what preparing it left out.

    Attributes:
        table: one row per id (see :func:`group_interactions`).
        dropped_events: events below ``min_weight``.
        unmapped: events whose item the item map does not name (they give no label).
        unused_map_items: items of the map that no event names.
    """

    table: pa.Table
    dropped_events: int = 0
    unmapped: int = 0
    unused_map_items: int = 0

    def warnings(self, *, events: int) -> list[str]:
        """One line per thing left out, e.g. ``12 of 900 events name an item the item map lacks (no label)``."""
        lines = []
        if self.dropped_events:
            lines.append(f"{self.dropped_events:,} of {events:,} events weigh less than the minimum weight, dropped")
        if self.unmapped:
            lines.append(f"{self.unmapped:,} events name an item the item map lacks; they give no label")
        if self.unused_map_items:
            lines.append(f"{self.unused_map_items:,} items of the item map are in no event, unused")
        return lines


def group_interactions(
    *,
    id_column: str,
    items: pa.Table | None = None,
    labels: pa.Table | None = None,
    users: pa.Table | None = None,
    item_column: str = "item",
    label_column: str = "label",
    sources: dict[str, str] | None = None,
    events: EventOptions | None = None,
) -> GroupedInteractions:
    """One row per id from long ``(id, item)`` and ``(id, label)`` tables and a wide ``users`` table.

    Args:
        id_column: the id column, in every table given.
        items: long table of ``id_column`` and ``item_column`` (one event a row).
        labels: long table of ``id_column`` and ``label_column``.
        users: one row per id with other columns (user features), joined as they are.
        item_column: the item column of ``items``.
        label_column: the label column of ``labels``.
        sources: the file each table came from (keys ``items``, ``labels``, ``users``, ``item_labels``), for
            messages.
        events: how the items table's events become recommendation data (weights, temporal holdout, item map);
            with a holdout or an item map the labels come from the items, so ``labels`` must not be given.

    Returns:
        The table: ``id_column``, then ``items`` (with ``items``; the history with a holdout), ``history`` (with a
        holdout: the earlier events' items, or their labels with an item map), ``labels`` (from ``labels``, or the
        items as :class:`EventOptions` says), then the other columns of ``users``; one row per id of any table,
        sorted by id (of the tables' common id type, else as strings). And the counts of what was left out.

    Raises:
        DataError: no table, a missing column, a null or empty id, an id repeated in ``users``, an id column named
            like a grouped column; with ``events``: no items table, a labels table besides, a time column that is
            neither numeric nor a timestamp, a weight column that is not numeric, or an item map naming no item.
    """
    sources = sources or {}
    events = events or EventOptions()
    if (events.prepares_labels or events.weight_column is not None) and items is None:
        raise DataError("group: the holdout, weight and item-label options prepare the items table's events; "
                        "expected an items table. Hint: --items")
    if events.prepares_labels and labels is not None:
        raise DataError("group: a labels table given with --holdout-fraction or --item-labels, which make the labels "
                        "from the items; expected one source of labels. Hint: drop --labels")
    given = {name: table for name, table in (("items", items), ("labels", labels), ("users", users))
             if table is not None}
    if not given:
        raise DataError("group: no table given; expected items (id, item rows), labels (id, label rows) and/or "
                        "users tables. Hint: --items, --labels, --users")
    for name, table in given.items():
        source = sources.get(name, name)
        extra = [column for column in (events.time_column, events.weight_column) if column is not None]
        needed = [id_column] + {"items": [item_column, *extra], "labels": [label_column], "users": []}[name]
        for column in needed:
            if column not in table.column_names:
                raise DataError(f"{source}: no column {column!r}{did_you_mean(column, table.column_names)}; "
                                f"columns are {table.column_names[:10]}. Hint: check --id-column, --item-column, "
                                "--label-column, --time-column and --weight-column")
        given[name] = table.set_column(table.column_names.index(id_column), id_column,
                                       _checked_ids(table.column(id_column), id_column, source))
        for column in needed[1:2]:
            if pa.types.is_nested(table.schema.field(column).type):
                raise DataError(f"{source}: column {column!r} has type {table.schema.field(column).type}; expected "
                                "one value per row (a long table: one event a row)")
    grouped = [column for name, column in (("items", ITEMS_COLUMN), ("labels", DEFAULT_LABEL_COLUMN)) if name in given]
    grouped += [HISTORY_COLUMN, DEFAULT_LABEL_COLUMN] if events.prepares_labels else []
    if id_column in grouped:
        raise DataError(f"group: the id column is named {id_column!r}, like a grouped column; expected another name. "
                        "Hint: rename the id column in the tables")
    types = {table.schema.field(id_column).type for table in given.values()}
    id_type = types.pop() if len(types) == 1 else pa.string()  # ids keep their type when the tables agree
    given = {name: table.set_column(table.column_names.index(id_column), id_column,
                                    table.column(id_column).cast(id_type)) for name, table in given.items()}
    ids = pc.unique(pa.chunked_array([table.column(id_column) for table in given.values()], type=id_type))
    wide = pa.table({id_column: ids.take(pc.array_sort_indices(ids))})
    dropped = unmapped = unused = 0
    if "items" in given:
        history, targets, dropped = _prepared_events(given["items"], id_column, events, sources.get("items", "items"))
        wide = wide.append_column(ITEMS_COLUMN, _lists(history, id_column, item_column, wide, distinct=False))
        if events.prepares_labels:
            named = pa.chunked_array([history.column(item_column), targets.column(item_column)], pa.string())
            unused = _check_item_map(events.item_labels, named, sources.get("item_labels", "item_labels"))
        if events.holdout_fraction is not None:
            known, missed = _label_events(history, id_column, item_column, events.item_labels)
            wide = wide.append_column(HISTORY_COLUMN, _lists(known, id_column, "label", wide, distinct=True))
            unmapped += missed
        if events.prepares_labels:
            chosen = targets if events.holdout_fraction is not None else history
            wanted, missed = _label_events(chosen, id_column, item_column, events.item_labels)
            wide = wide.append_column(DEFAULT_LABEL_COLUMN, _lists(wanted, id_column, "label", wide, distinct=True))
            unmapped += missed
    if "labels" in given:
        wide = wide.append_column(DEFAULT_LABEL_COLUMN, _lists(given["labels"], id_column, label_column, wide,
                                                               distinct=True))
    if "users" in given:
        wide = _join_users(wide, given["users"], id_column, sources.get("users", "users"))
    return GroupedInteractions(wide, dropped_events=dropped, unmapped=unmapped, unused_map_items=unused)


def _prepared_events(table: pa.Table, id_column: str, events: EventOptions, source: str
                     ) -> tuple[pa.Table, pa.Table, int]:
    """The items table's events as (history, held-out targets, events dropped by weight): without a holdout every
    kept event is history and the targets are empty.

    Raises:
        DataError: a weight column that is not numeric, or a time column neither numeric nor a date/timestamp.
    """
    dropped = 0
    if events.weight_column is not None:
        weight = table.column(events.weight_column)
        if not (pa.types.is_integer(weight.type) or pa.types.is_floating(weight.type)):
            raise DataError(f"{source}: weight column {events.weight_column!r} has type {weight.type}; expected "
                            "numbers (a rating or a count). Hint: check --weight-column")
        keep = pc.fill_null(pc.greater_equal(weight, events.min_weight), False)
        dropped = table.num_rows - (pc.sum(keep.cast(pa.int64())).as_py() or 0)
        table = table.filter(keep)
    if events.holdout_fraction is None:
        return table, table.slice(0, 0), dropped
    time = table.column(events.time_column)
    if not (pa.types.is_integer(time.type) or pa.types.is_floating(time.type) or pa.types.is_timestamp(time.type)
            or pa.types.is_date(time.type)):
        raise DataError(f"{source}: time column {events.time_column!r} has type {time.type}; expected numbers or "
                        "timestamps (seconds since the epoch, or ISO dates and times). Hint: check --time-column")
    if time.null_count:
        row = int(pc.index(pc.is_null(time), True).as_py())
        raise DataError(f"{source}: row {row} has no time in column {events.time_column!r}; expected a time in "
                        "every event")
    # by user, then time, then log order (the sort is stable)
    order = pc.sort_indices(table.append_column("__row", pa.array(np.arange(table.num_rows))),
                            sort_keys=[(id_column, "ascending"), (events.time_column, "ascending"),
                                       ("__row", "ascending")]).to_numpy()
    users = table.column(id_column).take(pa.array(order))
    codes = pc.dictionary_encode(users.combine_chunks()).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])  # users are contiguous after the sort
    rank = np.arange(len(order)) - starts[codes]  # each event's position in its user's time order
    held = np.clip(np.round(events.holdout_fraction * counts), 1, counts - 1)  # 0 for a one-event user
    is_target = rank >= (counts - held)[codes]
    return table.take(pa.array(order[~is_target])), table.take(pa.array(order[is_target])), dropped  # time order


def _check_item_map(item_labels: pa.Table | None, named: pa.ChunkedArray, source: str) -> int:
    """How many items of the map no event names (0 without a map).

    Raises:
        DataError: the map names no item of the events.
    """
    if item_labels is None:
        return 0
    mapped = item_labels.column(0)
    used = pc.is_in(mapped, value_set=pc.unique(named)).to_numpy(zero_copy_only=False)
    if item_labels.num_rows and not used.any():
        raise DataError(f"{source}: none of its {item_labels.num_rows:,} items is an item of the events (first "
                        f"{mapped[0].as_py()!r}); expected the items table's item names. Hint: check the map's "
                        "item column and --item-column")
    return int((~used).sum())


def _label_events(table: pa.Table, id_column: str, item_column: str, item_labels: pa.Table | None
                  ) -> tuple[pa.Table, int]:
    """A long ``(id_column, label)`` table of the events' labels: each item's labels from ``item_labels`` (its
    first column the item, its second the labels), or the item itself without a map; and how many events name an
    item the map lacks."""
    items = table.column(item_column).cast(pa.string())
    if item_labels is None:
        return pa.table({id_column: table.column(id_column), "label": items}), 0
    position = pc.index_in(items, value_set=item_labels.column(0))
    found = position.is_valid()
    lists = item_labels.column(1).combine_chunks().take(position.filter(found))
    ids = table.column(id_column).filter(found).take(pc.list_parent_indices(lists))
    missed = table.num_rows - (pc.sum(found.cast(pa.int64())).as_py() or 0)
    return pa.table({id_column: ids, "label": pc.list_flatten(lists)}), missed


def read_item_labels(path: str | Path, *, item_column: str, label_column: str = DEFAULT_LABEL_COLUMN,
                     label_delimiter: str = "|") -> pa.Table:
    """An item map: CSV/Parquet with an item column and a labels column (a list, or ``label_delimiter``-joined
    names), as an ``(item, labels)`` table of text items and list<string> labels.

    Raises:
        DataError: the file is unreadable, a column is missing, or an item appears twice.
    """
    table = read_table(path, string_columns=(item_column,))
    for column, flag in ((item_column, "--item-column"), (label_column, "--item-labels-column")):
        if column not in table.column_names:
            raise DataError(f"{path}: no column {column!r}{did_you_mean(column, table.column_names)}; columns are "
                            f"{table.column_names[:10]}; expected an item map (item, labels). Hint: check {flag}")
    items = table.column(item_column).cast(pa.string())
    if pc.count_distinct(items).as_py() != table.num_rows or items.null_count:
        counts = items.value_counts()
        repeated = next((entry["values"] for entry in counts.to_pylist() if entry["counts"] > 1), None)
        raise DataError(f"{path}: item {repeated!r} appears more than once (or is empty) in column {item_column!r}; "
                        "expected one row per item")
    labels = read_label_lists(table.column(label_column), label_delimiter, source=str(path),
                              column_name=label_column)
    return pa.table({"item": items, "labels": labels})


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
