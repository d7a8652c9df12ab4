"""Long interaction tables grouped per user: equal to a plain-Python grouping, and the grouped table trains and
scores with the ids carried through."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gnn_mlc import DataError
from gnn_mlc.cli import main
from gnn_mlc.data.interactions import EventOptions, group_interactions


def _log(seed: int = 0, users: int = 80, events: int = 600):
    rng = np.random.default_rng(seed)
    ids = [f"{index:03d}" for index in rng.integers(0, users, events)]  # "007" must stay "007"
    items = [f"sku{int(value)}" for value in rng.zipf(1.5, events) % 40]
    label_ids = [f"{index:03d}" for index in rng.integers(0, users, events // 2)]
    labels = [f"topic{int(value) % 5}" for value in rng.integers(0, 100, events // 2)]
    return ids, items, label_ids, labels


def test_grouping_equals_a_plain_python_grouping():
    ids, items, label_ids, labels = _log()
    wide = group_interactions(id_column="user", items=pa.table({"user": ids, "item": items}),
                              labels=pa.table({"user": label_ids, "label": labels})).table
    expected_items, expected_labels = defaultdict(list), defaultdict(list)
    for user, item in zip(ids, items):
        expected_items[user].append(item)  # repeats kept, log order
    for user, label in zip(label_ids, labels):
        if label not in expected_labels[user]:
            expected_labels[user].append(label)  # distinct, first-seen order
    users = sorted(set(ids) | set(label_ids))
    assert wide.column("user").to_pylist() == users
    assert wide.column("items").to_pylist() == [expected_items[user] for user in users]
    assert wide.column("labels").to_pylist() == [expected_labels[user] for user in users]


def test_group_then_train_and_predict_carry_the_ids(tmp_path, capsys):
    ids, items, label_ids, labels = _log(users=300, events=3000)
    rng = np.random.default_rng(1)
    label_ids = ids[::2]  # the users' interests follow their items
    labels = [f"topic{int(item[3:]) % 5}" for item in items[::2]]
    pa.csv.write_csv(pa.table({"user_id": ids, "item": items}), tmp_path / "events.csv")
    pq.write_table(pa.table({"user_id": label_ids, "label": labels}), tmp_path / "interests.parquet")
    users = sorted(set(ids))
    pa.csv.write_csv(pa.table({"user_id": users, "age": rng.normal(40, 9, len(users))}), tmp_path / "users.csv")
    assert main(["group", "--items", str(tmp_path / "events.csv"), "--labels", str(tmp_path / "interests.parquet"),
                 "--users", str(tmp_path / "users.csv"), "--id-column", "user_id", "--output",
                 str(tmp_path / "wide.parquet")]) == 0
    wide = pq.read_table(tmp_path / "wide.parquet")
    assert wide.column_names == ["user_id", "items", "labels", "age"]
    assert wide.column("user_id").to_pylist() == users and "007" in users
    assert main(["train", "--data", str(tmp_path / "wide.parquet"), "--output", str(tmp_path / "model"),
                 "--id-column", "user_id", "--quiet", "--epochs", "3"]) == 0
    assert "items=sku1" in (tmp_path / "model" / "feature_names.json").read_text()
    assert main(["predict", "--model", str(tmp_path / "model"), "--input", str(tmp_path / "wide.parquet"),
                 "--output", str(tmp_path / "recs.parquet")]) == 0
    assert pq.read_table(tmp_path / "recs.parquet").column("user_id").to_pylist() == users


def test_integer_ids_keep_their_type_and_order():
    items = pa.table({"user": pa.array([10, 2, 9, 2], pa.int64()), "item": ["a", "b", "c", "d"]})
    no_labels = pa.table({"user": pa.array([], pa.int64()), "label": pa.array([], pa.string())})
    wide = group_interactions(id_column="user", items=items, labels=no_labels).table
    assert wide.schema.field("user").type == pa.int64()
    assert wide.column("user").to_pylist() == [2, 9, 10]  # numeric order, not text order
    assert wide.column("items").to_pylist() == [["b", "d"], ["c"], ["a"]]
    assert wide.column("labels").to_pylist() == [[], [], []]
    mixed = group_interactions(id_column="user", items=items,
                               labels=pa.table({"user": ["2"], "label": ["x"]})).table  # the tables disagree: text
    assert mixed.column("user").to_pylist() == ["10", "2", "9"] and mixed.column("labels").to_pylist()[1] == ["x"]


def test_one_id_type_across_tables_integral_floats_are_integers():
    items = pa.table({"user": pa.array([1, 2], pa.int32()), "item": ["a", "b"]})
    users = pa.table({"user": pa.array([2.0, 1.0]), "age": [20.0, 10.0]})
    wide = group_interactions(id_column="user", items=items, users=users).table
    assert wide.schema.field("user").type == pa.int64()
    assert wide.to_pylist() == [{"user": 1, "items": ["a"], "age": 10.0}, {"user": 2, "items": ["b"], "age": 20.0}]


@pytest.mark.parametrize(("ids", "message"), [
    (pa.array([1.0, float("nan"), float("nan")]), r"events: row 1 has no 'user' \(null, NaN or empty; 2 such rows\)"),
    (pa.array([1, None, 3]), r"events: row 1 has no 'user' \(null, NaN or empty; 1 such rows\)"),
    (pa.array([1.0, 2.5, 3.0]), r"events: id 2\.5 in row 1 of column 'user' is not a whole number"),
    (pa.array([["u1"], ["u2"], ["u3"]]), r"events: id column 'user' has type list<item: string>; expected one"),
    (pa.array([{"a": 1}] * 3), r"events: id column 'user' has type struct<a: int64>; expected one"),
])
def test_bad_ids_are_refused_in_one_line(ids, message):
    with pytest.raises(DataError, match=message):
        group_interactions(id_column="user", items=pa.table({"user": ids, "item": ["a", "b", "c"]}),
                           sources={"items": "events"})


def test_a_list_typed_item_column_is_refused():
    with pytest.raises(DataError, match=r"events: column 'item' has type list<item: string>; expected one value per"):
        group_interactions(id_column="user", items=pa.table({"user": ["u1"], "item": [["a", "b"]]}),
                           sources={"items": "events"})


def _events():
    """u1 rates four movies over time, u2 one, u3 two (one of them badly)."""
    return pa.table({"user": ["u1", "u1", "u1", "u1", "u2", "u3", "u3"],
                     "item": ["m4", "m1", "m3", "m2", "m1", "m2", "m5"],
                     "time": [40, 10, 30, 20, 5, 7, 8],
                     "rating": [5, 4, 2, 5, 4, 5, 4]})


def test_holdout_takes_each_users_latest_events_as_labels():
    grouped = group_interactions(id_column="user", items=_events(),
                                 events=EventOptions(time_column="time", holdout_fraction=0.5))
    rows = {row["user"]: row for row in grouped.table.to_pylist()}
    assert grouped.table.column_names == ["user", "items", "history", "labels"]
    assert rows["u1"]["items"] == ["m1", "m2"] and rows["u1"]["labels"] == ["m3", "m4"]  # by time, not log order
    assert rows["u1"]["history"] == ["m1", "m2"]
    assert rows["u2"] == {"user": "u2", "items": ["m1"], "history": ["m1"], "labels": []}  # one event: history only
    assert rows["u3"]["history"] == ["m2"] and rows["u3"]["labels"] == ["m5"]


def test_min_weight_drops_the_lighter_events():
    grouped = group_interactions(id_column="user", items=_events(),
                                 events=EventOptions(weight_column="rating", min_weight=4))
    assert grouped.dropped_events == 1
    assert grouped.table.column("items").to_pylist() == [["m4", "m1", "m2"], ["m1"], ["m2", "m5"]]


def test_item_map_labels_are_the_union_of_the_items_labels():
    genres = pa.table({"item": ["m1", "m2", "m3", "m4", "m9"],
                       "labels": [["drama"], ["comedy", "drama"], ["horror"], ["comedy"], ["war"]]})
    grouped = group_interactions(id_column="user", items=_events(),
                                 events=EventOptions(time_column="time", holdout_fraction=0.5, item_labels=genres))
    rows = {row["user"]: row for row in grouped.table.to_pylist()}
    assert sorted(rows["u1"]["history"]) == ["comedy", "drama"] and sorted(rows["u1"]["labels"]) == ["comedy",
                                                                                                     "horror"]
    assert rows["u3"]["labels"] == []  # m5 is not in the map
    assert (grouped.unmapped, grouped.unused_map_items) == (1, 1)
    assert any("1 events name an item the item map lacks" in line for line in grouped.warnings(events=7))
    plain = group_interactions(id_column="user", items=_events(), events=EventOptions(item_labels=genres)).table
    assert plain.column_names == ["user", "items", "labels"]
    assert sorted(plain.column("labels").to_pylist()[0]) == ["comedy", "drama", "horror"]


@pytest.mark.parametrize(("events", "table", "message"), [
    (EventOptions(time_column="when", holdout_fraction=0.2), None,
     r"events: no column 'when'; columns are \['user', 'item', 'time', 'rating'\]\. Hint: check --id-column"),
    (EventOptions(time_column="item", holdout_fraction=0.2), None,
     r"events: time column 'item' has type string; expected numbers or timestamps"),
    (EventOptions(weight_column="item", min_weight=4), None, r"events: weight column 'item' has type string"),
    (EventOptions(item_labels=pa.table({"item": ["z"], "labels": [["x"]]})), None,
     r"genres\.csv: none of its 1 items is an item of the events \(first 'z'\)"),
    (EventOptions(item_labels=pa.table({"item": ["m1"], "labels": [["x"]]})), pa.table({"user": ["u1"], "label": ["a"]}),
     r"group: a labels table given with --holdout-fraction or --item-labels"),
])
def test_bad_event_options_are_refused_in_one_line(events, table, message):
    with pytest.raises(DataError, match=message):
        group_interactions(id_column="user", items=_events(), labels=table, events=events,
                           sources={"items": "events", "item_labels": "genres.csv"})


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.5])
def test_a_holdout_fraction_outside_zero_one_is_refused(fraction):
    with pytest.raises(DataError, match=rf"holdout_fraction: got {fraction}; expected a number strictly between 0"):
        EventOptions(time_column="time", holdout_fraction=fraction)
    with pytest.raises(DataError, match=r"group: holdout_fraction and time_column go together; got only holdout_f"):
        EventOptions(holdout_fraction=0.2)


def test_group_command_prepares_a_temporal_holdout_with_genres(tmp_path, capsys):
    pa.csv.write_csv(_events(), tmp_path / "ratings.csv")
    pa.csv.write_csv(pa.table({"item": ["m1", "m2", "m3", "m4"], "labels": ["drama", "comedy|drama", "horror",
                                                                             "comedy"]}), tmp_path / "genres.csv")
    assert main(["group", "--items", str(tmp_path / "ratings.csv"), "--id-column", "user", "--time-column", "time",
                 "--holdout-fraction", "0.5", "--weight-column", "rating", "--min-weight", "4", "--item-labels",
                 str(tmp_path / "genres.csv"), "--output", str(tmp_path / "wide.parquet")]) == 0
    captured = capsys.readouterr()
    assert "warning: 1 of 7 events weigh less than the minimum weight, dropped" in captured.err
    assert "warning: 1 events name an item the item map lacks" in captured.err
    rows = pq.read_table(tmp_path / "wide.parquet").to_pylist()
    assert rows[0] == {"user": "u1", "items": ["m1"], "history": ["drama"], "labels": ["comedy", "drama"]}
    with pytest.raises(SystemExit) as exit_info:
        main(["group", "--items", str(tmp_path / "ratings.csv"), "--id-column", "user", "--holdout-fraction", "1.5",
              "--output", str(tmp_path / "bad.parquet")])
    assert exit_info.value.code == 2
    assert "argument --holdout-fraction: must be a float in (0, 1); got '1.5'" in capsys.readouterr().err
