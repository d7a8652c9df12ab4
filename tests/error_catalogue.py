"""The catalogue of bad inputs: each case is a CLI invocation that must fail with one clear line and exit code 2.

``tests/test_error_catalogue.py`` runs every case; ``python -m tests.error_catalogue`` regenerates
``docs/errors.md`` (the table of cases and the messages they print) from the same list.
"""

from __future__ import annotations

import bz2
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data"
ARFF_HEADER = "@relation 'r: -C -1'\n@attribute x numeric\n@attribute y {0,1}\n"  # MEKA: the last attribute is the label


@dataclass(frozen=True)
class Case:
    """One bad input: what it is, how to make it (files under the work directory), the command, and the message."""

    name: str
    make: Callable[[Path], None]
    argv: list[str]
    message: str  # a regular expression the one error line must match
    no_output: str | None = None  # a path (relative to the work directory) that must not exist afterwards


def _write(relative: str, text: str) -> Callable[[Path], None]:
    def make(work: Path) -> None:
        (work / relative).write_text(text)

    return make


def _write_in(folder: str, name: str, text: str) -> Callable[[Path], None]:
    """Write ``folder/name``: a file alone in its folder (the work directory collects other cases' files)."""

    def make(work: Path) -> None:
        (work / folder).mkdir(exist_ok=True)
        (work / folder / name).write_text(text)

    return make


def _parquet(relative: str, change: Callable[[pa.Table], pa.Table], source: str = "shop_test.parquet"):
    def make(work: Path) -> None:
        pq.write_table(change(pq.read_table(DEMO / source).slice(0, 50)), work / relative)

    return make


def _set(table: pa.Table, column: str, values: list, kind: pa.DataType | None = None) -> pa.Table:
    return table.set_column(table.column_names.index(column), column, pa.array(values, kind))


def _model_copy(relative: str, edit: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(work: Path) -> None:
        shutil.copytree(work / "model", work / relative)
        edit(work / relative)

    return make


def _resigned(edit: Callable[[Path], None]) -> Callable[[Path], None]:
    """An edit followed by a fresh manifest, so that the check behind the manifest is the one exercised."""
    from gnn_mlc.model_directory import write_manifest

    def apply(directory: Path) -> None:
        edit(directory)
        write_manifest(directory)

    return apply


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _nothing(work: Path) -> None:
    return None


TRAIN = ["train", "--quiet", "--epochs", "1", "--hidden-channels", "8", "--embedding-dim", "4"]

def _scored_then(name: str, change: Callable[[Path], None]) -> Callable[[Path], None]:
    """A scoring job of ``name.parquet`` into ``recs_name`` stopped before its end, then ``change`` applied."""
    def make(work: Path) -> None:
        from gnn_mlc.cli import main

        pq.write_table(pq.read_table(DEMO / "shop_score.parquet").slice(0, 50), work / f"{name}.parquet")
        if name == "retrained":
            shutil.copytree(work / "model", work / "model_retrained", dirs_exist_ok=True)
        model = "model_retrained" if name == "retrained" else "model"
        assert main(["score", "--model", str(work / model), "--input", str(work / f"{name}.parquet"), "--output",
                     str(work / f"recs_{name}"), "--quiet"]) == 0
        (work / f"recs_{name}" / "_jobs" / "worker-00000.done.json").unlink()  # as if killed before the end
        change(work)

    return make


def _regenerate_input(work: Path) -> None:
    table = pq.read_table(work / "changed.parquet")
    pq.write_table(_set(table, "age", [0.0] * table.num_rows), work / "changed.parquet")


def _retrain_model(work: Path) -> None:
    from gnn_mlc.model_directory import write_manifest

    metrics = work / "model_retrained" / "metrics.json"
    metrics.write_text(metrics.read_text().replace('"best_epoch"', '"retrained": true, "best_epoch"', 1))
    write_manifest(work / "model_retrained")


def _two_id_types(work: Path) -> None:
    (work / "idtypes").mkdir(exist_ok=True)
    table = pq.read_table(DEMO / "shop_score.parquet").slice(0, 10)
    pq.write_table(_set(table, "id", list(range(10)), pa.int64()), work / "idtypes" / "a.parquet")
    pq.write_table(table, work / "idtypes" / "b.parquet")


def _with_pandas_index(table: pa.Table) -> pa.Table:
    """The table as ``df[mask].to_parquet()`` saves it: its filtered index in a ``__index_level_0__`` column."""
    table = table.append_column("__index_level_0__", pa.array(range(table.num_rows), pa.int64()))
    metadata = {"index_columns": ["__index_level_0__"], "columns": [], "pandas_version": "2.2.0"}
    return table.replace_schema_metadata({b"pandas": json.dumps(metadata).encode()})


def _link_weights(directory: Path) -> None:
    import os

    outside = directory.parent / f"{directory.name}-weights.safetensors"
    os.replace(directory / "weights.safetensors", outside)
    os.symlink(outside, directory / "weights.safetensors")


def _widths(work: Path) -> None:
    """A model trained with 2-wide label features, and a 1-wide file for a new label."""
    from gnn_mlc.cli import main

    (work / "wide.csv").write_text("label,x,y\ncamping,1,0\nhiking,0,1\n")
    (work / "narrow.csv").write_text("label,x\nglamping,1\n")
    (work / "narrow_edges.csv").write_text("source,target\nglamping,camping\n")
    if not (work / "m_features").exists():
        assert main([*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", str(work / "m_features"),
                     "--label-features", str(work / "wide.csv")]) == 0


def _interrupted_training(work: Path) -> None:
    """A checkpoint left by a killed ``train --output resumed`` with the default learning rate."""
    import pyarrow  # noqa: F401  (the reader's dependency, imported before the estimator)

    from gnn_mlc import LabelGCNClassifier, read_dataset

    data = read_dataset(DEMO / "shop_train.parquet")
    classifier = LabelGCNClassifier(max_epochs=1, hidden_channels=8, embedding_dim=4)
    classifier.fit(data.X, data.Y, label_names=data.label_names, feature_names=data.feature_names,
                   checkpoint=work / ".resumed.checkpoint.pt")


CASES: list[Case] = [
    Case("data file missing", _nothing, [*TRAIN, "--data", "absent.csv", "--output", "m"], r"absent\.csv: no such file", "m"),
    Case("unknown data format", _write("data.dat", "x"), [*TRAIN, "--data", "data.dat", "--output", "m"],
         r"unknown data format; expected a file ending in \.arff", "m"),
    Case("XC text file: bad value", _write("xc.txt", "2 5 3\n0,2 0:1.0 3:x\n1 1:1\n"),
         [*TRAIN, "--data", "xc.txt", "--output", "m"],
         r"xc\.txt: cannot be read as the XC/svmlight format \(could not convert string to float: b'x'\); expected "
         r"'labels feature:value \.\.\.' lines", "m"),
    Case("XC text file: fewer rows than its header", _write("xcshort.txt", "3 5 3\n0,2 0:1.0\n1 1:1\n"),
         [*TRAIN, "--data", "xcshort.txt", "--output", "m"],
         r"xcshort\.txt: 2 rows with labels up to 2; the header says 3 rows and 3 labels\. Hint: check the file is "
         r"complete", "m"),
    Case("XC text file: a NaN label", _write("xcnan.txt", "0,nan 0:1.0\n1 1:1\n"),
         [*TRAIN, "--data", "xcnan.txt", "--output", "m"],
         r"xcnan\.txt: label nan in row 0; expected 0-based integer label indices", "m"),
    Case("XC text file: a negative label", _write("xcneg.txt", "0,-1 0:1.0\n"),
         [*TRAIN, "--data", "xcneg.txt", "--output", "m"],
         r"xcneg\.txt: label -1 in row 0; expected 0-based integer label indices", "m"),
    Case("empty CSV file", _write("empty.csv", ""), [*TRAIN, "--data", "empty.csv", "--output", "m"],
         r"empty\.csv: cannot be read as CSV", "m"),
    Case("truncated ARFF (no @data)", _write("t.arff", ARFF_HEADER), [*TRAIN, "--data", "t.arff", "--labels", "y.xml",
         "--output", "m"], r"t\.arff: ended after line 3 without an @data section", "m"),
    Case("ARFF row with too few values", _write("short.arff", ARFF_HEADER + "@data\n1,0\n2\n"),
         [*TRAIN, "--data", "short.arff", "--output", "m"], r"short\.arff:6: row has 1 values; expected 2", "m"),
    Case("non-numeric value in a numeric attribute", _write("nan.arff", ARFF_HEADER + "@data\nabc,1\n"),
         [*TRAIN, "--data", "nan.arff", "--output", "m"], r"nan\.arff:5: feature 'x' has value 'abc'; expected a number",
         "m"),
    Case("label value other than 0/1", _write("two.arff", ARFF_HEADER + "@data\n1,2\n"),
         [*TRAIN, "--data", "two.arff", "--output", "m"], r"two\.arff:5: label 'y' has value '2'; expected 0, 1 or \?",
         "m"),
    Case("sparse ARFF index out of range", _write("idx.arff", ARFF_HEADER + "@data\n{5 1}\n"),
         [*TRAIN, "--data", "idx.arff", "--output", "m"], r"idx\.arff:5: sparse index 5 out of range; expected 0\.\.1",
         "m"),
    Case("ARFF with zero rows", _write("zero.arff", ARFF_HEADER + "@data\n"),
         [*TRAIN, "--data", "zero.arff", "--output", "m"], r"zero\.arff: the @data section has no rows", "m"),
    Case("label XML naming an attribute that does not exist",
         lambda work: ((work / "x.arff").write_text(ARFF_HEADER + "@data\n1,0\n"),
                       (work / "x.xml").write_text('<labels><label name="z"/></labels>')),
         [*TRAIN, "--data", "x.arff", "--labels", "x.xml", "--output", "m"],
         r"x\.arff: label 'z' is not an attribute of the file", "m"),
    Case("label XML that is not XML", lambda work: ((work / "x.arff").write_text(ARFF_HEADER + "@data\n1,0\n"),
                                                    (work / "bad.xml").write_text("<labels")),
         [*TRAIN, "--data", "x.arff", "--labels", "bad.xml", "--output", "m"], r"bad\.xml: not well-formed XML", "m"),
    Case("corrupted bz2 ARFF", lambda work: (work / "c.arff.bz2").write_bytes(bz2.compress(b"@relation")[:10]),
         [*TRAIN, "--data", "c.arff.bz2", "--output", "m"], r"c\.arff\.bz2: cannot be read", "m"),
    Case("NaN feature", _parquet("nan.parquet", lambda t: _set(t, "age", [float("nan")] * 50, pa.float32())),
         [*TRAIN, "--data", "nan.parquet", "--output", "m"], r"column 'age' is nan at row 0; expected finite", "m"),
    Case("infinite feature", _parquet("inf.parquet", lambda t: _set(t, "age", [float("inf")] * 50, pa.float32())),
         [*TRAIN, "--data", "inf.parquet", "--output", "m"], r"column 'age' is inf at row 0", "m"),
    Case("null feature", _parquet("null.parquet", lambda t: _set(t, "age", [None] * 50, pa.float32())),
         [*TRAIN, "--data", "null.parquet", "--output", "m"], r"column 'age' is null at row 0", "m"),
    Case("feature column of the wrong type", _parquet("bytes.parquet", lambda t: _set(t, "age", [b"old"] * 50)),
         [*TRAIN, "--data", "bytes.parquet", "--output", "m"], r"column 'age' has type binary; expected a numeric",
         "m"),
    Case("label column missing", _parquet("nolabels.parquet", lambda t: t.drop(["labels"])),
         [*TRAIN, "--data", "nolabels.parquet", "--output", "m"], r"no label column 'labels'", "m"),
    Case("label column of the wrong type", _parquet("intlabels.parquet", lambda t: _set(t, "labels", [1] * 50)),
         [*TRAIN, "--data", "intlabels.parquet", "--output", "m"], r"column 'labels' has type int64; expected a list of label names", "m"),
    Case("zero labels (no row has any)", _parquet("nolabel.parquet", lambda t: _set(t, "labels", [[]] * 50,
                                                                                     pa.list_(pa.string()))),
         [*TRAIN, "--data", "nolabel.parquet", "--output", "m"], r"holds no label at all", "m"),
    Case("duplicate ids", _parquet("dup.parquet", lambda t: _set(t, "id", ["u1"] * 50)),
         [*TRAIN, "--data", "dup.parquet", "--output", "m"], r"id 'u1' appears more than once in column 'id' \(rows 0 and 1\)", "m"),
    Case("output directory already there", lambda work: (work / "exists").mkdir(),
         [*TRAIN, "--data", str(DEMO / "shop_test.parquet"), "--output", "exists"], r"exists: already exists.*--overwrite"),
    Case("output under a file (unwritable)", _write("afile", "x"),
         [*TRAIN, "--data", str(DEMO / "shop_test.parquet"), "--output", "afile/model"],
         r"afile: cannot write the model directory here \(File exists\)"),
    Case("--epochs 0", _nothing, [*TRAIN, "--data", "d.csv", "--output", "m", "--epochs", "0"],
         r"--epochs: must be a positive integer; got '0'", "m"),
    Case("unknown device", _nothing, [*TRAIN, "--data", "d.csv", "--output", "m", "--device", "tpu"],
         r"--device: invalid choice: 'tpu'", "m"),
    Case("cuda requested where there is none", _nothing,
         [*TRAIN, "--data", str(DEMO / "shop_test.parquet"), "--output", "m", "--device", "cuda"],
         r"device: 'cuda' was requested but CUDA is not available", "m"),
    Case("dropout out of range", _nothing, [*TRAIN, "--data", "d.csv", "--output", "m", "--dropout", "1.5"],
         r"--dropout: must be a float in \[0, 1\); got \'1\.5\'", "m"),
    Case("unknown flag", _nothing, [*TRAIN, "--data", "d.csv", "--output", "m", "--colour", "red"],
         r"unrecognized arguments: --colour red", "m"),
    Case("model directory missing", _nothing,
         ["evaluate", "--model", "nomodel", "--data", str(DEMO / "shop_test.parquet")], r"nomodel: no such model directory"),
    Case("model directory truncated (file missing)", _model_copy("m1", lambda p: (p / "thresholds.json").unlink()),
         ["evaluate", "--model", "m1", "--data", str(DEMO / "shop_test.parquet")], r"thresholds\.json is missing"),
    Case("corrupted weights", _model_copy("m2", lambda p: _truncate(p / "weights.safetensors")),
         ["evaluate", "--model", "m2", "--data", str(DEMO / "shop_test.parquet")],
         r"weights\.safetensors: does not match the manifest \(size or SHA-256 differs"),
    Case("corrupted weights under a matching manifest",
         _model_copy("m5", _resigned(lambda p: _truncate(p / "weights.safetensors"))),
         ["evaluate", "--model", "m5", "--data", str(DEMO / "shop_test.parquet")],
         r"weights\.safetensors: cannot be read"),
    Case("model from an incompatible version", _model_copy("m3", lambda p: (p / "config.json").write_text(
        json.dumps({**json.loads((p / "config.json").read_text()), "format_version": 7}))),
         ["evaluate", "--model", "m3", "--data", str(DEMO / "shop_test.parquet")], r"format version 7 .*expected 3"),
    Case("config with an invalid parameter", _model_copy("m4", _resigned(lambda p: (p / "config.json").write_text(
        (p / "config.json").read_text().replace('"dropout": 0.3', '"dropout": -1')))),
         ["evaluate", "--model", "m4", "--data", str(DEMO / "shop_test.parquet")],
         r"config\.json: parameters and weights do not fit together \(The 'dropout' parameter of "
         r"LabelGCNClassifier must be a float in \[0, 1\); got -1"),
    Case("label the model does not know",
         _parquet("unknown.parquet", lambda t: _set(t, "labels", [["knitting"]] * 50, pa.list_(pa.string()))),
         ["evaluate", "--model", "model", "--data", "unknown.parquet", "--output", "report"],
         r"label 'knitting' is not known to the model", "report"),
    Case("--model and --compare together", _nothing,
         ["evaluate", "--model", "model", "--compare", "model", "model", "--data", "d.csv"],
         r"argument --compare: not allowed with argument --model"),
    Case("negative top-k", _nothing, ["predict", "--model", "model", "--input", "d.csv", "--output", "o.csv",
                                      "--top-k", "-1"], r"--top-k: must be a positive integer; got \'-1\'", "o.csv"),
    Case("a feature column missing (different feature count)", _parquet("narrow.parquet", lambda t: t.drop(["age"])),
         ["predict", "--model", "model", "--input", "narrow.parquet", "--output", "o.parquet"],
         r"1 of the model's 32 feature columns are missing, first 'age'", "o.parquet"),
    Case("scoring: no input matches", _nothing,
         ["score", "--model", "model", "--input", "nothing-*.parquet", "--output", "recs"], r"no input found"),
    Case("scoring: feature columns missing and extra",
         _parquet("renamed.parquet", lambda t: t.rename_columns(["agee" if c == "age" else c for c in t.column_names])),
         ["score", "--model", "model", "--input", "renamed.parquet", "--output", "recs", "--quiet"],
         r"1 of the model's 32 feature columns are missing, first 'age'; columns the model does not know: \['agee'"),
    Case("scoring: the id column asked for is absent", _parquet("noid.parquet", lambda t: t.drop(["id"])),
         ["score", "--model", "model", "--input", "noid.parquet", "--output", "recs", "--quiet", "--id-column",
          "user_id"], r"noid\.parquet: no id column 'user_id'.*Hint: check --id-column", "recs"),
    Case("scoring: shard index out of range", _nothing,
         ["score", "--model", "model", "--input", "x.parquet", "--output", "recs", "--shard-index", "3",
          "--num-shards", "2"], r"shard_index: got 3; expected 0 <= shard_index < num_shards \(2\)"),
    Case("inspect: unknown label", _nothing, ["inspect", "--model", "model", "--label", "campng"],
         r"label 'campng' is not known to the model \(did you mean 'camping'\?\)"),
    Case("graph: tau out of range", _nothing,
         ["graph", "--data", str(DEMO / "shop_test.parquet"), "--output", "g.graphml", "--tau", "2"],
         r"--tau: must be a float in \(0, 1\]; got \'2\'", "g.graphml"),
    Case("graph: garbage Parquet", lambda work: (work / "bad.parquet").write_bytes(b"PAR1garbagePAR1"),
         ["graph", "--data", "bad.parquet", "--output", "g.graphml"], r"bad\.parquet: cannot be read as PARQUET",
         "g.graphml"),
    Case("ARFF: no label XML under any Mulan name", _write_in("mulan", "Corel5k-train-sparse.arff",
                                                            ARFF_HEADER.replace(": -C -1", "") + "@data\n1,0\n"),
         [*TRAIN, "--data", "mulan/Corel5k-train-sparse.arff", "--output", "m"],
         r"Corel5k-train-sparse\.arff: no label XML beside it \(tried Corel5k-train-sparse\.xml, Corel5k-train\.xml, "
         r"Corel5k-sparse\.xml, Corel5k\.xml; no other \.xml file is there\)", "m"),
    Case("unknown --exclude-columns name", _nothing,
         [*TRAIN, "--data", str(DEMO / "shop_test.parquet"), "--output", "m", "--exclude-columns", "agee"],
         r"exclude_columns names 'agee', which is not a column \(did you mean 'age'\?\)", "m"),
    Case("train: --item-columns names no column", _nothing,
         [*TRAIN, "--data", str(DEMO / "shop_test.parquet"), "--output", "m", "--item-columns", "histroy"],
         r"shop_test\.parquet: item_columns names 'histroy', which is not a column; expected feature columns\. "
         r"Hint: check --item-columns", "m"),
    Case("train: item column of numbers", _nothing,
         [*TRAIN, "--data", str(DEMO / "shop_test.parquet"), "--output", "m", "--item-columns", "age"],
         r"shop_test\.parquet: item column 'age' has type float; expected a list of item names or ids "
         r"\(list<string> or list<int>\), or a '\|'-delimited string", "m"),
    Case("train: item column without any item",
         _parquet("noitems.parquet", lambda t: t.append_column("history", pa.array([[]] * t.num_rows,
                                                                                  pa.list_(pa.string())))),
         [*TRAIN, "--data", "noitems.parquet", "--output", "m"],
         r"noitems\.parquet: item column 'history' holds no item in any row; expected item lists \(a user's "
         r"history\)\. Hint: leave the column out of the features", "m"),
    Case("group: no table given", _nothing, ["group", "--id-column", "user", "--output", "g.parquet"],
         r"group: no table given; expected items \(id, item rows\), labels \(id, label rows\) and/or users tables\. "
         r"Hint: --items, --labels, --users", "g.parquet"),
    Case("group: id column absent", _write("events.csv", "user_id,item\nu1,a\n"),
         ["group", "--items", "events.csv", "--id-column", "user", "--output", "g.parquet"],
         r"events\.csv: no column 'user' \(did you mean 'user_id'\?\); columns are \['user_id', 'item'\]\. Hint: check "
         r"--id-column", "g.parquet"),
    Case("group: event without an id", _write("noid.csv", "user_id,item\nu1,a\n,b\n"),
         ["group", "--items", "noid.csv", "--id-column", "user_id", "--output", "g.parquet"],
         r"noid\.csv: row 1 has no 'user_id' \(null, NaN or empty; 1 such rows\); expected an id in every row", "g.parquet"),
    Case("group: a user twice in the users table", _write("users2.csv", "user_id,age\nu1,3\nu1,4\n"),
         ["group", "--users", "users2.csv", "--id-column", "user_id", "--output", "g.parquet"],
         r"users2\.csv: id 'u1' appears more than once in column 'user_id'; expected one row per id", "g.parquet"),
    Case("group: id column named like a grouped column", _write("ev_items.csv", "items,item\nu1,a\n"),
         ["group", "--items", "ev_items.csv", "--id-column", "items", "--output", "g.parquet"],
         r"group: the id column is named 'items', like a grouped column; expected another name\. Hint: rename",
         "g.parquet"),
    Case("group: CSV output", _write("ev.csv", "user_id,item\nu1,a\n"),
         ["group", "--items", "ev.csv", "--id-column", "user_id", "--output", "g.csv"],
         r"g\.csv: expected a \.parquet output \(the grouped table has list columns\)", "g.csv"),
    Case("--exclude-columns for ARFF", _write("feat.arff", ARFF_HEADER + "@data\n1,0\n"),
         [*TRAIN, "--data", "feat.arff", "--output", "m", "--exclude-columns", "x"],
         r"feat\.arff: feature_columns, exclude_columns, known_column and item_columns name columns of a CSV/Parquet table", "m"),
    Case("ARFF: sparse index twice in a row", _write("dupidx.arff", ARFF_HEADER + "@data\n{0 1,0 2}\n"),
         [*TRAIN, "--data", "dupidx.arff", "--output", "m"], r"dupidx\.arff:5: sparse index 0 appears twice in the row",
         "m"),
    Case("ARFF: attribute declared twice", _write("dupattr.arff", ARFF_HEADER.replace("@attribute y", "@attribute x "
                                                                                       "real\n@attribute y")
                                                  + "@data\n1,2,0\n"),
         [*TRAIN, "--data", "dupattr.arff", "--output", "m"],
         r"dupattr\.arff:3: attribute 'x' is declared again \(first at line 2\)", "m"),
    Case("CSV: column name twice", _write("dupcol.csv", "x,x,labels\n1,2,a\n"),
         [*TRAIN, "--data", "dupcol.csv", "--output", "m"],
         r"dupcol\.csv:1 \(the header\): column name 'x' appears 2 times; expected unique column names", "m"),
    Case("Parquet: column name twice",
         lambda work: pq.write_table(pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0]), pa.array([["a"]])],
                                                          names=["x", "x", "labels"]), work / "dupcol.parquet"),
         [*TRAIN, "--data", "dupcol.parquet", "--output", "m"],
         r"dupcol\.parquet \(its schema\): column name 'x' appears 2 times", "m"),
    Case("label name holding the output delimiter (a pipe)",
         _parquet("pipe.parquet", lambda t: _set(t, "labels", [["a|b"]] * 50, pa.list_(pa.string()))),
         [*TRAIN, "--data", "pipe.parquet", "--output", "m"],
         r"pipe\.parquet: row 0, column 'labels': label name 'a\|b' contains '\|'; expected no '\|'", "m"),
    Case("label name holding a control character",
         _parquet("newline.parquet", lambda t: _set(t, "labels", [["ok"], ["a\nb"]] * 25, pa.list_(pa.string()))),
         [*TRAIN, "--data", "newline.parquet", "--output", "m"],
         r"newline\.parquet: row 1, column 'labels': label name 'a\\nb' contains '\\n'", "m"),
    Case("feature beyond the float32 range", _parquet("huge.parquet", lambda t: _set(t, "age", [1e39] * 50)),
         [*TRAIN, "--data", "huge.parquet", "--output", "m"],
         r"column 'age' is 1e\+39 at row 0, beyond the float32 range", "m"),
    Case("ARFF feature beyond the float32 range", _write("huge.arff", ARFF_HEADER + "@data\n1e39,0\n"),
         [*TRAIN, "--data", "huge.arff", "--output", "m"],
         r"huge\.arff:5: feature 'x' has value '1e39', beyond the float32 range", "m"),
    Case("null id", _parquet("nullid.parquet", lambda t: _set(t, "id", ["u0", None, *(f"u{i}" for i in range(2, 50))])),
         [*TRAIN, "--data", "nullid.parquet", "--output", "m"], r"row 1 has no id \(null or empty\) in column 'id'",
         "m"),
    Case("scoring: --exclude-column absent from the input", _nothing,
         ["score", "--model", "model", "--input", str(DEMO / "shop_score.parquet"), "--output", "recs_x", "--quiet",
          "--exclude-column", "owned"], r"input: no column 'owned' for --exclude-column", "recs_x/part-00000-00000.parquet"),
    Case("scoring: --exclude-column not a list", _parquet("owned.parquet", lambda t: _set(t, "age", [1.0] * 50)),
         ["predict", "--model", "model", "--input", "owned.parquet", "--output", "o.parquet", "--exclude-column",
          "age"], r"input: column 'age' has type double; expected a list of label names", "o.parquet"),
    Case("scoring: --min-score out of range", _nothing,
         ["predict", "--model", "model", "--input", "d.parquet", "--output", "o.parquet", "--min-score", "2"],
         r"argument --min-score: must be a float in \[0, 1\]; got '2'", "o.parquet"),
    Case("scoring: output inside the input", lambda work: ((work / "inside").mkdir(exist_ok=True),
                                                           _parquet("inside/users.parquet", lambda t: t)(work)),
         ["score", "--model", "model", "--input", "inside", "--output", "inside/recs", "--quiet", "--overwrite"],
         r"inside/recs: is inside the input .*inside; expected an output directory apart from the input",
         "inside/recs"),
    Case("scoring: input changed since the job started", _scored_then("changed", _regenerate_input),
         ["score", "--model", "model", "--input", "changed.parquet", "--output", "recs_changed", "--quiet"],
         r"recs_changed: its input changed since the job started \(.*changed\.parquet\); expected the same input "
         r"to resume\. Hint: use --overwrite"),
    Case("scoring: model retrained into the same directory", _scored_then("retrained", _retrain_model),
         ["score", "--model", "model_retrained", "--input", "retrained.parquet", "--output", "recs_retrained",
          "--quiet"], r"holds the output of another job \(different model \(retrained or replaced\)\)"),
    Case("scoring: corrupt job record", _scored_then("corrupt", lambda work: (
        work / "recs_corrupt" / "_jobs" / "worker-00000.json").write_text("{ not json")),
         ["score", "--model", "model", "--input", "corrupt.parquet", "--output", "recs_corrupt", "--quiet"],
         r"worker-00000\.json: unreadable job record .*; expected the JSON a scoring job writes"),
    Case("scoring: an id twice", _parquet("twice.parquet", lambda t: _set(t, "id", ["u1"] * 50)),
         ["predict", "--model", "model", "--input", "twice.parquet", "--output", "o.parquet"],
         r"twice\.parquet: id 'u1' appears more than once; expected one row per id", "o.parquet"),
    Case("scoring: files with different id types", _two_id_types,
         ["score", "--model", "model", "--input", "idtypes", "--output", "recs_types", "--quiet"],
         r"the files give different id columns or types \(id: int64, id: string\)", "recs_types"),
    Case("model directory without its manifest", _model_copy("m6", lambda p: (p / "manifest.json").unlink()),
         ["evaluate", "--model", "m6", "--data", str(DEMO / "shop_test.parquet")],
         r"m6: manifest\.json is missing; expected a complete model directory"),
    Case("model directory file edited after training", _model_copy("m7", lambda p: (p / "labels.json").write_text(
        json.dumps(list(reversed(json.loads((p / "labels.json").read_text())))))),
         ["score", "--model", "m7", "--input", str(DEMO / "shop_score.parquet"), "--output", "recs_m7", "--quiet"],
         r"m7/labels\.json: does not match the manifest", "recs_m7"),
    Case("model directory with a linked part", _model_copy("m8", _link_weights),
         ["evaluate", "--model", "m8", "--data", str(DEMO / "shop_test.parquet")],
         r"m8/weights\.safetensors: is a symbolic link; expected a regular file"),
    Case("resume with another learning rate", _interrupted_training,
         [*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", "resumed", "--resume", "--learning-rate",
          "0.1"], r"\.resumed\.checkpoint\.pt: the checkpoint is of another run \(learning_rate: 0\.001 -> 0\.1\)",
         "resumed"),
    Case("train: --known-column absent", _nothing,
         [*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", "m", "--known-column", "history"],
         r"shop_train\.parquet: no known-label column 'history'; columns are .*Hint: check --known-column", "m"),
    Case("train: known labels with --no-graph", _nothing,
         [*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", "m", "--known-split", "--no-graph"],
         r"or known labels were given with use_graph=False; expected use_graph=True", "m"),
    Case("train: a self-loop in --graph-edges", _write("loop.csv", "source,target\ncamping,camping\n"),
         [*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", "m", "--graph-edges", "loop.csv"],
         r"loop\.csv: edge 0 \('camping' -> 'camping'; edges count from 0\): a self-loop", "m"),
    Case("train: a negative edge weight", _write("negative.csv", "source,target,weight\ncamping,hiking,-2\n"),
         [*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", "m", "--graph-edges", "negative.csv"],
         r"weight -2\.0; expected a finite positive number", "m"),
    Case("train: an edge file without a target column", _write("edges.csv", "source,to\ncamping,hiking\n"),
         [*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", "m", "--graph-edges", "edges.csv"],
         r"edges\.csv: no 'target' column; expected columns source, target and optionally weight", "m"),
    Case("train: a log row with no label", _parquet("emptylog.parquet", lambda t: t.select(["labels"]).set_column(
        0, "labels", pa.array([["camping"], []] * 25, pa.list_(pa.string())))),
         [*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", "m", "--graph-data", "emptylog.parquet"],
         r"emptylog\.parquet: log row 1 has no label \(25 such rows\)", "m"),
    Case("train: label features with a row without a label name", _write("features.csv", "label,x\n,1\n"),
         [*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", "m", "--label-features", "features.csv"],
         r"features\.csv: label name ''; expected non-empty strings", "m"),
    Case("add-labels: label features of another width", _widths,
         ["add-labels", "--model", "m_features", "--output", "m_added", "--label-features", "narrow.csv",
          "--graph-edges", "narrow_edges.csv"], r"label_features: 1 values per label; expected 2", "m_added"),
    Case("add-labels: no new label", _write("old.csv", "labels\ncamping|hiking\n"),
         ["add-labels", "--model", "model", "--output", "m_added", "--graph-data", "old.csv"],
         r"every label the sources name is already in the model; expected new labels", "m_added"),
    Case("evaluate: unknown baseline", _nothing,
         ["evaluate", "--model", "model", "--data", "d.csv", "--baseline", "random"],
         r"argument --baseline: invalid choice: 'random'"),
    Case("XC text file: a header of a billion features", _write("xcwide.txt", "10 1000000000 5\n0 1:1\n"),
         [*TRAIN, "--data", "xcwide.txt", "--output", "m"],
         r"xcwide\.txt: the header says 1,000,000,000 features; expected at most 4,194,304", "m"),
    Case("group: a list-typed id column",
         lambda work: pq.write_table(pa.table({"user_id": pa.array([["u1"]]), "item": ["a"]}), work / "listid.parquet"),
         ["group", "--items", "listid.parquet", "--id-column", "user_id", "--output", "g.parquet"],
         r"listid\.parquet: id column 'user_id' has type list<element: string>; expected one integer or text id "
         r"per row",
         "g.parquet"),
    Case("group: a float id that is not a whole number",
         lambda work: pq.write_table(pa.table({"user_id": [1.0, 2.5], "item": ["a", "b"]}), work / "floatid.parquet"),
         ["group", "--items", "floatid.parquet", "--id-column", "user_id", "--output", "g.parquet"],
         r"floatid\.parquet: id 2\.5 in row 1 of column 'user_id' is not a whole number; expected integer or text ids",
         "g.parquet"),
    Case("scoring: a job record of another shape", _scored_then("shape", lambda work: (
        work / "recs_shape" / "_jobs" / "worker-00000.json").write_text('{"job": 5}')),
         ["score", "--model", "model", "--input", "shape.parquet", "--output", "recs_shape", "--quiet"],
         r"worker-00000\.json: unreadable job record \(field 'job' is a JSON number, not object\); expected the JSON "
         r"a scoring job writes\. Hint: use --overwrite to start the job again, or another --output"),
    Case("scoring: a list-typed id column",
         _parquet("listids.parquet", lambda t: _set(t, "id", [[f"u{i}"] for i in range(50)], pa.list_(pa.string())),
                  source="shop_score.parquet"),
         ["predict", "--model", "model", "--input", "listids.parquet", "--output", "o.parquet"],
         r"listids\.parquet: id column 'id' has type list<element: string>; expected one integer or text id per row",
         "o.parquet"),
    Case("scoring: --output-id-column named like an output column", _nothing,
         ["predict", "--model", "model", "--input", "d.parquet", "--output", "o.parquet", "--output-id-column",
          "labels"], r"argument --output-id-column: must not be empty or an output column's name \(labels, scores, "
                     r"predicted, reason\); got 'labels'", "o.parquet"),
    Case("--hidden-channels beyond the cap", _nothing,
         [*TRAIN, "--data", "d.csv", "--output", "m", "--hidden-channels", str(10**12)],
         r"argument --hidden-channels: must be an integer in \[1, 65536\]; got '1000000000000'", "m"),
    Case("predict: output over its input", _parquet("self.parquet", lambda t: t, source="shop_score.parquet"),
         ["predict", "--model", "model", "--input", "self.parquet", "--output", "self.parquet"],
         r"self\.parquet: is also an input of this command \(self\.parquet\); expected the predictions apart from "
         r"the inputs"),
    Case("train: --overwrite of a directory holding the data", _write_in("holds", "d.csv", "x,labels\n1,a\n"),
         [*TRAIN, "--data", "holds/d.csv", "--output", "holds", "--overwrite"],
         r"holds: holds the input holds/d\.csv; expected a model directory apart from the inputs \(replacing it "
         r"would delete them\)"),
    Case("train: a --known-column with no known label in any row",
         _parquet("nohistory.parquet", lambda t: t.append_column("history", pa.array([[]] * t.num_rows,
                                                                                     pa.list_(pa.string()))),
                  source="shop_train.parquet"),
         [*TRAIN, "--data", "nohistory.parquet", "--output", "m", "--known-column", "history"],
         r"known_labels: none of the \d+ rows has a known label; expected at least one\. Hint: leave known_labels "
         r"out \(CLI: --known-column\)", "m"),
    Case("scoring: --known-column for a model without known labels",
         _parquet("history.parquet", lambda t: t.append_column("history", pa.array([["camping"]] * 50)),
                  source="shop_score.parquet"),
         ["predict", "--model", "model", "--input", "history.parquet", "--output", "h.parquet", "--known-column",
          "history"], r"model: known_column 'history' given, but the model was not trained with known labels; "
                      r"expected a model trained with --known-column or --known-split\. Hint: pass the column as "
                      r"exclude_column=", "h.parquet"),
    Case("scoring: exclusion lists naming no label of the model",
         _parquet("skus.parquet", lambda t: t.append_column("owned", pa.array([["sku1", "sku2"]] * 50)),
                  source="shop_score.parquet"),
         ["score", "--model", "model", "--input", "skus.parquet", "--output", "recs_skus", "--exclude-column",
          "owned", "--quiet"], r"input: column 'owned' \(--exclude-column\): none of its 100 label names is a label "
                               r"of the model \(first 'sku1'\)", "recs_skus/part-00000-00000.parquet"),
    Case("evaluate: --known-column for a model without known labels", _nothing,
         ["evaluate", "--model", "model", "--data", str(DEMO / "shop_test.parquet"), "--known-column", "history"],
         r"model: --known-column 'history' given, but no model here was trained with known labels"),
    Case("scoring: an empty --label-delimiter", _nothing,
         ["predict", "--model", "model", "--input", str(DEMO / "shop_score.parquet"), "--output", "d.parquet",
          "--label-delimiter", ""],
         r"label_delimiter: got ''; expected a non-empty string\. Hint: check --label-delimiter", "d.parquet"),
    Case("evaluate: report into a model directory", _model_copy("m9", lambda p: None),
         ["evaluate", "--model", "model", "--data", str(DEMO / "shop_test.parquet"), "--output", "m9"],
         r"m9: is a model directory \(it holds a model's manifest\.json\); expected the report outside it"),
    Case("train: --feature-columns naming a saved pandas index", _parquet("indexed.parquet", _with_pandas_index),
         [*TRAIN, "--data", "indexed.parquet", "--output", "m11", "--feature-columns", "age,__index_level_0__"],
         r"indexed\.parquet: feature_columns names '__index_level_0__', the pandas index column; expected feature "
         r"columns only", "m11"),
    Case("predict: an output of unknown format", _nothing,
         ["predict", "--model", "model", "--input", str(DEMO / "shop_score.parquet"), "--output", "recs.txt"],
         r"recs\.txt: unknown output format '\.txt'; expected a file ending in \.parquet, \.csv, \.json, \.jsonl "
         r"\(\.json and \.jsonl: JSON lines\)", "recs.txt"),
    Case("inspect: --label-names without a name column", _write("names.csv", "label,title\ncamping,Camping\n"),
         ["inspect", "--model", "model", "--output", "insp", "--label-names", "names.csv"],
         r"names\.csv: no 'name' column; expected columns label and name \(found \['label', 'title'\]\)", "insp"),
    Case("inspect: --label-names naming a label twice",
         _write("names2.csv", "label,name\ncamping,Camping\ncamping,Tents\n"),
         ["inspect", "--model", "model", "--output", "insp2", "--label-names", "names2.csv"],
         r"names2\.csv: row 1: label 'camping' appears again; expected one name per label", "insp2"),
    Case("model directory holding a file its manifest does not list",
         _model_copy("m10", lambda p: (p / "known_labels.safetensors").write_bytes(b"left from another model")),
         ["inspect", "--model", "m10", "--label", "camping"],
         r"m10/known_labels\.safetensors: is not listed in manifest\.json; expected exactly the files the manifest "
         r"lists"),
    Case("group: an unknown time column", _write("ratings.csv", "user,item,time\nu1,a,1\nu1,b,2\n"),
         ["group", "--items", "ratings.csv", "--id-column", "user", "--time-column", "when", "--holdout-fraction",
          "0.2", "--output", "g.parquet"],
         r"ratings\.csv: no column 'when'; columns are \['user', 'item', 'time'\]\. Hint: check --id-column", "g.parquet"),
    Case("group: a time column of text", _write("ratings_text.csv", "user,item,time\nu1,a,soon\n"),
         ["group", "--items", "ratings_text.csv", "--id-column", "user", "--time-column", "time",
          "--holdout-fraction", "0.2", "--output", "g.parquet"],
         r"ratings_text\.csv: time column 'time' has type string; expected numbers or timestamps", "g.parquet"),
    Case("group: a holdout fraction outside (0, 1)", _write("ratings.csv", "user,item,time\nu1,a,1\nu1,b,2\n"),
         ["group", "--items", "ratings.csv", "--id-column", "user", "--time-column", "time", "--holdout-fraction",
          "1", "--output", "g.parquet"],
         r"argument --holdout-fraction: must be a float in \(0, 1\); got '1'", "g.parquet"),
    Case("group: an item map naming no item of the events", _write("genres.csv", "item,labels\nz,war\n"),
         ["group", "--items", "ratings.csv", "--id-column", "user", "--item-labels", "genres.csv", "--output",
          "g.parquet"],
         r"genres\.csv: none of its 1 items is an item of the events \(first 'z'\); expected the items table's item "
         r"names", "g.parquet"),
    Case("group: --min-weight without --weight-column", _write("ratings.csv", "user,item,time\nu1,a,1\nu1,b,2\n"),
         ["group", "--items", "ratings.csv", "--id-column", "user", "--min-weight", "4", "--output", "g.parquet"],
         r"group: min_weight and weight_column go together; got only min_weight", "g.parquet"),
    Case("split: an ARFF file", _write("split.arff", ARFF_HEADER + "@data\n1,0\n2,1\n"),
         ["split", "--data", "split.arff", "--output-train", "tr.arff", "--output-test", "te.arff"],
         r"split\.arff: split reads and writes CSV or Parquet tables \(writing ARFF is not supported\); expected a "
         r"\.csv or \.parquet file\. Hint:", "tr.arff"),
    Case("split: an output over the input", _write("split.csv", "id,x,labels\n1,2,a\n2,3,b\n"),
         ["split", "--data", "split.csv", "--output-train", "split.csv", "--output-test", "te.csv"],
         r"split\.csv: is also an input of this command \(split\.csv\); expected the split apart from the inputs",
         "te.csv"),
    Case("split: a time column of text", _write("split_t.csv", "id,x,when\n1,2,soon\n2,3,later\n"),
         ["split", "--data", "split_t.csv", "--output-train", "tr.csv", "--output-test", "te.csv", "--time-column",
          "when"], r"split_t\.csv: time column 'when' has type string; expected numbers or timestamps", "te.csv"),
    Case("evaluate: an item-item baseline without known labels", _nothing,
         ["evaluate", "--model", "model", "--data", str(DEMO / "shop_test.parquet"), "--baseline", "popularity,ease",
          "--output", "rep_ease"],
         r"--baseline ease: scores a row from its known labels and the data has none; expected --known-column",
         "rep_ease"),
    Case("evaluate: --ks 0", _nothing,
         ["evaluate", "--model", "model", "--data", str(DEMO / "shop_test.parquet"), "--ks", "5,0"],
         r"argument --ks: must be comma-separated positive integers; got '5,0'"),
    Case("train: --max-categories 0", _nothing,
         [*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", "m", "--max-categories", "0"],
         r"argument --max-categories: must be a positive integer; got '0'", "m"),
    Case("train: a text column like an identifier",
         _parquet("textids.parquet", lambda t: t.append_column("user", pa.array([f"u{row}" for row in range(50)]))),
         [*TRAIN, "--data", "textids.parquet", "--output", "m"],
         r"textids\.parquet: text column 'user' has a different value in each of its 50 rows, like an identifier; "
         r"expected a categorical column \(values shared by rows\)\. Hint: pass it as --id-column", "m"),
    Case("train: a text column without any value",
         _parquet("nojobs.parquet", lambda t: t.append_column("job", pa.array([" "] * 25 + [None] * 25))),
         [*TRAIN, "--data", "nojobs.parquet", "--output", "m"],
         r"nojobs\.parquet: categorical column 'job' holds no value in any row; expected category names", "m"),
]



def prepare(work: Path) -> None:
    """A tiny trained model under ``work/model``, shared by the cases that need one."""
    from gnn_mlc.cli import main

    if not (work / "model").exists():
        assert main([*TRAIN, "--data", str(DEMO / "shop_train.parquet"), "--output", str(work / "model")]) == 0


BEHAVIOURS: tuple[tuple[str, str, str], ...] = (
    ("a label both known and a target of a training row", "counted as known: neither a target nor a negative for "
     "that row", "tests/test_known_labels.py::test_a_label_both_known_and_a_target_counts_as_known"),
    ("a row with an empty history, at scoring", "scored by the network alone, as a model without known labels "
     "scores it", "tests/test_known_labels.py::test_the_term_alone_skips_the_network_and_scores_as_the_rule_says"),
    ("history or exclusion names the model does not know", "ignored, and counted with a warning in the command's "
     "summary (`warning: column 'owned': 2 of 3 label names (66.67%) are not labels of the model, ignored`); an "
     "input whose non-empty lists match no label at all is an error (above)",
     "tests/test_scoring_options.py::test_unknown_list_names_are_counted_and_a_list_of_no_model_label_is_refused"),
    ("NaN or a negative value in a known-label matrix from Python", "one line: `known_labels: contains the value nan; "
     "expected only 0 and 1`, at `fit` and at scoring",
     "tests/test_known_labels.py::test_a_known_matrix_of_other_values_is_one_clear_error"),
    ("a known-label matrix from Python with no known label in any row", "one line, at `fit`: `known_labels: none of "
     "the 900 rows has a known label; expected at least one. Hint: ...`",
     "tests/test_known_labels.py::test_known_labels_with_no_known_label_are_one_clear_error"),
    ("validation rows none of which has both a known label and a target", "nothing to choose the blend on: the term "
     "and the network are added unweighted, with a warning",
     "tests/test_blend.py::test_held_out_rows_without_a_history_and_a_target_add_the_parts_unweighted"),
    ("a log at `add-labels` naming labels the model never saw", "they become new labels, and the known-label term is "
     "refitted with the log's rows, so they are scored from a user's history",
     "tests/test_known_labels.py::test_added_labels_refit_the_term_with_their_log"),
)
"""Edge cases of known labels and histories: (input, what happens, the test that shows it)."""


def write_docs(rows: list[tuple[str, str]]) -> str:
    lines = ["# Errors: the catalogue of bad inputs", "",
             "Every case below is a test (`tests/test_error_catalogue.py`): the command exits with code 2, prints "
             "exactly this one line on stderr, no traceback, and leaves no partial output. Generated by "
             "`python -m tests.error_catalogue`; paths are relative to the directory the command ran in.", "",
             "| case | message |", "|---|---|"]
    lines += [f"| {name} | `{message}` |" for name, message in rows]
    lines += ["", "## Known labels and histories: what each edge case gets", "",
              "Inputs a user may take for mistakes, from Python and the scoring commands alike: most are handled by a "
              "rule, two are refused with one line (the Python form of an error above), each shown by a test.", "",
              "| input | what happens | test |", "|---|---|---|"]
    lines += [f"| {what} | {behaviour} | `{test}` |" for what, behaviour, test in BEHAVIOURS]
    return "\n".join(lines) + "\n"


def main() -> None:
    import contextlib
    import io
    import os
    import tempfile

    from gnn_mlc.cli import main as cli

    work = Path(tempfile.mkdtemp())
    prepare(work)
    rows = []
    previous = os.getcwd()
    os.chdir(work)
    try:
        for case in CASES:
            case.make(work)
            stderr = io.StringIO()
            with contextlib.redirect_stderr(stderr), contextlib.suppress(SystemExit):
                cli(case.argv)
            line = stderr.getvalue().strip().replace(str(work) + "/", "").replace(str(ROOT) + "/", "")
            rows.append((case.name, line.replace("|", "\\|")))
    finally:
        os.chdir(previous)
        shutil.rmtree(work, ignore_errors=True)
    (ROOT / "docs" / "errors.md").write_text(write_docs(rows))
    print(f"wrote docs/errors.md ({len(rows)} cases)", file=sys.stderr)


if __name__ == "__main__":
    main()
