"""gnn-mlc: multi-label classification with a label co-occurrence graph, for multi-interest recommendation.

The public names::

    from gnn_mlc import LabelGCNClassifier, read_dataset, build_label_graph, load_model, Scorer

They are imported on first use (PEP 562), so ``gnn-mlc --help`` does not pay for importing torch, and a scoring
worker that imports :class:`Scorer` does not import the training side.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DataError": "gnn_mlc.errors",
    "GnnMlcError": "gnn_mlc.errors",
    "ModelDirectoryError": "gnn_mlc.errors",
    "UnknownLabelError": "gnn_mlc.errors",
    "Dataset": "gnn_mlc.data",
    "concatenate": "gnn_mlc.data",
    "read_dataset": "gnn_mlc.data",
    "TableOptions": "gnn_mlc.data",
    "LabelGraph": "gnn_mlc.graph",
    "build_label_graph": "gnn_mlc.graph",
    "DecisionRule": "gnn_mlc.thresholds",
    "LabelGCNClassifier": "gnn_mlc.estimator",
    "load_model": "gnn_mlc.estimator",
    "evaluate": "gnn_mlc.evaluation",
    "Scorer": "gnn_mlc.serving",
    "ScoringOptions": "gnn_mlc.serving",
    "predict_file": "gnn_mlc.serving",
    "run_scoring_job": "gnn_mlc.serving",
    "top_k_labels": "gnn_mlc.serving",
    "agreement_score": "gnn_mlc.inspection",
    "nearest_labels": "gnn_mlc.inspection",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gnn_mlc' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
