"""Saving and loading a fitted model as a directory of plain files; loading never unpickles anything.

Layout::

    config.json              format version, library version, architecture, preprocessing, training settings
    labels.json              the label vocabulary, in column order
    feature_names.json       the feature names, in column order
    weights.safetensors      model parameters and buffers (graph included) + the feature scaler
    label_embeddings.npy     W, (num_labels, embedding_dim) float32, precomputed for scoring and inspection
    label_cooccurrence.npz   training co-occurrence counts Y^T Y, SciPy sparse (read without pickle)
    thresholds.json          the decision strategy and one threshold per label
    label_graph.graphml      the label graph the GCN used (absent for the no-graph model)
    metrics.json             validation figures the model was selected on, and the per-epoch history

The directory is written to a temporary sibling and renamed into place, so a crash never leaves half a model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gnn_mlc.errors import DataError, GnnMlcError, ModelDirectoryError
from gnn_mlc.estimator import LabelGCNClassifier
from gnn_mlc.preprocessing import FeatureScaler
from gnn_mlc.thresholds import DecisionRule
from gnn_mlc.train import TrainingResult

FORMAT = "gnn-mlc-model"
FORMAT_VERSION = 2  # 2: label vectors propagated without GCNConv weights; scaler.row_norm
_SCALER_PREFIX = "scaler."
_REQUIRED_FILES = (
    "config.json", "labels.json", "feature_names.json", "weights.safetensors", "thresholds.json",
    "label_cooccurrence.npz",
)


def library_version() -> str:
    """The installed gnn-mlc version (``0+unknown`` when running from an uninstalled tree)."""
    try:
        return version("gnn-mlc")
    except PackageNotFoundError:
        return "0+unknown"


def save_model(classifier: LabelGCNClassifier, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a fitted classifier to the directory ``path`` atomically.

    Raises:
        GnnMlcError: ``path`` exists and ``overwrite`` is False, or its parent cannot be written.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise GnnMlcError(f"{path}: already exists; expected a new directory. Hint: use --overwrite to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as error:
        raise GnnMlcError(
            f"{path}: cannot create the model directory ({error.strerror}); expected a writable place"
        ) from None
    try:
        _write_files(classifier, staging)
        if path.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, trash / path.name)
            os.replace(staging, path)
            shutil.rmtree(trash)
        else:
            os.replace(staging, path)
    except OSError as error:
        raise GnnMlcError(f"{path}: writing the model failed ({error.strerror}); nothing was left behind") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _write_files(classifier: LabelGCNClassifier, directory: Path) -> None:
    params = classifier.get_params()
    params.pop("verbose")
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": library_version(),
        "torch_version": torch.__version__,
        "architecture": {
            "kind": "gcn" if classifier.use_graph else "independent",
            "in_features": int(classifier.n_features_in_),
            "num_labels": len(classifier.classes_),
        },
        "preprocessing": {"kind": "feature_scaler", "doc": "x -> (x - offset) * scale, rows to norm row_norm"},
        "parameters": params,
        "training": {
            "best_epoch": classifier.training_.best_epoch,
            "epochs_run": classifier.training_.epochs_run,
            "label_counts": [int(count) for count in classifier.label_counts_],
            "num_rows": int(classifier.n_samples_fit_),
        },
    }
    _write_json(directory / "config.json", config)
    _write_json(directory / "labels.json", [str(name) for name in classifier.classes_])
    feature_names = getattr(classifier, "feature_names_in_", None)
    _write_json(directory / "feature_names.json", None if feature_names is None else [str(n) for n in feature_names])
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in classifier.model_.state_dict().items()}
    tensors[_SCALER_PREFIX + "offset"] = torch.from_numpy(classifier.scaler_.offset)
    tensors[_SCALER_PREFIX + "scale"] = torch.from_numpy(classifier.scaler_.scale)
    tensors[_SCALER_PREFIX + "row_norm"] = torch.tensor([classifier.scaler_.row_norm], dtype=torch.float64)
    save_file(tensors, str(directory / "weights.safetensors"), metadata={"format": FORMAT})
    np.save(directory / "label_embeddings.npy", classifier.label_embeddings_, allow_pickle=False)
    sp.save_npz(directory / "label_cooccurrence.npz", classifier.cooccurrence_)
    _write_json(directory / "thresholds.json", classifier.decision_rule_.to_json())
    if classifier.graph_ is not None:
        classifier.graph_.write_graphml(directory / "label_graph.graphml")
    _write_json(directory / "metrics.json", {
        "validation_map": classifier.training_.best_validation_map,
        "best_epoch": classifier.training_.best_epoch,
        "history": classifier.training_.history,
    })


def load_model(path: str | Path) -> LabelGCNClassifier:
    """Rebuild the fitted classifier saved in ``path`` (weights read with safetensors: no code is executed).

    Raises:
        ModelDirectoryError: the directory or one of its files is missing, corrupted or of another format version.
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelDirectoryError(f"{path}: no such model directory; expected the output of 'gnn-mlc train'")
    for name in _REQUIRED_FILES:
        if not (path / name).is_file():
            raise ModelDirectoryError(
                f"{path}: {name} is missing; expected a complete model directory. Hint: train it again"
            )
    config = _read_json(path / "config.json")
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelDirectoryError(f"{path / 'config.json'}: not a gnn-mlc model config; expected format {FORMAT!r}")
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelDirectoryError(
            f"{path / 'config.json'}: format version {config.get('format_version')!r} (written by gnn-mlc "
            f"{config.get('library_version')}); expected {FORMAT_VERSION}. Hint: use a matching gnn-mlc version"
        )
    labels = _read_json(path / "labels.json")
    feature_names = _read_json(path / "feature_names.json")
    try:
        tensors = load_file(str(path / "weights.safetensors"))
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelDirectoryError(
            f"{path / 'weights.safetensors'}: cannot be read ({error}); expected a safetensors file. "
            "Hint: the file is corrupted, train the model again"
        ) from None
    try:
        classifier = LabelGCNClassifier(**config["parameters"])
        classifier._check_parameters()  # the config is validated, not trusted
    except (KeyError, TypeError, DataError) as error:
        message = str(error.args[0]) if error.args else type(error).__name__
        raise ModelDirectoryError(
            f"{path / 'config.json'}: invalid parameters ({message}); expected LabelGCNClassifier's parameters. "
            "Hint: train the model again"
        ) from None
    try:
        scaler = FeatureScaler(
            offset=tensors.pop(_SCALER_PREFIX + "offset").numpy(), scale=tensors.pop(_SCALER_PREFIX + "scale").numpy(),
            row_norm=float(tensors.pop(_SCALER_PREFIX + "row_norm")),
        )
        in_features = int(config["architecture"]["in_features"])
        num_labels = int(config["architecture"]["num_labels"])
        graph_edges = (tensors["edge_index"], tensors["edge_weight"]) if classifier.use_graph else None
        model = classifier._build_model(in_features, num_labels, graph_edges)
        model.load_state_dict(tensors, strict=True)
        rule = DecisionRule.from_json(_read_json(path / "thresholds.json"), num_labels=num_labels)
        label_counts = np.asarray(config["training"]["label_counts"], dtype=np.int64)
        num_rows = int(config["training"]["num_rows"])
        cooccurrence = sp.csr_matrix(sp.load_npz(path / "label_cooccurrence.npz"), dtype=np.int64)
        if cooccurrence.shape != (num_labels, num_labels):
            raise ValueError(f"label_cooccurrence.npz has shape {cooccurrence.shape}")
    except (KeyError, TypeError, RuntimeError, ValueError, OSError) as error:
        raise ModelDirectoryError(
            f"{path}: config and weights do not fit together ({str(error).splitlines()[0]}); "
            "expected files written by one 'gnn-mlc train'. Hint: train the model again"
        ) from None
    if len(labels) != num_labels or label_counts.shape != (num_labels,):
        raise ModelDirectoryError(
            f"{path}: {len(labels)} labels and {label_counts.shape[0]} label counts for a {num_labels}-label model; "
            "expected one each"
        )
    classifier.model_ = model.eval()
    classifier.scaler_ = scaler
    classifier.graph_ = None  # the GraphML is for people and tools; the model carries its edges as buffers
    metrics = _read_json(path / "metrics.json") if (path / "metrics.json").is_file() else {}
    classifier.training_ = TrainingResult(
        best_epoch=config.get("training", {}).get("best_epoch", 0),
        best_validation_map=metrics.get("validation_map", float("nan")),
        epochs_run=config.get("training", {}).get("epochs_run", 0),
        history=metrics.get("history", []),
    )
    classifier.label_counts_ = label_counts
    classifier.cooccurrence_ = cooccurrence
    classifier.n_samples_fit_ = num_rows
    classifier._set_fitted_state(labels, feature_names, in_features)
    classifier.decision_rule_ = rule
    classifier.thresholds_ = rule.thresholds
    return classifier


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelDirectoryError(
            f"{path}: not valid JSON ({error}); expected a file written by 'gnn-mlc train'. Hint: train it again"
        ) from None
