"""Every file a command writes is readable by another account under a 022 umask (0644 files, 0755 folders)."""

from __future__ import annotations

import os
import stat

from gnn_mlc import LabelGCNClassifier, read_dataset
from gnn_mlc.cli import main


def test_reports_graphs_and_pictures_get_the_usual_permissions(tmp_path, demo_train, demo_test):
    data = read_dataset(demo_train)
    LabelGCNClassifier(max_epochs=1, hidden_channels=16, embedding_dim=8).fit(
        data.X, data.Y, label_names=data.label_names, feature_names=data.feature_names).to_directory(tmp_path / "m")
    previous = os.umask(0o022)
    try:
        assert main(["evaluate", "--model", str(tmp_path / "m"), "--data", str(demo_test), "--output",
                     str(tmp_path / "out" / "report")]) == 0
        assert main(["graph", "--data", str(demo_train), "--output", str(tmp_path / "out" / "g.graphml")]) == 0
        assert main(["inspect", "--model", str(tmp_path / "m"), "--output", str(tmp_path / "out" / "inspect")]) == 0
    finally:
        os.umask(previous)
    files = [path for path in (tmp_path / "out").rglob("*") if path.is_file()]
    assert {path.suffix for path in files} >= {".json", ".md", ".csv", ".graphml", ".gexf", ".png", ".tsv", ".npy"}
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == {path.name: 0o644 for path in files}
    folders = [path for path in (tmp_path / "out").rglob("*") if path.is_dir()]
    assert {stat.S_IMODE(path.stat().st_mode) for path in folders} == {0o755}
