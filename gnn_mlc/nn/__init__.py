"""The torch modules: the instance encoder and the label models that give the label embeddings ``W``.

:mod:`gnn_mlc.nn.encoder` needs torch only (the scoring path imports it); :mod:`gnn_mlc.nn.label_models` also
needs PyTorch Geometric, so it is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from gnn_mlc.nn.encoder import MLPEncoder, score_logits

_LAZY = {"LabelGCNModel": "gnn_mlc.nn.label_models", "IndependentLabelModel": "gnn_mlc.nn.label_models",
         "LabelScoringModel": "gnn_mlc.nn.label_models", "LabelLogitPropagation": "gnn_mlc.nn.label_propagation"}
__all__ = ["IndependentLabelModel", "LabelGCNModel", "LabelLogitPropagation", "LabelScoringModel",
           "MLPEncoder", "score_logits"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gnn_mlc.nn' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
