"""The batch scoring job: equals the model's own scores, streams, rejects bad rows, survives SIGKILL, shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from gnn_mlc import DataError, GnnMlcError, LabelGCNClassifier, load_model, read_dataset
from gnn_mlc.data import feature_matrix
from gnn_mlc.serving.batch import run_scoring_job
from gnn_mlc.serving.scorer import Scorer

FAST = {"max_epochs": 2, "hidden_channels": 32, "embedding_dim": 16, "batch_size": 128}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from tests.conftest import DEMO

    data = read_dataset(DEMO / "shop_train.parquet")
    path = tmp_path_factory.mktemp("score") / "model"
    LabelGCNClassifier(random_state=0, **FAST).fit(
        data.X, data.Y, label_names=data.label_names, feature_names=data.feature_names).to_directory(path)
    return path


def read_output(directory: Path) -> pa.Table:
    return pq.read_table(sorted(directory.glob("part-*.parquet")))


def test_scorer_equals_the_model_top_k(model_dir, demo_score):
    table = pq.read_table(demo_score)
    model = load_model(model_dir)
    scores = model.predict_proba(feature_matrix(table, list(model.feature_names_in_), source="test"))
    best = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    scorer = Scorer(model_dir, top_k=5, with_labels=True)
    scored, rejected = scorer.score_table(table)
    assert rejected.num_rows == 0 and scored.num_rows == table.num_rows
    assert scored.column("id").to_pylist() == table.column("id").to_pylist()
    labels = scored.column("labels").to_pylist()
    assert labels == [[model.classes_[j] for j in row] for row in best]
    np.testing.assert_allclose(np.array(scored.column("scores").to_pylist()),
                               np.take_along_axis(scores, best, axis=1), rtol=1e-5, atol=1e-6)
    decisions = model.predict(feature_matrix(table, list(model.feature_names_in_), source="test"))
    assert scored.column("predicted").to_pylist() == [list(model.classes_[np.flatnonzero(row)]) for row in decisions]
    # The callable form (as Ray Data calls it) gives the same rows from a dict of columns, with a null reason.
    called = scorer({name: table.column(name).to_numpy() for name in table.column_names})
    assert called.column("labels").to_pylist() == labels
    assert called.column("reason").null_count == called.num_rows


def test_job_streams_every_row_once(model_dir, demo_score, tmp_path):
    out = tmp_path / "recs"
    summary = run_scoring_job(model_dir, demo_score, out, top_k=3, batch_size=128, rows_per_shard=500,
                              progress=False)
    assert summary.rows_scored == 2000 and summary.rows_rejected == 0 and summary.shards_written == 4
    result = read_output(out)
    assert result.column("id").to_pylist() == pq.read_table(demo_score).column("id").to_pylist()
    assert result.schema.field("labels").type == pa.list_(pa.string())
    assert result.schema.field("scores").type == pa.list_(pa.float32())
    one_shot = Scorer(model_dir, top_k=3).score_table(pq.read_table(demo_score))[0]
    assert result.column("labels").to_pylist() == one_shot.column("labels").to_pylist()
    again = run_scoring_job(model_dir, demo_score, out, top_k=3, batch_size=128, rows_per_shard=500, progress=False)
    assert again.already_complete and "nothing to do" in again.line()
    with pytest.raises(GnnMlcError, match=r"holds the output of another job \(different top_k\)"):
        run_scoring_job(model_dir, demo_score, out, top_k=4, rows_per_shard=500, progress=False)
    redone = run_scoring_job(model_dir, demo_score, out, top_k=4, rows_per_shard=500, overwrite=True,
                             progress=False)
    assert redone.rows_scored == 2000 and read_output(out).num_rows == 2000


def test_directory_glob_csv_and_worker_shards(model_dir, demo_score, tmp_path):
    table = pq.read_table(demo_score)
    inputs = tmp_path / "in"
    inputs.mkdir()
    pq.write_table(table.slice(0, 700), inputs / "a.parquet")
    pq.write_table(table.slice(700, 600), inputs / "b.parquet")
    pa_csv.write_csv(table.slice(1300), inputs / "c.csv")
    single = tmp_path / "single"
    run_scoring_job(model_dir, inputs, single, top_k=2, progress=False)
    shared = tmp_path / "shared"
    for worker in range(2):
        run_scoring_job(model_dir, str(inputs / "*"), shared, top_k=2, shard_index=worker, num_shards=2,
                        progress=False)
    assert sorted(read_output(single).column("id").to_pylist()) == sorted(table.column("id").to_pylist())
    assert read_output(shared).sort_by("id").equals(read_output(single).sort_by("id"))
    assert {path.name for path in (shared / "_jobs").glob("*.done.json")} == {"worker-00000.done.json",
                                                                           "worker-00001.done.json"}
    assert json.loads((shared / "_SUCCESS").read_text()) == {"workers": 2, "rows_scored": 2000, "rows_rejected": 0}


def test_bad_rows_go_to_rejects(model_dir, demo_score, tmp_path):
    table = pq.read_table(demo_score).slice(0, 10)
    age = table.column("age").to_pylist()
    age[2], age[5] = None, float("nan")
    basket = table.column("avg_basket").to_pylist()
    basket[7] = float("inf")
    table = table.set_column(table.column_names.index("age"), "age", pa.array(age, pa.float32()))
    table = table.set_column(table.column_names.index("avg_basket"), "avg_basket", pa.array(basket, pa.float32()))
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)
    summary = run_scoring_job(model_dir, path, tmp_path / "out", progress=False)
    assert summary.rows_scored == 7 and summary.rows_rejected == 3
    rejects = pq.read_table(tmp_path / "out" / "_rejects" / "part-00000-00000.parquet").to_pylist()
    ids = table.column("id").to_pylist()
    assert rejects == [{"id": ids[2], "reason": "age: missing or NaN"}, {"id": ids[5], "reason": "age: missing or NaN"},
                       {"id": ids[7], "reason": "avg_basket: infinite"}]
    assert read_output(tmp_path / "out").column("id").to_pylist() == [ids[i] for i in (0, 1, 3, 4, 6, 8, 9)]
    # Called as an engine would call it: every input row comes back, in order, the bad ones with their reason.
    called = Scorer(model_dir)(table)  # top_k 10, as the job above
    assert called.column("id").to_pylist() == ids
    assert called.column("reason").to_pylist() == [None, None, "age: missing or NaN", None, None,
                                                   "age: missing or NaN", None, "avg_basket: infinite", None, None]
    assert [len(row) for row in called.column("labels").to_pylist()] == [10, 10, 0, 10, 10, 0, 10, 0, 10, 10]
    assert called.filter(pa.compute.is_null(called.column("reason"))).drop(["reason"]).equals(
        read_output(tmp_path / "out").select(["id", "labels", "scores"]).cast(
            called.drop(["reason"]).schema))


def test_a_batch_read_in_slices_scores_as_one(model_dir, demo_score, monkeypatch):
    import gnn_mlc.serving.scorer as scorer_module

    table = pq.read_table(demo_score).slice(0, 40)
    age = table.column("age").to_pylist()
    age[6], age[33] = None, float("nan")  # bad rows in two slices
    table = table.set_column(table.column_names.index("age"), "age", pa.array(age, pa.float32()))
    whole = Scorer(model_dir, top_k=3, with_labels=True).score_table(table)
    called = Scorer(model_dir, top_k=3)(table)
    scorer = Scorer(model_dir, top_k=3, with_labels=True)
    monkeypatch.setattr(scorer_module, "MAX_FEATURE_VALUES", 7 * scorer.dense_width)  # slices of 7 rows
    slices, checks, score_slice, check = [], [], scorer._score_slice, scorer.check_columns
    monkeypatch.setattr(scorer, "_score_slice", lambda part, **options: slices.append(1) or score_slice(part, **options))
    monkeypatch.setattr(scorer, "check_columns", lambda names, **options: checks.append(1) or check(names, **options))
    sliced = scorer.score_table(table)
    assert len(slices) == 6  # each slice read on its own
    assert len(checks) == 1  # the columns checked once for the batch
    for name in ("id", "labels", "predicted"):
        assert sliced[0].column(name).to_pylist() == whole[0].column(name).to_pylist()
    # a slice's matrix products may round in another order than the whole batch's: scores to float32's precision
    np.testing.assert_allclose(np.array(sliced[0].column("scores").to_pylist()),
                               np.array(whole[0].column("scores").to_pylist()), rtol=1e-6)
    assert sliced[1].equals(whole[1])
    assert sliced[1].column("reason").to_pylist() == ["age: missing or NaN"] * 2
    again = Scorer(model_dir, top_k=3)(table)
    assert again.column("labels").to_pylist() == called.column("labels").to_pylist()
    assert again.column("reason").to_pylist() == called.column("reason").to_pylist()
    no_ids = table.drop(["id"])  # row numbers count across the slices
    assert scorer.score_table(no_ids, row_offset=100)[0].column("row").to_pylist() == [
        100 + row for row in range(40) if row not in (6, 33)]


def test_features_of_every_arrow_type_read_as_their_values_and_a_row_gets_its_first_bad_column(model_dir, demo_score):
    table = pq.read_table(demo_score).slice(0, 6)
    scorer = Scorer(model_dir, top_k=2)
    first, second = scorer.numeric_columns[0], scorer.numeric_columns[1]
    reference = scorer.score_table(table)[0]
    as_types = table  # the same values as float64, and the first column as integers when they are whole
    for name in scorer.numeric_columns:
        as_types = as_types.set_column(as_types.column_names.index(name), name, table.column(name).cast(pa.float64()))
    np.testing.assert_allclose(np.array(scorer.score_table(as_types)[0].column("scores").to_pylist()),
                               np.array(reference.column("scores").to_pylist()), rtol=1e-6)
    whole = table.set_column(table.column_names.index(first), first, pa.array(np.arange(6), pa.int64()))
    integers = whole.set_column(table.column_names.index(first), first, pa.array([0, 1, 2, 3, None, 5], pa.int64()))
    values = integers.column(second).to_pylist()
    values[1], values[4] = float("inf"), float("nan")
    integers = integers.set_column(table.column_names.index(second), second, pa.array(values, pa.float32()))
    scored, rejected = scorer.score_table(integers)
    assert rejected.column("reason").to_pylist() == [f"{second}: infinite", f"{first}: missing or NaN"]
    kept = scorer.score_table(whole.take(pa.array([0, 2, 3, 5])))[0]  # the same rows with nothing bad
    assert scored.column("labels").to_pylist() == kept.column("labels").to_pylist()


def test_missing_columns_fail_clearly_and_leave_no_shard(model_dir, demo_score, tmp_path):
    table = pq.read_table(demo_score).drop(["age", "misc_0"]).append_column("agee", pa.array([1.0] * 2000))
    path = tmp_path / "narrow.parquet"
    pq.write_table(table, path)
    with pytest.raises(DataError, match=r"2 of the model's 32 feature columns are missing, first 'age'; columns the "
                                        r"model does not know: \['agee'\]"):
        run_scoring_job(model_dir, path, tmp_path / "out", progress=False)
    assert not list((tmp_path / "out").glob("*.parquet")) and not list((tmp_path / "out").glob(".*"))
    with pytest.raises(DataError, match=r"no input found"):
        run_scoring_job(model_dir, tmp_path / "nothing-*.parquet", tmp_path / "out2", progress=False)


def test_sigkill_then_rerun_gives_each_row_exactly_once(model_dir, demo_score, tmp_path):
    base = pq.read_table(demo_score)
    copies = []
    for copy in range(150):  # 300k rows, 30 shards of 10k
        copies.append(base.set_column(0, "id", pa.array([f"{copy}-{i}" for i in range(base.num_rows)])))
    big = tmp_path / "big.parquet"
    pq.write_table(pa.concat_tables(copies), big, row_group_size=20_000)
    out = tmp_path / "out"
    command = [str(Path(sys.executable).with_name("gnn-mlc")), "score", "--model", str(model_dir), "--input",
               str(big), "--output", str(out), "--top-k", "3", "--batch-size", "1000", "--rows-per-shard", "10000",
               "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list(out.glob("part-*.parquet"))) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list(out.glob("part-*.parquet")))
    assert 3 <= done_before < 30, "the job should have been killed mid-run"
    assert not (out / "_SUCCESS").exists()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"{30 - done_before} shards written, {done_before} already there" in finished.stdout
    ids = read_output(out).column("id").to_pylist()
    assert len(ids) == 300_000 and len(set(ids)) == 300_000
    assert not list(out.glob(".*.tmp"))
    assert json.loads((out / "_SUCCESS").read_text())["rows_scored"] == 300_000  # the whole job, not the last run
    assert pq.read_table(out).num_rows == 300_000  # a reader of the folder sees the recommendations only


def test_predict_and_score_give_the_same_rows(model_dir, demo_score, tmp_path):
    """One scoring path: the same ids, labels and scores (bit for bit), and the same rejects, from both commands."""
    from gnn_mlc.serving import predict_file

    table = pq.read_table(demo_score).slice(0, 300)
    age = table.column("age").to_pylist()
    age[4], age[40] = None, 1e300  # missing, and finite but beyond float32
    table = table.set_column(table.column_names.index("age"), "age", pa.array(age, pa.float64()))
    pq.write_table(table, tmp_path / "in.parquet")
    summary = predict_file(model_dir, tmp_path / "in.parquet", tmp_path / "recs.parquet", device="cpu")
    run_scoring_job(model_dir, tmp_path / "in.parquet", tmp_path / "job", device="cpu", progress=False)
    predicted, job = pq.read_table(tmp_path / "recs.parquet"), read_output(tmp_path / "job")
    assert summary.rows_scored == 298 and summary.rows_rejected == 2
    assert predicted.equals(job)
    assert pq.read_table(tmp_path / "recs.rejects.parquet").to_pylist() == [
        {"id": table.column("id")[4].as_py(), "reason": "age: missing or NaN"},
        {"id": table.column("id")[40].as_py(), "reason": "age: beyond the float32 range"}]
    assert pq.read_table(tmp_path / "recs.rejects.parquet").equals(
        pq.read_table(tmp_path / "job" / "_rejects" / "part-00000-00000.parquet"))
    assert predicted.schema.names == ["id", "labels", "scores"] and len(predicted.column("labels")[0]) == 10
