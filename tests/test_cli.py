"""The gnn-mlc command line end to end on the demo data, and its one-line errors (exit code 2, no output left)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from gnn_mlc import load_model, read_dataset
from gnn_mlc.cli import main
from gnn_mlc.data import feature_matrix

FAST = ["--epochs", "3", "--hidden-channels", "32", "--embedding-dim", "16", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.conftest import DEMO

    root = tmp_path_factory.mktemp("cli")
    train = root / "train.parquet"
    pq.write_table(pq.read_table(DEMO / "shop_train.parquet").slice(0, 800), train)
    assert main(["train", "--data", str(train), "--output", str(root / "gcn"), *FAST]) == 0
    assert main(["train", "--data", str(train), "--output", str(root / "mlp"), "--no-graph", *FAST]) == 0
    return root


def test_train_writes_a_loadable_model(trained):
    model = load_model(trained / "gcn")
    assert len(model.classes_) == 48 and model.use_graph
    assert not load_model(trained / "mlp").use_graph


def test_evaluate_compare_side_by_side(trained, demo_test, capsys):
    report = trained / "report"
    code = main(["evaluate", "--compare", str(trained / "gcn"), str(trained / "mlp"), "--data", str(demo_test),
                 "--output", str(report)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| metric | gcn | mlp |" in printed
    for metric in ("micro_f1", "macro_f1", "hamming_loss", "subset_accuracy", "map", "p@1", "p@3", "p@5",
                   "tail_map"):
        assert f"| {metric} |" in printed
    results = json.loads((report / "metrics.json").read_text())
    # The CLI figures equal the library's on the same data.
    from gnn_mlc.evaluation.metrics import evaluate

    model, data = load_model(trained / "gcn"), read_dataset(demo_test)
    data = data.without_labels(sorted(set(data.label_names) - set(model.classes_)))  # the new interests: left out
    data = data.align(list(model.classes_), list(model.feature_names_in_))
    expected = evaluate(data.Y, model.predict_proba(data.X), y_pred=model.predict(data.X),
                        train_counts=model.label_counts_)
    by_source = results["gcn"].pop("by_source")  # the labels by the source of their vectors
    assert results["gcn"] == pytest.approx(expected)
    assert by_source[0]["source"] == "trained" and by_source[0]["labels"] == len(model.classes_)
    assert "| map |" in (report / "metrics.md").read_text()
    per_label = pa_csv.read_csv(report / "per_label_gcn.csv")
    assert per_label.column_names == ["label", "train_count", "threshold", "support", "tp", "fp", "fn", "tn",
                                      "precision", "recall", "f1", "average_precision"]
    assert per_label.column("label").to_pylist() == list(model.classes_)
    assert per_label.column("support").to_pylist() == data.Y.sum(axis=0).tolist()
    assert np.nanmean(per_label.column("average_precision").to_numpy()) == pytest.approx(results["gcn"]["map"])


def test_evaluate_single_model_prints_only(trained, demo_test, capsys):
    assert main(["evaluate", "--model", str(trained / "mlp"), "--data", str(demo_test)]) == 0
    printed = capsys.readouterr().out
    assert "| metric | mlp |" in printed and "add --output DIR" in printed


def test_predict_writes_top_k(trained, demo_score, capsys):
    for suffix in ("parquet", "csv"):
        output = trained / f"recs.{suffix}"
        assert main(["predict", "--model", str(trained / "gcn"), "--input", str(demo_score), "--output", str(output),
                     "--top-k", "4"]) == 0
    table = pq.read_table(trained / "recs.parquet")
    assert table.column_names == ["id", "labels", "scores"]
    assert table.num_rows == 2000
    assert table.schema.field("labels").type == pa.list_(pa.string())
    assert table.schema.field("scores").type == pa.list_(pa.float32())
    # Reference: the model's own probabilities, sorted.
    model, data = load_model(trained / "gcn"), pq.read_table(demo_score)
    first = feature_matrix(data.slice(0, 1), list(model.feature_names_in_), source="test")
    scores = model.predict_proba(first)[0]
    best = np.argsort(-scores)[:4]
    row = table.slice(0, 1).to_pylist()[0]
    assert row["id"] == data.column("id")[0].as_py()
    assert row["labels"] == [model.classes_[i] for i in best]
    np.testing.assert_allclose(row["scores"], scores[best], rtol=1e-6)
    csv_lines = (trained / "recs.csv").read_text().splitlines()
    assert csv_lines[0] == '"id","labels","scores"' and len(csv_lines) == 2001


def test_predict_output_suffix_decides_the_format(trained, demo_score, capsys):
    """.json writes JSON lines (not Parquet under a .json name); an unknown suffix is one line, nothing written."""
    model = str(trained / "gcn")
    for name in ("same.parquet", "same.json"):
        assert main(["predict", "--model", model, "--input", str(demo_score), "--output", str(trained / name),
                     "--top-k", "3"]) == 0
    rows = [json.loads(line) for line in (trained / "same.json").read_text(encoding="utf-8").splitlines()]
    expected = pq.read_table(trained / "same.parquet").to_pylist()
    assert [(row["id"], row["labels"]) for row in rows] == [(row["id"], row["labels"]) for row in expected]
    np.testing.assert_array_equal([row["scores"] for row in rows], [row["scores"] for row in expected])
    capsys.readouterr()
    message = run_error(["predict", "--model", model, "--input", str(demo_score), "--output",
                         str(trained / "recs.txt")], capsys)
    assert message.startswith(f"error: {trained / 'recs.txt'}: unknown output format '.txt'; expected a file ending "
                              "in .parquet, .csv, .json, .jsonl (.json and .jsonl: JSON lines)")
    assert not (trained / "recs.txt").exists()


def test_train_summary_counts_epochs_as_run_and_every_label_by_source(tmp_path, demo_train, capsys):
    train = tmp_path / "train.parquet"
    pq.write_table(pq.read_table(demo_train).slice(0, 400), train)
    (tmp_path / "edges.csv").write_text("source,target\ncamping,tent repair\n")
    assert main(["train", "--data", str(train), "--output", str(tmp_path / "known"), "--known-split",
                 "--graph-edges", str(tmp_path / "edges.csv"), "--max-epochs", "2", "--patience", "100",
                 "--hidden-channels", "16", "--embedding-dim", "8", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"best epoch [12] of 2 by validation map", printed), printed
    sources = json.loads((tmp_path / "known" / "label_sources.json").read_text())["sources"]
    assert len(sources) == 49 and sources.count("edges") == 1  # 'tent repair': only the edges know it
    assert f"49 labels by the source of their vectors: trained {sources.count('trained')}, edges 1" in printed


def test_no_graph_help_says_what_the_flag_does(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--no-graph train the no-graph baseline instead: independent label heads, no label graph" in text


def test_graph_command(trained, demo_train, capsys):
    output = trained / "g.graphml"
    assert main(["graph", "--data", str(demo_train), "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "num_edges" in printed and "isolated_labels" in printed
    import networkx as nx

    assert nx.read_graphml(output).number_of_nodes() == 48


def run_error(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        sys.exit(main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_error_bad_flag_values(trained, demo_score, capsys):
    out = trained / "never.parquet"
    model = str(trained / "gcn")
    assert "--top-k: must be a positive integer; got '-3'" in run_error(
        ["predict", "--model", model, "--input", str(demo_score), "--output", str(out), "--top-k", "-3"], capsys)
    assert "invalid choice: 'tpu'" in run_error(["train", "--data", "x.csv", "--output", "o", "--device", "tpu"],
                                                capsys)
    assert "unrecognized arguments: --frobnicate" in run_error(["graph", "--data", "x", "--output", "y",
                                                                "--frobnicate"], capsys)
    assert "required: --data" in run_error(["evaluate", "--model", model], capsys)
    assert "not allowed with argument --model" in run_error(
        ["evaluate", "--model", model, "--compare", model, model, "--data", "x.csv"], capsys)
    assert "invalid choice: 'best'" in run_error(
        ["train", "--data", "x.csv", "--output", "o", "--threshold-strategy", "best"], capsys)
    assert not out.exists()


def test_error_bad_files(trained, tmp_path, capsys):
    broken = tmp_path / "broken.csv"
    broken.write_text("a,b\n1,2,3\n")
    out = tmp_path / "out.parquet"
    message = run_error(["predict", "--model", str(trained / "gcn"), "--input", str(broken), "--output", str(out)],
                        capsys)
    assert "broken.csv: cannot be read as CSV" in message
    message = run_error(["predict", "--model", str(tmp_path / "nope"), "--input", str(broken), "--output", str(out)],
                        capsys)
    assert "no such model directory" in message
    assert not out.exists()


def test_error_wrong_feature_columns(trained, demo_score, tmp_path, capsys):
    narrow = tmp_path / "narrow.parquet"
    pq.write_table(pq.read_table(demo_score).drop(["age"]), narrow)
    out = tmp_path / "out.parquet"
    message = run_error(["predict", "--model", str(trained / "gcn"), "--input", str(narrow), "--output", str(out)],
                        capsys)
    assert "1 of the model's 32 feature columns are missing, first 'age'" in message
    assert not out.exists()


def test_a_label_the_model_does_not_know_is_left_out_with_a_warning(trained, demo_test, tmp_path, caplog):
    import logging

    table = pq.read_table(demo_test)
    labels = table.column("labels").to_pylist()
    labels[5] = labels[5] + ["knitting"]
    extra = tmp_path / "extra.parquet"
    pq.write_table(table.set_column(table.column_names.index("labels"), "labels", pa.array(labels)), extra)
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", "--model", str(trained / "gcn"), "--data", str(extra), "--output",
                     str(tmp_path / "with"), "--baseline", "none"]) == 0
    assert "9 of its labels are not known to gcn" in caplog.text and "'knitting'" in caplog.text
    assert main(["evaluate", "--model", str(trained / "gcn"), "--data", str(demo_test), "--output",
                 str(tmp_path / "without"), "--baseline", "none"]) == 0
    assert json.loads((tmp_path / "with" / "metrics.json").read_text()) == json.loads(
        (tmp_path / "without" / "metrics.json").read_text())


def test_error_existing_output_and_cuda(trained, demo_train, capsys):
    message = run_error(["train", "--data", str(demo_train), "--output", str(trained / "gcn"), *FAST], capsys)
    assert "already exists" in message and "--overwrite" in message
    import torch

    if not torch.cuda.is_available():
        out = trained / "cuda_model"
        message = run_error(["train", "--data", str(demo_train), "--output", str(out), "--device", "cuda", *FAST],
                            capsys)
        assert "CUDA is not available" in message
        assert not out.exists()


def test_console_script_help_and_error_exit_code(tmp_path):
    script = Path(sys.executable).with_name("gnn-mlc")
    for command in ([], ["train"], ["evaluate"], ["predict"], ["graph"]):
        result = subprocess.run([str(script), *command, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "usage: gnn-mlc" in result.stdout
    result = subprocess.run([str(script), "graph", "--data", str(tmp_path / "x.arff"), "--output",
                             str(tmp_path / "g.graphml")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'x.arff'}: no such file; expected an ARFF file"


def test_inspect_prints_neighbours_and_writes_report(trained, capsys):
    assert main(["inspect", "--model", str(trained / "gcn"), "--label", "camping", "-k", "4"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("nearest labels to 'camping'")
    assert len([line for line in printed[3:] if line.strip()]) == 4
    report = trained / "inspection"
    assert main(["inspect", "--model", str(trained / "gcn"), "--baseline", str(trained / "mlp"),
                 "--output", str(report)]) == 0
    assert {"report.md", "embedding_map.png", "label_graph.png", "tensors.tsv", "metadata.tsv",
            "projector_config.pbtxt", "label_embeddings.npy", "label_graph.graphml",
            "label_graph.gexf"} <= {path.name for path in report.iterdir()}


def test_inspect_label_names_reach_the_report_and_the_projector(trained, tmp_path, capsys):
    pq.write_table(pa.table({"label": ["camping", "hiking"], "name": ["Camping & tents", "Hiking boots"]}),
                   tmp_path / "names.parquet")
    report = tmp_path / "named"
    assert main(["inspect", "--model", str(trained / "gcn"), "--output", str(report), "--label-names",
                 str(tmp_path / "names.parquet")]) == 0
    text = (report / "report.md").read_text()
    assert "| Camping & tents |" in text and "| camping |" not in text
    metadata = (report / "metadata.tsv").read_text().splitlines()
    assert any(line.startswith("camping\tCamping & tents\t") for line in metadata)


def test_inspect_errors(trained, capsys):
    message = run_error(["inspect", "--model", str(trained / "gcn"), "--label", "campng"], capsys)
    assert "label 'campng' is not known to the model (did you mean 'camping'?)" in message
    assert "nothing to do" in run_error(["inspect", "--model", str(trained / "gcn")], capsys)


def write_account_csv(path: Path, rows: int = 60) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 3))
    labels = ["|".join(name for name, on in (("p", x[0] > 0), ("q", x[1] > 0)) if on) for x in X]
    lines = ["account,x0,x1,x2,labels", *(f"{index:03d},{x[0]:.4f},{x[1]:.4f},{x[2]:.4f},{label}"
                                          for index, (x, label) in enumerate(zip(X, labels)))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_feature_selection_and_the_recorded_id_column(tmp_path, capsys):
    data = write_account_csv(tmp_path / "d.csv")
    tiny = ["--epochs", "1", "--hidden-channels", "8", "--embedding-dim", "4", "--quiet"]
    assert main(["train", "--data", str(data), "--output", str(tmp_path / "m"), "--id-column", "account",
                 "--exclude-columns", "x2", *tiny]) == 0
    assert list(load_model(tmp_path / "m").feature_names_in_) == ["x0", "x1"]
    assert main(["train", "--data", str(data), "--output", str(tmp_path / "m2"), "--id-column", "account",
                 "--feature-columns", "x1,x2", *tiny]) == 0
    assert list(load_model(tmp_path / "m2").feature_names_in_) == ["x1", "x2"]
    # Evaluation defaults to the model's training id column: 'account' is no (text) feature there either.
    assert main(["evaluate", "--model", str(tmp_path / "m"), "--data", str(data), "--exclude-columns", "x2"]) == 0
    assert "| metric | m |" in capsys.readouterr().out


def test_error_unknown_feature_or_exclude_column(tmp_path, capsys):
    data = write_account_csv(tmp_path / "d.csv", rows=4)
    out = tmp_path / "m"
    message = run_error(["train", "--data", str(data), "--output", str(out), "--id-column", "account",
                         "--exclude-columns", "x22"], capsys)
    assert "exclude_columns names 'x22', which is not a column (did you mean 'x2'?)" in message
    message = run_error(["graph", "--data", str(data), "--output", str(tmp_path / "g.graphml"),
                         "--feature-columns", "x0,,x1"], capsys)
    assert "argument --feature-columns: expected comma-separated column names; got 'x0,,x1'" in message
    assert not out.exists() and not (tmp_path / "g.graphml").exists()


@pytest.mark.parametrize("command", ["predict", "score"])
@pytest.mark.parametrize("name", ["labels", "scores", "predicted", "reason", ""])
def test_error_output_id_column_named_like_an_output_column(command, name, tmp_path, capsys):
    out = tmp_path / ("out.parquet" if command == "predict" else "out")
    message = run_error([command, "--model", "m", "--input", "x.parquet", "--output", str(out),
                         "--output-id-column", name], capsys)
    assert (f"argument --output-id-column: must not be empty or an output column's name (labels, scores, predicted, "
            f"reason); got {name!r}. Hint: see 'gnn-mlc {command} --help'") in message
    assert not out.exists()


def test_no_output_destroys_an_input_or_changes_a_model_directory(trained, demo_score, demo_test, tmp_path, capsys):
    users = tmp_path / "users.parquet"
    pq.write_table(pq.read_table(demo_score).slice(0, 20), users)
    before = users.read_bytes()
    gcn, mlp = str(trained / "gcn"), str(trained / "mlp")
    assert "is also an input of this command" in run_error(
        ["predict", "--model", gcn, "--input", str(users), "--output", str(users)], capsys)
    assert "users.rejects.parquet: is also an input of this command" in run_error(  # where its rejects would go
        ["predict", "--model", gcn, "--input", str(tmp_path / "users.rejects.parquet"), "--output", str(users)],
        capsys)
    assert users.read_bytes() == before
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(pq.read_table(demo_score).slice(0, 20), data / "train.parquet")
    assert f"{data}: holds the input {data / 'train.parquet'}; expected a model directory apart from the inputs" in \
        run_error(["train", "--data", str(data / "train.parquet"), "--output", str(data), "--overwrite", *FAST],
                  capsys)
    assert (data / "train.parquet").exists()
    assert f"{trained}: holds the input {gcn}" in run_error(
        ["add-labels", "--model", gcn, "--output", str(trained), "--overwrite", "--graph-edges", "edges.csv"], capsys)
    for argv in (["evaluate", "--model", gcn, "--data", str(demo_test), "--output", mlp],
                 ["inspect", "--model", gcn, "--output", mlp],
                 ["inspect", "--model", gcn, "--output", str(trained / "mlp" / "report")],
                 ["predict", "--model", gcn, "--input", str(users), "--output", str(trained / "mlp" / "o.csv")],
                 ["score", "--model", gcn, "--input", str(users), "--output", mlp]):
        assert f"{trained / 'mlp'}: is a model directory (it holds a model's manifest.json); expected the" in \
            run_error(argv, capsys)
    assert "is also an input of this command" in run_error(
        ["evaluate", "--model", gcn, "--data", str(demo_test), "--output", gcn], capsys)
    assert load_model(gcn) is not None and load_model(mlp) is not None  # both still verify against their manifests


def test_compared_models_of_one_folder_name_get_distinct_files_in_the_report(trained, demo_test, tmp_path, capsys):
    import shutil

    for parent in ("a", "b"):
        shutil.copytree(trained / "gcn", tmp_path / parent / "popularity")
    report = tmp_path / "report"
    assert main(["evaluate", "--compare", str(tmp_path / "a" / "popularity"), str(tmp_path / "b" / "popularity"),
                 "--data", str(demo_test), "--output", str(report)]) == 0
    assert "| metric | popularity-1 | popularity-2 | popularity |" in capsys.readouterr().out
    assert sorted(path.name for path in report.iterdir()) == [
        "metrics.json", "metrics.md", "per_label_popularity-1.csv", "per_label_popularity-2.csv",
        "per_label_popularity.csv"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a", "b", "report"]
