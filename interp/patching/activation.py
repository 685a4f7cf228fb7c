"""Activation patching: which activations carry what makes the clean run differ from the corrupted one.

`patch(model, task, site=..., direction=..., method=...)` returns a `PatchResult` with the raw
metric for every patch, the clean and corrupted baselines and the normalised score
(m - corrupted) / (clean - corrupted).

- method "exact" runs one forward pass per patch on the whole batch of prompts, exactly as
  `transformer_lens.patching` does (and equals it; tests check every site it supports).
- method "fast" computes the same numbers with less work (`interp.patching.fast`): no-op patches
  are not run, each patched row starts at its own layer, passes start at the first position they
  change (with a KV cache, on Hugging Face models), and logits are computed at the metric position only.

On grouped-query models a k or v patch is one key/value head, shared by several query heads
(`interp.core.patch_sites` says why); the result's axis is then "kv_head".

Directions: "denoise" runs the corrupted prompts and patches in clean activations (does this
activation suffice to restore the behaviour?); "noise" runs the clean prompts and patches in
corrupted activations (is it necessary?).
"""

from __future__ import annotations

import time

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.core.baselines import baselines, make_patch_result
from interp.core.hooks import hooks
from interp.core.interventions import SetSlice
from interp.core.limits import check_fits, prompt_bytes
from interp.core.locking import exclusive
from interp.core.metrics import at_metric_pos, metric_values
from interp.core.patch_sites import Site, check_patch_options, describe_patch, patch_axes, site_heads
from interp.core.sites import hook_name
from interp.core.task import Task
from interp.patching.fast import fast_patch_values
from interp.results import PatchResult
from interp.vocab.choices import Direction, MetricName, PatchMethod, PatchSite, check_choice
from interp.vocab.types import Model, Progress

__all__ = ["exact_patch_values", "patch"]


@exclusive
@torch.no_grad()
def exact_patch_values(
    model: Model,
    task: Task,
    site: Site,
    base: Int[Tensor, "batch pos"],
    source_cache: dict[str, Tensor],
    metric: MetricName,
    clean_last: Float[Tensor, "batch d_vocab"],
    progress: Progress | None = None,
) -> Float[Tensor, "layer patch"]:
    """[layer, patch] metric with one full forward pass per patch (the reference loop)."""
    n_layers = model.cfg.n_layers
    selectors = site.selectors(task.n_pos, site_heads(source_cache, site, model))
    out = torch.zeros(n_layers, len(selectors))
    rows = torch.arange(len(task))
    for layer in range(n_layers):
        name = hook_name(site.hook, layer)
        for i, selector in enumerate(selectors):
            with hooks(model, [(name, SetSlice(source_cache[name], selector))]):
                logits = model(base)
            out[layer, i] = (
                metric_values(metric, at_metric_pos(logits, task), task, rows, clean_last).mean().float().cpu()
            )
            if progress is not None:
                progress(layer * len(selectors) + i + 1, n_layers * len(selectors))
    return out


@exclusive
@torch.no_grad()
def patch(
    model: Model,
    task: Task,
    *,
    site: PatchSite = "resid_pre",
    direction: Direction = "denoise",
    metric: MetricName = "logit_diff",
    method: PatchMethod = "fast",
    progress: Progress | None = None,
) -> PatchResult:
    """Patch `site` in every layer (and position/head, as the site's axes say) from one run into the other."""
    spec = check_patch_options(model, site, direction, metric)
    check_choice(method, PatchMethod, "method")
    # held at once: both runs' site caches and full logits, the base run's residuals, site activations and KV
    # cache (fast), and the base logits; a pattern cache holds a row per query position too
    pattern = 3 * model.cfg.n_layers * model.cfg.n_heads * task.n_pos if site == "pattern" else 0
    per_prompt = prompt_bytes(model, task.n_pos, residuals=6, logits=3, extra_per_pos=pattern)
    check_fits(model, len(task), per_prompt, what="activation patching")
    start = time.perf_counter()
    task = task.to(model.cfg.device)
    names = [hook_name(spec.hook, layer) for layer in range(model.cfg.n_layers)]
    runs = baselines(model, task, names, metric)
    if direction == "denoise":
        base, source = task.corrupted_tokens, runs.clean_cache
    else:
        base, source = task.clean_tokens, runs.corrupted_cache
    runner = exact_patch_values if method == "exact" else fast_patch_values
    values = runner(model, task, spec, base, source, metric, runs.clean_last, progress)
    axes = patch_axes(model, spec)  # k and v of a grouped-query model: key/value heads
    n_heads = values.shape[1] // (task.n_pos if axes == ("head", "pos") else 1)
    shape = (model.cfg.n_layers, *(task.n_pos if a == "pos" else n_heads for a in axes))
    return make_patch_result(
        model,
        task,
        analysis="activation_patching",
        site=site,
        direction=direction,
        method=method,
        metric=metric,
        intervention=describe_patch(model, spec, direction),
        axes=("layer", *axes),
        raw=values.reshape(shape),
        clean=runs.clean,
        corrupted=runs.corrupted,
        start=start,
    )
