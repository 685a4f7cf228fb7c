"""SAE evaluation in one place: reconstruction, sparsity, downstream loss and latent density.

Definitions follow SAELens's evals (`sae_lens.evals`), so the numbers agree with theirs (a test
checks): L0 and MSE per token (MSE summed over dimensions), explained variance as
1 - E||x - x_hat||^2 / (E||x||^2 - ||E x||^2), CE loss recovered as
(CE zero-ablated - CE with SAE) / (CE zero-ablated - CE clean), KL(clean || with SAE) per token.

CE loss recovered comes twice, because the SAE is spliced in only where `sae.positions` keeps it (not at BOS
or massive activations) and SAELens's baseline zero-ablates every position. `ce_loss_recovered` is SAELens's
figure (zero ablation everywhere), the one to compare with other tools and papers; an SAE that outputs zeros
scores above 0 on it, since its "ablation" leaves BOS alone and the baseline's does not.
`ce_loss_recovered_consistent` ablates the baseline at the same positions the SAE is spliced at, so that an
SAE outputting zeros scores exactly 0 and an identity SAE 1: the figure the metric's definition promises.
Written here rather than called there because SAELens's runner needs its `ActivationsStore`
(a hub dataset or a pretokenised one) and hooks a `HookedTransformer`, while this takes any token
tensor and any workbench model.
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from interp.core.hooks import hooks, run_with_cache
from interp.core.interventions import OnlyAt, SpliceSAE, Zero
from interp.core.locking import exclusive
from interp.results import SAEEvalResult
from interp.vocab.types import SAE, Model, Progress
from sae.features import check_width, sae_hook
from sae.positions import sae_positions

__all__ = ["DENSITY_BINS", "DENSITY_LOG10_MIN", "evaluate_sae", "kl_per_token", "loss_recovered", "next_token_loss"]

DENSITY_BINS = 40
DENSITY_LOG10_MIN = -8.0


def loss_recovered(clean: float, replaced: float, ablated: float) -> float:
    """(ablated - replaced) / (ablated - clean): 1 when the replacement loses nothing, 0 when it is as bad as
    the ablation; NaN when ablating changes nothing (the ratio has no meaning then)."""
    return (ablated - replaced) / (ablated - clean) if abs(ablated - clean) > 1e-9 else float("nan")


def next_token_loss(
    logits: Float[Tensor, "batch pos d_vocab"], tokens: Int[Tensor, "batch pos"]
) -> Float[Tensor, "batch pos-1"]:
    """Cross-entropy of each next token (positions 0..n-2 predict tokens 1..n-1)."""
    logp = logits[:, :-1].float().log_softmax(-1)
    return -logp.gather(-1, tokens[:, 1:, None].to(logits.device))[..., 0]


def kl_per_token(
    clean: Float[Tensor, "batch pos d_vocab"], other: Float[Tensor, "batch pos d_vocab"]
) -> Float[Tensor, "batch pos"]:
    """KL(clean || other) of the next-token distributions at every position."""
    return F.kl_div(
        other.float().log_softmax(-1), clean.float().log_softmax(-1), reduction="none", log_target=True
    ).sum(-1)


@exclusive
@torch.no_grad()
def evaluate_sae(
    model: Model,
    sae: SAE,
    tokens: Int[Tensor, "batch pos"],
    *,
    hook: str | None = None,
    sae_name: str = "",
    batch_size: int = 16,
    dense_threshold: float = 0.1,
    progress: Progress | None = None,
) -> SAEEvalResult:
    """Evaluate `sae` on the activations of `hook` (default: the hook in the SAE's metadata) over `tokens`;
    `progress(done, total)` counts batches of prompts."""
    name = sae_hook(sae, hook, model)
    if tokens.ndim != 2 or tokens.shape[1] < 2:
        raise ValueError(f"tokens must be [batch, pos] with at least 2 positions, got {tuple(tokens.shape)}")
    width = sae.cfg.d_in
    fired = torch.zeros(sae.cfg.d_sae, dtype=torch.long)
    sums = {
        "l0": 0.0,
        "sq_err": 0.0,
        "sq_norm": 0.0,
        "ce": 0.0,
        "ce_sae": 0.0,
        "ce_zero": 0.0,
        "ce_zero_at": 0.0,
        "kl": 0.0,
        "kl_zero": 0.0,
        "positions": 0,
    }
    sum_x = torch.zeros(width, dtype=torch.float64)
    n_tokens = n_loss = 0  # activations seen; next-token predictions scored (pos - 1 per prompt)
    batches = tokens.split(batch_size)
    splice, zero = SpliceSAE(sae, keep_error=False), Zero()
    for i, batch in enumerate(batches, 1):
        batch = batch.to(model.cfg.device)
        clean, cache = run_with_cache(model, batch, [name])
        act = cache[name]
        check_width(model, sae, name, act)
        # the SAE reads, and is spliced in, only where sae_positions says (not at BOS or massive activations), as
        # SAELens's ignore_tokens does
        where = sae_positions(model, batch, act)
        with hooks(model, [(name, OnlyAt(splice, where))]):
            spliced = model(batch)
        with hooks(model, [(name, zero)]):  # everywhere, as SAELens's baseline: the floor of CE loss recovered
            zeroed = model(batch)
        with hooks(model, [(name, OnlyAt(zero, where))]):  # where the SAE is spliced: the consistent floor
            zeroed_at = model(batch)
        read = act[where.to(act.device)]
        feats = sae.encode(read.to(sae.device))
        x = read.flatten(0, -2).float().cpu()
        recon = sae.decode(feats).flatten(0, -2).float().cpu()
        feats = feats.flatten(0, -2)
        active = (feats != 0).cpu()  # != 0: bidirectional architectures (AbsTopK) fire negative
        sums["l0"] += float(active.sum())
        sums["sq_err"] += float(((x - recon) ** 2).sum())
        sums["sq_norm"] += float((x.double() ** 2).sum())
        sum_x += x.double().sum(0)
        fired += active.sum(0)
        n_tokens += len(x)
        sums["ce"] += float(next_token_loss(clean, batch).sum())
        sums["ce_sae"] += float(next_token_loss(spliced, batch).sum())
        sums["ce_zero"] += float(next_token_loss(zeroed, batch).sum())
        sums["ce_zero_at"] += float(next_token_loss(zeroed_at, batch).sum())
        sums["positions"] += batch.numel()  # KL is averaged over every position, as SAELens does
        sums["kl"] += float(kl_per_token(clean, spliced).sum())
        sums["kl_zero"] += float(kl_per_token(clean, zeroed).sum())
        n_loss += batch.shape[0] * (batch.shape[1] - 1)
        if progress is not None:
            progress(i, len(batches))
    result = _result(sae, sae_name, model, name, sums, sum_x, fired, n_tokens, n_loss, dense_threshold)
    at = "at the positions sae.positions.sae_positions keeps"
    interventions = (
        f"with SAE: {splice!r} at {name}, {at}",
        f"zero ablation: {zero!r} at {name}",
        f"zero ablation at the SAE's positions: {zero!r} at {name}, {at}",
    )
    return replace(result, interventions=interventions)


def _result(
    sae: SAE,
    sae_name: str,
    model: Model,
    hook: str,
    sums: dict[str, float],
    sum_x: Tensor,
    fired: Tensor,
    n_tokens: int,
    n_loss: int,
    dense_threshold: float,
) -> SAEEvalResult:
    mse = sums["sq_err"] / n_tokens
    variance = sums["sq_norm"] / n_tokens - float(((sum_x / n_tokens) ** 2).sum())
    ce, ce_sae, ce_zero, ce_zero_at = (sums[k] / n_loss for k in ("ce", "ce_sae", "ce_zero", "ce_zero_at"))
    density = fired.double() / n_tokens
    alive = density[density > 0]
    edges = torch.linspace(DENSITY_LOG10_MIN, 0, DENSITY_BINS + 1)
    counts = (
        torch.histogram(alive.log10().float().clamp(DENSITY_LOG10_MIN, 0), bins=edges).hist
        if len(alive)
        else torch.zeros(DENSITY_BINS)
    )
    return SAEEvalResult(
        sae=sae_name,
        model=str(model.cfg.model_name),
        hook=hook,
        d_in=sae.cfg.d_in,
        d_sae=sae.cfg.d_sae,
        n_tokens=n_tokens,
        l0=sums["l0"] / n_tokens,
        mse=mse,
        explained_variance=1 - mse / variance if variance > 1e-10 else float("nan"),
        ce_loss_clean=ce,
        ce_loss_with_sae=ce_sae,
        ce_loss_zero_ablation=ce_zero,
        ce_loss_recovered=loss_recovered(ce, ce_sae, ce_zero),
        ce_loss_zero_ablation_at_sae_positions=ce_zero_at,
        ce_loss_recovered_consistent=loss_recovered(ce, ce_sae, ce_zero_at),
        kl=sums["kl"] / sums["positions"],
        kl_zero_ablation=sums["kl_zero"] / sums["positions"],
        dead_fraction=float((fired == 0).double().mean()),
        dense_fraction=float((density > dense_threshold).double().mean()),
        dense_threshold=dense_threshold,
        density_log10_edges=tuple(edges.tolist()),
        density_counts=tuple(int(c) for c in counts),
    )
