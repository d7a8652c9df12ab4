"""gnn-mlc: multi-label classification with a label co-occurrence graph, for multi-interest recommendation.

The public names::

    from gnn_mlc import LabelGCNClassifier, read_dataset, build_label_graph, load_model
"""

from gnn_mlc.data import Dataset, concatenate, read_dataset
from gnn_mlc.errors import DataError, GnnMlcError, ModelDirectoryError, UnknownLabelError
from gnn_mlc.estimator import LabelGCNClassifier
from gnn_mlc.graph import LabelGraph, build_label_graph
from gnn_mlc.metrics import evaluate
from gnn_mlc.model_directory import load_model, save_model
from gnn_mlc.recommend import top_k

__all__ = [
    "DataError",
    "Dataset",
    "GnnMlcError",
    "LabelGCNClassifier",
    "LabelGraph",
    "ModelDirectoryError",
    "UnknownLabelError",
    "build_label_graph",
    "concatenate",
    "evaluate",
    "load_model",
    "read_dataset",
    "save_model",
    "top_k",
]
