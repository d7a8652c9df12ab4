"""Model directory: a reloaded model scores identically; nothing is unpickled; broken directories are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors import safe_open

from gnn_mlc import GnnMlcError, LabelGCNClassifier, ModelDirectoryError, load_model, read_dataset

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
    path = classifier.save(tmp_path_factory.mktemp("models") / "model")
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
    assert config["format"] == "gnn-mlc-model" and config["format_version"] == 2
    assert config["parameters"]["use_graph"] == classifier.use_graph
    assert json.loads((path / "labels.json").read_text()) == list(classifier.classes_)
    rule = json.loads((path / "thresholds.json").read_text())
    assert rule["strategy"] == "per_label"
    assert rule["thresholds"] == pytest.approx(classifier.thresholds_.tolist())
    assert config["training"]["label_counts"] == classifier.label_counts_.tolist()
    embeddings = np.load(path / "label_embeddings.npy", allow_pickle=False)
    np.testing.assert_array_equal(embeddings, classifier.label_embeddings_)
    with safe_open(str(path / "weights.safetensors"), framework="pt") as weights:
        assert "scaler.offset" in weights.keys()
    assert (path / "label_graph.graphml").is_file() == classifier.use_graph
    assert json.loads((path / "metrics.json").read_text())["best_epoch"] == classifier.training_.best_epoch


def test_save_refuses_to_overwrite_unless_asked(saved):
    classifier, path = saved
    with pytest.raises(GnnMlcError, match=r"already exists; expected a new directory"):
        classifier.save(path)
    classifier.save(path, overwrite=True)
    assert load_model(path).predict_proba(np.zeros((1, 32), dtype=np.float32)).shape == (1, 48)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging or trash left behind


def copy_model(saved, tmp_path):
    import shutil

    _, path = saved
    target = tmp_path / "copy"
    shutil.copytree(path, target)
    return target


def test_missing_directory_and_files(saved, tmp_path):
    with pytest.raises(ModelDirectoryError, match=r"no such model directory"):
        load_model(tmp_path / "nothing")
    target = copy_model(saved, tmp_path)
    (target / "labels.json").unlink()
    with pytest.raises(ModelDirectoryError, match=r"labels\.json is missing; expected a complete model directory"):
        load_model(target)


def test_corrupted_weights_are_refused(saved, tmp_path):
    target = copy_model(saved, tmp_path)
    data = (target / "weights.safetensors").read_bytes()
    (target / "weights.safetensors").write_bytes(data[: len(data) // 2])
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
    with pytest.raises(ModelDirectoryError, match=r"cannot be read"):
        load_model(target)
    assert not marker.exists()


def test_other_format_version_and_bad_json(saved, tmp_path):
    target = copy_model(saved, tmp_path)
    config = json.loads((target / "config.json").read_text())
    (target / "config.json").write_text(json.dumps({**config, "format_version": 99, "library_version": "9.0"}))
    with pytest.raises(ModelDirectoryError, match=r"format version 99 \(written by gnn-mlc 9\.0\); expected 2"):
        load_model(target)
    (target / "config.json").write_text("{ not json")
    with pytest.raises(ModelDirectoryError, match=r"config\.json: not valid JSON"):
        load_model(target)


def test_weights_of_another_model_are_refused(saved, tmp_path):
    target = copy_model(saved, tmp_path)
    config = json.loads((target / "config.json").read_text())
    config["parameters"]["embedding_dim"] = 8
    (target / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirectoryError, match=r"config and weights do not fit together"):
        load_model(target)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dropout": "a lot"}, r"invalid parameters \(dropout: got 'a lot'"),
        ({"graph_weighting": "magic"}, r"invalid parameters \(graph_weighting: got 'magic'; expected one of count"),
        ({"use_graph": "yes"}, r"invalid parameters \(use_graph: got 'yes'; expected True or False"),
        ({"__class__": "os.system"}, r"invalid parameters \(.*unexpected keyword argument '__class__'"),
    ],
)
def test_config_is_validated_not_trusted(saved, tmp_path, change, message):
    target = copy_model(saved, tmp_path)
    config = json.loads((target / "config.json").read_text())
    config["parameters"].update(change)
    (target / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirectoryError, match=r"config\.json: " + message):
        load_model(target)

