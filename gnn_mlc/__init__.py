"""gnn-mlc: multi-label classification with a label co-occurrence graph, for multi-interest recommendation.

The public names::

    from gnn_mlc import LabelGCNClassifier, read_dataset, build_label_graph, load_model

They are imported on first use (PEP 562), so ``gnn-mlc --help`` does not pay for importing torch.
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
    "LabelGCNClassifier": "gnn_mlc.estimator",
    "LabelGraph": "gnn_mlc.graph",
    "build_label_graph": "gnn_mlc.graph",
    "evaluate": "gnn_mlc.metrics",
    "load_model": "gnn_mlc.model_directory",
    "save_model": "gnn_mlc.model_directory",
    "top_k": "gnn_mlc.recommend",
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
