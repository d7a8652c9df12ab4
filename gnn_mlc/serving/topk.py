"""Top-k recommendations: the k best-scored labels per row, as arrays and as an Arrow table written to CSV/Parquet.

The one ranking rule of every recommendation output (``predict``, ``score``, :class:`~gnn_mlc.serving.Scorer`):
labels are ranked by their logit ``h . W[label] + b[label]`` (the same order as the probability, without its
float32 saturation near 1), and the scores written are the sigmoid of the kept logits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import torch
from torch import Tensor

from gnn_mlc.errors import GnnMlcError
from gnn_mlc.outputs import atomic_path


def top_k_labels(y_score: Tensor | np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best labels of each row, best first.

    Args:
        y_score: (rows, num_labels) scores or logits.
        k: labels per row; capped at ``num_labels``.

    Returns:
        ``indices`` (rows, k) int64 and ``scores`` (rows, k) float32, the scores as given.
    """
    if k < 1:
        raise GnnMlcError(f"k: got {k}; expected a positive integer")
    scores, indices = torch.topk(torch.as_tensor(y_score, dtype=torch.float32), min(k, y_score.shape[1]), dim=1)
    return indices.cpu().numpy(), scores.cpu().numpy()


def recommendations_table(
    ids: Sequence | np.ndarray | pa.Array | pa.ChunkedArray,
    label_names: Sequence[str] | pa.Array,
    indices: np.ndarray,
    scores: np.ndarray,
    *,
    id_name: str = "id",
    keep: np.ndarray | None = None,
) -> pa.Table:
    """Arrow table with the id column ``id_name``, ``labels`` (list<string>, best first) and ``scores``
    (list<float32>), from the (rows, k) label ``indices`` and ``scores`` of :func:`top_k_labels`; with ``keep``
    (rows, k) bool, only the kept entries (the lists then differ in length). ``label_names`` may be an Arrow string
    array already (a scorer builds it once, not per batch)."""
    rows, k = indices.shape
    if keep is None:
        offsets = pa.array(np.arange(0, rows * k + 1, k, dtype=np.int32))
        indices, scores = indices.ravel(), scores.ravel()
    else:
        offsets = pa.array(np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int32))
        indices, scores = indices[keep], scores[keep]
    # Arrow's take builds the string column in C++; going through Python str objects was the slowest step.
    vocabulary = label_names if isinstance(label_names, pa.Array) else pa.array(list(label_names), pa.string())
    names = vocabulary.take(pa.array(indices))
    return pa.table({
        id_name: ids if isinstance(ids, (pa.Array, pa.ChunkedArray)) else pa.array(ids),
        "labels": pa.ListArray.from_arrays(offsets, names),
        "scores": pa.ListArray.from_arrays(offsets, pa.array(scores.astype(np.float32, copy=False))),
    })


TABLE_FORMATS = {".parquet": "Parquet", ".csv": "CSV", ".json": "JSON lines", ".jsonl": "JSON lines"}
"""The output formats of :func:`write_table`, by file suffix."""


def write_table(table: pa.Table, path: str | Path) -> None:
    """Write ``table`` atomically in the format its suffix names: ``.parquet``; ``.csv`` (list columns joined with
    ``|``; label names never contain ``|``, see :func:`~gnn_mlc.data.dataset.invalid_label_character`); ``.json``
    or ``.jsonl``: JSON lines, one object per row with lists as JSON arrays.

    Raises:
        GnnMlcError: any other suffix (checked before anything is written).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise GnnMlcError(f"{path}: unknown output format {path.suffix or '(no suffix)'!r}; expected a file ending in "
                          f"{', '.join(TABLE_FORMATS)} (.json and .jsonl: JSON lines). Hint: choose another --output")
    with atomic_path(path) as temporary:
        if suffix == ".csv":
            pa_csv.write_csv(_flatten_lists(table), temporary)
        elif suffix == ".parquet":
            pq.write_table(table, temporary)
        else:
            with open(temporary, "w", encoding="utf-8") as handle:
                for batch in table.to_batches(max_chunksize=65536):
                    handle.writelines(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n"
                                      for row in batch.to_pylist())


def _flatten_lists(table: pa.Table) -> pa.Table:
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_list(column.type):
            column = pa.array(
                ["|".join(f"{value:.6g}" if isinstance(value, float) else str(value) for value in values)
                 for values in column.to_pylist()],
                type=pa.string(),
            )
        columns[name] = column
    return pa.table(columns)
