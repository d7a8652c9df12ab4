"""The model directory: a fitted model's parts as plain files, written atomically and checked on every load.

Layout::

    config.json              format version, library version, architecture, parameters, training and data facts
    labels.json              the label vocabulary, in column order
    feature_names.json       the feature names, in column order (null for a model fitted on bare arrays)
    weights.safetensors      the torch module's parameters and buffers (graph included) + the feature scaler
    label_vectors.safetensors  the precomputed scoring vectors: ``label_embeddings`` W (num_labels, embedding_dim)
                             and ``label_bias`` b (num_labels,), so that scoring never touches the graph
    label_sources.json       where each label's vector came from (trained, log, edges, features), and the labels
                             the torch module scores, in its output order
    label_cooccurrence.npz   co-occurrence counts Y^T Y of the training rows and the label-only log, SciPy sparse
                             (read without pickle)
    graph_rows.safetensors   encodings h(x) and labels of up to 20,000 training rows: what add-labels distils new
                             labels on (user representations: written 0600, owner only, whatever the umask)
    label_features.safetensors  the label features given at training (absent without them)
    known_labels.safetensors the known-label term: ``B`` (dense, or its non-zeros as edges), its scale and bias, the
                             network's weight beside it, EASE^R's lambda and the Gram matrix it was fitted on
                             (absent for a model fitted without known labels)
    cold_teacher.safetensors the cold labels' regression over the trained labels that scoring mixes into their
                             probabilities: its weights as edges, its biases, its target labels and share (absent
                             without cold labels scored from a label-only log, and in directories written before it)
    item_columns.json        the list-valued input columns read as bags of items: vocabulary, weighting, idf
                             (absent when the training data had none; their features end ``feature_names.json``)
    categorical_columns.json the text input columns read as one-hot categories: name, categories, whether it has
                             ``__other__`` (absent when the training data had none; their features come just before
                             the item columns' in ``feature_names.json``)
    thresholds.json          the decision strategy and one threshold per label
    label_graph.graphml      the label graph the model used, for people and tools (absent without a graph, or above
                             GRAPHML_EDGES edges: ``gnn-mlc inspect --output`` exports a cut of it then)
    metrics.json             validation figures the model was selected on, and the per-epoch history
    manifest.json            every other file's size and SHA-256, written last

This module writes and reads a :class:`~gnn_mlc.fitted.FittedModel`'s parts and knows nothing of the estimator or
the training loop: the estimator, the scoring path (:mod:`gnn_mlc.serving`), evaluation and inspection all hold the
:class:`~gnn_mlc.fitted.FittedModel` that :func:`load_model_parts` returns.

Loading never unpickles anything, follows no symbolic link inside the directory, checks every file against the
manifest (so a file from another training run, a truncated or edited file is refused), and checks each part's type,
shape, dtype, finiteness and uniqueness against the config. The directory is written to a temporary sibling and
renamed into place, so a crash never leaves half a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gnn_mlc._typing import MODEL_FORMAT, MODEL_MANIFEST
from gnn_mlc.data.categories import CategoricalColumn
from gnn_mlc.data.items import ItemColumn
from gnn_mlc.data.preprocessing import FeatureScaler
from gnn_mlc.errors import DataError, GnnMlcError, ModelDirectoryError
from gnn_mlc.fitted import ColdLabelTeacher, FittedModel, KnownLabelWeights
from gnn_mlc.outputs import publish_mode, write_json
from gnn_mlc.parameters import check_parameters
from gnn_mlc.thresholds import DecisionRule

T = TypeVar("T")  # an entry parsed from a JSON list (_json_entries)

FORMAT = MODEL_FORMAT
GRAPHML_EDGES = 200_000
"""Above this many edges the model directory holds no ``label_graph.graphml`` (the weights keep the graph): a
50,000-label ``probability`` graph has tens of millions of edges, minutes and gigabytes of XML nobody opens."""
FORMAT_VERSION = 3  # 3: manifest.json, label_vectors.safetensors, data columns; 2: scaler.row_norm
MANIFEST = MODEL_MANIFEST
_SCALER_PREFIX = "scaler."
_REQUIRED_FILES = (
    "config.json", "labels.json", "feature_names.json", "weights.safetensors", "label_vectors.safetensors",
    "label_sources.json", "thresholds.json", "label_cooccurrence.npz", "graph_rows.safetensors", "metrics.json",
)
SOURCES = ("trained", "log", "edges", "features", "edges+features", "none")
PRIVATE_FILES = ("graph_rows.safetensors",)
"""Written 0600 (owner only) whatever the umask: ``graph_rows.safetensors`` keeps up to 20,000 training rows'
encodings and label sets (what add-labels distils new labels on), as private as the training data."""


ModelParts = FittedModel
"""The old name of :class:`~gnn_mlc.fitted.FittedModel` (a model directory's parts), kept for one release."""


def library_version() -> str:
    """The installed gnn-mlc version (``0+unknown`` when running from an uninstalled tree)."""
    try:
        return version("gnn-mlc")
    except PackageNotFoundError:
        return "0+unknown"


def save_model_parts(parts: FittedModel, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the fitted model ``parts`` to the directory ``path`` atomically, the manifest last.

    Raises:
        GnnMlcError: ``path`` exists and ``overwrite`` is False, or it cannot be written.
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
        _write_files(parts, staging)
        for file in staging.iterdir():
            if file.name in PRIVATE_FILES:
                os.chmod(file, 0o600)
            else:
                publish_mode(file)
        publish_mode(staging)
        if path.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, trash / path.name)
            os.replace(staging, path)
            shutil.rmtree(trash)
        else:
            os.replace(staging, path)
    except (OSError, SafetensorError) as error:
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
        raise GnnMlcError(f"{path}: writing the model failed ({reason}); nothing was left behind") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _write_files(parts: FittedModel, directory: Path) -> None:
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": library_version(),
        "torch_version": torch.__version__,
        "architecture": {"kind": parts.kind, "in_features": int(parts.in_features),
                         "num_labels": parts.num_labels, "embedding_dim": int(parts.label_embeddings.shape[1])},
        "preprocessing": {"kind": "feature_scaler",
                          "doc": "x -> (x - offset) * scale, rows (from column dense_columns on) to norm row_norm"},
        "parameters": parts.parameters,
        "training": {"label_counts": [int(count) for count in parts.label_counts], "num_rows": int(parts.num_rows),
                     "cooccurrence_rows": int(parts.cooccurrence_rows)},
        "data": dict(parts.data_columns),
    }
    write_json(directory / "config.json", config)
    write_json(directory / "labels.json", list(parts.label_names))
    write_json(directory / "feature_names.json", None if parts.feature_names is None else list(parts.feature_names))
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in parts.state.items()}
    tensors[_SCALER_PREFIX + "offset"] = torch.from_numpy(parts.scaler.offset)
    tensors[_SCALER_PREFIX + "scale"] = torch.from_numpy(parts.scaler.scale)
    tensors[_SCALER_PREFIX + "row_norm"] = torch.tensor([parts.scaler.row_norm], dtype=torch.float64)
    if parts.scaler.dense_columns:  # absent (0) in directories without item columns and before this field
        tensors[_SCALER_PREFIX + "dense_columns"] = torch.tensor([parts.scaler.dense_columns], dtype=torch.int64)
    save_file(tensors, str(directory / "weights.safetensors"), metadata={"format": FORMAT})
    save_file({"label_embeddings": torch.from_numpy(np.ascontiguousarray(parts.label_embeddings, np.float32)),
               "label_bias": torch.from_numpy(np.ascontiguousarray(parts.label_bias, np.float32))},
              str(directory / "label_vectors.safetensors"), metadata={"format": FORMAT})
    sp.save_npz(directory / "label_cooccurrence.npz", sp.csr_matrix(parts.cooccurrence, dtype=np.int64))
    write_json(directory / "label_sources.json", {"sources": list(parts.label_sources),
                                                   "trained": [int(index) for index in parts.trained_labels]})
    encodings, rows = parts.graph_rows
    rows = sp.csr_matrix(rows)
    save_file({"encodings": torch.from_numpy(np.ascontiguousarray(encodings, np.float32)),
               "labels_indptr": torch.from_numpy(rows.indptr.astype(np.int64)),
               "labels_indices": torch.from_numpy(rows.indices.astype(np.int64))},
              str(directory / "graph_rows.safetensors"), metadata={"format": FORMAT})
    if parts.label_features is not None:
        features, mask = parts.label_features
        save_file({"features": torch.from_numpy(np.ascontiguousarray(features, np.float32)),
                   "mask": torch.from_numpy(mask.astype(np.uint8))},
                  str(directory / "label_features.safetensors"), metadata={"format": FORMAT})
    if parts.known_term is not None:
        save_file(_known_term_tensors(parts.known_term), str(directory / "known_labels.safetensors"),
                  metadata={"format": FORMAT})
    if parts.cold_teacher is not None:
        save_file(_cold_teacher_tensors(parts.cold_teacher), str(directory / "cold_teacher.safetensors"),
                  metadata={"format": FORMAT})
    if parts.item_columns:
        write_json(directory / "item_columns.json", [column.to_json() for column in parts.item_columns])
    if parts.categorical_columns:
        write_json(directory / "categorical_columns.json", [column.to_json() for column in parts.categorical_columns])
    write_json(directory / "thresholds.json", parts.decision_rule.to_json())
    if parts.graph is not None and parts.graph.adjacency.nnz <= GRAPHML_EDGES:
        parts.graph.write_graphml(directory / "label_graph.graphml")
    write_json(directory / "metrics.json", parts.metrics)
    write_manifest(directory)


def write_manifest(directory: str | Path) -> None:
    """Write ``manifest.json``: the size and SHA-256 of every other file in ``directory`` (the last file written)."""
    directory = Path(directory)
    files = sorted(file.name for file in directory.iterdir() if file.name != MANIFEST)
    write_json(directory / MANIFEST, {"format": FORMAT, "files": {
        name: {"size": (directory / name).stat().st_size, "sha256": _sha256(directory / name)} for name in files}})


def manifest_digest(path: str | Path) -> str:
    """The SHA-256 of a model directory's manifest: one string that changes whenever any of its files does."""
    manifest = Path(path) / MANIFEST
    try:
        return hashlib.sha256(manifest.read_bytes()).hexdigest()
    except OSError as error:
        raise ModelDirectoryError(f"{manifest}: cannot be read ({error.strerror}); expected a model directory "
                                  "written by 'gnn-mlc train'") from None


def load_model_parts(path: str | Path) -> FittedModel:
    """The fitted model in the directory ``path``, read and checked (weights read with safetensors: no code is
    executed).

    Raises:
        ModelDirectoryError: the directory or one of its files is missing, a symbolic link, changed since it was
            written, of another format version, or inconsistent with the config.
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelDirectoryError(f"{path}: no such model directory; expected the output of 'gnn-mlc train'")
    config = _read_config(path)
    listed = _verify_manifest(path)  # optional parts are read only when listed
    architecture = _mapping(config.get("architecture"), path / "config.json", "architecture")
    try:
        in_features, num_labels = int(architecture["in_features"]), int(architecture["num_labels"])
        embedding_dim, kind = int(architecture["embedding_dim"]), str(architecture["kind"])
        training = _mapping(config["training"], path / "config.json", "training")
        label_counts = np.asarray(training["label_counts"], dtype=np.int64)
        num_rows, cooccurrence_rows = int(training["num_rows"]), int(training["cooccurrence_rows"])
        parameters = _mapping(config["parameters"], path / "config.json", "parameters")
        data_columns = _mapping(config.get("data", {}), path / "config.json", "data")
    except (KeyError, TypeError, ValueError) as error:
        raise ModelDirectoryError(f"{path / 'config.json'}: incomplete config ({_first_line(error)}); expected one "
                                  "written by 'gnn-mlc train'. Hint: train the model again") from None
    if kind not in ("gcn", "independent") or label_counts.shape != (num_labels,) or (label_counts < 0).any():
        raise ModelDirectoryError(f"{path / 'config.json'}: architecture {kind!r} with {label_counts.shape[0]} label "
                                  f"counts for {num_labels} labels; expected gcn or independent, one count each")
    label_names = _names(path / "labels.json", num_labels, allow_null=False)
    feature_names = _names(path / "feature_names.json", in_features, allow_null=True)
    tensors = _read_safetensors(path / "weights.safetensors")
    vectors = _read_safetensors(path / "label_vectors.safetensors")
    scaler = _scaler(tensors, in_features, path / "weights.safetensors")
    label_embeddings = _array(vectors, "label_embeddings", (num_labels, embedding_dim), path)
    label_bias = _array(vectors, "label_bias", (num_labels,), path)
    try:
        rule = DecisionRule.from_json(_read_json(path / "thresholds.json"), num_labels=num_labels)
    except (DataError, AttributeError, TypeError, ValueError) as error:
        raise ModelDirectoryError(f"{path / 'thresholds.json'}: invalid decision rule ({_first_line(error)}); "
                                  "expected one written by 'gnn-mlc train'") from None
    metrics = _mapping(_read_json(path / "metrics.json"), path / "metrics.json", "metrics")
    cooccurrence = _cooccurrence(path / "label_cooccurrence.npz", num_labels)
    sources, trained = _label_sources(path / "label_sources.json", num_labels)
    graph_rows = _graph_rows(path / "graph_rows.safetensors", num_labels, embedding_dim)
    label_features = _label_features(path / "label_features.safetensors", num_labels) \
        if "label_features.safetensors" in listed else None
    known_term = _known_term(path / "known_labels.safetensors", num_labels) \
        if "known_labels.safetensors" in listed else None
    cold_teacher = _cold_teacher(path / "cold_teacher.safetensors", num_labels, embedding_dim) \
        if "cold_teacher.safetensors" in listed else None
    item_columns = _item_columns(path / "item_columns.json", feature_names) if "item_columns.json" in listed else []
    categorical_columns = _categorical_columns(path / "categorical_columns.json", feature_names, item_columns) \
        if "categorical_columns.json" in listed else []
    _check_parameters(parameters, tensors, in_features, embedding_dim, path)
    return FittedModel(
        parameters=dict(parameters), kind=kind, in_features=in_features, label_names=label_names,
        feature_names=feature_names, state=tensors, scaler=scaler, label_embeddings=label_embeddings,
        label_bias=label_bias, decision_rule=rule, label_counts=label_counts, num_rows=num_rows,
        cooccurrence=cooccurrence, metrics=dict(metrics),
        data_columns={str(key): None if value is None else str(value) for key, value in data_columns.items()},
        trained_labels=trained, label_sources=sources, cooccurrence_rows=cooccurrence_rows, graph_rows=graph_rows,
        label_features=label_features, known_term=known_term, cold_teacher=cold_teacher, item_columns=item_columns,
        categorical_columns=categorical_columns,
    )


def _check_parameters(parameters: dict[str, Any], tensors: dict[str, torch.Tensor], in_features: int,
                      embedding_dim: int, path: Path) -> None:
    """The parameters are valid and the encoder weights have the shapes they and the architecture give."""
    try:
        check_parameters(parameters)
        hidden = int(parameters["hidden_channels"])
        expected = {"encoder.input.weight": (in_features, hidden), "encoder.input.bias": (hidden,),
                    "encoder.output.weight": (embedding_dim, hidden), "encoder.output.bias": (embedding_dim,)}
        for name, shape in expected.items():
            found = tensors.get(name)
            if found is None or tuple(found.shape) != shape:
                raise ValueError(f"{name} is {'missing' if found is None else tuple(found.shape)}, expected {shape}")
    except (KeyError, TypeError, ValueError) as error:  # DataError is a ValueError
        raise ModelDirectoryError(
            f"{path / 'config.json'}: parameters and weights do not fit together ({_first_line(error)}); expected "
            "files written by one 'gnn-mlc train'. Hint: train it again") from None


def _read_config(path: Path) -> dict[str, Any]:
    if not (path / "config.json").is_file():
        raise ModelDirectoryError(f"{path}: config.json is missing; expected a complete model directory. "
                                  "Hint: train it again")
    _refuse_link(path / "config.json")
    config = _read_json(path / "config.json")
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelDirectoryError(f"{path / 'config.json'}: not a gnn-mlc model config; expected format {FORMAT!r}")
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelDirectoryError(
            f"{path / 'config.json'}: format version {config.get('format_version')!r} (written by gnn-mlc "
            f"{config.get('library_version')}); expected {FORMAT_VERSION}. Hint: use a matching gnn-mlc version, "
            "or train the model again"
        )
    return config


def _verify_manifest(path: Path) -> set[str]:
    """The names the manifest lists, checked: every required file is listed, every listed file is a regular file
    (not a link) with the manifest's size and SHA-256, and the directory holds nothing else (a file the manifest
    does not list, such as an old ``known_labels.safetensors`` left by copying another model's files over this
    one, would otherwise change what is loaded)."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ModelDirectoryError(f"{path}: {MANIFEST} is missing; expected a complete model directory (the "
                                  "manifest is written last: was the save interrupted?). Hint: train it again")
    _refuse_link(manifest_path)
    manifest = _read_json(manifest_path)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise ModelDirectoryError(f"{manifest_path}: no 'files' table; expected a gnn-mlc model manifest")
    for name in _REQUIRED_FILES:
        if name not in files:
            raise ModelDirectoryError(f"{manifest_path}: does not list {name}; expected every part of the model")
    for name, entry in files.items():
        file = path / str(name)
        if Path(str(name)).name != name or not isinstance(entry, dict):
            raise ModelDirectoryError(f"{manifest_path}: bad entry {name!r}; expected file names with size and sha256")
        _refuse_link(file)
        if not file.is_file():
            raise ModelDirectoryError(f"{path}: {name} is missing; expected a complete model directory. "
                                      "Hint: train it again")
        if file.stat().st_size != entry.get("size") or _sha256(file) != entry.get("sha256"):
            raise ModelDirectoryError(
                f"{file}: does not match the manifest (size or SHA-256 differs: changed, truncated or copied from "
                "another model); expected the file written with this model. Hint: train the model again"
            )
    for entry in sorted(path.iterdir()):
        if entry.name != MANIFEST and entry.name not in files:
            raise ModelDirectoryError(
                f"{entry}: is not listed in {MANIFEST}; expected exactly the files the manifest lists (left from "
                "another model, e.g. by copying one model's files over another's?). Hint: remove it, or copy the "
                "whole model directory afresh"
            )
    return set(files)


def _refuse_link(file: Path) -> None:
    if file.is_symlink():
        raise ModelDirectoryError(f"{file}: is a symbolic link; expected a regular file inside the model directory "
                                  "(links are not followed). Hint: copy the file in")


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _names(file: Path, expected: int, *, allow_null: bool) -> list[str] | None:
    names = _read_json(file)
    if names is None and allow_null:
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
        raise ModelDirectoryError(f"{file}: got {type(names).__name__}; expected a list of non-empty strings")
    if len(names) != expected:
        raise ModelDirectoryError(f"{file}: {len(names)} names; expected {expected}, one per column of the model")
    if len(set(names)) != len(names):
        duplicate = next(name for index, name in enumerate(names) if name in names[:index])
        raise ModelDirectoryError(f"{file}: {duplicate!r} appears twice; expected unique names")
    return names


def _read_safetensors(file: Path) -> dict[str, torch.Tensor]:
    try:
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelDirectoryError(
            f"{file}: cannot be read ({_first_line(error)}); expected a safetensors file. Hint: train the model again"
        ) from None
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelDirectoryError(f"{file}: tensor {name!r} holds NaN or infinite values; expected finite "
                                      "weights. Hint: train the model again")
    return tensors


def _array(tensors: dict[str, torch.Tensor], name: str, shape: tuple[int, ...], path: Path) -> np.ndarray:
    tensor = tensors.get(name)
    if tensor is None or tuple(tensor.shape) != shape or tensor.dtype != torch.float32:
        found = "nothing" if tensor is None else f"{tensor.dtype} {tuple(tensor.shape)}"
        raise ModelDirectoryError(f"{path / 'label_vectors.safetensors'}: {name} is {found}; expected float32 {shape}")
    return tensor.numpy()


def _scaler(tensors: dict[str, torch.Tensor], in_features: int, file: Path) -> FeatureScaler:
    try:
        offset = tensors.pop(_SCALER_PREFIX + "offset").numpy()
        scale = tensors.pop(_SCALER_PREFIX + "scale").numpy()
        row_norm = float(tensors.pop(_SCALER_PREFIX + "row_norm"))
        dense_columns = int(tensors.pop(_SCALER_PREFIX + "dense_columns", torch.zeros(1, dtype=torch.int64)))
    except (KeyError, RuntimeError, ValueError) as error:
        raise ModelDirectoryError(f"{file}: no feature scaler ({_first_line(error)}); expected scaler.offset, "
                                  "scaler.scale and scaler.row_norm") from None
    if offset.shape != (in_features,) or scale.shape != (in_features,) or not row_norm >= 0 \
            or not 0 <= dense_columns <= in_features:
        raise ModelDirectoryError(f"{file}: scaler of shape {offset.shape}/{scale.shape}, {dense_columns} dense "
                                  f"columns; expected ({in_features},) and 0 to {in_features} dense columns")
    return FeatureScaler(offset=offset, scale=scale, row_norm=row_norm, dense_columns=dense_columns)


def _cooccurrence(file: Path, num_labels: int) -> sp.csr_matrix:
    try:
        counts = sp.csr_matrix(sp.load_npz(file), dtype=np.int64)
    except (OSError, ValueError) as error:
        raise ModelDirectoryError(f"{file}: cannot be read ({_first_line(error)}); expected a SciPy sparse .npz") \
            from None
    if counts.shape != (num_labels, num_labels) or (counts.data < 0).any():
        raise ModelDirectoryError(f"{file}: shape {counts.shape}; expected non-negative ({num_labels}, {num_labels})")
    return counts


def _label_sources(file: Path, num_labels: int) -> tuple[list[str], list[int]]:
    value = _mapping(_read_json(file), file, "label sources")
    sources, trained = value.get("sources"), value.get("trained")
    if (not isinstance(sources, list) or len(sources) != num_labels or any(s not in SOURCES for s in sources)
            or not isinstance(trained, list) or not all(isinstance(i, int) and 0 <= i < num_labels for i in trained)
            or len(set(trained)) != len(trained)):
        raise ModelDirectoryError(f"{file}: invalid; expected {num_labels} sources among {', '.join(SOURCES)} and "
                                  "the distinct indices of the trained labels")
    return sources, trained


def _graph_rows(file: Path, num_labels: int, embedding_dim: int) -> tuple[np.ndarray, sp.csr_matrix]:
    tensors = _read_safetensors(file)
    try:
        encodings = tensors["encodings"].numpy()
        indptr, indices = tensors["labels_indptr"].numpy(), tensors["labels_indices"].numpy()
        if encodings.ndim != 2 or encodings.shape[1] != embedding_dim:
            raise ValueError(f"encodings of shape {encodings.shape}")
        rows = sp.csr_matrix((np.ones(len(indices), dtype=np.uint8), indices, indptr),
                             shape=(encodings.shape[0], num_labels))
        rows.check_format(full_check=True)
    except (KeyError, ValueError) as error:
        raise ModelDirectoryError(f"{file}: invalid ({_first_line(error)}); expected the encodings (rows, "
                                  f"{embedding_dim}) and label rows over {num_labels} labels") from None
    return encodings, rows


def _label_features(file: Path, num_labels: int) -> tuple[np.ndarray, np.ndarray]:
    tensors = _read_safetensors(file)
    features, mask = tensors.get("features"), tensors.get("mask")
    if features is None or mask is None or features.ndim != 2 or features.shape[0] != num_labels \
            or tuple(mask.shape) != (num_labels,):
        raise ModelDirectoryError(f"{file}: invalid; expected features ({num_labels}, f) and a mask ({num_labels},)")
    return features.numpy(), mask.numpy().astype(bool)


def _json_entries(file: Path, parse: Callable[[Any], T], what: str) -> list[T]:
    """Each entry of the JSON list in ``file`` parsed by ``parse``; a malformed entry is one clear line naming
    ``what`` the file holds."""
    value = _read_json(file)
    try:
        return [parse(entry) for entry in value]
    except (DataError, TypeError) as error:
        raise ModelDirectoryError(f"{file}: invalid {what} ({_first_line(error)}); expected the ones "
                                  "'gnn-mlc train' writes") from None


def _item_columns(file: Path, feature_names: list[str] | None) -> list[ItemColumn]:
    """The item columns of ``item_columns.json``, checked against the feature names they must end."""
    columns = _json_entries(file, ItemColumn.from_json, "item columns")
    names = [name for column in columns for name in column.feature_names]
    if feature_names is None or feature_names[len(feature_names) - len(names):] != names:
        raise ModelDirectoryError(f"{file}: its {len(names)} item features are not the last feature names; expected "
                                  "the files of one training run. Hint: train the model again")
    return columns


def _categorical_columns(file: Path, feature_names: list[str] | None, item_columns: list[ItemColumn]
                         ) -> list[CategoricalColumn]:
    """The categorical columns of ``categorical_columns.json``, checked against the feature names: their one-hot
    features come just before the item columns' items, which end them."""
    columns = _json_entries(file, CategoricalColumn.from_json, "categorical columns")
    names = [name for column in columns for name in column.feature_names]
    end = len(feature_names or []) - sum(len(column.items) for column in item_columns)
    if feature_names is None or end < len(names) or feature_names[end - len(names):end] != names:
        raise ModelDirectoryError(f"{file}: its {len(names)} category features are not the feature names before the "
                                  "item columns'; expected the files of one training run. Hint: train the model again")
    return columns


def _known_term_tensors(term: KnownLabelWeights) -> dict[str, torch.Tensor]:
    """The term as safetensors: ``matrix`` (dense ``B``) or ``edge_index``/``weight`` (its non-zeros), the
    calibration, the network's weight, ``lambda`` (0: none), the Gram matrix's CSR arrays, the transition, the
    cold labels and the log's label counts."""
    if isinstance(term.matrix, np.ndarray):
        tensors = {"matrix": torch.from_numpy(np.ascontiguousarray(term.matrix, np.float32))}
    else:
        tensors = _edge_tensors(term.matrix)
    tensors.update({name: torch.tensor([value], dtype=torch.float64) for name, value in (
        ("scale", term.scale), ("bias", term.bias), ("network_weight", term.network_weight),
        ("regularisation", 0.0 if term.regularisation is None else term.regularisation),
        ("transition_share", term.transition_share))})
    if term.gram is not None:
        gram = sp.csr_matrix(term.gram, dtype=np.float64)
        tensors.update({"gram_indptr": torch.from_numpy(gram.indptr.astype(np.int64)),
                        "gram_indices": torch.from_numpy(gram.indices.astype(np.int64)),
                        "gram_data": torch.from_numpy(gram.data)})
    if term.transition is not None:
        tensors["transition"] = torch.from_numpy(np.ascontiguousarray(term.transition, np.float32))
    if term.cold_labels is not None:
        tensors["cold_labels"] = torch.from_numpy(np.ascontiguousarray(term.cold_labels, np.int64))
    if term.log_counts is not None:
        tensors["log_counts"] = torch.from_numpy(np.ascontiguousarray(term.log_counts, np.float64))
    return tensors


def _known_term(file: Path, num_labels: int) -> KnownLabelWeights:
    """The term of ``known_labels.safetensors``. Directories written before the blend hold ``edge_index`` over the
    trained labels (the first labels of the space), a ``scale`` and nothing else: network weight 1, bias 0."""
    tensors = _read_safetensors(file)
    try:
        if "matrix" in tensors:
            matrix = tensors["matrix"].numpy()
            if matrix.shape != (num_labels, num_labels):
                raise ValueError(f"matrix of shape {matrix.shape}")
        else:
            matrix = _edge_matrix(tensors["edge_index"].numpy(), tensors["weight"].numpy(), num_labels)
        gram = None
        if "gram_indptr" in tensors:
            gram = sp.csr_matrix((tensors["gram_data"].numpy(), tensors["gram_indices"].numpy(),
                                  tensors["gram_indptr"].numpy()), shape=(num_labels, num_labels))
            gram.check_format(full_check=True)
        transition = tensors["transition"].numpy() if "transition" in tensors else None
        if transition is not None and transition.shape != (num_labels, num_labels):
            raise ValueError(f"transition of shape {transition.shape}")
        scalars = {name: float(tensors[name]) for name in ("scale", "bias", "network_weight", "regularisation",
                                                           "transition_share") if name in tensors}
        if not 0.0 <= scalars.get("transition_share", 0.0) < 1.0:
            raise ValueError(f"transition_share {scalars['transition_share']}")
        cold = tensors["cold_labels"].numpy() if "cold_labels" in tensors else None
        if cold is not None and (cold.ndim != 1 or cold.dtype.kind not in "iu" or not len(cold)
                                 or np.any(np.diff(cold) <= 0) or cold[0] < 0 or cold[-1] >= num_labels):
            raise ValueError(f"cold_labels {cold.tolist()[:5]}")
        log_counts = tensors["log_counts"].numpy() if "log_counts" in tensors else None
        if log_counts is not None and log_counts.shape != (num_labels,):
            raise ValueError(f"log_counts of shape {log_counts.shape}")
        if log_counts is not None and not np.all(log_counts >= 0):  # NaN and infinities: refused on reading
            raise ValueError("log_counts holding a negative count")
    except (KeyError, ValueError, RuntimeError) as error:
        raise ModelDirectoryError(f"{file}: invalid ({_first_line(error)}); expected B ({num_labels}, {num_labels}) "
                                  "as a matrix or edges, a scale, any transition as a matrix of the same shape "
                                  f"with a share in [0, 1), any cold labels as increasing indices below "
                                  f"{num_labels}, and any log counts as {num_labels} finite counts >= 0") from None
    return KnownLabelWeights(matrix=matrix, scale=scalars["scale"], bias=scalars.get("bias", 0.0),
                             network_weight=scalars.get("network_weight", 1.0),
                             regularisation=scalars.get("regularisation") or None, gram=gram, transition=transition,
                             transition_share=scalars.get("transition_share", 0.0), cold_labels=cold,
                             log_counts=log_counts)


def _cold_teacher_tensors(teacher: ColdLabelTeacher) -> dict[str, torch.Tensor]:
    """The cold labels' teacher as safetensors: ``edge_index`` / ``weight`` (the non-zeros of ``T``), ``bias``,
    ``targets`` and ``share``."""
    return {**_edge_tensors(teacher.matrix),
            "bias": torch.from_numpy(np.ascontiguousarray(teacher.bias, np.float32)),
            "targets": torch.from_numpy(teacher.targets.astype(np.int64)),
            "share": torch.tensor([teacher.share], dtype=torch.float64)}


def _cold_teacher(file: Path, num_labels: int, embedding_dim: int) -> ColdLabelTeacher:
    """The teacher of ``cold_teacher.safetensors``, checked against the label count."""
    tensors = _read_safetensors(file)
    try:
        edge_index, targets = tensors["edge_index"].numpy(), tensors["targets"].numpy()
        if not (np.issubdtype(edge_index.dtype, np.integer) and np.issubdtype(targets.dtype, np.integer)):
            raise ValueError("edges or targets not integers")
        with np.errstate(over="ignore"):  # as scored: a float64 1e300 is inf here, refused below
            weight = tensors["weight"].numpy().astype(np.float32)
            bias, share = tensors["bias"].numpy().astype(np.float32), float(tensors["share"])
        matrix = _edge_matrix(edge_index, weight, num_labels)
        if bias.shape != (num_labels,) or targets.ndim != 1 or (targets.size and not (
                0 <= targets.min() and targets.max() < num_labels)) or not 0 < share <= 1:
            raise ValueError("biases, targets or share outside the labels")
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            raise ValueError("weights not finite")
    except (KeyError, ValueError, RuntimeError, TypeError) as error:
        raise ModelDirectoryError(f"{file}: invalid ({_first_line(error)}); expected edges, {num_labels} biases, "
                                  "target labels and a share in (0, 1]") from None
    teacher = ColdLabelTeacher(matrix=matrix, bias=bias, targets=np.unique(targets), share=share)
    budget = ColdLabelTeacher.budget(embedding_dim, num_labels)
    if teacher.num_values > budget:  # scoring holds it dense
        raise ModelDirectoryError(f"{file}: a teacher of {teacher.num_values} values; expected at most embedding_dim x "
                                  f"labels = {budget}, as training writes")
    return teacher


def _edge_tensors(matrix: sp.spmatrix) -> dict[str, torch.Tensor]:
    """A sparse (L, L) matrix's non-zeros as ``edge_index`` (2, E) int64 and ``weight`` (E,) float32, as
    :func:`_edge_matrix` reads them back."""
    coo = sp.coo_matrix(matrix)
    return {"edge_index": torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64)),
            "weight": torch.from_numpy(coo.data.astype(np.float32))}


def _edge_matrix(edge_index: np.ndarray, weight: np.ndarray, num_labels: int) -> sp.csr_matrix:
    """(num_labels, num_labels) float32 CSR of edges ``edge_index`` (2, E) with weights ``weight`` (E,).

    Raises:
        ValueError: edges of another shape or outside the labels.
    """
    if edge_index.ndim != 2 or edge_index.shape[0] != 2 or weight.shape != (edge_index.shape[1],) \
            or (edge_index.size and not (0 <= edge_index.min() and edge_index.max() < num_labels)):
        raise ValueError("edges outside the labels")
    return sp.csr_matrix((weight, (edge_index[0], edge_index[1])), shape=(num_labels, num_labels), dtype=np.float32)


def _mapping(value: Any, file: Path, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ModelDirectoryError(f"{file}: {what} is a {type(value).__name__}; expected a JSON object")
    return value


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelDirectoryError(
            f"{path}: not valid JSON ({error}); expected a file written by 'gnn-mlc train'. Hint: train it again"
        ) from None


def _first_line(error: BaseException) -> str:
    text = str(error.args[0]) if error.args else type(error).__name__
    return text.splitlines()[0] if text else type(error).__name__
