"""Superposition statistics of a trained SAE's decoder: how its latent directions crowd the space.

Compared with a random baseline (as many random unit vectors in as many dimensions, whose pairwise
cosines have standard deviation ~1/sqrt(d_in)): the distribution of pairwise cosines, near-duplicate
latents, and each direction's dimensionality (Elhage et al.'s D_i, applied to decoder directions).
"""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor

from interp.results import DecoderGeometryResult, nested_tuple
from sae.toy_models import dimensionality

__all__ = ["CHUNK", "MAX_DUPLICATES_LISTED", "N_BINS", "decoder_geometry"]

N_BINS = 200
MAX_DUPLICATES_LISTED = 100
CHUNK = 1024  # rows of the cosine matrix at a time: d_sae^2 floats would not fit for wide SAEs


@torch.no_grad()
def _cosine_stats(directions: Float[Tensor, "d_sae d_in"], edges: Tensor, threshold: float):
    """Histogram of pairwise cosines (i < j), mean |cos|, per-row max |cos|, and pairs above threshold."""
    unit = directions / directions.norm(dim=1, keepdim=True).clamp_min(1e-12)
    n = len(unit)
    counts = torch.zeros(len(edges) - 1, dtype=torch.long)
    abs_sum, max_abs, pairs = 0.0, torch.zeros(n), []
    for start in range(0, n, CHUNK):
        cos = unit[start : start + CHUNK] @ unit.T  # [chunk, n]
        rows = torch.arange(start, start + len(cos))[:, None]
        upper = torch.arange(n)[None] > rows  # each pair once, no self-pairs
        values = cos[upper].float().cpu()
        counts += torch.histogram(values.clamp(-1, 1), bins=edges).hist.long()
        abs_sum += float(values.abs().sum())
        off_diag = cos.abs().masked_fill(torch.arange(n)[None] == rows, 0)
        max_abs[start : start + len(cos)] = off_diag.max(dim=1).values.cpu()
        hits = (cos > threshold) & upper
        for i, j in hits.nonzero().tolist():
            pairs.append((start + i, j, float(cos[i, j])))
    n_pairs = n * (n - 1) // 2
    return counts, abs_sum / max(n_pairs, 1), max_abs, sorted(pairs, key=lambda p: -p[2])


def decoder_geometry(
    W_dec: Float[Tensor, "d_sae d_in"], *, source: str = "", duplicate_cosine: float = 0.9, seed: int = 0
) -> DecoderGeometryResult:
    """Superposition statistics of decoder directions (rows of W_dec) against random unit vectors."""
    if W_dec.ndim != 2 or W_dec.shape[0] < 2:
        raise ValueError(f"W_dec must be [d_sae, d_in] with at least 2 latents, got {tuple(W_dec.shape)}")
    if not -1 < duplicate_cosine < 1:
        raise ValueError(f"duplicate_cosine must lie in (-1, 1), got {duplicate_cosine}")
    W_dec = W_dec.detach().float()
    d_sae, d_in = W_dec.shape
    random = torch.randn(d_sae, d_in, generator=torch.Generator().manual_seed(seed)).to(W_dec.device)
    edges = torch.linspace(-1, 1, N_BINS + 1)
    counts, mean_abs, max_abs, pairs = _cosine_stats(W_dec, edges, duplicate_cosine)
    r_counts, r_mean_abs, r_max_abs, _ = _cosine_stats(random, edges, duplicate_cosine)
    dims = dimensionality(W_dec.T).cpu()
    return DecoderGeometryResult(
        source=source,
        d_sae=d_sae,
        d_in=d_in,
        bin_edges=nested_tuple(edges),
        counts=tuple(int(c) for c in counts),
        random_counts=tuple(int(c) for c in r_counts),
        mean_abs_cosine=mean_abs,
        random_mean_abs_cosine=r_mean_abs,
        mean_max_abs_cosine=float(max_abs.mean()),
        random_mean_max_abs_cosine=float(r_max_abs.mean()),
        duplicate_cosine=duplicate_cosine,
        n_duplicate_pairs=len(pairs),
        duplicates=tuple(pairs[:MAX_DUPLICATES_LISTED]),
        dimensionality=nested_tuple(dims),
        mean_dimensionality=float(dims.mean()),
        random_mean_dimensionality=float(dimensionality(random.T).mean()),
    )
