"""Ray Data over the Scorer: the same recommendations as the local job, row for row."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gnn_mlc import LabelGCNClassifier, read_dataset
from gnn_mlc.serving.batch import run_scoring_job
from gnn_mlc.serving.scorer import Scorer

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'gnn-mlc[ray]'")


@pytest.mark.timeout(300)
def test_ray_data_map_batches_equals_local_job(tmp_path, demo_train, demo_score):
    data = read_dataset(demo_train)
    model = tmp_path / "model"
    LabelGCNClassifier(random_state=0, max_epochs=2, hidden_channels=32, embedding_dim=16).fit(
        data.X, data.Y, label_names=data.label_names, feature_names=data.feature_names).to_directory(model)
    run_scoring_job(model, demo_score, tmp_path / "local", top_k=5, progress=False)
    local = pq.read_table(sorted((tmp_path / "local").glob("part-*.parquet"))).sort_by("id")

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        dataset = ray.data.read_parquet(str(demo_score), override_num_blocks=4).map_batches(
            Scorer,
            fn_constructor_kwargs={"model": str(model), "top_k": 5},
            batch_size=256,
            concurrency=2,  # an actor pool of two, each loading the model once
            num_cpus=0.5,  # leaves a CPU of the two for the read tasks
            batch_format="pyarrow",
        )
        table = pa.concat_tables(ray.get(dataset.to_arrow_refs())).sort_by("id")
    finally:
        ray.shutdown()
    assert table.num_rows == local.num_rows == 2000
    assert table.column("reason").null_count == 2000
    assert table.column("id").to_pylist() == local.column("id").to_pylist()
    assert table.column("labels").to_pylist() == local.column("labels").to_pylist()
    assert table.column("scores").to_pylist() == local.column("scores").to_pylist()
