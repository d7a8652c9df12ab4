"""``Scorer``: a loaded model that turns a batch of feature columns into top-k recommendations.

It is the unit every execution engine wraps: the local ``gnn-mlc score`` job, Ray Data's ``map_batches``, Spark's
``mapInPandas``. The model is loaded once per ``Scorer``; the label embeddings ``W`` are read precomputed from the
model directory and the feature scaling is folded into the encoder's first layer, so scoring a batch is: encoder
pass, one matmul ``h W^T + b``, a top-k, and a sigmoid on the k kept logits only (the ranking of logits and
probabilities is the same).

Rows whose features are missing (null), NaN or infinite are never scored: they come back separately with their id
and the reason, and the job writes them to a rejects file.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from gnn_mlc.choices import DEFAULT_ID_COLUMN
from gnn_mlc.data.tabular import check_numeric_column
from gnn_mlc.errors import DataError, GnnMlcError
from gnn_mlc.model_directory import load_model
from gnn_mlc.model import MLPEncoder, score_logits
from gnn_mlc.preprocessing import FeatureScaler
from gnn_mlc.recommend import recommendations_table
from gnn_mlc.train import resolve_device

Batch = pa.RecordBatch | pa.Table | Mapping[str, Any]


class Scorer:
    """Score batches of rows with a saved model.

    Args:
        model: the model directory.
        top_k: labels per row in the output (capped at the number of labels).
        id_column: the input column copied to the output ``id`` column.
        with_labels: also output ``predicted``, the labels the model's decision rule gives (list<string>).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Calling it on a batch (an Arrow record batch or table, a dict of column arrays as Ray Data passes them, or a
    pandas DataFrame) returns an Arrow table with one row per input row, in input order: ``id``, ``labels``
    (list<string>, best first), ``scores`` (list<float32>), ``predicted`` with ``with_labels``, and ``reason``: null
    for a scored row, the reason (``"age: missing or NaN"``) for a row with bad features, whose lists are empty. So an
    engine never loses a row silently; filter on ``reason`` to split the rejects off. :meth:`score_table` returns
    the two parts separately.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        top_k: int = 10,
        id_column: str = DEFAULT_ID_COLUMN,
        with_labels: bool = False,
        device: str = "cpu",
    ) -> None:
        if top_k < 1:
            raise GnnMlcError(f"top_k: got {top_k}; expected a positive integer")
        classifier = load_model(model)
        names = getattr(classifier, "feature_names_in_", None)
        if names is None:
            raise GnnMlcError(f"{model}: the model has no feature names; expected a model trained from a file")
        self.device = resolve_device(device)
        self.feature_names = [str(name) for name in names]
        self.label_names = np.asarray([str(name) for name in classifier.classes_], dtype=object)
        self.top_k = min(top_k, len(self.label_names))
        self.id_column = id_column
        self.with_labels = with_labels
        self.decision_rule = classifier.decision_rule_
        # Dense-trained models get the scaling folded into the first layer; row normalisation (sparse-trained
        # models) cannot be folded, so those rows go through the scaler.
        self.scaler = classifier.scaler_ if classifier.scaler_.row_norm > 0 else None
        encoder = classifier.model_.encoder
        self.encoder = (encoder if self.scaler else _fold_scaler(encoder, classifier.scaler_)).to(self.device).eval()
        embeddings = np.load(Path(model) / "label_embeddings.npy", allow_pickle=False)
        self.label_embeddings = torch.from_numpy(embeddings).to(self.device)
        self.bias = classifier.model_.bias.detach().to(self.device)

    def __call__(self, batch: Batch) -> pa.Table:
        table = _as_table(batch)
        scored, reasons = self._score_valid_rows(table)
        valid = reasons == ""
        if valid.all():
            return scored.append_column("reason", pa.nulls(table.num_rows, pa.string()))
        # One row per input row, in input order: scored rows where valid, empty lists and the reason elsewhere.
        position = np.where(valid, np.cumsum(valid) - 1, scored.num_rows)  # bad rows point at an appended empty row
        empty = {name: pa.array([[]], scored.schema.field(name).type) for name in scored.column_names if name != "id"}
        padded = pa.concat_tables([scored, pa.table({"id": pa.nulls(1, scored.schema.field("id").type), **empty},
                                                    schema=scored.schema)])
        result = padded.take(pa.array(position))
        result = result.set_column(0, "id", table.column(self.id_column))
        return result.append_column("reason", pa.array(np.where(valid, None, reasons).tolist(), pa.string()))

    def score_table(self, table: pa.Table | pa.RecordBatch) -> tuple[pa.Table, pa.Table]:
        """Score every valid row of ``table``.

        Returns:
            ``(scored, rejected)``: ``scored`` has ``id``, ``labels``, ``scores`` (and ``predicted``), one row per
            valid input row in input order; ``rejected`` has ``id`` and ``reason`` for rows with bad features.
        """
        table = _as_table(table)
        scored, reasons = self._score_valid_rows(table)
        bad = np.flatnonzero(reasons != "")
        rejected = pa.table({"id": table.column(self.id_column).take(pa.array(bad)),
                             "reason": pa.array(reasons[bad].tolist(), pa.string())})
        return scored, rejected

    def _score_valid_rows(self, table: pa.Table) -> tuple[pa.Table, np.ndarray]:
        """The scored table of the valid rows, and (rows,) reasons ("" for a valid row)."""
        missing = [name for name in self.feature_names if name not in table.column_names]
        if missing:
            extra = [name for name in table.column_names if name not in self.feature_names and name != self.id_column]
            raise DataError(
                f"input: {len(missing)} of the model's {len(self.feature_names)} feature columns are missing, first "
                f"{missing[0]!r}" + (f"; columns the model does not know: {extra[:5]}" if extra else "")
                + ". Hint: score data with the training data's feature columns"
            )
        if self.id_column not in table.column_names:
            raise DataError(
                f"input: no id column {self.id_column!r}; expected one of {table.column_names[:10]}. "
                "Hint: pass --id-column"
            )
        features, reasons = self._features(table)
        ids = table.column(self.id_column)
        if (reasons != "").any():
            good = np.flatnonzero(reasons == "")
            features, ids = features[good], ids.take(pa.array(good))
        return self._score(ids, features), reasons

    @torch.no_grad()
    def _score(self, ids: pa.ChunkedArray | pa.Array, features: np.ndarray) -> pa.Table:
        if self.scaler is not None:
            features = self.scaler.transform(features)
        logits = score_logits(self.encoder(torch.from_numpy(features).to(self.device)), self.label_embeddings, self.bias)
        top_logits, top_indices = torch.topk(logits, self.top_k, dim=1)
        table = recommendations_table(ids, self.label_names, top_indices.cpu().numpy(),
                                      torch.sigmoid(top_logits).cpu().numpy())
        if self.with_labels:
            decisions = self.decision_rule.decide(torch.sigmoid(logits).cpu().numpy())
            row_index, label_index = np.nonzero(decisions)
            offsets = np.concatenate([[0], np.cumsum(np.bincount(row_index, minlength=features.shape[0]))])
            table = table.append_column("predicted", pa.ListArray.from_arrays(
                pa.array(offsets.astype(np.int32)), pa.array(self.label_names[label_index], pa.string())))
        return table

    def _features(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """(rows, num_features) float32 features and (rows,) reasons ("" for a valid row)."""
        features = np.empty((table.num_rows, len(self.feature_names)), dtype=np.float32)
        reasons = np.full(table.num_rows, "", dtype=object)
        for index, name in enumerate(self.feature_names):
            column = table.column(name)
            check_numeric_column(column, name, source="input")
            values = column.to_numpy(zero_copy_only=False).astype(np.float32, copy=False) if column.null_count == 0 \
                else pc.fill_null(column.cast(pa.float32()), np.nan).to_numpy(zero_copy_only=False)
            invalid = ~np.isfinite(values)
            if invalid.any():
                fresh = invalid & (reasons == "")
                kinds = np.where(np.isnan(values[fresh]), "missing or NaN", "infinite")
                reasons[fresh] = [f"{name}: {kind}" for kind in kinds]
            features[:, index] = np.where(invalid, 0.0, values)
        return features, reasons


def _fold_scaler(encoder: MLPEncoder, scaler: FeatureScaler) -> MLPEncoder:
    """A copy of ``encoder`` whose first layer also applies the feature scaling, saving a pass over the input:
    ``A ((x - offset) * scale) + a = (A diag(scale)) x + (a - A (offset * scale))``."""
    folded = copy.deepcopy(encoder)
    with torch.no_grad():
        weight = folded.input.weight.double()
        scale, offset = torch.from_numpy(scaler.scale).double(), torch.from_numpy(scaler.offset).double()
        folded.input.bias.copy_(folded.input.bias.double() - weight @ (offset * scale))
        folded.input.weight.copy_(weight * scale)
    return folded


def _as_table(batch: Batch) -> pa.Table:
    if isinstance(batch, pa.Table):
        return batch
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if hasattr(batch, "to_dict") and hasattr(batch, "columns"):  # a pandas DataFrame (Spark's mapInPandas)
        return pa.Table.from_pandas(batch, preserve_index=False)
    return pa.table({name: pa.array(np.asarray(values)) for name, values in batch.items()})
