"""The recommender anchors of ``benchmarks/recsys.py``: RP3beta, iALS, Mult-VAE and LightGCN on the known labels.

Every anchor sees only labels: ``full``, every training row's labels (known and targets) as a (rows, labels) 0/1
CSR matrix, and ``known_test``, the test rows' known labels; it returns the test rows' scores over all labels (the
known ones are excluded later, by :func:`common.recall_ndcg`) and the hyperparameters it chose.

Protocol, the same as EASE^R's lambda in recsys.py: :func:`common.validation_split` takes a seeded 15% of the training
rows as validation rows, each revealing a seeded random half of its labels; every point of the anchor's grid below is
fitted on the other 85% of the rows and scored on the validation rows' known half; the point with the best validation
nDCG@10 of the targets (the other half) is refitted on all training rows (for the neural anchors, with the epoch count
early stopping chose), and the test rows are scored. Test rows are new users for every anchor: item-based anchors
score their known labels directly, iALS and LightGCN fold them in (below). Grids:

* ``rp3beta``: RP3beta (Paudel et al. 2017, "Updatable, accurate, diverse, and scalable recommendations for
  interactive applications", ACM TiiS; as implemented by Dacrema et al. 2019, "Are we really making much progress?",
  RecSys): P_ui, the rows of the user-item matrix normalised to sum 1, P_iu the same of its transpose, both raised
  elementwise to alpha; W = P_iu P_ui (item to item, three steps of the random walk), column j divided by
  popularity_j^beta, diagonal 0, each item's k largest entries kept; scores = known @ W. Grid alpha in {0.5, 1.0},
  beta in {0.0, 0.3, 0.6}, k in {100, 200} (all items where there are fewer).
* ``ials``: iALS (Hu, Koren and Volinsky 2008, "Collaborative filtering for implicit feedback datasets", ICDM), by
  ``implicit.cpu.als.AlternatingLeastSquares`` (the ``bench`` extra; conjugate-gradient fit, 64 factors, 15
  iterations; ``implicit`` weights an observed entry by alpha, the others by 1). Grid regularisation in
  {0.01, 0.1, 1.0}, alpha in {1, 10}. New rows are folded in: their user factors are solved exactly (one regularised
  weighted least-squares solve per row, ``recalculate_user``) from their known labels with the item factors fixed;
  scores = user factors @ item factors^T.
* ``mult-vae``: Mult-VAE (Liang et al. 2018, "Variational autoencoders for collaborative filtering", WWW) in torch:
  encoder [labels -> 600 -> 200 (mu, log variance)], decoder [200 -> 600 -> labels], tanh, the input rows normalised
  to unit length with dropout 0.5, multinomial log-likelihood, KL weight annealed linearly from 0 to the cap 0.2
  (total_anneal_steps = 100 epochs of steps, so the cap is reached after 20 epochs: the paper's 200,000 steps scaled
  to this budget), Adam lr 1e-3, batch 500 rows but at least 4 batches an epoch (MovieLens-small's ~415 fitting rows:
  batches of ~104; at 500, an epoch there is one Adam step, and the validation nDCG@10 of seed 0 was still rising at
  epoch 100 and peaked near 140, while at 104 or 50 it peaks near epoch 25-30 at the same height), up to 100 epochs,
  early stopping on the validation nDCG@10 (patience 10); the grid is the epoch count, and the refit on all rows runs
  that many. Scores = decoder(mu(known)).
* ``lightgcn``: LightGCN (He et al. 2020, "LightGCN: simplifying and powering graph convolution network for
  recommendation", SIGIR) by ``torch_geometric.nn.models.LightGCN`` on the bipartite graph of the fitting rows and
  the labels (an edge per label of a row): embedding 64, 3 layers, BPR loss with one uniformly sampled negative label
  per positive edge, batches of 1,024 edges, Adam lr 1e-3, up to 50 epochs with early stopping on the validation
  nDCG@10 (patience 5). Grid: the L2 regularisation of the batch's layer-0 embeddings (LightGCN's "weight decay",
  PyG's ``lambda_reg``) in {1e-4, 1e-5}, and the epoch count. New rows are folded in by their known labels: a row's
  embedding is the mean of the propagated embeddings of its known labels; scores = row embedding @ label
  embeddings^T.

Every anchor is seeded (numpy, torch, implicit), so a seed gives the same scores on the same machine.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import recall_ndcg, validation_split  # noqa: E402

RP3_ALPHAS = (0.5, 1.0)
RP3_BETAS = (0.0, 0.3, 0.6)
RP3_NEIGHBOURS = (100, 200)
IALS_REGULARISATIONS = (0.01, 0.1, 1.0)
IALS_ALPHAS = (1.0, 10.0)
IALS_FACTORS, IALS_ITERATIONS = 64, 15
VAE_EPOCHS, VAE_PATIENCE, VAE_BATCH, VAE_ANNEAL_CAP, VAE_ANNEAL_EPOCHS = 100, 10, 500, 0.2, 100
VAE_MIN_BATCHES = 4  # batches per epoch at least: small sets get batches under 500 (module docstring)
LIGHTGCN_DECAYS = (1e-4, 1e-5)
LIGHTGCN_EPOCHS, LIGHTGCN_PATIENCE, LIGHTGCN_BATCH, LIGHTGCN_DIM, LIGHTGCN_LAYERS = 50, 5, 1024, 64, 3


def _binary(matrix: sp.spmatrix) -> sp.csr_matrix:
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    matrix.data[:] = 1.0
    return matrix


def _tuning(full: sp.csr_matrix, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """The fitting rows (0/1 float CSR), and the validation rows' known half and targets."""
    fitting, known, targets = validation_split(full, seed)
    return full[fitting], known, targets


def _ndcg(scores: np.ndarray, known: sp.csr_matrix, targets: sp.csr_matrix) -> float:
    return recall_ndcg(scores, known, targets)[1]


# RP3beta ---------------------------------------------------------------------------------------------------------

def _rp3_walk(X: sp.csr_matrix, alpha: float, beta: float) -> np.ndarray:
    """Dense (labels, labels) P_iu P_ui with both transition matrices raised to alpha, column j over pop_j^beta."""
    from sklearn.preprocessing import normalize

    P_ui = normalize(X, norm="l1", axis=1)
    P_iu = normalize(sp.csr_matrix(X.T), norm="l1", axis=1)
    P_ui.data **= alpha
    P_iu.data **= alpha
    W = (P_iu @ P_ui).toarray()
    popularity = np.asarray(X.sum(axis=0)).ravel()
    W *= np.power(popularity, -beta, out=np.zeros_like(popularity), where=popularity > 0)[None, :]
    np.fill_diagonal(W, 0.0)
    return W


def _top_k(W: np.ndarray, k: int) -> np.ndarray:
    """``W`` with only the k largest entries of each row kept."""
    if k >= W.shape[1]:
        return W
    drop = np.argpartition(-W, k, axis=1)[:, k:]
    W = W.copy()
    np.put_along_axis(W, drop, 0.0, axis=1)
    return W


def rp3beta(full: sp.csr_matrix, known_test: sp.csr_matrix, *, seed: int) -> tuple[np.ndarray, dict]:
    """RP3beta's test scores and its chosen ``alpha``, ``beta`` and ``k`` (module docstring)."""
    full, known_test = _binary(full), _binary(known_test)
    X, known, targets = _tuning(full, seed)
    results = {}
    for alpha in RP3_ALPHAS:
        for beta in RP3_BETAS:
            W = _rp3_walk(X, alpha, beta)
            for k in sorted({min(k, W.shape[1]) for k in RP3_NEIGHBOURS}):
                results[(alpha, beta, k)] = _ndcg(_binary(known) @ _top_k(W, k), known, targets)
    alpha, beta, k = max(results, key=results.get)  # the first of equals: the grid's order
    scores = known_test @ _top_k(_rp3_walk(full, alpha, beta), k)
    return np.asarray(scores), {"rp3_alpha": alpha, "rp3_beta": beta, "rp3_k": k}


# iALS ------------------------------------------------------------------------------------------------------------

def _ials(X: sp.csr_matrix, regularisation: float, alpha: float, seed: int):
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # implicit's own threads; a threaded BLAS inside them only slows it
        model = AlternatingLeastSquares(factors=IALS_FACTORS, regularization=regularisation, alpha=alpha,
                                        iterations=IALS_ITERATIONS, random_state=seed)
        model.fit(sp.csr_matrix(X, dtype=np.float32), show_progress=False)
    return model


def _ials_scores(model, known: sp.csr_matrix) -> np.ndarray:
    """Fold-in: each row's factors solved from its known labels with the item factors fixed, then the dot products."""
    factors = model.recalculate_user(np.arange(known.shape[0]), sp.csr_matrix(known, dtype=np.float32))
    return np.asarray(factors @ model.item_factors.T, dtype=np.float64)


def ials(full: sp.csr_matrix, known_test: sp.csr_matrix, *, seed: int) -> tuple[np.ndarray, dict]:
    """iALS's test scores (new rows folded in) and its chosen regularisation and alpha (module docstring)."""
    full, known_test = _binary(full), _binary(known_test)
    X, known, targets = _tuning(full, seed)
    results = {(regularisation, alpha): _ndcg(_ials_scores(_ials(X, regularisation, alpha, seed), _binary(known)),
                                              known, targets)
               for regularisation in IALS_REGULARISATIONS for alpha in IALS_ALPHAS}
    regularisation, alpha = max(results, key=results.get)
    scores = _ials_scores(_ials(full, regularisation, alpha, seed), known_test)
    return scores, {"ials_regularisation": regularisation, "ials_alpha": alpha}


# Mult-VAE --------------------------------------------------------------------------------------------------------

def _vae(labels: int):
    import torch

    class MultVAE(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dropout = torch.nn.Dropout(0.5)
            self.encoder = torch.nn.Linear(labels, 600)
            self.latent = torch.nn.Linear(600, 2 * 200)
            self.hidden = torch.nn.Linear(200, 600)
            self.decoder = torch.nn.Linear(600, labels)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            h = torch.tanh(self.encoder(self.dropout(torch.nn.functional.normalize(x, dim=1))))
            mu, logvar = self.latent(h).chunk(2, dim=1)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
            return self.decoder(torch.tanh(self.hidden(z))), mu, logvar

    return MultVAE()


def _vae_scores(model, known: sp.csr_matrix) -> np.ndarray:
    import torch

    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(known.toarray(), dtype=torch.float32))[0].double().numpy()


def _fit_vae(X: sp.csr_matrix, seed: int, epochs: int, validation: tuple | None = None):
    """Train for ``epochs`` (or until ``validation``'s nDCG@10 has not improved for the patience); returns the model
    and the best validation epoch count (``epochs`` without validation)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = _vae(X.shape[1])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    dense = torch.as_tensor(X.toarray(), dtype=torch.float32)
    batches = max(-(-X.shape[0] // VAE_BATCH), min(VAE_MIN_BATCHES, X.shape[0]))
    total_anneal_steps, step = VAE_ANNEAL_EPOCHS * batches, 0
    best, best_epoch = -np.inf, 0
    for epoch in range(1, epochs + 1):
        model.train()
        for batch in np.array_split(rng.permutation(X.shape[0]), batches):
            x = dense[torch.as_tensor(batch)]
            logits, mu, logvar = model(x)
            likelihood = (torch.log_softmax(logits, dim=1) * x).sum(dim=1).mean()
            kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()
            loss = -likelihood + min(VAE_ANNEAL_CAP, step / total_anneal_steps) * kl
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
        if validation is not None:
            value = _ndcg(_vae_scores(model, _binary(validation[0])), *validation)
            if value > best:
                best, best_epoch = value, epoch
            elif epoch - best_epoch >= VAE_PATIENCE:
                break
    return model, (best_epoch if validation is not None else epochs)


def mult_vae(full: sp.csr_matrix, known_test: sp.csr_matrix, *, seed: int) -> tuple[np.ndarray, dict]:
    """Mult-VAE's test scores, decoder(mu(known)), and its chosen epoch count (module docstring)."""
    full, known_test = _binary(full), _binary(known_test)
    X, known, targets = _tuning(full, seed)
    _, epochs = _fit_vae(X, seed, VAE_EPOCHS, (known, targets))
    model, _ = _fit_vae(full, seed, epochs)
    return _vae_scores(model, known_test), {"vae_epochs": epochs}


# LightGCN --------------------------------------------------------------------------------------------------------

def _lightgcn_items(model, edge_index, users: int):
    import torch

    model.eval()
    with torch.no_grad():
        return model.get_embedding(edge_index)[users:].double().numpy()


def _lightgcn_scores(items: np.ndarray, known: sp.csr_matrix) -> np.ndarray:
    """Fold-in: a row's embedding is the mean of its known labels' propagated embeddings."""
    from sklearn.preprocessing import normalize

    return normalize(known, norm="l1", axis=1) @ items @ items.T


def _fit_lightgcn(X: sp.csr_matrix, decay: float, seed: int, epochs: int, validation: tuple | None = None):
    """Train for ``epochs`` (or until ``validation``'s nDCG@10 has not improved for the patience); returns the
    propagated label embeddings of the last epoch (of the best one, with validation) and that epoch count."""
    import torch
    from torch_geometric.nn.models import LightGCN

    torch.manual_seed(seed)
    users, labels = X.shape
    coo = X.tocoo()
    rows, columns = torch.as_tensor(coo.row, dtype=torch.long), torch.as_tensor(coo.col + users, dtype=torch.long)
    edge_index = torch.stack([torch.cat([rows, columns]), torch.cat([columns, rows])])
    model = LightGCN(users + labels, LIGHTGCN_DIM, LIGHTGCN_LAYERS)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    best, best_epoch, best_items = -np.inf, 0, None
    for epoch in range(1, epochs + 1):
        model.train()
        for batch in torch.randperm(len(rows)).split(LIGHTGCN_BATCH):
            user, positive = rows[batch], columns[batch]
            negative = torch.randint(users, users + labels, (len(batch),))
            embedding = model.get_embedding(edge_index)
            loss = model.recommendation_loss((embedding[user] * embedding[positive]).sum(dim=1),
                                             (embedding[user] * embedding[negative]).sum(dim=1),
                                             node_id=torch.cat([user, positive, negative]), lambda_reg=decay)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if validation is not None:
            items = _lightgcn_items(model, edge_index, users)
            value = _ndcg(_lightgcn_scores(items, _binary(validation[0])), *validation)
            if value > best:
                best, best_epoch, best_items = value, epoch, items
            elif epoch - best_epoch >= LIGHTGCN_PATIENCE:
                break
    if validation is None:
        return _lightgcn_items(model, edge_index, users), epochs, None
    return best_items, best_epoch, best


def lightgcn(full: sp.csr_matrix, known_test: sp.csr_matrix, *, seed: int) -> tuple[np.ndarray, dict]:
    """LightGCN's test scores (new rows folded in by their known labels) and its chosen regularisation and epoch
    count (module docstring)."""
    full, known_test = _binary(full), _binary(known_test)
    X, known, targets = _tuning(full, seed)
    results = {decay: _fit_lightgcn(X, decay, seed, LIGHTGCN_EPOCHS, (known, targets))[1:] for decay in LIGHTGCN_DECAYS}
    decay = max(results, key=lambda value: results[value][1])
    epochs = results[decay][0]
    items, _, _ = _fit_lightgcn(full, decay, seed, epochs)
    return _lightgcn_scores(items, known_test), {"lightgcn_decay": decay, "lightgcn_epochs": epochs}


ANCHORS = {"rp3beta": rp3beta, "ials": ials, "mult-vae": mult_vae, "lightgcn": lightgcn}


def timed(anchor, full: sp.csr_matrix, known_test: sp.csr_matrix, seed: int) -> tuple[np.ndarray, dict, float]:
    """An anchor's scores, chosen hyperparameters and seconds (tuning, refit and scoring together)."""
    start = time.perf_counter()
    scores, chosen = anchor(full, known_test, seed=seed)
    return scores, chosen, time.perf_counter() - start
