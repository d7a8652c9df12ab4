"""Shared fixtures: paths to the embedded demo data and the shared benchmark data sets, tiny hand-built files."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data"
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture
def shared_datasets() -> Path:
    """``../shared/datasets``; the test is skipped, with the reason, where it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATASETS} (only present beside the project checkout)")
    return SHARED_DATASETS


@pytest.fixture
def demo_train() -> Path:
    return DEMO / "shop_train.parquet"


@pytest.fixture
def demo_test() -> Path:
    return DEMO / "shop_test.parquet"


@pytest.fixture
def demo_score() -> Path:
    return DEMO / "shop_score.parquet"
