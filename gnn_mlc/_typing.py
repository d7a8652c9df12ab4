"""Types, named choices and column defaults shared by the whole package; light to import (NumPy and SciPy only)."""

from __future__ import annotations

from typing import Literal, Union, get_args

import numpy as np
import scipy.sparse as sp

Matrix = Union[np.ndarray, sp.csr_matrix]
"""A (rows, columns) matrix: a dense ndarray or a SciPy CSR matrix (sparse input stays sparse end to end)."""

Weighting = Literal["count", "probability", "mlgcn"]
WEIGHTINGS: tuple[str, ...] = get_args(Weighting)

DeviceName = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = get_args(DeviceName)

Strategy = Literal["fixed", "global", "per_label", "pcut", "top_k"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

DEFAULT_LABEL_COLUMN = "labels"
DEFAULT_ID_COLUMN = "id"
DEFAULT_TOP_K = 10
"""Labels per row in every recommendation output (``predict``, ``score``, :class:`~gnn_mlc.serving.Scorer`)."""
OUTPUT_COLUMNS = ("labels", "scores", "predicted", "reason")
"""The columns ``predict`` and ``score`` write besides the id column (rejects: ``reason``)."""
MODEL_FORMAT = "gnn-mlc-model"
"""The ``format`` of a model directory's config and manifest (:mod:`gnn_mlc.model_directory`)."""
MODEL_MANIFEST = "manifest.json"
"""The file a model directory lists its other files in; its presence marks a folder as a model directory."""
