"""Transcoders evaluated together: how well each predicts its MLP's output, and what the model loses when every
MLP is replaced at once.

The definitions are those of `sae.evaluation` with the MLP output as the reconstructed activation: explained
variance of the MLP output y (from the MLP's own input), L0, dead latents, and CE loss recovered against zero
ablation of the same MLPs. Transcoders replace the MLPs only where they were trained (sae.positions: not at BOS
or other special tokens, where the real MLP output stays, as the attribution graphs keep it whole as an error).
CE loss recovered comes twice, as in sae.evaluation: against the MLPs zeroed everywhere (SAELens's baseline) and
zeroed where the transcoders replace them (consistent: transcoders that output zeros score exactly 0).
"""

from __future__ import annotations

import torch
from jaxtyping import Int
from torch import Tensor

from interp.core.hooks import HookFn, hooks, run_with_cache
from interp.core.locking import exclusive
from interp.core.sites import mlp_hooks
from interp.core.tokens import special_token_ids
from interp.graphs.replacement import keep_into
from interp.graphs.transcoder_set import TranscoderSet
from interp.results import TranscoderEvalResult
from interp.vocab.types import Model, Progress
from sae.evaluation import kl_per_token, loss_recovered, next_token_loss

__all__ = ["evaluate_transcoders"]


def _replace(transcoders: TranscoderSet, layer: int, inputs: dict[int, Tensor], where: Tensor) -> HookFn:
    def replace(act: Tensor, hook=None) -> Tensor:
        out = transcoders.decode(layer, transcoders.encode(layer, inputs[layer]), inputs[layer]).to(act.dtype)
        return torch.where(where[..., None].to(act.device), out, act)

    return replace


@exclusive
@torch.no_grad()
def evaluate_transcoders(
    model: Model,
    transcoders: TranscoderSet,
    tokens: Int[Tensor, "batch pos"],
    *,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> TranscoderEvalResult:
    """Evaluate every transcoder of `transcoders` on `model` over `tokens`; `progress(done, total)` counts batches."""
    if tokens.ndim != 2 or tokens.shape[1] < 2:
        raise ValueError(f"tokens must be [batch, pos] with at least 2 positions, got {tuple(tokens.shape)}")
    transcoders.check_fits(model)
    layers = transcoders.layers
    names = [h for layer in layers for h in mlp_hooks(layer)]
    special = torch.tensor(sorted(special_token_ids(model)), dtype=torch.long)
    fired = {layer: torch.zeros(transcoders.d_sae(layer), dtype=torch.long) for layer in layers}
    sq_err, sq_norm, l0 = (dict.fromkeys(layers, 0.0) for _ in range(3))
    sum_y = {layer: torch.zeros(model.cfg.d_model, dtype=torch.float64) for layer in layers}
    ce = {"clean": 0.0, "replaced": 0.0, "zero": 0.0, "zero_at": 0.0, "kl": 0.0}
    n_tokens = n_loss = n_positions = 0
    batches = tokens.split(batch_size)
    for i, batch in enumerate(batches, 1):
        batch = batch.to(model.cfg.device)
        where = ~torch.isin(batch.cpu(), special)
        clean, cache = run_with_cache(model, batch, names)
        for layer in layers:
            x, y = (cache[h][where.to(cache[h].device)] for h in mlp_hooks(layer))
            acts = transcoders.encode(layer, x)
            y_hat = transcoders.decode(layer, acts, x).float().cpu()
            y = y.float().cpu()
            sq_err[layer] += float(((y - y_hat) ** 2).sum())
            sq_norm[layer] += float((y.double() ** 2).sum())
            sum_y[layer] += y.double().sum(0)
            l0[layer] += float((acts != 0).sum())
            fired[layer] += (acts != 0).sum(0).cpu()
        n_tokens += int(where.sum())
        inputs: dict[int, Tensor] = {}
        spliced_hooks = [(mlp_hooks(layer)[0], keep_into(inputs, layer)) for layer in layers] + [
            (mlp_hooks(layer)[1], _replace(transcoders, layer, inputs, where)) for layer in layers
        ]
        with hooks(model, spliced_hooks):
            replaced = model(batch)
        with hooks(model, [(mlp_hooks(layer)[1], lambda act, hook=None: torch.zeros_like(act)) for layer in layers]):
            zeroed = model(batch)
        keep = (~where)[..., None].to(clean.device)
        with hooks(model, [(mlp_hooks(layer)[1], lambda act, hook=None, keep=keep: act * keep) for layer in layers]):
            zeroed_at = model(batch)  # zero where the transcoders replace the MLPs, as they are elsewhere
        ce["clean"] += float(next_token_loss(clean, batch).sum())
        ce["replaced"] += float(next_token_loss(replaced, batch).sum())
        ce["zero"] += float(next_token_loss(zeroed, batch).sum())
        ce["zero_at"] += float(next_token_loss(zeroed_at, batch).sum())
        ce["kl"] += float(kl_per_token(clean, replaced).sum())
        n_loss += batch.shape[0] * (batch.shape[1] - 1)
        n_positions += batch.numel()
        if progress is not None:
            progress(i, len(batches))
    n = max(n_tokens, 1)
    variance = {layer: sq_norm[layer] - float((sum_y[layer] / n).pow(2).sum()) * n for layer in layers}
    clean_ce, replaced_ce, zero_ce, zero_at_ce = (ce[k] / n_loss for k in ("clean", "replaced", "zero", "zero_at"))
    return TranscoderEvalResult(
        transcoders=transcoders.source,
        model=model.cfg.model_name,
        layers=tuple(layers),
        n_tokens=n_tokens,
        explained_variance=tuple(1 - sq_err[layer] / max(variance[layer], 1e-12) for layer in layers),
        l0=tuple(l0[layer] / n for layer in layers),
        dead_fraction=tuple(float((fired[layer] == 0).float().mean()) for layer in layers),
        ce_loss_clean=clean_ce,
        ce_loss_replaced=replaced_ce,
        ce_loss_zero_ablation=zero_ce,
        ce_loss_recovered=loss_recovered(clean_ce, replaced_ce, zero_ce),
        ce_loss_zero_ablation_at_transcoder_positions=zero_at_ce,
        ce_loss_recovered_consistent=loss_recovered(clean_ce, replaced_ce, zero_at_ce),
        kl=ce["kl"] / n_positions,
    )
