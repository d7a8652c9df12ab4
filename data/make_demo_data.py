"""Generate the embedded demo data set: a small multi-interest shop.

Users have 32 behavioural features and 0..n of 56 interest labels in 8 themed groups. The labels have the structure
a label graph should exploit:

* correlated groups: each user has a latent affinity per group, and every label of a group depends on it;
* cross-group links (camping <-> grilling, photography <-> hiking, ...);
* implications (climbing users almost always like hiking; baby care implies toys more often than not);
* a popularity long tail: label base rates from ~30% down to well under 1%.

The features see the latent affinities only through noise (spend shares and page views per group), plus
demographics and pure-noise columns, so the labels are not trivially recoverable from the features.

Eight interests are **new in the catalogue** (one per group, :data:`NEW_INTERESTS`): no row of
``shop_train.parquet`` carries them (its label lists leave them out), but ``shop_baskets.parquet``, a label-only log
of 6,000 baskets (``basket_id``, ``labels``: interests bought together, no user features), does, and so do the
held-out users of ``shop_test.parquet``. A model trained with the log scores them through the label graph.

Run ``python data/make_demo_data.py`` to rewrite ``data/shop_{train,test,score,baskets}.parquet`` (seed 20261121).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20261121
GROUPS = {
    "outdoors": ["hiking", "camping", "climbing", "fishing", "cycling", "trail running", "bouldering"],
    "kitchen": ["baking", "grilling", "vegan cooking", "coffee", "wine", "cocktails", "sourdough"],
    "tech": ["smartphones", "gaming", "pc building", "smart home", "photography", "drones", "vr headsets"],
    "fashion": ["sneakers", "streetwear", "jewelry", "handbags", "watches", "skincare", "vintage"],
    "fitness": ["yoga", "running", "weightlifting", "swimming", "pilates", "supplements", "crossfit"],
    "home": ["gardening", "diy", "interior design", "furniture", "houseplants", "candles", "aquariums"],
    "family": ["toys", "baby care", "kids books", "board games", "school supplies", "pet supplies", "scouting"],
    "media": ["books", "vinyl", "comics", "movies", "podcasts", "concerts", "audiobooks"],
}
NEW_INTERESTS = ["bouldering", "sourdough", "vr headsets", "vintage", "crossfit", "aquariums", "scouting",
                 "audiobooks"]
# (label, other group, strength): the label also depends on another group's affinity.
CROSS_LINKS = [
    ("grilling", "outdoors", 1.2), ("photography", "outdoors", 1.0), ("drones", "outdoors", 0.8),
    ("trail running", "fitness", 1.2), ("cycling", "fitness", 0.8), ("board games", "media", 0.8),
    ("houseplants", "fashion", 0.6), ("supplements", "kitchen", 0.6), ("smart home", "home", 1.0),
    ("running", "outdoors", 0.8), ("comics", "tech", 0.8),
]
# (if this label, then that label with this probability)
IMPLICATIONS = [("climbing", "hiking", 0.9), ("baby care", "toys", 0.7), ("pc building", "gaming", 0.8),
                ("pilates", "yoga", 0.6), ("vinyl", "concerts", 0.5), ("cocktails", "wine", 0.4),
                ("bouldering", "climbing", 0.6), ("sourdough", "baking", 0.7)]
NUM_TRAIN, NUM_TEST, NUM_SCORE, NUM_BASKETS = 3000, 1000, 2000, 6000


def label_names() -> list[str]:
    return [label for labels in GROUPS.values() for label in labels]


def generate(num_rows: int, rng: np.random.Generator, base_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return features (num_rows, 32) float32 and labels (num_rows, 56) uint8."""
    groups = list(GROUPS)
    names = label_names()
    group_of = [groups.index(group) for group, labels in GROUPS.items() for _ in labels]
    affinity = rng.normal(size=(num_rows, len(groups)))  # latent group affinities
    logits = np.empty((num_rows, len(names)))
    for index in range(len(names)):
        logits[:, index] = base_logits[index] + 1.8 * affinity[:, group_of[index]]
    for name, other, strength in CROSS_LINKS:
        logits[:, names.index(name)] += strength * affinity[:, groups.index(other)]
    Y = (rng.random(logits.shape) < 1.0 / (1.0 + np.exp(-logits))).astype(np.uint8)
    for source, target, probability in IMPLICATIONS:
        implied = (Y[:, names.index(source)] == 1) & (rng.random(num_rows) < probability)
        Y[implied, names.index(target)] = 1

    spend = np.exp(1.2 * affinity + rng.normal(scale=0.5, size=affinity.shape))
    share = spend / spend.sum(axis=1, keepdims=True)
    views = rng.poisson(np.exp(2.0 + 0.8 * affinity + rng.normal(scale=0.3, size=affinity.shape)))
    age = np.clip(rng.normal(38 + 6 * affinity[:, groups.index("family")], 11), 18, 85)
    tenure = rng.gamma(2.0, 14.0, num_rows)
    orders = rng.poisson(1 + 2 * share.max(axis=1) + Y.sum(axis=1) / 4)
    basket = np.exp(rng.normal(3.5 + 0.2 * affinity[:, groups.index("tech")], 0.5))
    sessions = rng.poisson(4 + Y.sum(axis=1) / 2)
    mobile = rng.beta(2 + affinity[:, groups.index("fashion")].clip(-1.5, None) + 1.5, 3)
    discount = rng.beta(2, 5, num_rows)
    returns = rng.beta(1, 12, num_rows)
    noise = rng.normal(size=(num_rows, 8))
    X = np.column_stack([share, views, age, tenure, orders, basket, sessions, mobile, discount, returns, noise])
    return X.astype(np.float32), Y


def feature_names() -> list[str]:
    return ([f"spend_share_{group}" for group in GROUPS] + [f"views_{group}" for group in GROUPS]
            + ["age", "tenure_months", "orders_90d", "avg_basket", "sessions_30d", "mobile_share", "discount_share",
               "returns_rate"] + [f"misc_{k}" for k in range(8)])


def label_lists(Y: np.ndarray) -> pa.Array:
    names = np.array(label_names(), dtype=object)
    return pa.array([list(names[row.astype(bool)]) for row in Y], type=pa.list_(pa.string()))


def to_table(ids: list[str], X: np.ndarray, Y: np.ndarray | None) -> pa.Table:
    columns = {"id": pa.array(ids)}
    for index, name in enumerate(feature_names()):
        columns[name] = pa.array(np.round(X[:, index], 4), type=pa.float32())
    if Y is not None:
        columns["labels"] = label_lists(Y)
    return pa.table(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path(__file__).parent, help="directory for the Parquet files")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    # Long tail: base log-odds from common (~ -1.8) to rare (~ -7), shuffled over labels; new interests mid-range.
    names = label_names()
    new = np.array([name in NEW_INTERESTS for name in names])
    base_logits = np.empty(len(names))
    base_logits[~new] = rng.permutation(np.linspace(-1.8, -7.0, int((~new).sum())))
    base_logits[new] = rng.uniform(-3.5, -2.5, int(new.sum()))
    total = NUM_TRAIN + NUM_TEST + NUM_SCORE
    X, Y = generate(total, rng, base_logits)
    _, baskets = generate(NUM_BASKETS, rng, base_logits)
    baskets = baskets[baskets.sum(axis=1) > 0]  # a basket holds at least one interest
    pq.write_table(pa.table({"basket_id": pa.array([f"basket{index:05d}" for index in range(len(baskets))]),
                             "labels": label_lists(baskets)}),
                   args.output / "shop_baskets.parquet", compression="zstd")
    Y_train = Y[:NUM_TRAIN].copy()
    Y_train[:, new] = 0  # new in the catalogue: no training row carries them yet
    ids = [f"user{index:05d}" for index in range(total)]
    splits = {"train": slice(0, NUM_TRAIN), "test": slice(NUM_TRAIN, NUM_TRAIN + NUM_TEST),
              "score": slice(NUM_TRAIN + NUM_TEST, total)}
    for split, rows in splits.items():
        labels = {"train": Y_train, "test": Y[rows], "score": None}[split]
        table = to_table(ids[rows], X[rows], labels)
        pq.write_table(table, args.output / f"shop_{split}.parquet", compression="zstd")
    frequency = Y[: NUM_TRAIN].mean(axis=0)
    print(f"wrote {', '.join(f'shop_{s}.parquet' for s in [*splits, 'baskets'])} to {args.output}: "
          f"{X.shape[1]} features, {Y.shape[1]} labels ({int(new.sum())} new: in the baskets and the test users "
          f"only), cardinality {Y.sum(axis=1).mean():.2f}, label frequency {frequency.max():.3f} .. "
          f"{frequency.min():.4f}; {len(baskets)} baskets")


if __name__ == "__main__":
    main()
