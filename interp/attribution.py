"""Attribution patching (Nanda, 2023; Syed et al., 2023): activation patching to first order.

The effect of patching an activation from the other run is approximated by
(other - base) . d metric / d activation, with the gradient taken on the base run. Two forward
passes (clean and corrupted) and one backward pass give every site's every patch at once; the
result has the same type and axes as exact patching, with raw = base metric + attribution.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from interp.hooks import hooks, run_with_cache
from interp.model import hook_name
from interp.patching import _last, check_options, make_patch_result, metric_values
from interp.results import PatchResult
from interp.tasks import Task

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge


def _reduce(site: str, product: Tensor) -> Tensor:
    """Sum (other - base) * grad over everything but the site's patch axes; mean over prompts."""
    if site == "pattern":  # batch head query key -> head
        return product.sum((2, 3)).mean(0)
    if product.ndim == 3:  # batch pos d_model -> pos
        return product.sum(-1).mean(0)
    if site == "z_pos":  # batch pos head d_head -> head pos
        return product.sum(-1).mean(0).T
    return product.sum((1, 3)).mean(0)  # z, q, k, v: batch pos head d_head -> head


def attribution_patch(
    model: "TransformerBridge", task: Task, *, site: str = "resid_pre", direction: str = "denoise", metric: str = "logit_diff"
) -> PatchResult:
    """First-order estimate of `patch(model, task, site=..., direction=...)` from one backward pass."""
    spec = check_options(model, site, direction, metric)
    start = time.perf_counter()
    task = task.to(model.cfg.device)
    names = [hook_name(spec.hook, layer) for layer in range(model.cfg.n_layers)]
    # Two forward passes: the other run (cached, no grad) and the base run with gradients kept.
    rows = torch.arange(len(task))
    base_tokens, other_tokens = (task.corrupted_tokens, task.clean_tokens) if direction == "denoise" else (task.clean_tokens, task.corrupted_tokens)
    other_logits, other_cache = run_with_cache(model, other_tokens, names)
    kept: dict[str, Tensor] = {}

    def keeper(name: str):  # keyed by our name: an aliased hook reports its canonical name
        def keep(act: Tensor, hook=None) -> Tensor:
            if not act.requires_grad:  # nothing upstream needs grad: make it a leaf that does
                act = act.detach().requires_grad_()
            kept[name] = act
            return act

        return keep

    with torch.enable_grad(), hooks(model, [(n, keeper(n)) for n in names]):
        base_logits = model(base_tokens)
        clean_last = _last(other_logits if direction == "denoise" else base_logits, task).detach()
        base_values = metric_values(metric, _last(base_logits, task), task, rows, clean_last)
        # autograd.grad for the activations alone: no weight gradients, which would double the backward pass
        grads = dict(zip(names, torch.autograd.grad(base_values.mean(), [kept[n] for n in names])))
    other_m = float(metric_values(metric, _last(other_logits, task), task, rows, clean_last).mean())
    base_m = float(base_values.detach().mean())
    clean_m, bad_m = (other_m, base_m) if direction == "denoise" else (base_m, other_m)
    attr = torch.stack([_reduce(site, (other_cache[n] - kept[n].detach()).float() * grads[n].float()) for n in names]).cpu()
    return make_patch_result(
        model, task, kind="attribution_patching", site=site, direction=direction, method="attribution", metric=metric,
        axes=("layer", *spec.axes), raw=base_m + attr, clean=clean_m, corrupted=bad_m, start=start,
    )


def with_agreement(attribution: PatchResult, exact: PatchResult) -> PatchResult:
    """The attribution result with its Pearson and Spearman correlation to exact patching recorded."""
    if (attribution.site, attribution.direction, attribution.metric, attribution.task) != (exact.site, exact.direction, exact.metric, exact.task):
        raise ValueError("compare results of the same task, site, direction and metric")
    a, b = torch.tensor(attribution.raw).flatten().double(), torch.tensor(exact.raw).flatten().double()
    return replace(attribution, agreement={"pearson": round(_pearson(a, b), 6), "spearman": round(_pearson(_ranks(a), _ranks(b)), 6)})


def _ranks(x: Tensor) -> Tensor:
    return x.argsort().argsort().double()


def _pearson(a: Tensor, b: Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / (a.norm() * b.norm()).clamp_min(1e-12))
