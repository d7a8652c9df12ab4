"""The batch scoring job: stream Parquet/CSV inputs, write top-k recommendations as Parquet shards.

Guarantees:

* **bounded memory**: input is read ``batch_size`` rows at a time (pyarrow record batches, one Parquet row group at
  a time) and every output shard is streamed to disk; nothing grows with the input size;
* **safe to kill and re-run**: each shard (``rows_per_shard`` input rows of one input file) is written to a hidden
  temporary file and renamed into place when whole, its rejects first, so a shard on disk is complete. A re-run
  with the same arguments verifies each finished shard (its footer opens, its metadata names this job, its rows and
  its rejects add up to the input rows it covers) and keeps it, rescores the rest: exactly one output row per valid
  input row. A damaged shard is scored again;
* **the same job or none**: the worker's record (``_jobs/worker-SSSSS.json``) holds the job's arguments and a
  fingerprint of every input file (size, modification time and the Parquet footer's row count and hash, or a CSV's
  SHA-256) and of the model (its manifest's SHA-256). A re-run after the input was regenerated, or the model
  retrained into the same directory, is refused with the difference named (``overwrite`` starts again). Workers of
  one job must agree on the model and every output-shaping argument (``_jobs/job.json``). A lock per worker
  (``_jobs/worker-SSSSS.lock``) refuses a second process for the same worker and output; an output inside the input
  is refused;
* **no silent bad rows**: rows with a missing (null), NaN, infinite or beyond-float32 feature, or no id, are not
  scored; they go, with the id and the reason, to ``_rejects/part-FFFFF-CCCCC.parquet``, beside the results so that
  readers of the output directory (pandas, pyarrow, Spark skip ``_`` and ``.`` names) see only recommendations;
* **ids are kept**: the id column keeps its input name and Arrow type (``output_id_column`` renames it); CSV ids are
  read as text; every file of a job must give the same id column and type; ids must be unique within the worker's
  output (checked at the end, over the finished shards);
* **shardable**: ``shard_index``/``num_shards`` give each worker the input files ``i`` with
  ``i % num_shards == shard_index``; workers can share one output directory. Each worker writes
  ``_jobs/worker-SSSSS.done.json`` with its totals over all its shards (resumed ones included), and the worker that
  completes the set writes the one ``_SUCCESS`` of the job, with the job's total rows.

Output layout: ``part-FFFFF-CCCCC.parquet`` (input file F, chunk C; metadata: ``gnn_mlc.job``, ``gnn_mlc.model``,
``gnn_mlc.input_rows``, ``gnn_mlc.rejected_rows``), ``_rejects/``, ``_jobs/``, ``_SUCCESS``.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from gnn_mlc.data.files import is_hidden
from gnn_mlc.data.tabular import check_id_type, csv_convert_options
from gnn_mlc.errors import DataError, GnnMlcError
from gnn_mlc.outputs import atomic_path, ensure_writable_directory, write_json
from gnn_mlc.serving.options import ScoringOptions
from gnn_mlc.serving.scorer import Scorer, check_unique_ids

_INPUT_SUFFIXES = (".parquet", ".pq", ".csv")
JOBS, REJECTS, SUCCESS = "_jobs", "_rejects", "_SUCCESS"
_META = "gnn_mlc."


@dataclass(frozen=True)
class JobSummary:
    """What a scoring run did: rows scored and rejected, shards written and skipped (this run), time, and the
    worker's totals over all its shards."""

    rows_scored: int
    rows_rejected: int
    shards_written: int
    shards_skipped: int
    seconds: float
    output: str
    already_complete: bool = False
    total_rows_scored: int = 0
    total_rows_rejected: int = 0
    items: str = ""
    """The scorer's :meth:`~gnn_mlc.serving.Scorer.report` over the rows this run scored, or ``""``."""

    @property
    def rows_per_second(self) -> float:
        return self.rows_scored / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        if self.already_complete:
            return f"nothing to do: {self.output} is already complete (use --overwrite to score again)"
        return (f"scored {self.rows_scored} rows ({self.rows_rejected} rejected) in {self.seconds:.1f} s, "
                f"{self.rows_per_second:,.0f} rows/s; {self.shards_written} shards written, {self.shards_skipped} "
                f"already there -> {self.output}" + (f"\n{self.items}" if self.items else ""))


def input_files(path: str | Path) -> list[Path]:
    """The input files of ``path``: a file, a directory (its Parquet/CSV files, recursively) or a glob; sorted.

    Below a directory, or below a glob's fixed leading folders, names starting with ``.`` or ``_`` are skipped
    (:mod:`gnn_mlc.data.files`: Spark's ``_SUCCESS``, ``_temporary/``, ``.crc`` files), as Spark and pyarrow do.
    """
    path = Path(path)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = [p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in _INPUT_SUFFIXES
                 and not is_hidden(p, under=path)]
    else:
        root = Path(*itertools.takewhile(lambda part: not glob.has_magic(part), path.parts))
        files = [Path(p) for p in sorted(glob.glob(str(path), recursive=True))
                 if Path(p).is_file() and not is_hidden(Path(p), under=root)]
    if not files:
        raise DataError(f"{path}: no input found; expected a Parquet/CSV file, a directory of them, or a glob")
    unknown = [file for file in files if file.suffix.lower() not in _INPUT_SUFFIXES]
    if unknown:
        raise DataError(f"{unknown[0]}: unknown input format; expected .parquet or .csv")
    return files


def run_scoring_job(
    model: str | Path,
    input_path: str | Path,
    output: str | Path,
    *,
    options: ScoringOptions | None = None,
    batch_size: int = 65536,
    rows_per_shard: int = 1_000_000,
    overwrite: bool = False,
    shard_index: int = 0,
    num_shards: int = 1,
    progress: bool = True,
    **keywords: Any,
) -> JobSummary:
    """Score every row of ``input_path`` with the model in ``model`` into Parquet shards under ``output``.

    See the module docstring for the guarantees and the layout. ``options`` are the scoring options
    (:class:`~gnn_mlc.serving.ScoringOptions`, as for :class:`~gnn_mlc.serving.Scorer`; the job's record holds
    them all but the device), or ``**keywords`` the same as keywords. Raises
    :class:`~gnn_mlc.errors.GnnMlcError` subclasses with one-line messages for bad arguments, inputs and output
    directories, before anything is written where it can.
    """
    for name, value in (("batch_size", batch_size), ("rows_per_shard", rows_per_shard), ("num_shards", num_shards)):
        if value < 1:
            raise GnnMlcError(f"{name}: got {value}; expected a positive integer")
    if not 0 <= shard_index < num_shards:
        raise GnnMlcError(f"shard_index: got {shard_index}; expected 0 <= shard_index < num_shards ({num_shards})")
    start = time.perf_counter()
    output = Path(output)
    files = input_files(input_path)
    _refuse_output_inside_input(output, input_path, files)
    mine = [(index, file) for index, file in enumerate(files) if index % num_shards == shard_index]
    scorer = Scorer(model, options, **keywords)
    id_field = _id_field(scorer, mine)
    job = {"model": str(Path(model).resolve()), "model_digest": scorer.model_digest, "id_field": id_field,
           **scorer.options.job_record(), "label_delimiter": scorer.label_delimiter,
           "rows_per_shard": rows_per_shard, "num_shards": num_shards}
    job_digest = hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()[:16]
    worker = {"job": job, "shard_index": shard_index, "inputs": [_fingerprint(file) for _, file in mine]}
    ensure_writable_directory(output / JOBS, what="the recommendations")
    with _worker_lock(output, shard_index):
        done_file = output / JOBS / f"worker-{shard_index:05d}.done.json"
        _prepare_output(output, job, worker, shard_index, [index for index, _ in mine], overwrite)
        if done_file.exists():
            return JobSummary(0, 0, 0, 0, time.perf_counter() - start, str(output), already_complete=True)
        total = sum(_parquet_rows(file) or 0 for _, file in mine)
        bar = tqdm(total=total or None, unit="rows", unit_scale=True, desc="scoring", disable=not progress,
                   mininterval=1.0)
        scored = rejected = written = skipped = 0
        try:
            for file_index, file in mine:
                offset = _row_offset(files, file_index) if scorer.resolve_id_column(_column_names(file)) is None \
                    else 0
                for chunk, numbered in groupby(_numbered_batches(file, scorer, batch_size, rows_per_shard),
                                               key=itemgetter(0)):
                    batches = (batch for _, batch in numbered)
                    name = f"part-{file_index:05d}-{chunk:05d}.parquet"
                    if _finished(output / name, output / REJECTS / name, job_digest):
                        skipped += 1
                        bar.update(sum(batch.num_rows for batch in batches))  # consume the chunk unscored
                        continue
                    counts = _write_shard(scorer, batches, output / name, output / REJECTS / name, bar,
                                          row_offset=offset + chunk * rows_per_shard,
                                          metadata={"job": job_digest, "model": scorer.model_digest})
                    scored, rejected, written = scored + counts[0], rejected + counts[1], written + 1
        finally:
            bar.close()
        totals = _worker_totals(output, [index for index, _ in mine], scorer)
        summary = JobSummary(scored, rejected, written, skipped, time.perf_counter() - start, str(output),
                             total_rows_scored=totals[0], total_rows_rejected=totals[1],
                             items=scorer.report())
        write_json(done_file, {**asdict(summary), "rows_per_second": summary.rows_per_second})
        _write_success_when_all_done(output, num_shards)
    return summary


def _refuse_output_inside_input(output: Path, input_path: str | Path, files: list[Path]) -> None:
    """Scoring into the input would make the next run read its own output (and --overwrite delete it)."""
    resolved = output.resolve()
    roots = [Path(input_path).resolve()] if Path(input_path).is_dir() else []
    inside = [root for root in roots if resolved == root or root in resolved.parents]
    inside += [file for file in files if resolved in file.resolve().parents]
    if inside:
        raise GnnMlcError(f"{output}: is inside the input {inside[0]}; expected an output directory apart from the "
                          "input. Hint: choose another --output")


def _id_field(scorer: Scorer, mine: list[tuple[int, Path]]) -> str | None:
    """The id column and Arrow type every file of this worker gives, as ``name: type`` (one per job)."""
    fields = set()
    for _, file in mine:
        schema = _schema(file, scorer)
        scorer.check_columns(schema.names, source=str(file))
        column = scorer.resolve_id_column(schema.names)
        if column is not None:
            check_id_type(schema.field(column).type, column, source=str(file))
        fields.add("row: int64" if column is None else f"{column}: {schema.field(column).type}")
    if len(fields) > 1:
        raise DataError(f"input: the files give different id columns or types ({', '.join(sorted(fields))}); "
                        "expected one id column and type for the whole job. Hint: cast the ids, or pass --id-column")
    return next(iter(fields), None)


@contextlib.contextmanager
def _worker_lock(output: Path, shard_index: int) -> Iterator[None]:
    """An exclusive lock on this worker's part of ``output`` for the run (released when the process dies)."""
    path = output / JOBS / f"worker-{shard_index:05d}.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GnnMlcError(f"{output}: another process is scoring worker {shard_index} into it; expected one "
                              "process per worker and output. Hint: wait for it, or choose another --output") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prepare_output(output: Path, job: dict[str, Any], worker: dict[str, Any], shard_index: int,
                    file_indexes: list[int], overwrite: bool) -> None:
    """Check (or, with ``overwrite``, clear) what this worker wrote before, and record the job."""
    jobs = output / JOBS
    worker_file, done_file = jobs / f"worker-{shard_index:05d}.json", jobs / f"worker-{shard_index:05d}.done.json"
    for file_index in file_indexes:  # temporary shards of a killed run (this worker's, under its lock)
        for stale in [*output.glob(f".part-{file_index:05d}-*.tmp"),
                      *(output / REJECTS).glob(f".part-{file_index:05d}-*.tmp")]:
            stale.unlink(missing_ok=True)
    if overwrite:
        for file_index in file_indexes:
            for old in [*output.glob(f"part-{file_index:05d}-*.parquet"),
                        *(output / REJECTS).glob(f"part-{file_index:05d}-*.parquet")]:
                old.unlink()
        for old in (worker_file, done_file, output / SUCCESS):
            old.unlink(missing_ok=True)
        if not any(jobs.glob("worker-*.json")):
            (jobs / "job.json").unlink(missing_ok=True)
    elif worker_file.exists():
        previous = _read_json(worker_file, {"job": dict, "inputs": list})
        _refuse_changes(output, previous["job"], job, "another job")
        if previous["inputs"] != worker["inputs"]:
            changed = [entry["path"] for entry, old in zip(worker["inputs"], previous["inputs"])
                       if entry != old] or ["the list of input files"]
            raise GnnMlcError(f"{output}: its input changed since the job started ({changed[0]}); expected the same "
                              "input to resume. Hint: use --overwrite to score the new input from the start")
    if (jobs / "job.json").exists():  # another worker of the same job started first
        _refuse_changes(output, _read_json(jobs / "job.json"), job, "a worker of another job")
    else:
        write_json(jobs / "job.json", job)
    write_json(worker_file, worker)


def _refuse_changes(output: Path, previous: dict[str, Any], job: dict[str, Any], whose: str) -> None:
    """Refuse a job whose arguments differ from ``previous`` (a worker with no input file has no ``id_field``)."""
    changed = sorted(key for key in set(job) | set(previous) if previous.get(key) != job.get(key)
                     and not (key == "id_field" and None in (previous.get(key), job.get(key))))
    if changed:
        what = "model (retrained or replaced)" if "model_digest" in changed else ", ".join(changed)
        raise GnnMlcError(
            f"{output}: holds the output of {whose} (different {what}); expected the same model and arguments to "
            "resume. Hint: use --overwrite to start again, or another --output"
        )


def _fingerprint(file: Path) -> dict[str, Any]:
    """Size, modification time, and the Parquet footer's row count and hash or the CSV's SHA-256."""
    stat = file.stat()
    entry: dict[str, Any] = {"path": str(file.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if file.suffix.lower() == ".csv":
        digest = hashlib.sha256()
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        entry["sha256"] = digest.hexdigest()
    else:
        metadata = _parquet_file(file).metadata
        entry["rows"] = metadata.num_rows
        entry["footer_sha256"] = hashlib.sha256(metadata.to_dict().__repr__().encode()).hexdigest()
    return entry


def _finished(part: Path, rejects: Path, job_digest: str) -> bool:
    """Whether ``part`` is a whole shard of this job: its footer opens, its metadata names the job, and its rows
    plus its rejects' rows are the input rows it covers. A damaged shard is removed (and scored again)."""
    if not part.exists():
        return False
    try:
        metadata = pq.ParquetFile(part).metadata
        meta = {key.decode(): value.decode() for key, value in (metadata.metadata or {}).items()}
        rejected = pq.ParquetFile(rejects).metadata.num_rows if rejects.exists() else 0
        whole = (meta.get(_META + "job") == job_digest
                 and metadata.num_rows + rejected == int(meta.get(_META + "input_rows", -1))
                 and rejected == int(meta.get(_META + "rejected_rows", -1)))
    except (pa.ArrowInvalid, OSError, ValueError):
        whole = False
    if not whole:
        part.unlink()
        rejects.unlink(missing_ok=True)
    return whole


def _schema(file: Path, scorer: Scorer) -> pa.Schema:
    """An input file's schema as the job reads it (CSV: ids as text, features as float64), from its header or
    footer only."""
    try:
        if file.suffix.lower() == ".csv":
            return _open_csv(file, scorer).schema
        return _parquet_file(file).schema_arrow
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{file}: cannot be read ({str(error).splitlines()[0]})") from None


def _column_names(file: Path) -> list[str]:
    if file.suffix.lower() == ".csv":
        with pa_csv.open_csv(file) as reader:
            return reader.schema.names
    return _parquet_file(file).schema_arrow.names


def _open_csv(file: Path, scorer: Scorer) -> pa_csv.CSVStreamingReader:
    header = pa_csv.open_csv(file).schema.names
    text = [name for name in (scorer.resolve_id_column(header), scorer.options.exclude_column,
                              scorer.options.known_column, *scorer.text_columns) if name and name in header]
    return pa_csv.open_csv(file, read_options=pa_csv.ReadOptions(block_size=1 << 22),
                           convert_options=csv_convert_options(text, scorer.numeric_columns))


def _parquet_file(file: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(file)
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{file}: cannot be read as Parquet ({str(error).splitlines()[0]})") from None


def _parquet_rows(file: Path) -> int | None:
    return None if file.suffix.lower() == ".csv" else _parquet_file(file).metadata.num_rows


def _row_offset(files: list[Path], file_index: int) -> int:
    """The position of a file's first row in the whole input (ids when the input has no id column)."""
    offset = 0
    for file in files[:file_index]:
        rows = _parquet_rows(file)
        if rows is None:
            with pa_csv.open_csv(file) as reader:
                rows = sum(batch.num_rows for batch in reader)
        offset += rows
    return offset


def _batches(file: Path, scorer: Scorer, batch_size: int) -> Iterator[pa.RecordBatch]:
    try:
        if file.suffix.lower() == ".csv":
            for batch in _open_csv(file, scorer):
                for start in range(0, batch.num_rows, batch_size):
                    yield batch.slice(start, batch_size)
        else:
            # One iterator per row group: a single iter_batches over the whole file keeps decoded buffers alive
            # (Arrow's allocation grew with the file, +340 MB over 2M rows), this stays flat.
            parquet = _parquet_file(file)
            for row_group in range(parquet.num_row_groups):
                yield from parquet.iter_batches(batch_size=batch_size, row_groups=[row_group])
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{file}: cannot be read ({str(error).splitlines()[0]})") from None


def _numbered_batches(file: Path, scorer: Scorer, batch_size: int,
                      rows_per_shard: int) -> Iterator[tuple[int, pa.RecordBatch]]:
    """Stream ``file`` as (chunk index, batch) pairs; chunk c holds input rows [c, c + 1) * rows_per_shard, and a
    batch that straddles a chunk boundary is sliced there (slices are zero-copy)."""
    position = 0
    for batch in _batches(file, scorer, batch_size):
        while batch.num_rows:
            chunk = position // rows_per_shard
            piece = batch.slice(0, (chunk + 1) * rows_per_shard - position)
            yield chunk, piece
            position += piece.num_rows
            batch = batch.slice(piece.num_rows)


def _write_shard(scorer: Scorer, batches: Iterator[pa.RecordBatch], part: Path, rejects: Path, bar: tqdm, *,
                 row_offset: int, metadata: dict[str, str]) -> tuple[int, int]:
    """Score ``batches`` into ``part``, its rejected rows into ``rejects`` first; each renamed into place when whole.

    Raises:
        DataError: an id appears twice in the shard.
    """
    scored = rejected = input_rows = 0
    rejected_tables = []
    with atomic_path(part) as temporary:
        writer = None
        try:
            for batch in batches:
                table, bad = scorer.score_table(batch, row_offset=row_offset)
                row_offset += batch.num_rows
                if writer is None:
                    schema = table.schema.with_metadata({_META + key: value for key, value in metadata.items()})
                    writer = pq.ParquetWriter(temporary, schema)
                writer.write_table(table.replace_schema_metadata(writer.schema.metadata))
                scored, input_rows = scored + table.num_rows, input_rows + batch.num_rows
                if bad.num_rows:
                    rejected_tables.append(bad)
                    rejected += bad.num_rows
                bar.update(batch.num_rows)
            if writer is not None:
                writer.add_key_value_metadata({_META + "input_rows": str(input_rows),
                                               _META + "rejected_rows": str(rejected)})
        finally:
            if writer is not None:
                writer.close()
        check_unique_ids(_id_column(temporary), part)
        if rejected_tables:
            with atomic_path(rejects) as rejects_temporary:
                pq.write_table(pa.concat_tables(rejected_tables), rejects_temporary)
        else:
            rejects.unlink(missing_ok=True)
    return scored, rejected


def _id_column(part: Path) -> pa.ChunkedArray:
    """The id column (the first) of a shard, read alone."""
    parquet = pq.ParquetFile(part)
    return parquet.read(columns=[parquet.schema_arrow.names[0]]).column(0)


def _worker_totals(output: Path, file_indexes: list[int], scorer: Scorer) -> tuple[int, int]:
    """Rows scored and rejected over all of this worker's shards; checks its ids are unique across them."""
    parts = sorted(part for file_index in file_indexes for part in output.glob(f"part-{file_index:05d}-*.parquet"))
    rejects = [output / REJECTS / part.name for part in parts if (output / REJECTS / part.name).exists()]
    if len(parts) > 1:
        check_unique_ids(pa.chunked_array([chunk for part in parts for chunk in _id_column(part).chunks]), output)
    return (sum(pq.ParquetFile(part).metadata.num_rows for part in parts),
            sum(pq.ParquetFile(part).metadata.num_rows for part in rejects))


def _write_success_when_all_done(output: Path, num_shards: int) -> None:
    """The worker that completes the set writes the job's one ``_SUCCESS``, with the job's totals."""
    done = [output / JOBS / f"worker-{index:05d}.done.json" for index in range(num_shards)]
    if all(file.exists() for file in done):
        summaries = [_read_json(file, {"total_rows_scored": int, "total_rows_rejected": int}) for file in done]
        write_json(output / SUCCESS, {
            "workers": num_shards,
            "rows_scored": sum(summary["total_rows_scored"] for summary in summaries),
            "rows_rejected": sum(summary["total_rows_rejected"] for summary in summaries),
        })


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type (``5`` -> ``"number"``)."""
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    return names.get(type(value), "null")


def _read_json(path: Path, fields: dict[str, type] | None = None) -> dict[str, Any]:
    """A job record: a JSON object with ``fields`` (name -> type) among its keys.

    Raises:
        GnnMlcError: the file cannot be read or parsed, is not an object, or lacks a field or has it of another type
            (a record edited or written by something else): one line with the way out.
    """
    try:
        value = json.loads(path.read_text())
        reason = None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        value, reason = None, str(error).splitlines()[0]
    if reason is None and not isinstance(value, dict):
        reason = f"a JSON {_json_type(value)}, not an object"
    for name, kind in (fields or {}).items():
        if reason is None and not isinstance(value.get(name), kind):
            found = "absent" if name not in value else f"a JSON {_json_type(value[name])}"
            reason = f"field {name!r} is {found}, not {_json_type(kind())}"
    if reason is not None:
        raise GnnMlcError(f"{path}: unreadable job record ({reason}); expected the JSON a scoring job writes. Hint: "
                          "use --overwrite to start the job again, or another --output")
    return value
