"""``gnn-mlc predict``: the scoring path run over one file, written as one Parquet or CSV file.

The same :class:`~gnn_mlc.serving.Scorer` as the batch job, so ``predict`` and ``score`` give the same rows for the
same input: the same ranking, the same id column rule, the same rejection of rows with bad features (written beside
the output as ``<name>.rejects.<suffix>``). ARFF and XC/svmlight input is read whole (sparse rows stay sparse); an
XC/svmlight row with a NaN, infinite or beyond-float32 value goes to the rejects like a table's (the ARFF reader
refuses such a file, naming its line).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from gnn_mlc._typing import Matrix
from gnn_mlc.data import is_table, read_dataset, read_table
from gnn_mlc.data.tabular import check_id_type
from gnn_mlc.errors import DataError
from gnn_mlc.serving.options import ScoringOptions
from gnn_mlc.serving.scorer import ROW_ID, Scorer, check_unique_ids
from gnn_mlc.serving.topk import write_table


@dataclass(frozen=True)
class PredictSummary:
    """What a ``predict`` run wrote: rows scored, rows rejected (and where), labels per row."""

    rows_scored: int
    rows_rejected: int
    top_k: int
    output: Path
    rejects: Path | None
    items: str = ""
    """The scorer's :meth:`~gnn_mlc.serving.Scorer.report` (items outside the vocabulary, categories outside the
    training ones, label-list names the model does not know), or ``""``."""

    def line(self) -> str:
        text = f"wrote the top {self.top_k} labels of {self.rows_scored} rows to {self.output}"
        if self.rejects is not None:
            text += f"; {self.rows_rejected} rows with bad features rejected -> {self.rejects}"
        return text + (f"\n{self.items}" if self.items else "")


def rejects_path(output: Path) -> Path:
    """Where ``predict`` writes the rows it could not score: ``recs.parquet`` -> ``recs.rejects.parquet``."""
    return output.with_name(f"{output.stem}.rejects{output.suffix}")


def predict_file(
    model: str | Path,
    input_path: str | Path,
    output: str | Path,
    *,
    labels: str | Path | None = None,
    options: ScoringOptions | None = None,
    **keywords: Any,
) -> PredictSummary:
    """Score every row of ``input_path`` (ARFF, CSV or Parquet) and write the top-k table to ``output``.

    Args:
        model: the model directory.
        input_path: the rows to score.
        output: ``.parquet`` or ``.csv`` file (written atomically).
        labels: ARFF only: the label XML (the label attributes are not features).
        options: the scoring options (:class:`~gnn_mlc.serving.ScoringOptions`), as for
            :class:`~gnn_mlc.serving.Scorer`.
        **keywords: the same options as keywords, when ``options`` is not given.

    ARFF and XC/svmlight files (:func:`~gnn_mlc.data.read_dataset`) are read whole; tables are read as the scoring
    job reads them.

    Raises:
        GnnMlcError: a bad model, input or output, with a one-line message; nothing is written then.
    """
    input_path, output = Path(input_path), Path(output)
    scorer = Scorer(model, options, **keywords)
    if not is_table(input_path):
        scored, rejected = _score_dataset(scorer, input_path, labels)
    else:
        table = read_table(input_path, string_columns=_text_columns(scorer),
                           float_columns=scorer.numeric_columns)
        id_column = scorer.resolve_id_column(table.column_names)
        if id_column is not None:
            check_id_type(table.schema.field(id_column).type, id_column, source=str(input_path))
        scored, rejected = scorer.score_table(table)
        check_unique_ids(scored.column(0), input_path)
    rejects = rejects_path(output) if rejected.num_rows else None
    write_table(scored, output)
    if rejects is not None:
        write_table(rejected, rejects)
    else:
        rejects_path(output).unlink(missing_ok=True)  # a previous run's rejects would describe other rows
    return PredictSummary(scored.num_rows, rejected.num_rows, scorer.top_k, output, rejects, scorer.report())


def _text_columns(scorer: Scorer) -> list[str]:
    """Columns CSV reads as strings, not type-guessed: those that may be the id (``007`` and ``7`` stay two users),
    the label-list columns, the categorical and item columns (a first block of numeric values does not make them
    ints)."""
    options = scorer.options
    return [name for name in (options.id_column, scorer.training_id_column, "id", options.exclude_column,
                              options.known_column, *scorer.text_columns) if name]



def _score_dataset(scorer: Scorer, path: Path, labels: str | Path | None) -> tuple[pa.Table, pa.Table]:
    """Score an ARFF or XC/svmlight file, read whole, its features matched to the model's by name."""
    data = read_dataset(path, labels=labels)
    X = data.features_as(scorer.feature_names)
    for flag, column in (("--id-column", scorer.options.id_column), ("--exclude-column", scorer.options.exclude_column),
                         ("--known-column", scorer.options.known_column)):
        if column is not None:
            raise DataError(f"{path}: {flag} {column!r} does not apply to ARFF or XC files; expected a CSV/Parquet "
                            "input for it (ARFF/XC ids are a string or identifier attribute, else the row position)")
    id_name, ids = ("id", pa.array(data.ids.astype(str))) if data.ids is not None else (
        ROW_ID, pa.array(np.arange(data.num_rows, dtype=np.int64)))
    reasons = _non_finite_reasons(X, scorer.feature_names)
    good = np.flatnonzero(reasons == "")
    scored, overflow = scorer.score_features(ids.take(pa.array(good)), X[good], id_name=id_name)
    reasons[good] = overflow
    bad = np.flatnonzero(reasons != "")
    return scored, pa.table({id_name: ids.take(pa.array(bad)), "reason": pa.array(reasons[bad].tolist(), pa.string())})


def _non_finite_reasons(X: Matrix, feature_names: list[str]) -> np.ndarray:
    """(rows,) reasons, ``""`` for a row whose features are all finite, else its first bad feature and what is wrong
    (as the Scorer words a table's: ``"f3: missing or NaN"``); float32 has turned a value beyond its range into an
    infinity, so those two read alike."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        positions = np.flatnonzero(~np.isfinite(X.data))
        rows = np.searchsorted(X.indptr, positions, side="right") - 1
        columns, values = X.indices[positions], X.data[positions]
    else:
        rows, columns = np.nonzero(~np.isfinite(X))
        values = X[rows, columns]
    reasons = np.full(X.shape[0], "", dtype=object)
    rows, first = np.unique(rows, return_index=True)  # row-major order: each row's first bad feature
    for row, column, value in zip(rows, columns[first], values[first]):
        kind = "missing or NaN" if np.isnan(value) else "infinite or beyond the float32 range"
        reasons[row] = f"{feature_names[column]}: {kind}"
    return reasons
