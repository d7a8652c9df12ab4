"""Scoring and table options chosen once, one reader of label lists, known labels as part of a model's contract,
no silent no-ops (unknown list names counted, lists of another id space refused), overflowing features rejected."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
import torch

from gnn_mlc import DataError, GnnMlcError, LabelGCNClassifier, Scorer, ScoringOptions, TableOptions, read_dataset
from gnn_mlc.cli import main
from gnn_mlc.data import read_label_lists
from gnn_mlc.data.label_lists import label_positions
from gnn_mlc.model_directory import load_model_parts
from gnn_mlc.serving import predict_file
from gnn_mlc.serving.scorer import OVERFLOW, _finite_rows

NAMES = ["a", "b", "c", "d", "e", "f"]
TRAIN = ["train", "--quiet", "--max-epochs", "2", "--hidden-channels", "8", "--embedding-dim", "4",
         "--label-delimiter", ";"]


def _table(rows: int, seed: int) -> pa.Table:
    """Rows of 3 features, ';'-joined labels and a ';'-joined history with spaces around the names."""
    rng = np.random.default_rng(seed)
    labels = [";".join(rng.choice(NAMES, 2, replace=False)) for _ in range(rows)]
    history = [" ; ".join(f" {name}" for name in rng.choice(NAMES, 2, replace=False)) for _ in range(rows)]
    return pa.table({"id": [f"u{i}" for i in range(rows)],
                     **{f"f{j}": rng.normal(size=rows) for j in range(3)},
                     "labels": labels, "history": history})


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A model trained with known labels and one without, both from a ';'-delimited CSV."""
    work = tmp_path_factory.mktemp("options")
    pa_csv.write_csv(_table(240, 0), work / "train.csv")
    pa_csv.write_csv(_table(40, 1), work / "test.csv")
    assert main([*TRAIN, "--data", str(work / "train.csv"), "--output", str(work / "known"),
                 "--known-column", "history"]) == 0
    assert main([*TRAIN, "--data", str(work / "train.csv"), "--output", str(work / "plain"),
                 "--exclude-columns", "history"]) == 0
    return {"known": work / "known", "plain": work / "plain", "test": work / "test.csv", "work": work}


def _cli_error(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_scoring_options_are_checked_once_and_keywords_build_them():
    for keywords, message in (({"top_k": 0}, r"top_k: got 0; expected a positive integer"),
                              ({"min_score": 2.0}, r"min_score: got 2\.0; expected a probability in \[0, 1\]"),
                              ({"output_id_column": "scores"}, r"output_id_column: got 'scores'; expected a name other"),
                              ({"label_delimiter": ""}, r"label_delimiter: got ''; expected a non-empty string"),
                              ({"known_column": "h", "without_history": True}, r"without_history: given with "
                                                                               r"known_column 'h'; expected one"),
                              ({"keep_known": True}, r"keep_known: given without known_column"),
                              ({"device": "tpu"}, r"device: got 'tpu'; expected one of auto, cpu, cuda")):
        with pytest.raises(GnnMlcError, match=message):
            ScoringOptions(**keywords)
    assert ScoringOptions(top_k=3).job_record()["top_k"] == 3 and "device" not in ScoringOptions().job_record()


def test_a_scorer_takes_options_or_keywords_not_both(models):
    test = pa_csv.read_csv(models["test"])
    by_keywords = Scorer(models["plain"], top_k=2, device="cpu")(test)
    assert Scorer(models["plain"], ScoringOptions(top_k=2, device="cpu"))(test).equals(by_keywords)
    with pytest.raises(GnnMlcError, match=r"Scorer: got options= and top_k=; expected one of them"):
        Scorer(models["plain"], ScoringOptions(), top_k=2)


def test_table_options_are_checked_once():
    with pytest.raises(GnnMlcError, match=r"label_delimiter: got ''; expected a non-empty string"):
        TableOptions(label_delimiter="")
    with pytest.raises(GnnMlcError, match=r"known_column: names 'labels', already the label_column"):
        TableOptions(known_column="labels")
    with pytest.raises(GnnMlcError, match=r"item_weighting: got 'bm25'"):
        TableOptions(item_weighting="bm25")
    assert TableOptions(exclude_columns=["x"]).exclude_columns == ("x",)
    with pytest.raises(GnnMlcError, match=r"read_dataset: got options= and label_column=; expected one of them"):
        read_dataset("x.csv", options=TableOptions(), label_column="tags")


def test_one_reader_of_label_lists_strips_names_and_drops_blanks():
    strings = pa.array([" a | b ", None, "", "c||  ", "d"])
    assert read_label_lists(strings, "|", source="s", column_name="k").to_pylist() == [
        ["a", "b"], [], [], ["c"], ["d"]]
    lists = pa.array([[" a", None, ""], None, [], ["b "]], pa.list_(pa.string()))
    assert read_label_lists(lists, "|", source="s", column_name="k").to_pylist() == [["a"], [], [], ["b"]]
    assert read_label_lists(pa.array([[1, 2]]), "|", source="s", column_name="k").to_pylist() == [["1", "2"]]
    assert read_label_lists(pa.array(["a;b"]), ";", source="s", column_name="k").to_pylist() == [["a", "b"]]
    with pytest.raises(DataError, match=r"s: column 'k' has type double; expected a list of label names "
                                        r"\(list<string>, or a ';'-delimited string\)"):
        read_label_lists(pa.array([1.0]), ";", source="s", column_name="k")


def test_label_positions_are_the_reader_s_names_looked_up_in_the_labels():
    labels = pa.array(["a", "b", "c", "1"])
    for column, delimiter in ((pa.array([" a | x ", None, "", "c||  ", "b|a", " "]), "|"),
                              (pa.array([[" a", None, "", "x"], None, [], ["b "], ["zz", "c"]], pa.list_(pa.string())),
                               "|"),
                              (pa.array([[1, 2]]), "|"), (pa.array([[None, None]], pa.list_(pa.string())), "|"),
                              (pa.array([], pa.string()), "|")):
        read = read_label_lists(column, delimiter, source="s", column_name="k")
        reference = [(row, labels.to_pylist().index(name) if name in labels.to_pylist() else -1)
                     for row, names in enumerate(read.to_pylist()) for name in names]
        found = label_positions(column, delimiter, labels, source="s", column_name="k")
        assert list(zip(found.rows.tolist(), found.positions.tolist())) == reference
        assert found.first_name == (next((name for names in read.to_pylist() for name in names), None))
    with pytest.raises(DataError, match=r"s: column 'k' has type double"):
        label_positions(pa.array([1.0]), ";", labels, source="s", column_name="k")
    padded = pa.array(["a", " b", "c "])  # labels with surrounding whitespace: every name is stripped first
    found = label_positions(pa.array([[" b", "c ", " a", "b"]], pa.list_(pa.string())), "|", padded, source="s",
                            column_name="k")
    assert found.positions.tolist() == [-1, -1, 0, -1]


def test_the_model_remembers_its_delimiter_and_scoring_splits_on_it(models, tmp_path):
    assert load_model_parts(models["known"]).data_columns["label_delimiter"] == ";"
    summary = predict_file(models["known"], models["test"], tmp_path / "recs.parquet", known_column="history",
                           top_k=6, device="cpu")
    assert summary.items == ""  # " a" matched the label "a": no name unknown
    recommended = pq.read_table(tmp_path / "recs.parquet").column("labels").to_pylist()
    history = [[name.strip() for name in text.split(";")] for text in pa_csv.read_csv(models["test"])
               .column("history").to_pylist()]
    assert all(len(rec) == 4 and not set(rec) & set(owned) for rec, owned in zip(recommended, history))


def test_a_model_trained_with_known_labels_needs_them_or_without_history(models, tmp_path, capsys):
    with pytest.raises(GnnMlcError, match=r"known\: the model was trained with known labels \(a user's history\) "
                                          r"and none are given; expected known_column=.*without_history=True"):
        Scorer(models["known"])
    scored, _ = Scorer(models["known"], without_history=True, device="cpu").score_table(
        pa_csv.read_csv(models["test"]))
    assert scored.num_rows == 40
    for command, output in (("predict", "o.parquet"), ("score", "recs")):
        line = _cli_error([command, "--model", str(models["known"]), "--input", str(models["test"]), "--output",
                           str(tmp_path / output)], capsys)
        assert "trained with known labels (a user's history) and none are given" in line
        assert not (tmp_path / output).exists()
    line = _cli_error(["evaluate", "--model", str(models["known"]), "--data", str(models["test"])], capsys)
    assert "none are given; expected --known-column. Hint: add --without-history" in line
    assert main(["evaluate", "--model", str(models["known"]), "--data", str(models["test"]),
                 "--without-history"]) == 0
    assert main(["evaluate", "--model", str(models["known"]), "--data", str(models["test"]),
                 "--known-column", "history"]) == 0


def test_a_known_column_for_a_model_without_known_labels_is_refused(models, tmp_path, capsys):
    with pytest.raises(GnnMlcError, match=r"plain: known_column 'history' given, but the model was not trained with "
                                          r"known labels.*Hint: pass the column as exclude_column="):
        Scorer(models["plain"], known_column="history")
    line = _cli_error(["predict", "--model", str(models["plain"]), "--input", str(models["test"]), "--output",
                       str(tmp_path / "o.parquet"), "--known-column", "history"], capsys)
    assert "but the model was not trained with known labels" in line
    line = _cli_error(["evaluate", "--model", str(models["plain"]), "--data", str(models["test"]),
                       "--known-column", "history"], capsys)
    assert "--known-column 'history' given, but no model here was trained with known labels" in line
    # only excluding is what --exclude-column does
    assert main(["predict", "--model", str(models["plain"]), "--input", str(models["test"]), "--output",
                 str(tmp_path / "o.parquet"), "--exclude-column", "history"]) == 0


def test_unknown_list_names_are_counted_and_a_list_of_no_model_label_is_refused(models, tmp_path, capsys):
    test = pa_csv.read_csv(models["test"]).slice(0, 3)
    table = test.append_column("owned", pa.array([["a", "zz"], ["yy"], []], pa.list_(pa.string())))
    scorer = Scorer(models["plain"], exclude_column="owned", device="cpu")
    scorer(table)
    assert scorer.list_counts["owned"].names == 3 and scorer.list_counts["owned"].unknown == 2
    assert scorer.list_report() == ("warning: column 'owned': 2 of 3 label names (66.67%) are not labels of the "
                                    "model, ignored")
    pq.write_table(table, tmp_path / "owned.parquet")
    assert main(["predict", "--model", str(models["plain"]), "--input", str(tmp_path / "owned.parquet"),
                 "--output", str(tmp_path / "o.parquet"), "--exclude-column", "owned"]) == 0
    assert "warning: column 'owned': 2 of 3 label names" in capsys.readouterr().out
    other = test.append_column("owned", pa.array([["sku1", "sku2"], [], ["sku3"]], pa.list_(pa.string())))
    with pytest.raises(DataError, match=r"input: column 'owned' \(--exclude-column\): none of its 3 label names is a "
                                        r"label of the model \(first 'sku1'\)"):
        Scorer(models["plain"], exclude_column="owned", device="cpu")(other)
    pq.write_table(other, tmp_path / "other.parquet")
    line = _cli_error(["score", "--model", str(models["plain"]), "--input", str(tmp_path / "other.parquet"),
                       "--output", str(tmp_path / "recs"), "--exclude-column", "owned", "--quiet"], capsys)
    assert "none of its 3 label names is a label of the model" in line
    assert not list((tmp_path / "recs").glob("part-*"))
    history = pa_csv.read_csv(models["test"])
    history = history.set_column(history.column_names.index("history"), "history",
                                 pa.array(["x1;x2"] * history.num_rows))
    pa_csv.write_csv(history, tmp_path / "foreign.csv")
    line = _cli_error(["evaluate", "--model", str(models["known"]), "--data", str(tmp_path / "foreign.csv"),
                       "--known-column", "history"], capsys)
    assert "column 'history' (--known-column): none of its 80 label names is a label of" in line


def test_finite_rows_match_checking_every_value():
    logits = torch.tensor([[1.0, 2.0], [3e38, 3e38], [float("nan"), 1.0], [float("inf"), float("-inf")],
                           [-float("inf"), 0.0], [-3e38, -3e38]])  # finite rows whose sums overflow: rows 1 and 5
    torch.testing.assert_close(_finite_rows(logits), torch.isfinite(logits).all(dim=1))
    assert _finite_rows(logits).tolist() == [True, True, False, False, False, True]


def test_features_that_overflow_the_model_are_rejected_never_scored_nan(demo_train, demo_score, tmp_path):
    data = read_dataset(demo_train)
    LabelGCNClassifier(max_epochs=1, hidden_channels=16, embedding_dim=8, random_state=0).fit(
        data.X[:500], data.Y[:500], label_names=data.label_names, feature_names=data.feature_names).to_directory(
        tmp_path / "m")
    table = pq.read_table(demo_score).slice(0, 4)
    for name in data.feature_names:  # 32 finite features of 3e38 overflow the encoder's first layer
        table = table.set_column(table.column_names.index(name), name, pa.array([3e38, 1.0, 1e39, -3e38]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "overflow encountered in cast" on the way
        result = Scorer(tmp_path / "m", device="cpu")(table)
    first = data.feature_names[0]
    assert result.column("reason").to_pylist() == [OVERFLOW, None, f"{first}: beyond the float32 range", OVERFLOW]
    assert result.column("labels").to_pylist()[0] == [] and all(
        np.isfinite(score) for score in result.column("scores").to_pylist()[1])
    pq.write_table(table, tmp_path / "huge.parquet")
    summary = predict_file(tmp_path / "m", tmp_path / "huge.parquet", tmp_path / "recs.csv", device="cpu")
    assert (summary.rows_scored, summary.rows_rejected) == (1, 3)
    assert pa_csv.read_csv(tmp_path / "recs.rejects.csv").column("reason").to_pylist() == [
        OVERFLOW, f"{first}: beyond the float32 range", OVERFLOW]
