"""The recommender anchors of benchmarks/anchors.py beat popularity on a tiny completion problem with three tastes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _module():
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("anchors", BENCHMARKS / "anchors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


anchors = _module()
from common import random_half, recall_ndcg  # noqa: E402  (benchmarks/ is on the path now)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a busy machine a second one only contends (10x slower on these tiny matrices)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def problem() -> dict:
    """150 training and 50 test rows over 30 labels in 3 tastes of 10: a row takes 6 labels of its taste (the taste's
    first labels most often) and one label at random; a test row reveals half of its labels."""
    rng = np.random.default_rng(0)
    weights = np.linspace(2.0, 0.5, 10)
    weights /= weights.sum()

    def rows(count: int) -> sp.csr_matrix:
        Y = np.zeros((count, 30), dtype=np.uint8)
        for row, taste in enumerate(rng.integers(0, 3, count)):
            Y[row, taste * 10 + rng.choice(10, 6, replace=False, p=weights)] = 1
            Y[row, rng.integers(0, 30)] = 1
        return sp.csr_matrix(Y)

    full, test = sp.csr_matrix(rows(150), dtype=np.float64), rows(50)
    known = random_half(test, rng)
    return {"full": full, "known": known, "targets": sp.csr_matrix(test - known)}


def _check(problem: dict, name: str) -> None:
    popularity = np.tile(np.asarray(problem["full"].mean(axis=0)), (problem["known"].shape[0], 1))
    _, baseline = recall_ndcg(popularity, problem["known"], problem["targets"])
    scores, chosen = anchors.ANCHORS[name](problem["full"], sp.csr_matrix(problem["known"], dtype=np.float64), seed=0)
    assert scores.shape == problem["known"].shape and np.isfinite(scores).all()
    assert chosen
    _, ndcg = recall_ndcg(scores, problem["known"], problem["targets"])
    assert ndcg > baseline + 0.05, (name, chosen, ndcg, baseline)


def test_rp3beta_beats_popularity(problem):
    _check(problem, "rp3beta")


def test_ials_beats_popularity(problem):
    pytest.importorskip("implicit", reason="iALS uses the implicit package (the bench extra: pip install -e .[bench])")
    _check(problem, "ials")


def test_mult_vae_beats_popularity(problem):
    _check(problem, "mult-vae")


def test_lightgcn_beats_popularity(problem):
    models = pytest.importorskip("torch_geometric.nn.models", reason="LightGCN comes from torch_geometric")
    if not hasattr(models, "LightGCN"):
        pytest.skip("this torch_geometric has no nn.models.LightGCN")
    _check(problem, "lightgcn")
