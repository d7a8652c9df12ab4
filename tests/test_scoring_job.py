"""The scoring job stays one job: fingerprints, locks, verified shards, and the output conventions of a nightly job."""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from gnn_mlc import DataError, GnnMlcError, LabelGCNClassifier, read_dataset
from gnn_mlc.serving import Scorer, predict_file, run_scoring_job

FAST = {"max_epochs": 2, "hidden_channels": 16, "embedding_dim": 8, "batch_size": 128}


def _train(path: Path, seed: int) -> Path:
    from tests.conftest import DEMO

    data = read_dataset(DEMO / "shop_train.parquet")
    LabelGCNClassifier(random_state=seed, **FAST).fit(
        data.X, data.Y, label_names=data.label_names, feature_names=data.feature_names).to_directory(
        path, overwrite=True)
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("job") / "model", seed=0)


@pytest.fixture
def users(demo_score, tmp_path):
    path = tmp_path / "in" / "users.parquet"
    path.parent.mkdir()
    pq.write_table(pq.read_table(demo_score).slice(0, 600), path)
    return path


def _score(model_dir, users, out, **options):
    return run_scoring_job(model_dir, users, out, rows_per_shard=200, batch_size=64, progress=False, **options)


def test_a_regenerated_input_or_a_retrained_model_is_refused(model_dir, users, tmp_path):
    out = tmp_path / "recs"
    _score(model_dir, users, out)
    (out / "_jobs" / "worker-00000.done.json").unlink()  # as if killed before the end
    table = pq.read_table(users)
    pq.write_table(table.set_column(1, table.column_names[1], pa.array(np.zeros(600))), users)  # regenerated
    with pytest.raises(GnnMlcError, match=r"its input changed since the job started \(.*users\.parquet\).*--overwrite"):
        _score(model_dir, users, out)
    assert _score(model_dir, users, out, overwrite=True).rows_scored == 600
    (out / "_jobs" / "worker-00000.done.json").unlink()
    other = _train(tmp_path / "model2", seed=1)
    os.replace(model_dir, tmp_path / "model-old")
    try:
        os.replace(other, model_dir)  # retrained into the same directory
        with pytest.raises(GnnMlcError, match=r"holds the output of another job \(different model \(retrained"):
            _score(model_dir, users, out)
    finally:
        os.replace(model_dir, other)
        os.replace(tmp_path / "model-old", model_dir)


def test_a_damaged_finished_shard_is_scored_again(model_dir, users, tmp_path):
    out = tmp_path / "recs"
    first = _score(model_dir, users, out)
    assert first.shards_written == 3
    part = out / "part-00000-00001.parquet"
    part.write_bytes(part.read_bytes()[:100])  # truncated after it was renamed
    (out / "_jobs" / "worker-00000.done.json").unlink()
    again = _score(model_dir, users, out)
    assert (again.shards_written, again.shards_skipped) == (1, 2)
    assert pq.read_table(out).column("id").to_pylist() == pq.read_table(users).column("id").to_pylist()
    metadata = pq.ParquetFile(part).schema_arrow.metadata
    from gnn_mlc.model_directory import manifest_digest

    assert metadata[b"gnn_mlc.model"].decode() == manifest_digest(model_dir)  # the model's identity in every shard


def test_a_second_process_on_the_same_worker_is_refused(model_dir, users, tmp_path):
    out = tmp_path / "recs"
    (out / "_jobs").mkdir(parents=True)
    with open(out / "_jobs" / "worker-00000.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another job holds the worker
        with pytest.raises(GnnMlcError, match=r"another process is scoring worker 0 into it"):
            _score(model_dir, users, out)
    assert not list(out.glob("part-*"))


def test_workers_of_one_output_must_share_model_and_arguments(model_dir, users, tmp_path):
    out = tmp_path / "recs"
    _score(model_dir, users, out, num_shards=2, shard_index=0)
    with pytest.raises(GnnMlcError, match=r"holds the output of a worker of another job \(different top_k\)"):
        _score(model_dir, users, out, num_shards=2, shard_index=1, top_k=3)


def test_output_inside_the_input_is_refused(model_dir, users):
    with pytest.raises(GnnMlcError, match=r"is inside the input .*; expected an output directory apart"):
        _score(model_dir, users.parent, users.parent / "recs", overwrite=True)
    assert users.exists() and not (users.parent / "recs").exists()


def test_a_corrupt_job_record_is_one_clear_error(model_dir, users, tmp_path):
    out = tmp_path / "recs"
    _score(model_dir, users, out)
    (out / "_jobs" / "worker-00000.done.json").unlink()
    (out / "_jobs" / "worker-00000.json").write_text("{ not json")
    with pytest.raises(GnnMlcError, match=r"worker-00000\.json: unreadable job record .*--overwrite"):
        _score(model_dir, users, out)


def test_ids_keep_name_and_type_and_csv_ids_stay_text(model_dir, demo_score, tmp_path):
    table = pq.read_table(demo_score).slice(0, 5).drop(["id"])
    with_ints = table.append_column("userId", pa.array([7, 8, 9, 10, 11], pa.int64()))
    pq.write_table(with_ints, tmp_path / "ints.parquet")
    _score(model_dir, tmp_path / "ints.parquet", tmp_path / "a", id_column="userId")
    scored = pq.read_table(tmp_path / "a")
    assert scored.schema.field("userId").type == pa.int64() and scored.column("userId").to_pylist() == [7, 8, 9, 10, 11]
    _score(model_dir, tmp_path / "ints.parquet", tmp_path / "b", id_column="userId", output_id_column="user")
    assert pq.read_table(tmp_path / "b").schema.names[0] == "user"
    texts = table.append_column("id", pa.array(["007", "7", "0007", "1.10", "1.1"]))
    pa_csv.write_csv(texts, tmp_path / "ids.csv")
    _score(model_dir, tmp_path / "ids.csv", tmp_path / "c")
    assert pq.read_table(tmp_path / "c").column("id").to_pylist() == ["007", "7", "0007", "1.10", "1.1"]
    pq.write_table(texts.set_column(texts.num_columns - 1, "id", pa.array(["u1", "u2", "u1", "u3", "u4"])),
                   tmp_path / "dup.parquet")
    with pytest.raises(DataError, match=r"id 'u1' appears more than once; expected one row per id"):
        _score(model_dir, tmp_path / "dup.parquet", tmp_path / "d")
    nulls = texts.set_column(texts.num_columns - 1, "id", pa.array(["u1", None, "u3", "u4", "u5"]))
    pq.write_table(nulls, tmp_path / "null.parquet")
    summary = _score(model_dir, tmp_path / "null.parquet", tmp_path / "e")
    assert summary.rows_rejected == 1
    assert pq.read_table(tmp_path / "e" / "_rejects").to_pylist() == [{"id": None, "reason": "id: missing"}]


def test_a_csv_feature_that_turns_decimal_late_is_no_error(model_dir, demo_score, tmp_path):
    table = pq.read_table(demo_score)
    rows = pa.concat_tables([table] * 30)  # ~60k rows: several CSV blocks
    ages = np.round(np.asarray(rows.column("age")))
    ages[-1] = 33.5  # integer-looking for the first blocks, a decimal at the very end
    rows = rows.set_column(rows.column_names.index("age"), "age", pa.array(ages))
    rows = rows.set_column(0, "id", pa.array([f"u{i}" for i in range(rows.num_rows)]))
    pa_csv.write_csv(rows, tmp_path / "late.csv")
    summary = run_scoring_job(model_dir, tmp_path / "late.csv", tmp_path / "recs", rows_per_shard=10_000,
                              progress=False)
    assert summary.rows_scored == rows.num_rows and summary.rows_rejected == 0


def test_exclude_column_and_min_score(model_dir, demo_score, tmp_path):
    table = pq.read_table(demo_score).slice(0, 50)
    scorer = Scorer(model_dir, top_k=5)
    plain, _ = scorer.score_table(table)
    already = [labels[:2] + ["not-a-label"] for labels in plain.column("labels").to_pylist()]
    table = table.append_column("owned", pa.array(already, pa.list_(pa.string())))
    pq.write_table(table, tmp_path / "in.parquet")
    predict_file(model_dir, tmp_path / "in.parquet", tmp_path / "recs.parquet", top_k=5, exclude_column="owned",
                 min_score=0.3)
    result = pq.read_table(tmp_path / "recs.parquet")
    full = Scorer(model_dir, top_k=48).score_table(table)[0]
    for owned, labels, scores, everything, all_scores in zip(
            already, result.column("labels").to_pylist(), result.column("scores").to_pylist(),
            full.column("labels").to_pylist(), full.column("scores").to_pylist()):
        expected = [(label, score) for label, score in zip(everything, all_scores)
                    if label not in owned and score >= 0.3][:5]
        assert list(zip(labels, scores)) == expected
    run_scoring_job(model_dir, tmp_path / "in.parquet", tmp_path / "job", top_k=5, exclude_column="owned",
                    min_score=0.3, progress=False)
    assert pq.read_table(tmp_path / "job").equals(result)


def test_outputs_have_the_usual_permissions(model_dir, users, tmp_path):
    previous = os.umask(0o022)
    try:
        table = pq.read_table(users)
        age = table.column("age").to_pylist()
        age[3] = None
        pq.write_table(table.set_column(table.column_names.index("age"), "age", pa.array(age)), users)
        _score(model_dir, users, tmp_path / "recs")
        predict_file(model_dir, users, tmp_path / "one" / "recs.csv")
    finally:
        os.umask(previous)
    files = [path for path in [*(tmp_path / "recs").rglob("*"), *(tmp_path / "one").rglob("*")]
             if path.is_file() and not path.name.endswith(".lock")]
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o644}, files
    assert (tmp_path / "recs" / "_rejects" / "part-00000-00000.parquet") in files
    assert (tmp_path / "one" / "recs.rejects.csv") in files
    directories = [tmp_path / "recs", tmp_path / "recs" / "_jobs", tmp_path / "recs" / "_rejects"]
    assert {stat.S_IMODE(path.stat().st_mode) for path in directories} == {0o755}
    assert json.loads((tmp_path / "recs" / "_SUCCESS").read_text())["rows_rejected"] == 1


def test_hidden_files_of_an_input_directory_or_glob_are_not_input(model_dir, demo_score, tmp_path):
    """Spark's and pyarrow's rule: names starting with '.' or '_', at any depth below what was named, are skipped."""
    from gnn_mlc.serving.batch import input_files

    spark = tmp_path / "_users"  # the folder named may itself start with '_'
    for index, relative in enumerate(("part-0.parquet", "_temporary/0/part-1.parquet", ".part-0.parquet",
                                      "_SUCCESS.csv", "day=1/part-2.parquet", "day=1/.part-2.parquet.crc.parquet")):
        (spark / relative).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pq.read_table(demo_score).slice(10 * index, 10), spark / relative)
    expected = [spark / "day=1" / "part-2.parquet", spark / "part-0.parquet"]
    assert input_files(spark) == expected
    assert input_files(f"{spark}/**/*.parquet") == expected
    summary = _score(model_dir, spark, tmp_path / "recs")
    assert summary.rows_scored == 20


def test_a_hidden_xml_file_is_not_the_folder_s_only_label_xml(tmp_path):
    (tmp_path / "d.arff").write_text("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\n1,0\n")
    (tmp_path / "._other.xml").write_text("not xml")
    (tmp_path / "labels.xml").write_text('<labels xmlns="http://mulan.sourceforge.net/labels"><label name="y"/>'
                                         "</labels>")
    assert read_dataset(tmp_path / "d.arff").label_names == ["y"]


@pytest.mark.parametrize(("record", "reason"), [
    ('{"job": 5}', r"field 'job' is a JSON number, not object"),
    ('{"inputs": []}', r"field 'job' is absent, not object"),
    ('{"job": {}, "inputs": 3}', r"field 'inputs' is a JSON number, not array"),
    ("[1, 2]", r"a JSON array, not an object"),
    ("null", r"a JSON null, not an object"),
])
def test_a_job_record_of_another_shape_is_one_clear_error(model_dir, users, tmp_path, record, reason):
    out = tmp_path / "recs"
    _score(model_dir, users, out)
    (out / "_jobs" / "worker-00000.done.json").unlink()
    (out / "_jobs" / "worker-00000.json").write_text(record)
    with pytest.raises(GnnMlcError, match=rf"worker-00000\.json: unreadable job record \({reason}\); expected the "
                                          r"JSON a scoring job writes\. Hint: use --overwrite .*or another --output"):
        _score(model_dir, users, out)


def test_a_done_record_of_another_shape_is_one_clear_error(model_dir, users, tmp_path):
    out = tmp_path / "recs"
    _score(model_dir, users, out, num_shards=2)
    (out / "_jobs" / "worker-00000.done.json").write_text('{"total_rows_scored": "many"}')
    with pytest.raises(GnnMlcError, match=r"worker-00000\.done\.json: unreadable job record \(field "
                                          r"'total_rows_scored' is a JSON string, not number\)"):
        _score(model_dir, users, out, num_shards=2, shard_index=1)


@pytest.mark.parametrize("kind", [pa.list_(pa.string()), pa.struct([("user", pa.string())])])
def test_a_nested_id_column_is_refused_in_one_line(model_dir, demo_score, tmp_path, kind):
    table = pq.read_table(demo_score).slice(0, 5)
    values = [["u"] if pa.types.is_list(kind) else {"user": "u"} for _ in range(5)]
    pq.write_table(table.set_column(table.column_names.index("id"), "id", pa.array(values, kind)),
                   tmp_path / "nested.parquet")
    message = rf"nested\.parquet: id column 'id' has type {kind.__str__().split('<')[0]}<.*>; expected one integer"
    with pytest.raises(DataError, match=message):
        _score(model_dir, tmp_path / "nested.parquet", tmp_path / "recs")
    with pytest.raises(DataError, match=message):
        predict_file(model_dir, tmp_path / "nested.parquet", tmp_path / "recs.parquet")
    assert not (tmp_path / "recs.parquet").exists()
