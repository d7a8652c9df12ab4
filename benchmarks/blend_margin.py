"""How the known-label blend is chosen, on development rows only: every candidate rule from one fit per set and seed.

``gnn_mlc.training.blend.choose_blend`` picks one of ``BLENDS`` (term alone ... network alone) from the
held-out training rows' per-row nDCG@10. This script fits the model once per data set and seed on the development
split of ``recsys.py --split dev`` (MovieLens seeds 10-17; yeast, birds, medical, genbase, enron and bibtex seeds
10-11), keeps the selection rows' per-row nDCG@10 of every blend (the rows the package chooses on: the validation
rows, or every training row out of fold where they hold fewer than ``known_labels.CROSS_FIT_ROWS`` rows with a
history and a target), and scores every blend on the development rows.
Each candidate rule (``RULES``) then chooses from the selection rows alone, and its choice's development Recall@20
/ nDCG@10 is recorded beside the term alone and the network alone. Writes results/blend_margin_dev.{json,md}.
``--grid`` fits nothing: it applies a wider grid of rules (margins of 0-2 clustered standard errors with 0.5-2
points, gains of 1-4 points needed to leave the term alone, the floor test, and shares of 0.6-0.9 of the term alone
that the network alone must reach) to the per-row figures of every development file of this script
(``GRID_FILES``) and prints each rule's mean development nDCG@10 per data set [worst shortfall, points] (writes
results/blend_margin_grid.{json,md}). ``--datasets`` (any set of ``recsys.py``) / ``--seeds`` / ``--results-name`` fit other
development seeds into another file: results/blend_margin_dev_movielens (MovieLens seeds 18-41, how often each rule
leaves the term on a set where the network alone is far below it) and results/blend_margin_dev_baskets (the 8
basket sets, seeds 12-14, mediamill_small and yeast-meka among them). ``--cross-fit`` also applies every rule to
every training row's out-of-fold figures (``CROSS_FOLDS`` folds, a model fitted on the other folds each, which
scores the fold's rows as a fit scores its validation rows): how the choice would fare on 4-7 times the rows, at the
cost of 3 more fits (results/blend_crossfit_dev_movielens: seeds 10-21; blend_crossfit_dev_baskets: seeds 12-14, at
ae62295: since the package chooses out of fold itself on the small sets, their fold fits do too, and these files'
birds, medical and genbase rows are not what HEAD computes).
Usage: ``python benchmarks/blend_margin.py [--grid] [--cross-fit] [--datasets movielens] [--seeds 18 19 ...]
[--results-name NAME]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recsys  # noqa: E402
from common import RESULTS, commit, recall_ndcg, write_results  # noqa: E402

import gnn_mlc.training.blend as blending  # noqa: E402
import gnn_mlc.training.known_labels as known_labels  # noqa: E402
from gnn_mlc import LabelGCNClassifier  # noqa: E402

ROWS = (("movielens", tuple(range(10, 18))),
        *((name, (10, 11)) for name in ("yeast", "birds", "medical", "genbase", "enron", "bibtex")))
BLENDS = blending.BLENDS
CROSS_FOLDS = 3
"""Folds of the training rows for ``--cross-fit`` (a model fitted per fold: the cost of choosing out of fold)."""
GRID_FILES = ("blend_margin_dev", "blend_margin_dev_movielens", "blend_margin_dev_baskets")


def _first_within(errors: float, *, clustered: bool, gain: float = blending.MIN_GAIN,
                  leave_gain: float | None = None) -> Callable[[dict, np.ndarray], tuple]:
    """The term-heaviest blend within ``errors`` standard errors (or ``gain``, half a point) of the best
    (``blend.blend_within_margin``), the error over training rows (``clustered``, the rule of
    ``choose_blend``) or over (row, reveal) pairs (each value its own row: the rule of ae1a2ee, with 1); with
    ``leave_gain``, the term alone where that blend beats it by less (averaged per training row, then over rows:
    the rule of 89d5587 with 2.5 points, reverted: it kept the term on every MovieLens development seed but lost
    mediamill_small's and yeast-meka's blends, results/blend_margin_dev_baskets.md)."""
    def rule(per_row: dict, rows: np.ndarray) -> tuple:
        clusters = rows if clustered else np.arange(len(rows))
        chosen = blending.blend_within_margin(per_row, clusters, errors=errors, gain=gain)
        if leave_gain is None or chosen == BLENDS[0]:
            return chosen
        gain_over_term = blending.by_row(per_row[chosen] - per_row[BLENDS[0]], clusters).mean()
        return chosen if gain_over_term >= leave_gain else BLENDS[0]
    return rule


def _leave_floor(errors: float) -> Callable[[dict, np.ndarray], tuple]:
    """The term alone unless the best blend beats it by more than ``errors`` clustered standard errors (and half a
    point); then the best blend."""
    def rule(per_row: dict, rows: np.ndarray) -> tuple:
        best = max(BLENDS, key=lambda blend: per_row[blend].mean())
        gain = blending.by_row(per_row[best] - per_row[BLENDS[0]], rows)
        error = gain.std(ddof=1) / np.sqrt(len(gain))
        return best if gain.mean() > max(errors * error, blending.MIN_GAIN) else BLENDS[0]
    return rule


def _network_share(rule: Callable[[dict, np.ndarray], tuple], share: float) -> Callable[[dict, np.ndarray], tuple]:
    """``rule``, but the term alone where the network alone is below ``share`` of the term alone's selection nDCG@10
    (``blend.MIN_NETWORK_SHARE``, 0.8, since 6b9c41c)."""
    def gated(per_row: dict, rows: np.ndarray) -> tuple:
        if per_row[BLENDS[-1]].mean() < share * per_row[BLENDS[0]].mean():
            return BLENDS[0]
        return rule(per_row, rows)
    return gated


RULES: dict[str, Callable[[dict, np.ndarray], tuple]] = {
    "first within 1 SE (ae1a2ee)": _first_within(1.0, clustered=False),
    "first within 1 clustered SE": _first_within(1.0, clustered=True),
    "first within 1.5 clustered SE (3e91ef3)": _first_within(1.5, clustered=True),
    "first within 1.5 clustered SE, network alone >= 0.8 of the term (chosen)": _network_share(
        _first_within(1.5, clustered=True), 0.8),
    "first within 1.5 clustered SE, leaving the term for >= 2.5 points (89d5587)": _first_within(
        1.5, clustered=True, leave_gain=0.025),
    "first within 2 clustered SE": _first_within(2.0, clustered=True),
    "best if > 2 SE over term": _leave_floor(2.0),
}


def _fit_keeping(data: dict, rows: np.ndarray, seed: int) -> tuple:
    """The model fitted on ``data``'s training ``rows`` with every blend's per-row nDCG@10 on its selection rows kept
    (``choose_blend`` replaced for the fit: the model keeps the blend (1, 1), so its term's logits can be read off).
    Returns the fitted model and {"per_row": each blend -> (n,), "rows": (n,) the training row of each value}."""
    kept: dict = {}

    def keep_and_add(figures: blending.BlendFigures):
        kept.update(per_row=figures.per_row, rows=figures.rows)
        return (1.0, 1.0), {}

    chooser = known_labels.choose_blend  # the name fit_known_term calls
    known_labels.choose_blend = keep_and_add
    try:
        model = LabelGCNClassifier(random_state=seed).fit(
            data["X"][rows], sp.csr_matrix(data["Y"], dtype=np.uint8)[rows], label_names=data["labels"],
            known_labels="split" if data["split_training"] else data["K"][rows])
    finally:
        known_labels.choose_blend = chooser
    return model.fitted_, kept


def _parts(fitted, X, known: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(term logits, network logits) of ``fitted`` (a blend of (1, 1)) on rows ``X`` with their ``known`` labels."""
    known = sp.csr_matrix(known, dtype=np.float32)
    network = fitted.logits(X).numpy()
    return fitted.logits(X, known=known).numpy() - network, network


def _out_of_fold(data: dict, seed: int) -> tuple[dict, np.ndarray]:
    """Every blend's per-row nDCG@10 on every training row, out of fold: over ``CROSS_FOLDS`` folds, the model is
    fitted on the other folds (its own validation rows early-stopping its network and calibrating its term) and
    scores the fold's rows, each revealing its given history (MovieLens) or ``known_labels.REVEALS`` random halves
    of its labels, as the validation rows do in a fit. Returns (each blend -> (n,), (n,) the training rows)."""
    num_rows = data["X"].shape[0]
    fold = np.random.default_rng(seed + 7).integers(0, CROSS_FOLDS, num_rows)
    per_row: dict[tuple, list[np.ndarray]] = {blend: [] for blend in BLENDS}
    rows: list[np.ndarray] = []
    for index in range(CROSS_FOLDS):
        fitted, _ = _fit_keeping(data, np.flatnonzero(fold != index), seed)
        held = known_labels.held_out_rows(sp.csr_matrix(data["Y"], dtype=np.uint8),
                                          None if data["split_training"] else sp.csr_matrix(data["K"]),
                                          np.flatnonzero(fold == index), seed=seed)
        term, network = _parts(fitted, data["X"][held.rows], held.known)
        for blend in BLENDS:
            per_row[blend].append(blending.row_ndcg(blending.blended(term, network, held.known, blend),
                                                        held.known, held.targets))
        rows.append(held.rows[np.flatnonzero(np.diff(sp.csr_matrix(held.targets).indptr) > 0)])
    return {blend: np.concatenate(values) for blend, values in per_row.items()}, np.concatenate(rows)


def run(name: str, seed: int, *, cross_fit: bool = False) -> list[dict]:
    """One fit of ``name`` / ``seed`` on its development split; the records of every blend and every rule (with
    ``cross_fit``, also each rule applied to every training row's out-of-fold figures, ``chosen_out_of_fold_by``)."""
    data = recsys.movielens(seed, "dev") if name == "movielens" else recsys.baskets(name, seed, "dev")
    fitted, kept = _fit_keeping(data, np.arange(data["X"].shape[0]), seed)
    term, network = _parts(fitted, data["X_test"], data["K_test"])
    with_history = np.diff(sp.csr_matrix(data["K_test"]).indptr) > 0
    oof = _out_of_fold(data, seed) if cross_fit else None
    records = []
    for blend in BLENDS:
        scores = np.where(with_history[:, None], blend[0] * term + blend[1] * network, network)
        recall, ndcg = recall_ndcg(scores, data["K_test"], data["Y_test"])
        records.append({"dataset": name, "seed": seed, "blend": list(blend), "recall@20": recall, "ndcg@10": ndcg,
                        "selection_ndcg@10": float(kept["per_row"][blend].mean()),
                        "selection_rows": int(len(np.unique(kept["rows"]))),
                        "selection_per_row": [round(float(v), 5) for v in kept["per_row"][blend]],
                        "selection_row_ids": [int(v) for v in kept["rows"]],
                        "chosen_by": [rule for rule, choose in RULES.items()
                                      if choose(kept["per_row"], kept["rows"]) == blend]})
        if oof is not None:
            records[-1].update(out_of_fold_rows=int(len(np.unique(oof[1]))),
                               chosen_out_of_fold_by=[rule for rule, choose in RULES.items()
                                                      if choose(*oof) == blend])
        print(f"{name} seed {seed} blend {blend}: ndcg@10 {ndcg:.4f} (selection {records[-1]['selection_ndcg@10']:.4f})"
              f" chosen by {records[-1]['chosen_by']}"
              + (f", out of fold by {records[-1]['chosen_out_of_fold_by']}" if oof is not None else ""), flush=True)
    return records


def markdown(records: list[dict], rows: tuple[tuple[str, tuple[int, ...]], ...] = ROWS) -> str:
    lines = ["# How the known-label blend is chosen, on development rows", "", "{header}",
             "Mean development nDCG@10 [worst seed's shortfall against the better of the term alone and the network "
             "alone, points] of the blend each rule chooses from the selection rows; protocol in the script's "
             "docstring.", ""]
    lines += _table(records, rows, "chosen_by")
    if any("chosen_out_of_fold_by" in r for r in records):
        lines += ["", f"The same rules applied to every training row's out-of-fold figures ({CROSS_FOLDS} folds, a "
                  "model fitted on the other folds each; `--cross-fit`) instead of the selection rows':", ""]
        lines += _table(records, rows, "chosen_out_of_fold_by")
        lines += ["", "Rows with a history and a target the choice rests on, mean over seeds:", "",
                  "| data set | selection rows | out of fold |", "|---|---:|---:|"]
        for name, _ in rows:
            firsts = [r for r in records if r["dataset"] == name and tuple(r["blend"]) == BLENDS[0]]
            if firsts:
                lines.append(f"| {name} | {statistics.mean(r['selection_rows'] for r in firsts):.0f} | "
                             f"{statistics.mean(r['out_of_fold_rows'] for r in firsts):.0f} |")
    return "\n".join(lines) + "\n"


def _table(records: list[dict], rows: tuple[tuple[str, tuple[int, ...]], ...], key: str) -> list[str]:
    """The table of :func:`markdown`: per data set, each rule's chosen blend as ``records[...][key]`` lists it."""
    lines = ["| data set | seeds | term alone | network alone | " + " | ".join(RULES) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(RULES)]
    for name, _ in rows:
        ours = [r for r in records if r["dataset"] == name]
        seeds = sorted({r["seed"] for r in ours})
        if not seeds:
            continue
        at = {(r["seed"], tuple(r["blend"])): r["ndcg@10"] for r in ours}
        floor = {seed: max(at[seed, BLENDS[0]], at[seed, BLENDS[-1]]) for seed in seeds}
        cells = []
        for rule in RULES:
            chosen = {r["seed"]: r["ndcg@10"] for r in ours if rule in r[key]}
            worst = max(100 * (floor[seed] - chosen[seed]) for seed in seeds)
            cells.append(f"{statistics.mean(chosen.values()):.4f} [{worst:+.1f}]")
        lines.append(f"| {name} | {len(seeds)} | {statistics.mean(at[s, BLENDS[0]] for s in seeds):.4f} | "
                     f"{statistics.mean(at[s, BLENDS[-1]] for s in seeds):.4f} | " + " | ".join(cells) + " |")
    return lines


def grid() -> None:
    """Apply the wider grid of rules to every development file of ``GRID_FILES`` there is (see the module
    docstring); print it and write results/blend_margin_grid.{json,md}."""
    records = [record for name in GRID_FILES if (RESULTS / f"{name}.json").exists()
               for record in json.loads((RESULTS / f"{name}.json").read_text())]
    fits: dict[tuple[str, int], dict[tuple, dict]] = {}
    for record in records:
        fits.setdefault((record["dataset"], record["seed"]), {})[tuple(record["blend"])] = record
    rules = {**{f"first within {errors:g} SE or {gain:g}": _first_within(errors, clustered=True, gain=gain)
                for errors in (0.0, 0.5, 1.0, 1.5, 2.0) for gain in (0.005, 0.01, 0.02)},
             **{f"first within 1.5 SE, leave for {leave:g}": _first_within(1.5, clustered=True, leave_gain=leave)
                for leave in (0.01, 0.015, 0.02, 0.025, 0.03, 0.04)},
             **{f"best if > {errors:g} SE over term": _leave_floor(errors) for errors in (1.0, 1.64, 2.0)},
             **{f"first within 1.5 SE, network >= {share:g}": _network_share(_first_within(1.5, clustered=True), share)
                for share in (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)}}
    names = list(dict.fromkeys(dataset for dataset, _ in fits))
    lines = ["# How the known-label blend is chosen: the wider grid of rules, on development rows", "", "{header}",
             "Every rule applied to the stored per-row selection figures of " + ", ".join(
                 f"results/{name}.json" for name in GRID_FILES) + ": mean development nDCG@10 of the blend each "
             "rule chooses [worst seed's shortfall, points, against the term alone on MovieLens and the better of "
             "the term alone and the network alone elsewhere] (seeds that left the term alone / seeds).", "",
             "| rule | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    out = []
    for label, rule in rules.items():
        cells = []
        for name in names:
            chosen, worst, left = [], -np.inf, 0
            for (dataset, _), blends in sorted(fits.items()):
                if dataset != name:
                    continue
                any_record = blends[BLENDS[0]]
                per_row = {blend: np.array(blends[blend]["selection_per_row"]) for blend in BLENDS}
                blend = rule(per_row, np.array(any_record["selection_row_ids"]))
                pick = blends[blend]["ndcg@10"]
                floor = any_record["ndcg@10"] if name == "movielens" else max(
                    any_record["ndcg@10"], blends[BLENDS[-1]]["ndcg@10"])
                chosen.append(pick)
                worst = max(worst, 100 * (floor - pick))
                left += blend != BLENDS[0]
            cells.append(f"{statistics.mean(chosen):.4f} [{worst:+.1f}] ({left}/{len(chosen)})")
            out.append({"rule": label, "dataset": name, "ndcg@10": statistics.mean(chosen), "worst_points": worst,
                        "seeds": len(chosen), "left_term": left})
        print(f"{label:34s} " + "  ".join(f"{name} {cell}" for name, cell in zip(names, cells)))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    write_results("blend_margin_grid", out, "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="apply the wider grid to the results file; fit nothing")
    parser.add_argument("--datasets", nargs="+", help="fit these data sets (default: those of ROWS)")
    parser.add_argument("--seeds", type=int, nargs="+", help="development seeds of every data set fitted "
                                                                  "(default: those of ROWS)")
    parser.add_argument("--results-name", default="blend_margin_dev", help="write results/NAME.{json,md}")
    parser.add_argument("--cross-fit", action="store_true",
                        help=f"also apply every rule to every training row's out-of-fold figures ({CROSS_FOLDS} more "
                             "fits per set and seed)")
    args = parser.parse_args()
    if args.grid:
        grid()
        return
    unknown = sorted(set(args.datasets or ()) - set(recsys.SETS))
    if unknown:
        parser.error(f"unknown data set(s) {unknown}; expected some of {list(recsys.SETS)}")
    if (args.datasets or args.seeds or args.cross_fit) and args.results_name == "blend_margin_dev":
        parser.error("--datasets / --seeds fit another set of seeds: give it its own --results-name (the default "
                     "file is the one --grid and the package's docstrings read)")
    default_seeds = dict(ROWS)
    rows = tuple((name, tuple(args.seeds) if args.seeds else default_seeds.get(name, (10, 11)))
                 for name in args.datasets or default_seeds)
    if any(seed < 10 for _, seeds in rows for seed in seeds):
        parser.error("development seeds are 10 and above (0-9 are the test seeds)")
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    commit()
    records = [record for name, seeds in rows for seed in seeds for record in run(name, seed,
                                                                                   cross_fit=args.cross_fit)]
    write_results(args.results_name, records, markdown(records, rows))


if __name__ == "__main__":
    main()
