"""Token representations: nearest neighbours and principal directions of the embedding, or of any residual
site over a text sample (each token's representation there is the mean over its occurrences)."""

from __future__ import annotations

import torch
from torch import Tensor

from interp.core.hooks import run_with_cache
from interp.core.locking import lock_free
from interp.core.sites import check_hook_names
from interp.core.tokens import str_tokens
from interp.results import PrincipalDirections, TokenNeighbours
from interp.vocab.types import Model

__all__ = ["principal_directions", "token_neighbours", "token_vectors"]

EMBEDDING = "embed"


@lock_free("weights, and run_with_cache holds the lock for a site")
def token_vectors(model: Model, site: str = EMBEDDING, tokens: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(ids, vectors [id, d]): the embedding W_E of every token (site "embed"), or at hook `site` the mean
    activation of each token that occurs in the rows `tokens`, over its occurrences."""
    if site == EMBEDDING:
        return torch.arange(model.cfg.d_vocab), model.W_E.detach().float().cpu()
    check_hook_names(model, [site])
    if tokens is None:
        raise ValueError(f"reading {site} needs token rows (a text sample) to run the model on")
    _, cache = run_with_cache(model, tokens, [site])
    acts = cache[site].float().cpu().flatten(0, 1)
    if acts.dim() != 2:
        raise ValueError(f"{site} is not a residual-stream site (its activations are {tuple(cache[site].shape)})")
    ids, where = tokens.flatten().unique(return_inverse=True)
    sums = torch.zeros(len(ids), acts.shape[1]).index_add_(0, where, acts)
    return ids, sums / torch.bincount(where, minlength=len(ids))[:, None]


@lock_free("weights, and run_with_cache holds the lock for a site")
def token_neighbours(
    model: Model, tokens: Tensor, *, k: int = 10, site: str = EMBEDDING, rows: Tensor | None = None
) -> TokenNeighbours:
    """The `k` nearest neighbours (cosine similarity) of each of `tokens` in the representation at `site`."""
    ids, vectors = token_vectors(model, site, rows)
    index = {int(t): i for i, t in enumerate(ids.tolist())}
    missing = [int(t) for t in tokens.tolist() if int(t) not in index]
    if missing:
        raise ValueError(f"tokens {missing[:10]} do not occur in the text sample read at {site}")
    unit = torch.nn.functional.normalize(vectors - vectors.mean(0), dim=1)
    rows_ = unit[[index[int(t)] for t in tokens.tolist()]]
    sims = rows_ @ unit.T
    sims[torch.arange(len(tokens)), [index[int(t)] for t in tokens.tolist()]] = -2.0  # not its own neighbour
    top = sims.topk(min(k, len(ids) - 1), dim=1)
    return TokenNeighbours(
        model=model.cfg.model_name,
        site=site,
        tokens=tuple(str_tokens(model, tokens)),
        neighbours=tuple(tuple(str_tokens(model, ids[row])) for row in top.indices),
        similarities=tuple(tuple(row) for row in top.values.tolist()),
    )


@lock_free("weights, and run_with_cache holds the lock for a site")
def principal_directions(
    model: Model, *, n: int = 5, k: int = 8, site: str = EMBEDDING, rows: Tensor | None = None
) -> PrincipalDirections:
    """The `n` principal directions of the token representations at `site` (centred; SVD), the share of the
    variance along each, and the `k` tokens at each end."""
    ids, vectors = token_vectors(model, site, rows)
    centred = vectors - vectors.mean(0)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    n = min(n, len(s))
    projections = centred @ vh[:n].T  # [token, n]
    k = min(k, len(ids))
    ends = [(projections[:, i].topk(k).indices, (-projections[:, i]).topk(k).indices) for i in range(n)]
    return PrincipalDirections(
        model=model.cfg.model_name,
        site=site,
        explained=tuple((s[:n] ** 2 / (s**2).sum()).tolist()),
        positive=tuple(tuple(str_tokens(model, ids[hi])) for hi, _ in ends),
        negative=tuple(tuple(str_tokens(model, ids[lo])) for _, lo in ends),
        n_points=len(ids),
    )
