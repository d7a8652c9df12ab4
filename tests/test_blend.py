"""The blend of the known-label term and the network: the per-row figures, the rule that chooses, and its edges."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import gnn_mlc.training.blend as blend_module
from gnn_mlc.training.blend import (
    BLENDS,
    HeldOutRows,
    blend_figures,
    blend_in_place,
    blended,
    by_row,
    choose_blend,
    row_ndcg,
)


@pytest.mark.parametrize("block", [1024, 7])
def test_row_ndcg_matches_scikit_learn_on_the_labels_not_known(block, monkeypatch):
    from sklearn.metrics import ndcg_score


    monkeypatch.setattr(blend_module, "BLOCK_ROWS", block)  # 7: ranked in several blocks

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(40, 30))
    known = sp.csr_matrix((rng.random((40, 30)) < 0.2).astype(np.uint8))
    targets = sp.csr_matrix(((rng.random((40, 30)) < 0.15) & (known.toarray() == 0)).astype(np.uint8))
    targets[3] = 0  # a row without a target is left out
    targets.eliminate_zeros()
    with_target = np.flatnonzero(targets.getnnz(axis=1) > 0)
    expected = [ndcg_score(targets[[row]].toarray()[:, known[row].toarray()[0] == 0],
                           scores[[row]][:, known[row].toarray()[0] == 0], k=10) for row in with_target]
    np.testing.assert_allclose(row_ndcg(scores, known, targets), expected, rtol=1e-12)


def test_the_blend_in_row_blocks_is_the_blend_of_the_whole(monkeypatch):

    rng = np.random.default_rng(4)
    truth = (rng.random((50, 20)) < 0.2).astype(np.uint8)
    known = sp.csr_matrix((rng.random((50, 20)) < 0.1).astype(np.uint8))  # some rows without a history
    truth[5:8] = 0  # rows without a target, across the edge of the first block of 6
    held = HeldOutRows(rows=np.arange(50), known=known, targets=sp.csr_matrix(truth * (known.toarray() == 0)))
    term, network = rng.normal(size=(50, 20)).astype(np.float32), rng.normal(size=(50, 20)).astype(np.float32)
    whole = choose_blend(blend_figures(term, network, held))
    expected = blended(term, network, known, (0.5, 1.0))
    monkeypatch.setattr(blend_module, "BLOCK_ROWS", 6)
    assert choose_blend(blend_figures(term, network, held)) == whole
    np.testing.assert_array_equal(blend_in_place(term, network, known, (0.5, 1.0)), expected)
    np.testing.assert_array_equal(term, expected)  # written over the term's logits


def test_the_blend_keeps_the_term_unless_the_network_is_better_beyond_noise():
    rng = np.random.default_rng(0)
    truth = (rng.random((200, 20)) < 0.15).astype(np.float64)
    known = np.zeros((200, 20), dtype=np.uint8)
    known[np.arange(200), rng.integers(0, 20, 200)] = 1  # every row has a history
    truth[known > 0] = 0
    held = HeldOutRows(rows=np.arange(200), known=sp.csr_matrix(known), targets=sp.csr_matrix(truth, dtype=np.uint8))
    noise = rng.normal(size=(200, 20))
    blend, figures = choose_blend(blend_figures(truth * 3 + noise, noise, held))  # the term knows; the network: noise
    assert blend == BLENDS[0] and figures["term 1 + network 0"] == max(figures.values())
    blend, _ = choose_blend(blend_figures(noise, truth * 3 + noise, held))  # the network knows
    assert blend[1] == 1.0 and blend[0] <= 0.25
    both = blend_figures(truth + noise, truth + rng.normal(size=(200, 20)), held)  # both half-know: mixing pays
    blend, _ = choose_blend(both)
    assert blend not in (BLENDS[0], BLENDS[-1])


def test_a_network_far_below_the_term_is_not_blended_in_even_beyond_the_margin(monkeypatch):

    def figures(seed: int, network_signal: float):
        rng = np.random.default_rng(seed)
        truth = (rng.random((400, 20)) < 0.15).astype(np.float64)
        known = np.zeros((400, 20), dtype=np.uint8)
        known[np.arange(400), rng.integers(0, 20, 400)] = 1
        truth[known > 0] = 0
        held = HeldOutRows(rows=np.arange(400), known=sp.csr_matrix(known),
                           targets=sp.csr_matrix(truth, dtype=np.uint8))
        return blend_figures(truth * 1.5 + rng.normal(size=(400, 20)),
                             truth * network_signal + rng.normal(size=(400, 20)), held)

    weak, near = figures(0, 0.8), figures(0, 1.1)  # the network alone at 0.76 and 0.88 of the term alone
    for case, share in ((weak, 0.757), (near, 0.877)):
        means = {blend: values.mean() for blend, values in case.per_row.items()}
        assert means[BLENDS[-1]] / means[BLENDS[0]] == pytest.approx(share, abs=0.005)
    assert choose_blend(weak)[0] == BLENDS[0]
    assert choose_blend(near)[0] not in (BLENDS[0], BLENDS[-1])
    monkeypatch.setattr(blend_module, "MIN_NETWORK_SHARE", 0.0)  # the margin alone would blend the weak network in
    assert choose_blend(weak)[0] not in (BLENDS[0], BLENDS[-1])


def test_a_row_revealed_several_times_counts_once_in_the_blend_s_margin():
    rng = np.random.default_rng(3)
    truth = (rng.random((60, 20)) < 0.15).astype(np.float64)
    known = np.zeros((60, 20), dtype=np.uint8)
    known[np.arange(60), rng.integers(0, 20, 60)] = 1
    truth[known > 0] = 0
    term, network = truth * 0.8 + rng.normal(size=(60, 20)), truth * 0.8 + rng.normal(size=(60, 20))
    choices = []
    for copies in (1, 4):  # each row repeated: the same evidence, not four times the rows
        held = HeldOutRows(rows=np.tile(np.arange(60), copies), known=sp.csr_matrix(np.tile(known, (copies, 1))),
                           targets=sp.csr_matrix(np.tile(truth, (copies, 1)), dtype=np.uint8))
        figures = blend_figures(np.tile(term, (copies, 1)), np.tile(network, (copies, 1)), held)
        choices.append(choose_blend(figures)[0])
    assert choices[0] == choices[1]
    np.testing.assert_allclose(by_row(np.array([1.0, 3.0, 2.0, 5.0]), np.array([7, 7, 2, 9])), [2.0, 2.0, 5.0])


def test_held_out_rows_without_a_history_and_a_target_add_the_parts_unweighted(caplog):
    rng = np.random.default_rng(5)
    targets = (rng.random((40, 10)) < 0.3).astype(np.uint8)
    targets[20:] = 0  # rows 20-39: no target ...
    known = np.zeros((40, 10), dtype=np.uint8)
    known[20:, 0] = 1  # ... but a history; rows 0-19: targets but no history
    truth = targets.astype(np.float64)
    held = HeldOutRows(rows=np.arange(40), known=sp.csr_matrix(known), targets=sp.csr_matrix(targets))
    with caplog.at_level("WARNING", logger="gnn_mlc.training.blend"):
        blend, _ = choose_blend(blend_figures(truth * 3, -truth, held))  # every blend ranks a row with a target alike
    assert blend == (1.0, 1.0)
    assert "no held-out row has both a known label and a target" in caplog.text
    known[0, 9] = 1  # one row with both: the term, which knows, is chosen
    targets[0, 9] = 0
    truth = targets.astype(np.float64)
    held = HeldOutRows(rows=np.arange(40), known=sp.csr_matrix(known), targets=sp.csr_matrix(targets))
    assert choose_blend(blend_figures(truth * 3, -truth, held))[0] == BLENDS[0]
