"""Categorical feature columns: one-hot features equal scikit-learn's OneHotEncoder, the categories travel with the
model, unseen values go to ``__other__`` (or nowhere) and are counted, and every reading path (estimator, predict,
score, evaluate, the Scorer) gives the same scores."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.preprocessing import OneHotEncoder

from gnn_mlc import LabelGCNClassifier, TableOptions, read_dataset
from gnn_mlc.cli import main
from gnn_mlc.data.categories import OTHER, CategoricalColumn, CategoryCounts
from gnn_mlc.errors import DataError, GnnMlcError
from gnn_mlc.model_directory import load_model_parts
from gnn_mlc.serving import Scorer, predict_file

OCCUPATIONS = ["nurse", "doctor", "nurse", None, " clerk ", "doctor", "nurse", "", "artist"]


def test_one_hot_equals_scikit_learn_with_the_cap():
    column = CategoricalColumn.fit(pa.array(OCCUPATIONS), name="job", max_categories=2)
    # nurse 3, doctor 2 kept (most frequent); clerk and artist (1 each) go to __other__; null and blank: no value
    assert column.categories == ("doctor", "nurse") and column.other
    assert column.feature_names == ["job=doctor", "job=nurse", f"job={OTHER}"]
    queries = ["nurse", "pilot", None, "doctor", " ", "artist"]
    features, counts = column.transform(pa.array(queries))
    encoder = OneHotEncoder(categories=[["doctor", "nurse"]], handle_unknown="infrequent_if_exist")
    present = [value if value and value.strip() else "doctor" for value in queries]
    reference = encoder.fit(np.array([["doctor"], ["nurse"]])).transform(np.array(present)[:, None]).toarray()
    absent = np.array([not (value and value.strip()) for value in queries])
    reference[absent] = 0
    other = np.array([value in ("pilot", "artist") for value in queries], dtype=np.float32)
    np.testing.assert_array_equal(features, np.column_stack([reference, other]))
    assert features.dtype == np.float32
    assert counts == CategoryCounts(values=4, unseen=2)


def test_uncapped_column_ignores_unseen_values_and_reads_dictionaries_alike():
    plain = CategoricalColumn.fit(pa.array(OCCUPATIONS), name="job")
    encoded = CategoricalColumn.fit(pa.array(OCCUPATIONS).dictionary_encode(), name="job")
    assert plain == encoded and plain.categories == ("artist", "clerk", "doctor", "nurse") and not plain.other
    features, counts = plain.transform(pa.array(["pilot", "nurse"]).dictionary_encode())
    np.testing.assert_array_equal(features, [[0, 0, 0, 0], [0, 0, 0, 1]])
    assert counts == CategoryCounts(values=2, unseen=1)
    assert "1 of 2 values (50.00%) not among the training categories, ignored" in counts.describe("job", other=False)


def test_categorical_column_round_trips_through_json_and_refuses_bad_ones():
    column = CategoricalColumn.fit(pa.array(OCCUPATIONS), name="job", max_categories=2)
    assert CategoricalColumn.from_json(json.loads(json.dumps(column.to_json()))) == column
    with pytest.raises(DataError, match="categories that are not distinct non-empty names"):
        CategoricalColumn.from_json({**column.to_json(), "categories": ["a", "a"]})
    with pytest.raises(DataError, match="incomplete description"):
        CategoricalColumn.from_json({"name": "job"})


def test_cap_below_one_and_a_column_without_values_are_refused(tmp_path):
    with pytest.raises(GnnMlcError, match=r"max_categories: got 0; expected a positive integer \(CLI: "):
        TableOptions(max_categories=0)
    with pytest.raises(DataError, match="max_categories: got 0; expected a positive integer"):
        CategoricalColumn.fit(pa.array(["a"]), name="job", max_categories=0)
    pq.write_table(pa.table({"x": [1.0, 2.0], "job": pa.array([None, " "], pa.string()), "labels": [["a"], ["b"]]}),
                   tmp_path / "blank.parquet")
    with pytest.raises(DataError, match=r"blank\.parquet: categorical column 'job' holds no value in any row"):
        read_dataset(tmp_path / "blank.parquet")
    pq.write_table(pa.table({"x": np.arange(12.0), "user": [f"u{row}" for row in range(12)], "labels": [["a"]] * 12}),
                   tmp_path / "ids.parquet")
    with pytest.raises(DataError, match=r"ids\.parquet: text column 'user' has a different value in each of its 12 "
                                        r"rows, like an identifier; .* Hint: pass it as --id-column"):
        read_dataset(tmp_path / "ids.parquet")
    assert read_dataset(tmp_path / "ids.parquet", id_column="user").feature_names == ["x"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A training and a test table whose labels follow a gender (dictionary-encoded, one null) and an occupation
    (text, 5 values, capped at 3 in training); the test occupations hold one value never seen in training."""
    rng = np.random.default_rng(0)

    def table(rows: int, prefix: str, unseen: bool) -> pa.Table:
        cycle = ["doctor"] * 6 + ["nurse"] * 6 + ["teacher"] * 4 + ["artist"] * 3 + ["clerk"]
        occupation = [cycle[row % len(cycle)] for row in rng.permutation(rows)]
        gender = rng.choice(["F", "M"], rows).tolist()
        gender[3] = None  # a row with no category: still scored
        if unseen:
            occupation[0] = occupation[5] = "pilot"
        labels = [["a" if sex == "F" else "b"] + (["c"] if job in ("doctor", "nurse") else [])
                  for sex, job in zip(gender, occupation)]
        return pa.table({"user_id": [f"{prefix}{row}" for row in range(rows)], "age": rng.normal(40, 10, rows),
                         "gender": pa.array(gender).dictionary_encode(), "occupation": occupation, "labels": labels})

    folder = tmp_path_factory.mktemp("categories")
    pq.write_table(table(300, "u", unseen=False), folder / "train.parquet")
    pq.write_table(table(40, "t", unseen=True), folder / "test.parquet")
    return folder


def test_text_columns_become_one_hot_features_before_the_items(files):
    data = read_dataset(files / "train.parquet", id_column="user_id", max_categories=3)
    assert isinstance(data.X, np.ndarray)
    assert data.feature_names == ["age", "gender=F", "gender=M", "occupation=doctor", "occupation=nurse",
                                  "occupation=teacher", f"occupation={OTHER}"]
    assert data.X[3, 1:3].tolist() == [0, 0]  # the null gender
    np.testing.assert_array_equal(data.X[:, 3:].sum(axis=1), 1)  # every occupation somewhere
    with_items = pq.read_table(files / "train.parquet").append_column(
        "history", pa.array([["x"] if row % 2 else ["y", "z"] for row in range(300)]))
    pq.write_table(with_items, files / "items.parquet")
    sparse = read_dataset(files / "items.parquet", id_column="user_id", max_categories=3)
    assert sparse.feature_names == data.feature_names + ["history=x", "history=y", "history=z"]
    np.testing.assert_array_equal(sparse.X[:, :7].toarray(), data.X)
    classifier = LabelGCNClassifier(max_epochs=1, random_state=0, verbose=False).fit(
        sparse.X, sparse.Y, label_names=sparse.label_names, feature_names=sparse.feature_names,
        item_columns=sparse.item_columns, categorical_columns=sparse.categorical_columns)
    assert classifier.scaler_.dense_columns == 7  # numeric and one-hot features standardised, not row-normalised
    with pytest.raises(DataError, match="categorical_columns: their one-hot features are not the features before"):
        LabelGCNClassifier(max_epochs=1).fit(data.X, data.Y, feature_names=data.feature_names,
                                             categorical_columns=list(reversed(data.categorical_columns)))


def test_every_path_scores_categories_as_the_estimator_does(files, tmp_path, capsys):
    model = tmp_path / "model"
    assert main(["train", "--data", str(files / "train.parquet"), "--output", str(model), "--id-column", "user_id",
                 "--quiet", "--max-epochs", "5", "--max-categories", "3"]) == 0
    assert "categories: gender 2, occupation 3 + __other__" in capsys.readouterr().out
    saved = json.loads((model / "categorical_columns.json").read_text())
    assert saved == [{"name": "gender", "categories": ["F", "M"], "other": False},
                     {"name": "occupation", "categories": ["doctor", "nurse", "teacher"], "other": True}]
    assert "categorical_columns.json" in json.loads((model / "manifest.json").read_text())["files"]
    # "pilot" twice, never seen in training, and the values the cap folded there (artist, clerk)
    outside = sum(job not in ("doctor", "nurse", "teacher")
                  for job in pq.read_table(files / "test.parquet").column("occupation").to_pylist())
    unseen = (f"occupation: {outside} of 40 values ({outside / 40:.2%}) not among the training categories, counted as "
              "occupation=__other__")
    assert main(["predict", "--model", str(model), "--input", str(files / "test.parquet"), "--output",
                 str(tmp_path / "recs.parquet"), "--top-k", "3"]) == 0
    assert unseen in capsys.readouterr().out
    assert main(["score", "--model", str(model), "--input", str(files / "test.parquet"), "--output",
                 str(tmp_path / "job"), "--top-k", "3", "--quiet"]) == 0
    assert unseen in capsys.readouterr().out
    assert main(["evaluate", "--model", str(model), "--data", str(files / "test.parquet")]) == 0
    assert unseen in capsys.readouterr().out
    # The reference: the same rows through the reloaded estimator, read with the model's categories.
    classifier = LabelGCNClassifier.from_directory(model)
    parts = load_model_parts(model)
    test = read_dataset(files / "test.parquet", id_column="user_id", categories=parts.categorical_columns)
    assert test.feature_names == parts.feature_names and test.category_counts["occupation"].unseen == outside
    probabilities = classifier.predict_proba(test.X)
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :3]
    recommendations = pq.read_table(tmp_path / "recs.parquet")
    assert recommendations.column("labels").to_pylist() == [list(classifier.classes_[row]) for row in best]
    np.testing.assert_allclose(recommendations.column("scores").to_pylist(),
                               np.take_along_axis(probabilities, best, axis=1), rtol=1e-5)
    job = pq.read_table(next((tmp_path / "job").glob("*.parquet")))
    assert job.column("labels").to_pylist() == recommendations.column("labels").to_pylist()
    scorer = Scorer(model, top_k=3)
    batch = pq.read_table(files / "test.parquet").to_pydict()  # a dict of columns, gender decoded to text
    assert scorer(batch).column("labels").to_pylist() == recommendations.column("labels").to_pylist()
    assert scorer.category_counts == {"gender": CategoryCounts(39, 0), "occupation": CategoryCounts(40, outside)}
    # A CSV of the same rows: its text columns read as text, an occupation of digits stays a category.
    pq.read_table(files / "test.parquet").to_pandas().to_csv(tmp_path / "test.csv", index=False)
    summary = predict_file(model, tmp_path / "test.csv", tmp_path / "recs_csv.parquet", top_k=3)
    assert unseen in summary.line()
    assert pq.read_table(tmp_path / "recs_csv.parquet").column("labels").to_pylist() == \
        recommendations.column("labels").to_pylist()


def test_old_model_directories_load_without_categories(files, tmp_path):
    model = tmp_path / "plain"
    assert main(["train", "--data", str(files / "train.parquet"), "--output", str(model), "--id-column", "user_id",
                 "--exclude-columns", "gender,occupation", "--quiet", "--max-epochs", "1"]) == 0
    assert not (model / "categorical_columns.json").exists()
    parts = load_model_parts(model)
    assert parts.categorical_columns == [] and parts.input_columns == ["age"]


def test_max_categories_below_one_is_a_one_line_error(files, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_code:
        main(["train", "--data", str(files / "train.parquet"), "--output", str(tmp_path / "m"), "--max-categories",
              "0"])
    assert exit_code.value.code == 2
    assert capsys.readouterr().err == ("error: argument --max-categories: must be a positive integer; got '0'. Hint: "
                                       "see 'gnn-mlc train --help'\n")
    assert not (tmp_path / "m").exists()


def test_grouped_users_with_text_columns_train(tmp_path, capsys):
    """``group --users`` passes gender and occupation through as text; the grouped table trains on them."""
    rng = np.random.default_rng(1)
    users = [f"u{index}" for index in range(60)]
    events = [(user, f"sku{int(item)}") for user in users for item in rng.choice(10, 3, replace=False)]
    (tmp_path / "events.csv").write_text("user_id,item\n" + "".join(f"{u},{i}\n" for u, i in events))
    (tmp_path / "interests.csv").write_text("user_id,label\n" + "".join(
        f"{user},{'sports' if index % 2 else 'books'}\n" for index, user in enumerate(users)))
    (tmp_path / "users.csv").write_text("user_id,age,gender,occupation\n" + "".join(
        f"{user},{20 + index},{'F' if index % 2 else 'M'},{['nurse', 'clerk', 'artist'][index % 3]}\n"
        for index, user in enumerate(users)))
    assert main(["group", "--items", str(tmp_path / "events.csv"), "--labels", str(tmp_path / "interests.csv"),
                 "--users", str(tmp_path / "users.csv"), "--id-column", "user_id",
                 "--output", str(tmp_path / "wide.parquet")]) == 0
    assert main(["train", "--data", str(tmp_path / "wide.parquet"), "--output", str(tmp_path / "model"),
                 "--id-column", "user_id", "--quiet", "--max-epochs", "2"]) == 0
    assert "categories: gender 2, occupation 3" in capsys.readouterr().out
    parts = load_model_parts(tmp_path / "model")
    assert parts.input_columns == ["age", "gender", "occupation", "items"]


def test_a_list_where_the_model_expects_categories_is_one_clear_error(files, tmp_path):
    from gnn_mlc import DataError, Scorer

    assert main(["train", "--data", str(files / "train.parquet"), "--output", str(tmp_path / "m"), "--id-column",
                 "user_id", "--quiet", "--max-epochs", "1", "--hidden-channels", "8", "--embedding-dim", "4"]) == 0
    table = pq.read_table(files / "test.parquet")
    table = table.set_column(table.column_names.index("occupation"), "occupation",
                             pa.array([["doctor"]] * table.num_rows))
    with pytest.raises(DataError, match=r"input: column 'occupation' has type list<item: string>; expected the text "
                                        "categories the model was trained on"):
        Scorer(tmp_path / "m", top_k=3).score_table(table)
