"""Model directory: a reloaded model scores identically; nothing is unpickled; broken directories are refused."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from safetensors import safe_open

from gnn_mlc import (
    GnnMlcError,
    LabelGCNClassifier,
    ModelDirectoryError,
    load_model,
    read_dataset,
)

FAST = {"max_epochs": 3, "hidden_channels": 32, "embedding_dim": 16, "batch_size": 64}


@pytest.fixture(scope="module")
def data():
    from tests.conftest import DEMO

    full = read_dataset(DEMO / "shop_train.parquet")
    return full.subset(np.arange(500))


@pytest.fixture(scope="module", params=[True, False], ids=["gcn", "no-graph"])
def saved(request, data, tmp_path_factory):
    classifier = LabelGCNClassifier(use_graph=request.param, random_state=1, threshold_strategy="per_label", **FAST)
    classifier.fit(data.X, data.Y, label_names=data.label_names, feature_names=data.feature_names)
    path = classifier.to_directory(tmp_path_factory.mktemp("models") / "model")
    return classifier, path


def test_reloaded_model_gives_identical_scores(saved, data):
    classifier, path = saved
    reloaded = load_model(path)
    np.testing.assert_array_equal(reloaded.predict_proba(data.X), classifier.predict_proba(data.X))
    np.testing.assert_array_equal(reloaded.predict(data.X), classifier.predict(data.X))
    assert list(reloaded.classes_) == data.label_names
    assert list(reloaded.feature_names_in_) == data.feature_names
    assert reloaded.get_params() == {**classifier.get_params(), "verbose": False}


def test_directory_holds_plain_files(saved):
    classifier, path = saved
    config = json.loads((path / "config.json").read_text())
    assert config["format"] == "gnn-mlc-model" and config["format_version"] == 3
    assert config["parameters"]["use_graph"] == classifier.use_graph
    assert json.loads((path / "labels.json").read_text()) == list(classifier.classes_)
    rule = json.loads((path / "thresholds.json").read_text())
    assert rule["strategy"] == "per_label"
    assert rule["thresholds"] == pytest.approx(classifier.thresholds_.tolist())
    assert config["training"]["label_counts"] == classifier.label_counts_.tolist()
    with safe_open(str(path / "label_vectors.safetensors"), framework="np") as vectors:
        np.testing.assert_array_equal(vectors.get_tensor("label_embeddings"), classifier.label_embeddings_)
        np.testing.assert_array_equal(vectors.get_tensor("label_bias"), classifier.label_bias_)
    with safe_open(str(path / "weights.safetensors"), framework="pt") as weights:
        assert "scaler.offset" in weights.keys()
    assert (path / "label_graph.graphml").is_file() == classifier.use_graph
    assert json.loads((path / "metrics.json").read_text())["best_epoch"] == classifier.training_.best_epoch
    manifest = json.loads((path / "manifest.json").read_text())["files"]
    assert sorted(manifest) == sorted(p.name for p in path.iterdir() if p.name != "manifest.json")
    assert all(entry["size"] == (path / name).stat().st_size for name, entry in manifest.items())


def test_save_refuses_to_overwrite_unless_asked(saved):
    classifier, path = saved
    with pytest.raises(GnnMlcError, match=r"already exists; expected a new directory"):
        classifier.to_directory(path)
    classifier.to_directory(path, overwrite=True)
    assert load_model(path).predict_proba(np.zeros((1, 32), dtype=np.float32)).shape == (1, 48)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging or trash left behind


def copy_model(saved, tmp_path):
    import shutil

    _, path = saved
    target = tmp_path / "copy"
    shutil.copytree(path, target)
    return target


def resign(target):
    """Rewrite the manifest after editing a part: the deeper checks must hold even for a consistent directory."""
    from gnn_mlc.model_directory import write_manifest

    write_manifest(target)


def test_missing_directory_and_files(saved, tmp_path):
    with pytest.raises(ModelDirectoryError, match=r"no such model directory"):
        load_model(tmp_path / "nothing")
    target = copy_model(saved, tmp_path)
    (target / "labels.json").unlink()
    with pytest.raises(ModelDirectoryError, match=r"labels\.json is missing; expected a complete model directory"):
        load_model(target)
    (target / "manifest.json").unlink()
    with pytest.raises(ModelDirectoryError, match=r"manifest\.json is missing; expected a complete model directory"):
        load_model(target)


def test_corrupted_weights_are_refused(saved, tmp_path):
    target = copy_model(saved, tmp_path)
    data = (target / "weights.safetensors").read_bytes()
    (target / "weights.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelDirectoryError, match=r"weights\.safetensors: does not match the manifest"):
        load_model(target)
    resign(target)
    with pytest.raises(ModelDirectoryError, match=r"weights\.safetensors: cannot be read"):
        load_model(target)


def test_pickle_in_weights_is_not_executed(saved, tmp_path):
    import pickle

    target = copy_model(saved, tmp_path)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (target / "weights.safetensors").write_bytes(pickle.dumps(Payload()))
    resign(target)
    with pytest.raises(ModelDirectoryError, match=r"cannot be read"):
        load_model(target)
    assert not marker.exists()


def test_other_format_version_and_bad_json(saved, tmp_path):
    target = copy_model(saved, tmp_path)
    config = json.loads((target / "config.json").read_text())
    (target / "config.json").write_text(json.dumps({**config, "format_version": 2, "library_version": "0.1.0"}))
    with pytest.raises(ModelDirectoryError, match=r"format version 2 \(written by gnn-mlc 0\.1\.0\); expected 3"):
        load_model(target)
    (target / "config.json").write_text("{ not json")
    with pytest.raises(ModelDirectoryError, match=r"config\.json: not valid JSON"):
        load_model(target)


def test_weights_of_another_model_are_refused(saved, tmp_path):
    target = copy_model(saved, tmp_path)
    config = json.loads((target / "config.json").read_text())
    config["parameters"]["hidden_channels"] = 8
    (target / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirectoryError, match=r"config\.json: does not match the manifest"):
        load_model(target)
    resign(target)
    with pytest.raises(ModelDirectoryError, match=r"parameters and weights do not fit together"):
        load_model(target)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dropout": "a lot"}, r"The 'dropout' parameter of LabelGCNClassifier must be a float in \[0, 1\); got 'a"),
        ({"graph_weighting": "magic"}, r"The 'graph_weighting' parameter .* must be one of 'count', 'probability'"),
        ({"use_graph": "yes"}, r"The 'use_graph' parameter of LabelGCNClassifier must be True or False; got 'yes'"),
        ({"__class__": "os.system"}, r"unknown parameter '__class__'"),
    ],
)
def test_config_is_validated_not_trusted(saved, tmp_path, change, message):
    target = copy_model(saved, tmp_path)
    config = json.loads((target / "config.json").read_text())
    config["parameters"].update(change)
    (target / "config.json").write_text(json.dumps(config))
    resign(target)
    with pytest.raises(ModelDirectoryError, match=r"config\.json: parameters and weights do not fit together \(.*"
                       + message):
        load_model(target)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("labels.json", "7", r"labels\.json: got int; expected a list of non-empty strings"),
        ("labels.json", '{"a": 1}', r"labels\.json: got dict; expected a list of non-empty strings"),
        ("labels.json", None, r"labels\.json: 'l0' appears twice; expected unique names"),
        ("labels.json", '[1, 2]', r"labels\.json: got list; expected a list of non-empty strings"),
        ("feature_names.json", "short", r"feature_names\.json: 31 names; expected 32"),
        ("feature_names.json", "3", r"feature_names\.json: got int; expected a list"),
        ("metrics.json", "[]", r"metrics\.json: metrics is a list; expected a JSON object"),
        ("thresholds.json", "[]", r"thresholds\.json: invalid decision rule"),
    ],
)
def test_each_part_is_checked_against_the_config(saved, tmp_path, name, content, message):
    target = copy_model(saved, tmp_path)
    if content is None:  # a duplicated label name
        labels = json.loads((target / name).read_text())
        content = json.dumps(["l0"] * len(labels))
    elif content == "short":
        content = json.dumps(json.loads((target / name).read_text())[:-1])
    (target / name).write_text(content)
    resign(target)
    with pytest.raises(ModelDirectoryError, match=message):
        load_model(target)


def test_label_vectors_from_another_run_or_with_nan_are_refused(saved, tmp_path):
    from safetensors.numpy import load_file, save_file

    target = copy_model(saved, tmp_path)
    vectors = load_file(str(target / "label_vectors.safetensors"))
    permuted = {**vectors, "label_embeddings": vectors["label_embeddings"][::-1].copy()}
    save_file(permuted, str(target / "label_vectors.safetensors"))
    with pytest.raises(ModelDirectoryError, match=r"label_vectors\.safetensors: does not match the manifest"):
        load_model(target)
    save_file({**vectors, "label_bias": np.full_like(vectors["label_bias"], np.nan)},
              str(target / "label_vectors.safetensors"))
    resign(target)
    with pytest.raises(ModelDirectoryError, match=r"tensor 'label_bias' holds NaN or infinite values"):
        load_model(target)
    save_file({**vectors, "label_embeddings": vectors["label_embeddings"][:, :3].copy()},
              str(target / "label_vectors.safetensors"))
    resign(target)
    with pytest.raises(ModelDirectoryError, match=r"label_embeddings is torch\.float32 \(48, 3\); expected float32"):
        load_model(target)


def test_symbolic_links_are_not_followed(saved, tmp_path):
    import os

    target = copy_model(saved, tmp_path)
    outside = tmp_path / "elsewhere.safetensors"
    os.replace(target / "weights.safetensors", outside)
    os.symlink(outside, target / "weights.safetensors")
    with pytest.raises(ModelDirectoryError, match=r"weights\.safetensors: is a symbolic link"):
        load_model(target)


def test_a_file_the_manifest_does_not_list_is_refused(saved, data, tmp_path):
    """``cp new/* deploy/`` over a known-label model leaves its known_labels.safetensors: refused, not loaded."""
    import shutil

    classifier, path = saved
    deploy = LabelGCNClassifier(**FAST).fit(data.X, data.Y, known_labels="split").to_directory(tmp_path / "deploy")
    assert (deploy / "known_labels.safetensors").is_file()
    for file in path.iterdir():
        shutil.copy2(file, deploy / file.name)
    left = sorted({file.name for file in deploy.iterdir()} - {file.name for file in path.iterdir()})
    assert "known_labels.safetensors" in left  # and label_graph.graphml where the plain model has no graph
    with pytest.raises(ModelDirectoryError, match=rf"deploy/{re.escape(left[0])}: is not listed in manifest\.json; expected "
                       r"exactly the files the manifest lists"):
        load_model(deploy)
    for name in left:
        (deploy / name).unlink()
    np.testing.assert_array_equal(load_model(deploy).predict_proba(data.X), classifier.predict_proba(data.X))


def test_saved_files_have_the_usual_permissions(saved, tmp_path):
    import os
    import stat

    classifier, _ = saved
    previous = os.umask(0o022)
    try:
        path = classifier.to_directory(tmp_path / "shared-model")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    modes = {file.name: stat.S_IMODE(file.stat().st_mode) for file in path.iterdir()}
    assert modes.pop("graph_rows.safetensors") == 0o600  # training rows' label sets: the owner's only
    assert set(modes.values()) == {0o644}



def test_a_graph_above_the_graphml_limit_is_kept_in_the_weights_only(saved, data, tmp_path, monkeypatch):
    import gnn_mlc.model_directory as model_directory

    classifier, path = saved
    if classifier.graph_ is None:
        pytest.skip("the no-graph model writes no GraphML")
    assert (path / "label_graph.graphml").is_file()
    monkeypatch.setattr(model_directory, "GRAPHML_EDGES", classifier.graph_.adjacency.nnz - 1)
    smaller = classifier.to_directory(tmp_path / "model")
    assert not (smaller / "label_graph.graphml").exists()
    np.testing.assert_array_equal(load_model(smaller).predict_proba(data.X), classifier.predict_proba(data.X))


def test_a_malformed_item_or_categorical_column_entry_is_one_clear_line(tmp_path):
    from gnn_mlc.model_directory import _categorical_columns, _item_columns

    file = tmp_path / "columns.json"
    file.write_text(json.dumps([{"bogus": 1}]))
    with pytest.raises(ModelDirectoryError, match=r"columns.json: invalid item columns \(item column: incomplete "
                                                  r"description .*\); expected the ones 'gnn-mlc train' writes"):
        _item_columns(file, ["a"])
    with pytest.raises(ModelDirectoryError, match=r"columns.json: invalid categorical columns \(categorical column: "
                                                  r"incomplete description .*\); expected the ones 'gnn-mlc train'"):
        _categorical_columns(file, ["a"], [])
