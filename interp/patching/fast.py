"""Fast activation patching: the exact numbers of the per-patch loop with far less work.

A patch at layer L that first changes position s leaves everything before it unchanged: every
layer below L, and every position before s in every layer (attention is causal). Only layers >= L
at positions >= s need computing, and only the logits at the metric position matter. Four
savings follow, each exact:

1. No-op patches are not run. Where the other run's slice equals the base run's (positions before
   the first token in which the prompts differ, or a layer-0 residual at a shared token), the
   patched run is the base run; so is any patch that starts after the metric position.
2. Each patched row starts at its own layer. One forward pass per prompt carries many patches;
   at block L's input a hook appends one row per patch of layer L, copied from the base run's
   cached residual, and the site's hook writes the patch into those rows alone. Rows of earlier
   layers flow on through block L with them. (Rows are added at block inputs: hooks inside
   attention feed reshapes that read the batch size from the block input.)
3. Each pass starts at position s. Patches that first change position s share a pass over the
   tokens from s on, with the base run's keys and values of positions < s handed to the model as
   its KV cache (layer by layer, repeated to that layer's number of rows). TransformerBridge has
   no `start_at_layer`, but Hugging Face models take `past_key_values`; models without a KV cache
   (TransformerLens-native ones, such as the zoo) run every pass from position 0.
4. Logits only where the metric reads them: a hook on the unembedding's input keeps the metric
   position alone. (Not at ln_final's input: Hugging Face GPT-2 reshapes after its final LayerNorm.)

The rows of one pass are bounded by the memory available. Tests compare every site with the
per-patch loop and with `transformer_lens.patching`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.core.hooks import hooks
from interp.core.limits import prompt_bytes
from interp.core.locking import exclusive, lock_free
from interp.core.metrics import at_metric_pos, metric_values
from interp.core.patch_sites import Selector, Site, site_heads
from interp.core.sites import hook_name
from interp.core.task import Task
from interp.vocab.choices import MetricName
from interp.vocab.types import Model, Progress

__all__ = ["CPU_BUDGET_BYTES", "GPU_BUDGET_FRACTION", "fast_patch_values", "patches_per_pass"]

CPU_BUDGET_BYTES = 2 * 2**30
GPU_BUDGET_FRACTION = 0.4


@lock_free("config and free memory")
def patches_per_pass(model: Model, n_pos: int, n_patches: int) -> int:
    """How many patched rows fit one pass: a generous estimate of one row's live activations
    (residual, MLP and attention intermediates of one layer, plus the patterns) against a budget."""
    # one layer's forward intermediates plus the residual kept for the next layer, and as much again as slack
    per_row = 2 * prompt_bytes(model, n_pos, residuals=0, logits=0, extra_per_pos=2 * model.cfg.d_model)
    device = next(model.parameters()).device
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget = GPU_BUDGET_FRACTION * free
    else:
        budget = CPU_BUDGET_BYTES
    return max(1, min(n_patches, int(budget // per_row)))


@dataclass(frozen=True)
class _BaseRun:
    """What the patched passes start from: the base run's residuals, site activations, KV cache and metric."""

    resid_pre: list[Tensor]
    """Per layer, [batch, pos, d_model]: the rows a patch of that layer starts from."""
    site: list[Tensor]
    """Per layer, the site's activation on the base run (to find where a patch changes anything)."""
    kv: list[tuple[Tensor, Tensor]] | None
    """Per layer, keys and values [batch, kv_head, pos, d_head]; None where the model keeps no KV cache."""
    metric: Tensor
    """[batch]: the metric on the base run, which every no-op patch gets."""


def _dynamic_kv(cache) -> list[tuple[Tensor, Tensor]] | None:
    """The keys and values of a plain Hugging Face DynamicCache, else None (no cache, or sliding-window and
    other layer kinds whose prefix cannot be handed over as is)."""
    from transformers.cache_utils import DynamicLayer

    layers = getattr(cache, "layers", None)
    if not layers or any(type(layer) is not DynamicLayer for layer in layers):
        return None
    return [(layer.keys, layer.values) for layer in layers]


def _base_run(
    model: Model, task: Task, site: Site, base: Int[Tensor, "batch pos"], metric: MetricName, clean_last: Tensor
) -> _BaseRun:
    n_layers = model.cfg.n_layers
    names = [hook_name("resid_pre", layer) for layer in range(n_layers)] + [
        hook_name(site.hook, layer) for layer in range(n_layers)
    ]
    acts: dict[str, Tensor] = {}
    # Each hook stores under the name it was added as: inside a hook, hook.name is the canonical name
    # (blocks.0.hook_in for blocks.0.hook_resid_pre).
    with hooks(model, [(name, _keeper(acts, name)) for name in dict.fromkeys(names)]):
        try:
            logits, cache = model(base, use_cache=True, return_type="logits_and_cache")
        except TypeError:  # a forward that takes no use_cache
            logits, cache = model(base), None
    kv = _dynamic_kv(cache)
    if kv is not None and len(kv) != n_layers:
        kv = None
    rows = torch.arange(len(task))
    return _BaseRun(
        resid_pre=[acts[names[layer]] for layer in range(n_layers)],
        site=[acts[names[n_layers + layer]] for layer in range(n_layers)],
        kv=kv,
        metric=metric_values(metric, at_metric_pos(logits, task), task, rows, clean_last).double().cpu(),
    )


def _keeper(store: dict[str, Tensor], name: str):
    def fn(act: Tensor, hook=None) -> None:
        store[name] = act.detach()

    return fn


def _first_change(differs: Tensor, selector: Selector, site: Site) -> int | None:
    """The first position a patch changes (None if it changes nothing), from the boolean map of where the
    other run differs from the base run (one prompt, no batch axis, on the CPU: one device sync per layer,
    not per patch). Position is the first axis of every site's activation but the pattern's (head, query, key)."""
    if site.name != "pattern" and isinstance(selector[0], int):  # (pos,) or (pos, head)
        return selector[0] if bool(differs[selector].any()) else None
    rows = differs[selector].flatten(1).any(1).nonzero()  # over positions (queries for the pattern)
    return int(rows[0]) if len(rows) else None


def _shifted(selector: Selector, site: Site, start: int) -> tuple[Selector, Selector]:
    """The selector on a pass that starts at `start` (its rows), and on the full-length source (its batch row)."""
    if site.name == "pattern":  # (head,) -> (head, queries from start on, all keys)
        return (*selector, slice(None)), (*selector, slice(start, None))
    if isinstance(selector[0], int):
        return (selector[0] - start, *selector[1:]), selector
    return selector, (slice(start, None), *selector[1:])


@exclusive
@torch.no_grad()
def fast_patch_values(
    model: Model,
    task: Task,
    site: Site,
    base: Int[Tensor, "batch pos"],
    source_cache: dict[str, Tensor],
    metric: MetricName,
    clean_last: Float[Tensor, "batch d_vocab"],
    progress: Progress | None = None,
) -> Float[Tensor, "layer patch"]:
    """[layer, patch] metric, equal to `interp.patching.exact_patch_values` (the mean over prompts of each patch)."""
    n_layers = model.cfg.n_layers
    selectors = site.selectors(task.n_pos, site_heads(source_cache, site, model))
    run = _base_run(model, task, site, base, metric, clean_last)
    out = torch.zeros(n_layers, len(selectors), dtype=torch.float64)
    passes = []  # (prompt, start, [(layer, selector index), ...]) in layer order
    for b in range(len(task)):
        pos = int(task.metric_pos[b])
        groups: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for layer in range(n_layers):
            differs = (source_cache[hook_name(site.hook, layer)][b] != run.site[layer][b]).cpu()
            for i, sel in enumerate(selectors):
                start = _first_change(differs, sel, site)
                if start is None or start > pos:
                    out[layer, i] += run.metric[b]  # the patched run is the base run
                else:
                    groups[start if run.kv is not None else 0].append((layer, i))
        for start, patches in sorted(groups.items()):
            width = patches_per_pass(model, task.n_pos - start, len(patches))
            passes += [(b, start, patches[k : k + width]) for k in range(0, len(patches), width)]
    for done, (b, start, patches) in enumerate(passes, 1):
        values = _patched_pass(
            model, task, site, base, source_cache, run, selectors, b, start, patches, metric, clean_last
        )
        for (layer, i), value in zip(patches, values.tolist()):
            out[layer, i] += value
        if progress is not None:
            progress(done, len(passes))
    return (out / len(task)).float()


def _patched_pass(
    model: Model,
    task: Task,
    site: Site,
    base: Tensor,
    source_cache: dict[str, Tensor],
    run: _BaseRun,
    selectors: list[Selector],
    b: int,
    start: int,
    patches: list[tuple[int, int]],
    metric: MetricName,
    clean_last: Tensor,
) -> Tensor:
    """The metric of each patch in `patches` (layer-ordered) on prompt b, from one pass over positions >= start."""
    n_layers = model.cfg.n_layers
    by_layer: dict[int, list[int]] = defaultdict(list)
    for layer, i in patches:
        by_layer[layer].append(i)
    first = patches[0][0]
    rows_before, n_rows = {}, 0  # rows that exist when each layer's new rows are appended
    for layer in sorted(by_layer):
        rows_before[layer] = n_rows
        n_rows += len(by_layer[layer])

    def write(act: Tensor, layer: int, offset: int) -> None:
        source = source_cache[hook_name(site.hook, layer)][b]
        for j, i in enumerate(by_layer[layer]):
            here, there = _shifted(selectors[i], site, start)
            act[(offset + j, *here)] = source[there].to(act)

    def add_rows(layer: int):
        def fn(act: Tensor, hook=None) -> Tensor:
            new = run.resid_pre[layer][b : b + 1, start:].expand(len(by_layer[layer]), -1, -1).clone()
            if site.hook == "resid_pre":
                write(new, layer, 0)
            return new if layer == first else torch.cat([act, new])

        return fn

    def patch_rows(layer: int):
        def fn(act: Tensor, hook=None) -> Tensor:
            act = act.clone()
            write(act, layer, rows_before[layer])
            return act

        return fn

    fwd = [(hook_name("resid_pre", layer), add_rows(layer)) for layer in by_layer]
    if site.hook != "resid_pre":
        fwd += [(hook_name(site.hook, layer), patch_rows(layer)) for layer in by_layer]
    pos = int(task.metric_pos[b])
    fwd.append(("unembed.hook_in", lambda resid, hook=None: resid[:, pos - start : pos - start + 1]))
    kwargs = {}
    if start > 0:
        # block `layer` runs on every row added so far, or on the one base row before the first patched layer
        per_layer = [
            max(1, sum(len(ids) for patched, ids in by_layer.items() if patched <= layer)) for layer in range(n_layers)
        ]
        kwargs["past_key_values"] = _prefix_cache(run.kv, b, start, per_layer)
    with hooks(model, fwd):
        last = model(base[b : b + 1, start:], **kwargs)[:, 0]
    rows = torch.full((n_rows,), b, dtype=torch.long)
    return metric_values(metric, last, task, rows, clean_last).double().cpu()


def _prefix_cache(kv: list[tuple[Tensor, Tensor]], b: int, start: int, rows: list[int]):
    """A DynamicCache holding prompt b's base keys and values of positions < start, repeated to each layer's rows."""
    from transformers import DynamicCache

    cache = DynamicCache()
    for layer, ((keys, values), n) in enumerate(zip(kv, rows)):
        cache.update(
            keys[b : b + 1, :, :start].expand(n, -1, -1, -1), values[b : b + 1, :, :start].expand(n, -1, -1, -1), layer
        )
    return cache
