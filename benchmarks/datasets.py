"""The shared benchmark data sets (../shared/datasets) as train/test :class:`gnn_mlc.Dataset` pairs.

Data sets with a predefined split (Mulan's ``-train``/``-test`` files) use it; the others get a seeded 70/30 split.
:func:`load_split` adds the development split (``--split dev`` of the benchmark scripts): a seeded 30% of the training
rows stand in for the test rows, other rows for every seed (on the sets with a fixed split too), so choices are made
without the test rows of the same seed. On the sets without a fixed split (MovieLens genres, mediamill_small,
yeast-meka) the 70/30 split is re-drawn per seed, so a development seed's rows include rows that the reported seeds
(0-2) test on; only the fixed-split sets keep development apart from every reported test row.
MovieLens is a recommendation task: each user's features are the genre shares and mean ratings of their first 70% of
ratings (by time), the labels are the genres of the movies they rated >= 4 in the last 30%.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from common import commit

from gnn_mlc import Dataset, read_dataset
from gnn_mlc.data import train_test_split_indices

DEV_SEEDS = (10, 11, 12)
"""The development seeds of ``--split dev`` (the reported test runs use 0, 1, 2)."""

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
SPLIT = ("emotions", "yeast", "scene", "birds", "genbase", "medical", "enron", "bibtex")
WHOLE = {"mediamill_small": "mediamill_small.arff", "yeast-meka": "Yeast.arff.bz2"}


def load(name: str, seed: int) -> tuple[Dataset, Dataset]:
    if name in SPLIT:
        return (read_dataset(DATASETS / name / f"{name}-train.arff"),
                read_dataset(DATASETS / name / f"{name}-test.arff"))
    data = movielens() if name == "movielens" else read_dataset(DATASETS / name / WHOLE[name])
    train, test = train_test_split_indices(data.num_rows, test_fraction=0.3, seed=seed)
    return data.subset(train), data.subset(test)


def split_seeds(split: str, given: list[int] | None) -> list[int]:
    """The seeds a run uses: ``given``, else :data:`DEV_SEEDS` for ``split="dev"`` and 0 1 2 for ``"test"``."""
    return given or (list(DEV_SEEDS) if split == "dev" else [0, 1, 2])


def start_run() -> None:
    """What a run over the shared data sets does first: exit with one line when they are absent, record the commit
    it starts at (``common.commit``, read once), and silence warnings and the package's log below errors (the
    scripts print their own progress)."""
    import logging
    import sys
    import warnings

    if not DATASETS.is_dir():
        sys.exit(f"shared data sets not found at {DATASETS}")
    commit()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)


def load_split(name: str, seed: int, split: str) -> tuple[Dataset, Dataset]:
    """``load(name, seed)`` for ``split="test"``; for ``split="dev"``, its training rows split into a seeded 70%
    (the training rows) and 30% (the development rows, in place of the test rows), the test rows unused."""
    if split not in ("dev", "test"):
        raise ValueError(f"split must be 'dev' or 'test', got {split!r}")
    train, test = load(name, seed)
    if split == "test":
        return train, test
    fitting, development = train_test_split_indices(train.num_rows, test_fraction=0.3, seed=10_000 + seed)
    return train.subset(fitting), train.subset(development)


def movielens() -> Dataset:
    import csv

    folder = DATASETS / "movielens-latest-small"
    with open(folder / "movies.csv", newline="", encoding="utf-8") as handle:
        genres = {int(row["movieId"]): [g for g in row["genres"].split("|") if g != "(no genres listed)"]
                  for row in csv.DictReader(handle)}
    names = sorted({genre for values in genres.values() for genre in values})
    index = {genre: j for j, genre in enumerate(names)}
    ratings: dict[int, list[tuple[int, int, float]]] = {}
    with open(folder / "ratings.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            ratings.setdefault(int(row["userId"]), []).append(
                (int(row["timestamp"]), int(row["movieId"]), float(row["rating"])))
    X, Y = [], []
    for user in sorted(ratings):
        history = sorted(ratings[user])
        cut = int(len(history) * 0.7)
        share, rating_sum = np.zeros(len(names)), np.zeros(len(names))
        for _, movie, rating in history[:cut]:
            for genre in genres[movie]:
                share[index[genre]] += 1
                rating_sum[index[genre]] += rating
        mean_rating = np.divide(rating_sum, share, out=np.zeros_like(share), where=share > 0)
        X.append(np.concatenate([share / max(cut, 1), mean_rating / 5, [np.log1p(cut)]]))
        labels = np.zeros(len(names), dtype=np.uint8)
        for _, movie, rating in history[cut:]:
            if rating >= 4:
                for genre in genres[movie]:
                    labels[index[genre]] = 1
        Y.append(labels)
    features = [f"share_{g}" for g in names] + [f"mean_rating_{g}" for g in names] + ["log_history"]
    return Dataset.from_arrays(np.array(X), np.array(Y), label_names=names, feature_names=features)
