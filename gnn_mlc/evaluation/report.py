"""Evaluation reports: a model's metrics and per-label figures on a data set, as JSON, Markdown and CSV."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import scipy.sparse as sp

from gnn_mlc.data import Dataset
from gnn_mlc.evaluation.metrics import evaluate, per_label_metrics
from gnn_mlc.fitted import ScoringModel, as_fitted_model
from gnn_mlc.outputs import atomic_path, write_json, write_text

logger = logging.getLogger(__name__)

HEADLINE_METRICS: tuple[str, ...] = (
    "map", "micro_f1", "macro_f1", "samples_f1", "hamming_loss", "subset_accuracy", "lrap", "coverage",
    "ranking_loss", "one_error", "p@1", "p@3", "p@5", "ndcg@5", "tail_map", "tail_macro_f1",
)
LOWER_IS_BETTER = frozenset({"hamming_loss", "coverage", "ranking_loss", "one_error"})
PER_LABEL_COLUMNS: tuple[str, ...] = (
    "support", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "average_precision",
)


@dataclass(frozen=True)
class ModelEvaluation:
    """One model's figures on one data set.

    Attributes:
        name: how the model is called in tables (its directory name).
        metrics: the flat dict of :func:`gnn_mlc.evaluation.metrics.evaluate`.
        per_label: one row per label: ``label``, ``train_count``, ``threshold`` and :data:`PER_LABEL_COLUMNS`.
    """

    name: str
    metrics: dict[str, float]
    per_label: pa.Table


def evaluate_classifier(model: ScoringModel, data: Dataset, *, name: str) -> ModelEvaluation:
    """Score ``data`` (aligned to the model's labels and features by name) and compute every figure.

    A model label the data has no values for (:meth:`Dataset.missing_labels`, e.g. an attribute removed from an ARFF
    file) is logged as a warning and left out of every figure: its entries are unknown, not negatives. The data's
    known labels (``data.known``) are evidence for a model trained with them, and left out of every figure. A data label
    the model does not know (a new interest, or a model that knows fewer labels than another in a comparison) is
    logged as a warning and left out too: the model cannot score it.

    Args:
        model: a :class:`~gnn_mlc.fitted.FittedModel` (or a fitted estimator: its ``fitted_`` is read), or a
            baseline with the same face (:class:`~gnn_mlc.evaluation.baselines.PopularityBaseline`).
        data: labelled rows with the model's features.
        name: how the model is called in tables.

    Returns:
        The model's metrics and per-label figures on ``data``.

    Raises:
        UnknownLabelError: none of the data's labels is known to the model (wrong data, or a misspelt label).
        DataError: the data lacks one of the model's features.
    """
    model = as_fitted_model(model)
    label_names = list(model.label_names)
    model_labels = set(label_names)
    unknown = [label for label in data.label_names if label not in model_labels]
    if unknown and len(unknown) < data.num_labels:
        logger.warning("%s: %d of its labels are not known to %s (%s%s); they are left out of its figures",
                       data.source, len(unknown), name, ", ".join(map(repr, unknown[:10])),
                       ", ..." if len(unknown) > 10 else "")
        data = data.without_labels(unknown)
    absent = data.missing_labels(label_names)
    names = model.feature_names
    data = data.align(label_names, list(data.feature_names) if names is None else list(names))
    if absent:
        logger.warning("%s: has no values for %d of the model's %d labels (%s%s); they are left out of every figure",
                       data.source, len(absent), data.num_labels, ", ".join(map(repr, absent[:10])),
                       ", ..." if len(absent) > 10 else "")
    missing = data.Y_missing
    if data.known is None:
        scores = model.predict_proba(data.X)
    else:  # the labels a row already has: evidence for a model trained with them, never ranked nor counted
        scores = model.predict_proba(data.X, known=data.known if model.has_known_term else None)
        known = sp.csr_matrix(data.known, dtype=np.uint8)
        missing = known if missing is None else sp.csr_matrix(known.maximum(sp.csr_matrix(missing)))
    decisions = model.decision_rule.decide(scores)
    metrics = evaluate(data.Y, scores, y_pred=decisions, train_counts=model.label_counts, missing=missing)
    figures = per_label_metrics(data.Y, scores, decisions, missing=missing)
    columns = {"label": pa.array([str(label) for label in label_names]),
               "train_count": pa.array(model.label_counts),
               "threshold": pa.array(np.asarray(model.decision_rule.thresholds, dtype=np.float64))}
    columns.update({column: pa.array(figures[column]) for column in PER_LABEL_COLUMNS})
    return ModelEvaluation(name=name, metrics=metrics, per_label=pa.table(columns))


def metrics_table(results: Mapping[str, Mapping[str, float]], metrics: Sequence[str] = HEADLINE_METRICS) -> str:
    """Markdown table: one row per metric, one column per model; the best value of a row is in bold."""
    names = list(results)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for metric in metrics:
        values = [results[name].get(metric) for name in names]
        if all(value is None for value in values):
            continue
        present = [value for value in values if value is not None and np.isfinite(value)]
        best = (min if metric in LOWER_IS_BETTER else max)(present) if len(present) > 1 else None
        cells = ["" if value is None else (f"**{value:.4f}**" if value == best else f"{value:.4f}")
                 for value in values]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(evaluations: Sequence[ModelEvaluation], directory: str | Path, *, title: str) -> list[Path]:
    """Write ``metrics.json``, ``metrics.md`` and ``per_label.csv`` (``per_label_<name>.csv`` per model when there
    are several) into ``directory``; every file is written atomically. Returns the paths written."""
    directory = Path(directory)
    results = {evaluation.name: evaluation.metrics for evaluation in evaluations}
    paths = [directory / "metrics.json", directory / "metrics.md"]
    write_json(paths[0], results)
    write_text(paths[1], f"{title}\n\n{metrics_table(results)}")
    for evaluation in evaluations:
        name = "per_label.csv" if len(evaluations) == 1 else f"per_label_{evaluation.name}.csv"
        paths.append(directory / name)
        with atomic_path(paths[-1]) as temporary:
            pa_csv.write_csv(evaluation.per_label, temporary)
    return paths
