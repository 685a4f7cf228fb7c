"""Attribution patching (Nanda, 2023; Syed et al., 2023): activation patching to first order.

The effect of patching an activation from the other run is approximated by
(other - base) . d metric / d activation, with the gradient taken on the base run. Two forward
passes (clean and corrupted) and one backward pass give every site's every patch at once; the
result has the same type and axes as exact patching, with raw = base metric + attribution.
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch
from torch import Tensor

from interp.core.baselines import make_patch_result
from interp.core.hooks import hooks, run_with_cache
from interp.core.limits import check_fits, prompt_bytes
from interp.core.locking import exclusive
from interp.core.metrics import at_metric_pos, metric_values
from interp.core.patch_sites import check_patch_options, describe_patch, patch_axes
from interp.core.sites import hook_name
from interp.core.task import Task
from interp.results import Agreement, PatchResult
from interp.vocab.choices import Direction, MetricName, PatchSite
from interp.vocab.types import Model

__all__ = ["attribution_patch", "with_agreement"]


def _reduce(site: PatchSite, product: Tensor) -> Tensor:
    """Sum (other - base) * grad over everything but the site's patch axes; mean over prompts."""
    if site == "pattern":  # batch head query key -> head
        return product.sum((2, 3)).mean(0)
    if product.ndim == 3:  # batch pos d_model -> pos
        return product.sum(-1).mean(0)
    if site == "z_pos":  # batch pos head d_head -> head pos
        return product.sum(-1).mean(0).T
    return product.sum((1, 3)).mean(0)  # z, q, k, v: batch pos head d_head -> head (k, v: kv_head under GQA)


@exclusive
def attribution_patch(
    model: Model,
    task: Task,
    *,
    site: PatchSite = "resid_pre",
    direction: Direction = "denoise",
    metric: MetricName = "logit_diff",
) -> PatchResult:
    """First-order estimate of `patch(model, task, site=..., direction=...)` from one backward pass."""
    spec = check_patch_options(model, site, direction, metric)
    # a forward pass with gradients keeps about ten vectors per position and layer for the backward pass,
    # beside the other run's cache, the kept activations and their gradients
    check_fits(model, len(task), prompt_bytes(model, task.n_pos, residuals=16, logits=3), what="attribution patching")
    start = time.perf_counter()
    task = task.to(model.cfg.device)
    names = [hook_name(spec.hook, layer) for layer in range(model.cfg.n_layers)]
    # Two forward passes: the other run (cached, no grad) and the base run with gradients kept.
    rows = torch.arange(len(task))
    base_tokens, other_tokens = (
        (task.corrupted_tokens, task.clean_tokens)
        if direction == "denoise"
        else (task.clean_tokens, task.corrupted_tokens)
    )
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
        clean_last = at_metric_pos(other_logits if direction == "denoise" else base_logits, task).detach()
        base_values = metric_values(metric, at_metric_pos(base_logits, task), task, rows, clean_last)
        # autograd.grad for the activations alone: no weight gradients, which would double the backward pass.
        # Of the sum, not the mean: prompts are independent rows, so each row's gradient is that of its own
        # metric, and _reduce averages over prompts once (the mean's gradient would divide by n a second time).
        grads = dict(zip(names, torch.autograd.grad(base_values.sum(), [kept[n] for n in names])))
    other_m = float(metric_values(metric, at_metric_pos(other_logits, task), task, rows, clean_last).mean())
    base_m = float(base_values.detach().mean())
    clean_m, corrupted_m = (other_m, base_m) if direction == "denoise" else (base_m, other_m)
    attr = torch.stack(
        [_reduce(site, (other_cache[n] - kept[n].detach()).float() * grads[n].float()) for n in names]
    ).cpu()
    return make_patch_result(
        model,
        task,
        analysis="attribution_patching",
        site=site,
        direction=direction,
        method="attribution",
        metric=metric,
        intervention="none: a first-order estimate of " + describe_patch(model, spec, direction),
        axes=("layer", *patch_axes(model, spec)),
        raw=base_m + attr,
        clean=clean_m,
        corrupted=corrupted_m,
        start=start,
    )


def with_agreement(attribution: PatchResult, exact: PatchResult) -> PatchResult:
    """The attribution result with its Pearson and Spearman correlation to exact patching recorded."""
    if (attribution.site, attribution.direction, attribution.metric, attribution.task) != (
        exact.site,
        exact.direction,
        exact.metric,
        exact.task,
    ):
        raise ValueError("compare results of the same task, site, direction and metric")
    a, b = torch.tensor(attribution.raw).flatten().double(), torch.tensor(exact.raw).flatten().double()
    return replace(attribution, agreement=Agreement(pearson=_pearson(a, b), spearman=_pearson(_ranks(a), _ranks(b))))


def _ranks(x: Tensor) -> Tensor:
    return x.argsort().argsort().double()


def _pearson(a: Tensor, b: Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / (a.norm() * b.norm()).clamp_min(1e-12))
