"""Item-list feature columns: the bag of items equals scikit-learn's vectorisers, the vocabulary travels with the
model, unseen items are ignored and counted, and every reading path (estimator, predict, score, evaluate) agrees."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

from gnn_mlc import LabelGCNClassifier, read_dataset
from gnn_mlc.cli import main
from gnn_mlc.data.items import ItemColumn, ItemCounts
from gnn_mlc.errors import DataError
from gnn_mlc.serving import Scorer

HISTORIES = [["a", "b", "a"], None, [], ["c", None, " "], ["b", "d"], ["d"]]


def _reference_counts(histories, vocabulary):
    """Item counts by scikit-learn's CountVectorizer over the same lists (null and blank items dropped)."""
    clean = [[item.strip() for item in history if item and item.strip()] if history else [] for history in histories]
    vectorizer = CountVectorizer(analyzer=lambda items: items, vocabulary=vocabulary)
    return vectorizer.transform(clean)


@pytest.mark.parametrize("weighting", ["binary", "tfidf"])
def test_bags_equal_scikit_learn(weighting):
    column = ItemColumn.fit(pa.array(HISTORIES, pa.list_(pa.string())), name="history", weighting=weighting)
    assert column.items == ("a", "b", "c", "d")
    assert column.feature_names == ["history=a", "history=b", "history=c", "history=d"]
    queries = [["a", "b", "a"], ["z", "a", "z"], None, ["d", "c"]]
    bag, counts = column.transform(pa.array(queries, pa.list_(pa.string())))
    reference = _reference_counts(queries, list(column.items))
    if weighting == "binary":
        expected = (reference > 0).astype(np.float32).toarray()
    else:
        transformer = TfidfTransformer().fit(_reference_counts(HISTORIES, list(column.items)))
        np.testing.assert_allclose(column.idf, transformer.idf_)
        expected = transformer.transform(reference).toarray()
    assert sp.isspmatrix_csr(bag) and bag.dtype == np.float32
    np.testing.assert_allclose(bag.toarray(), expected, rtol=1e-6)
    assert counts == ItemCounts(occurrences=8, unseen=2)  # "z" twice


def test_strings_and_integer_lists_read_alike():
    as_lists = ItemColumn.fit(pa.array([[1, 2], [3], None]), name="h")
    as_strings = ItemColumn.fit(pa.array(["1|2", "3", None]), name="h")
    single_ids = ItemColumn.fit(pa.array([1, 3, None]), name="h")  # CSV type inference of one id a row
    assert as_lists.items == as_strings.items == ("1", "2", "3") and single_ids.items == ("1", "3")
    bag, _ = as_strings.transform(pa.array([" 2 | 1 ", ""]))
    np.testing.assert_array_equal(bag.toarray(), [[1, 1, 0], [0, 0, 0]])


def test_item_column_round_trips_through_json_and_refuses_bad_ones():
    column = ItemColumn.fit(pa.array(HISTORIES, pa.list_(pa.string())), name="history", weighting="tfidf")
    again = ItemColumn.from_json(json.loads(json.dumps(column.to_json())))
    assert again.items == column.items and again.weighting == "tfidf"
    np.testing.assert_array_equal(again.idf, column.idf)
    with pytest.raises(DataError, match="repeated items or an idf that does not match"):
        ItemColumn.from_json({**column.to_json(), "idf": [1.0]})
    with pytest.raises(DataError, match="has type double; expected a list of item names"):
        ItemColumn.fit(pa.array([1.5, 2.0]), name="x")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A training and a test table whose labels follow the items of a history column (plus one numeric column);
    the test histories hold items never seen in training."""
    rng = np.random.default_rng(0)
    items = [f"sku{index}" for index in range(30)]

    def table(rows: int, prefix: str, unseen: bool) -> pa.Table:
        histories, labels = [], []
        for row in range(rows):
            history = [str(item) for item in rng.choice(items, size=int(rng.integers(1, 5)), replace=False)]
            labels.append(sorted({f"topic{int(item[3:]) % 4}" for item in history}))
            histories.append(history + (["sku_new"] if unseen and row % 3 == 0 else []))
        return pa.table({"user_id": [f"{prefix}{row}" for row in range(rows)], "age": rng.normal(40, 10, rows),
                         "history": pa.array(histories, pa.list_(pa.string())), "labels": labels})

    folder = tmp_path_factory.mktemp("items")
    pq.write_table(table(500, "u", unseen=False), folder / "train.parquet")
    pq.write_table(table(90, "t", unseen=True), folder / "test.parquet")
    return folder


def test_a_list_column_becomes_sparse_features(files):
    data = read_dataset(files / "train.parquet", id_column="user_id")
    assert sp.isspmatrix_csr(data.X) and sp.isspmatrix_csr(data.Y)
    assert data.feature_names[0] == "age" and data.feature_names[1:] == data.item_columns[0].feature_names
    assert [column.name for column in data.item_columns] == ["history"]
    histories = pq.read_table(files / "train.parquet").column("history").to_pylist()
    reference = (_reference_counts(histories, list(data.item_columns[0].items)) > 0).toarray()
    np.testing.assert_array_equal(data.X[:, 1:].toarray(), reference)
    test = read_dataset(files / "test.parquet", id_column="user_id", vocabularies=data.item_columns)
    assert test.feature_names == data.feature_names
    assert test.item_counts["history"].unseen == 30  # every third of 90 rows has one unseen item


def test_cli_model_scores_histories_as_the_estimator_does(files, tmp_path, capsys):
    model = tmp_path / "model"
    assert main(["train", "--data", str(files / "train.parquet"), "--output", str(model), "--id-column", "user_id",
                 "--quiet", "--epochs", "5", "--item-weighting", "tfidf"]) == 0
    saved = json.loads((model / "item_columns.json").read_text())
    assert [entry["name"] for entry in saved] == ["history"] and saved[0]["weighting"] == "tfidf"
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--input", str(files / "test.parquet"), "--output",
                 str(tmp_path / "recs.parquet"), "--top-k", "3"]) == 0
    assert "history: 30 of " in capsys.readouterr().out
    assert main(["score", "--model", str(model), "--input", str(files / "test.parquet"), "--output",
                 str(tmp_path / "job"), "--top-k", "3", "--quiet"]) == 0
    assert "not in the training vocabulary, ignored" in capsys.readouterr().out
    assert main(["evaluate", "--model", str(model), "--data", str(files / "test.parquet")]) == 0
    assert "history: 30 of " in capsys.readouterr().out
    # The same rows through the estimator, read with the model's vocabulary: the same scores and ranking.
    classifier = LabelGCNClassifier.from_directory(model)
    train = read_dataset(files / "train.parquet", id_column="user_id", item_weighting="tfidf")
    test = read_dataset(files / "test.parquet", id_column="user_id", vocabularies=train.item_columns)
    probabilities = classifier.predict_proba(test.X)
    recommendations = pq.read_table(tmp_path / "recs.parquet")
    assert recommendations.column("user_id").to_pylist() == list(test.ids)
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :3]
    assert recommendations.column("labels").to_pylist() == [list(classifier.classes_[row]) for row in best]
    np.testing.assert_allclose(recommendations.column("scores").to_pylist(),
                               np.take_along_axis(probabilities, best, axis=1), rtol=1e-4)
    job = pq.read_table(next((tmp_path / "job").glob("*.parquet")))
    assert job.column("labels").to_pylist() == recommendations.column("labels").to_pylist()
    # The Ray/Spark unit: a batch as a dict of columns, histories included.
    scorer = Scorer(model, top_k=3)
    batch = pq.read_table(files / "test.parquet").to_pydict()
    assert scorer(batch).column("labels").to_pylist() == recommendations.column("labels").to_pylist()
    assert scorer.item_counts["history"].unseen == 30
    histories = np.empty(len(batch["history"]), dtype=object)  # as Ray Data hands a list column over
    histories[:] = [np.asarray(history) for history in batch["history"]]
    ray_batch = {**{name: np.asarray(batch[name]) for name in ("user_id", "age")},
                 "history": histories}
    assert scorer(ray_batch).column("labels").to_pylist() == recommendations.column("labels").to_pylist()


def test_csv_item_columns_are_read_as_text(tmp_path, capsys):
    """A CSV item column of single numeric items is not type-guessed: ``007`` stays the item ``007``."""
    rows = ["user_id,history,labels"] + [f"u{row},{'007|8' if row % 2 else '9'},{'a' if row % 2 else 'b'}"
                                         for row in range(40)]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "test.csv").write_text("user_id,history\nt0,007\nt1,8\nt2,9\n")
    model = tmp_path / "model"
    assert main(["train", "--data", str(tmp_path / "train.csv"), "--output", str(model), "--id-column", "user_id",
                 "--item-columns", "history", "--quiet", "--max-epochs", "2"]) == 0
    assert json.loads((model / "item_columns.json").read_text())[0]["items"] == ["007", "8", "9"]
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--input", str(tmp_path / "test.csv"), "--output",
                 str(tmp_path / "recs.csv")]) == 0
    assert "history: 0 of 3 item occurrences" in capsys.readouterr().out
    assert main(["score", "--model", str(model), "--input", str(tmp_path / "test.csv"), "--output",
                 str(tmp_path / "job"), "--quiet"]) == 0
    assert "history: 0 of 3 item occurrences" in capsys.readouterr().out


def test_equal_length_histories_as_ray_stacks_them(files, tmp_path):
    """Ray Data hands lists of one length over as a 2-D array; Arrow's fixed-size lists read like lists too."""
    model = tmp_path / "model"
    assert main(["train", "--data", str(files / "train.parquet"), "--output", str(model), "--id-column", "user_id",
                 "--quiet", "--max-epochs", "2"]) == 0
    scorer = Scorer(model, top_k=3)
    histories = [["sku1", "sku2"], ["sku3", "sku_new"], ["sku4", "sku4"]]
    expected = scorer({"user_id": ["a", "b", "c"], "age": [30.0, 40.0, 50.0], "history": histories})
    stacked = scorer({"user_id": np.asarray(["a", "b", "c"]), "age": np.asarray([30.0, 40.0, 50.0]),
                      "history": np.asarray(histories)})
    fixed = scorer(pa.table({"user_id": ["a", "b", "c"], "age": [30.0, 40.0, 50.0],
                             "history": pa.array(histories, pa.list_(pa.string(), 2))}))
    assert stacked.column("labels").to_pylist() == expected.column("labels").to_pylist()
    assert fixed.column("labels").to_pylist() == expected.column("labels").to_pylist()
    assert scorer.item_counts["history"].unseen == 3  # "sku_new" once in each of the three batches
