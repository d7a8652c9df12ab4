"""How EASE^R's ``lambda`` moves the new items' mAP, and the rules tried for the new items' columns, on development
rows only: the lead left by issue 22's last unmet target (cold-with-history new-item mAP on MovieLens, where the
model's new items are ranked by EASE^R's column at the model's ``lambda``).

On each data set and development seed of ``cold_history.py`` (the same protocol: 20% of the items new, absent from
every feature row, present in a log of half the training rows), EASE^R is fitted on the feature rows' labels and the
log at each ``lambda`` of ``LAMBDAS``, and the new items' mAP over the development rows is recorded; beside it, the
``lambda`` the package's term takes (``regularisation.choose_regularisation`` over the feature rows and the log) and
the one ``recsys.py``'s EASE^R tuning takes. A new-item mAP that rises with ``lambda`` past the package's choice
says that the new items' columns would be better solved with a ``lambda`` of their own.

The rules tried for the new items' columns (``RULES``; each against ``ease``, EASE^R's columns at the package's
``lambda``, the term's until the conditional mix was kept):

* ``ease+log``: EASE^R's tuning of ``lambda`` (``recsys.py``'s, on validation rows' per-row nDCG@10);
* ``oof-log``: the new items' ``lambda`` chosen out of fold on the log's rows (3 folds; each fold's rows reveal a
  random half to EASE^R of every other row; the new items' mean AP over the fold's rows), over ``CHOICES``;
* ``oof-rows``: the same on the feature rows (their given known labels, or random halves; every label's AP): the
  label-wise task, as the new items are scored, on the labels the feature rows have;
* ``log-only``: the new items' columns from EASE^R of the log's rows alone at the package's ``lambda`` (the feature
  rows never observe a new item, so they need not count as its negatives);
* ``history``: (MovieLens only, whose histories are given) the package's scores plus ``g * log(1 + |history|)``,
  ``g`` fitted with the term's scale and bias by a logistic fit on a third of the feature rows (EASE^R of the rest
  and the log): a longer history has more to come, which per-row rankings ignore and a new item's ranking of users
  does not;
* ``conditional S``: the package's columns (:func:`gnn_mlc.training.cold_columns.mixed_columns`) with share ``S``
  (of ``SHARES``): EASE^R's column mixed with the conditional probabilities ``P(c | j)`` counted over the log's
  rows, the only rows that could carry a new item (score propagation; the mAP does not depend on a column's
  length); the package serves ``cold_columns.CONDITIONAL_SHARE``;
* other counts of the same log as the mix's second part ``p`` (``SECOND_PARTS``, at the package's share), tried
  where the mix, then counted over every row, sat level with the propagations: ``every-row P`` (``P(c | j)``
  counted over the feature rows and the log: the rule served until the log's counts replaced it), ``lift``
  (``max(0, P(c | j) - P(c))``, over every row), ``RP3`` (each row's co-occurrences weighted by 1 / its label
  count, as RP3beta's walk through a user does) and ``two-step`` (``P / |P| + 0.5 B P / |B P|``, P over every
  row: the conditional column carried one step further through EASE^R);
* ``propagation-P`` and ``propagation-lift``: not rules for the term but ``cold_history.py``'s arms of the same
  names (the new items scored by ``P(c | j)`` or its lift counted in the log alone), the bar the issue sets.

The package's rule was chosen on these figures: the mix at 0.5 (then counted over every row), and its
conditional probabilities counted over the log's rows (``every-row P`` against ``conditional 0.5``). Writes
results/cold_lambda_dev.{json,md}.
Usage: ``python benchmarks/cold_lambda.py [--seeds 10 11 12] [--datasets ...]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cold_history import propagation, protocol  # noqa: E402
from cold_start import mean_ap  # noqa: E402
from common import write_results  # noqa: E402
from datasets import start_run  # noqa: E402
from recsys import SETS, _tune_ease, baskets, ease, movielens  # noqa: E402

from gnn_mlc.evaluation.metrics import average_precision_per_label  # noqa: E402
from gnn_mlc.training.cold_columns import (  # noqa: E402
    CONDITIONAL_SHARE,
    conditional_columns,
    mixed_columns,
)
from gnn_mlc.training.ease import ease_scores_by_regularisation, gram, gram_spectrum  # noqa: E402
from gnn_mlc.training.regularisation import (  # noqa: E402
    FOLDS,
    REGULARISATIONS,
    choose_regularisation,
    fold_of_rows,
    random_known_split,
)

LAMBDAS = (30.0, 100.0, 300.0, 1000.0, 3000.0)
CHOICES = (*REGULARISATIONS, 10000.0)
"""The values the out-of-fold rules choose the new items' ``lambda`` among."""
SHARES = (0.25, 0.5, 0.75, 1.0)
SECOND_PARTS = ("every-row P", "lift", "RP3", "two-step")
RULES = ("ease+log", "oof-log", "oof-rows", "log-only", "history", *(f"conditional {share:g}" for share in SHARES),
         *SECOND_PARTS, "propagation-P", "propagation-lift")


def run(name: str, seed: int) -> dict | None:
    """One data set and development seed: the new items' mAP at each ``lambda`` and under each rule."""
    data = movielens(seed, "dev") if name == "movielens" else baskets(name, seed, "dev")
    part = protocol(data, seed, data["split_training"])
    truth, new = sp.csr_matrix(data["Y_test"]).toarray(), part["new"]
    if not len(new) or not truth[:, new].any():
        return None  # no development row holds a new item among its targets
    every = sp.csr_matrix(part["Y"] if part["K"] is None else part["Y"] + part["K"], dtype=np.uint8)
    every.data[:] = 1
    full = sp.csr_matrix(sp.vstack([every, part["log"]]), dtype=np.float64)
    full.data[:] = 1.0
    G = (full.T @ full).toarray()
    known = sp.csr_matrix(data["K_test"], dtype=np.float64)

    def new_map(B: np.ndarray) -> float:
        return mean_ap(truth, np.asarray(known @ B), new)

    quality = choose_regularisation(every, part["log"], seed=seed)
    model_lambda, ease_lambda = max(quality, key=quality.get), _tune_ease(full, seed)
    logged = conditional_columns(G, new, part["log"].getnnz(axis=0))  # the package's: over the log's rows
    chosen = {"oof-log": _oof_log(G, part["log"], new, seed), "oof-rows": _oof_rows(every, part["K"], part["log"], seed)}
    B = ease(G, model_lambda)
    rules = {"ease": new_map(B), "ease+log": new_map(ease(G, ease_lambda)),
             "oof-log": new_map(ease(G, chosen["oof-log"])), "oof-rows": new_map(ease(G, chosen["oof-rows"])),
             "log-only": new_map(np.where(np.isin(np.arange(len(G)), new)[None, :],
                                          ease(gram(part["log"]).toarray(), model_lambda), B)),
             "history": None if part["K"] is None else mean_ap(
                 truth, _with_history(every, part["K"], part["log"], known, model_lambda, G, seed), new),
             **{f"conditional {share:g}": new_map(_mixed(B, G, new, share, logged)) for share in SHARES},
             **{rule: new_map(_mixed(B, G, new, CONDITIONAL_SHARE, conditional))
                for rule, conditional in _second_parts(B, G, full, new).items()},
             **{arm: mean_ap(truth, propagation(part["log"], known, lift=lift), new)
                for arm, lift in (("propagation-P", False), ("propagation-lift", True))}}
    record = {"dataset": name, "seed": seed, "split": "dev",
              "new_map_by_lambda": {str(value): new_map(ease(G, value)) for value in LAMBDAS},
              "model_lambda": model_lambda, "ease_lambda": ease_lambda, "new_map_by_rule": rules,
              "rule_lambda": chosen}
    print(f"{name} seed {seed}: " + " ".join(f"{key} {value:.4f}" for key, value in rules.items() if value is not None)
          + f" (model {model_lambda:g}, EASE^R {ease_lambda:g}, oof-log {chosen['oof-log']:g}, "
          f"oof-rows {chosen['oof-rows']:g})", flush=True)
    return record


def _mixed(B: np.ndarray, G: np.ndarray, new: np.ndarray, share: float, conditional: np.ndarray) -> np.ndarray:
    """``B`` (L, L), EASE^R of ``G``, with the new items' columns mixed with their ``conditional`` columns
    (L, len(new)) at ``share``."""
    mixed = B.copy()
    mixed[:, new] = mixed_columns(B[:, new], G, new, conditional, share=share)
    return mixed


def _second_parts(B: np.ndarray, G: np.ndarray, full: sp.csr_matrix, new: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`SECOND_PARTS` (L, len(new)) of the new items: other counts of the rows ``full`` (n, L) 0/1 (the
    feature rows' labels and the log), whose Gram matrix is ``G``, than ``P(c | j)`` over the log's rows."""
    counts = np.diag(G)
    conditional = conditional_columns(G, new)
    walked = full.T @ sp.diags(1.0 / np.maximum(np.asarray(full.sum(axis=1)).ravel(), 1.0)) @ full
    further = B @ conditional
    return {"every-row P": conditional,
            "lift": np.maximum(0.0, conditional - counts[new][None, :] / full.shape[0]),
            "RP3": _zero_at_own(sp.csc_matrix(walked)[:, new].toarray() / np.maximum(counts, 1.0)[:, None], new),
            "two-step": conditional / _norms(conditional) + 0.5 * further / _norms(further)}


def _zero_at_own(columns: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``columns`` (L, len(labels)) with each label's own entry 0."""
    columns[labels, np.arange(len(labels))] = 0.0
    return columns


def _norms(columns: np.ndarray) -> np.ndarray:
    """(1, c) each column's length, at least 1e-30."""
    return np.maximum(np.linalg.norm(columns, axis=0, keepdims=True), 1e-30)


def _oof_log(G: np.ndarray, log: sp.csr_matrix, new: np.ndarray, seed: int) -> float:
    """The new items' ``lambda`` chosen out of fold on the log's rows (their random halves; the new items' AP)."""
    generator = np.random.default_rng(seed + 7)
    fold = generator.integers(0, FOLDS, log.shape[0])
    parts = []
    for index in range(FOLDS):
        held = sp.csr_matrix(log[fold == index], dtype=np.uint8)
        given = random_known_split(held, generator)
        parts.append((G - gram(held).toarray(), given, sp.csr_matrix(held - given)))
    return _best(parts, new)


def _oof_rows(every: sp.csr_matrix, K: sp.csr_matrix | None, log: sp.csr_matrix, seed: int) -> float:
    """``lambda`` chosen out of fold on the feature rows (their given known labels or random halves; every label's
    AP over the fold's rows), EASE^R of the other folds and the log."""
    fold, generator = fold_of_rows(every.shape[0], seed), np.random.default_rng(seed + 9)
    parts = []
    for index in range(FOLDS):
        rows = np.flatnonzero(fold == index)
        labels = sp.csr_matrix(every[rows], dtype=np.uint8)
        given = random_known_split(labels, generator) if K is None else sp.csr_matrix(K[rows], dtype=np.uint8)
        fitted = sp.vstack([every[fold != index], log]).tocsr()
        parts.append((gram(fitted).toarray(), given, sp.csr_matrix(labels - labels.multiply(given))))
    return _best(parts, np.arange(every.shape[1]))


def _best(parts: list[tuple[np.ndarray, sp.csr_matrix, sp.csr_matrix]], labels: np.ndarray) -> float:
    """The value of :data:`CHOICES` with the best mean AP of ``labels`` over every part's rows: each part a fold's
    Gram matrix (L, L) and its rows' known labels and targets (rows, L); a known label ranks last."""
    scores: dict[float, list[np.ndarray]] = {value: [] for value in CHOICES}
    truth = []
    for G, given, targets in parts:
        hidden = given.toarray() > 0
        for value, figures in ease_scores_by_regularisation(gram_spectrum(G.copy()), given, CHOICES).items():
            scores[value].append(np.where(hidden, -np.inf, figures)[:, labels])
        truth.append(targets.toarray()[:, labels])
    truth = np.vstack(truth)
    scored = truth.any(axis=0)
    means = {value: float(np.nanmean(average_precision_per_label(
        truth[:, scored], np.nan_to_num(np.vstack(figures)[:, scored], neginf=-1e9)))) for value, figures in scores.items()}
    return max(means, key=means.get)


def _with_history(every: sp.csr_matrix, K: sp.csr_matrix, log: sp.csr_matrix, known: sp.csr_matrix,
                  regularisation: float, G: np.ndarray, seed: int) -> np.ndarray:
    """The development rows' scores ``s * known @ B + g * log(1 + |known|)`` (B of every row and the log), ``s`` and
    ``g`` (and a bias) the logistic fit on a third of the feature rows, scored by EASE^R of the rest and the log."""
    held = fold_of_rows(every.shape[0], seed) == 0
    given = sp.csr_matrix(K[held], dtype=np.float64)
    targets = sp.csr_matrix(every[held] - every[held].multiply(K[held]))
    fitted = sp.csr_matrix(sp.vstack([every[~held], log]), dtype=np.float64)
    evidence = np.asarray(given @ ease(gram(fitted).toarray(), regularisation))
    rows = np.diff(given.indptr) > 0
    scale, weight = _history_fit(evidence[rows], targets[rows].toarray(), given[rows].toarray(),
                                 np.log1p(np.diff(given.indptr)[rows]))
    return scale * np.asarray(known @ ease(G, regularisation)) + weight * np.log1p(np.diff(known.indptr))[:, None]


def _history_fit(evidence: np.ndarray, truth: np.ndarray, given: np.ndarray, history: np.ndarray
                 ) -> tuple[float, float]:
    """``(s, g)`` of ``P(target) = sigmoid(s * evidence + g * history + b)`` over every (row, label) not known."""
    signal, truth = torch.from_numpy(evidence.astype(np.float32)), torch.from_numpy(truth.astype(np.float32))
    keep, history = 1.0 - torch.from_numpy(given.astype(np.float32)), torch.from_numpy(history.astype(np.float32))
    scale, weight, bias = torch.ones((), requires_grad=True), torch.zeros((), requires_grad=True), \
        torch.full((), -5.0, requires_grad=True)
    optimizer = torch.optim.LBFGS([scale, weight, bias], lr=1, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = scale * signal + weight * history[:, None] + bias
        loss = (F.binary_cross_entropy_with_logits(logits, truth, reduction="none") * keep).sum() / keep.sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(scale.detach()), float(weight.detach())


def markdown(records: list[dict]) -> str:
    lines = ["# The new items' mAP against EASE^R's lambda, and the rules tried for their columns, on development "
             "rows", "", "{header}",
             "Protocol and rules in the script's docstring. Mean new-item mAP over the development seeds [min, max]; "
             "the lambda the package's term took and the one EASE^R's tuning took, per seed.", "",
             "| data set | seeds | " + " | ".join(f"lambda {value:g}" for value in LAMBDAS)
             + " | package's lambda | EASE^R's lambda |", "|---|---|" + "---:|" * len(LAMBDAS) + "---|---|"]
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    for name in datasets:
        ours = [r for r in records if r["dataset"] == name]
        cells = []
        for value in LAMBDAS:
            figures = [r["new_map_by_lambda"][str(value)] for r in ours]
            cells.append(f"{statistics.mean(figures):.3f} [{min(figures):.3f}, {max(figures):.3f}]")
        lines.append(f"| {name} | {', '.join(str(r['seed']) for r in ours)} | " + " | ".join(cells) + " | "
                     + ", ".join(f"{r['model_lambda']:g}" for r in ours) + " | "
                     + ", ".join(f"{r['ease_lambda']:g}" for r in ours) + " |")
    lines += ["", "The rules: mean new-item mAP, then the mean difference to `ease` (EASE^R's columns at the "
              "package's lambda) in points and the seeds ahead / level / behind it.", "",
              "| data set | ease | " + " | ".join(RULES) + " |", "|---|---:|" + "---:|" * len(RULES)]
    for name in datasets:
        ours = [r for r in records if r["dataset"] == name]
        package = [r["new_map_by_rule"]["ease"] for r in ours]
        cells = [f"{statistics.mean(package):.3f}"]
        for rule in RULES:
            figures = [r["new_map_by_rule"][rule] for r in ours]
            if any(figure is None for figure in figures):
                cells.append("n/a")
                continue
            differences = [figure - reference for figure, reference in zip(figures, package)]
            cells.append(f"{statistics.mean(figures):.3f} ({100 * statistics.mean(differences):+.2f}; "
                         f"{sum(d > 1e-12 for d in differences)} / {sum(abs(d) <= 1e-12 for d in differences)} / "
                         f"{sum(d < -1e-12 for d in differences)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12])
    parser.add_argument("--datasets", nargs="+", default=list(SETS))
    args = parser.parse_args()
    if any(seed < 10 for seed in args.seeds):
        parser.error("development seeds are 10 and above (0-9 are the test seeds)")
    warnings.filterwarnings("ignore")
    start_run()  # the results record the commit the run started at
    records = [record for name in args.datasets for seed in args.seeds
               if (record := run(name, seed)) is not None]
    write_results("cold_lambda_dev", records, markdown(records))


if __name__ == "__main__":
    main()
