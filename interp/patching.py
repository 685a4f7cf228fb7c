"""Activation patching: which activations carry what makes the clean run differ from the corrupted one.

`patch(model, task, site=..., direction=..., method=...)` returns a `PatchResult` with the raw
metric for every patch, the clean and corrupted baselines and the normalised score
(m - corrupted) / (clean - corrupted).

- method "exact" runs one forward pass per patch on the whole batch of prompts, exactly as
  `transformer_lens.patching` does (and equals it; tests check every site it supports).
- method "fast" computes the same numbers with less work (`interp.fast_patching`): no-op patches
  are not run, each patched row starts at its own layer, passes start at the first position they
  change (with a KV cache, on Hugging Face models), and logits are computed at the metric position only.

Directions: "denoise" runs the corrupted prompts and patches in clean activations (does this
activation suffice to restore the behaviour?); "noise" runs the clean prompts and patches in
corrupted activations (is it necessary?).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import torch
from jaxtyping import Float
from torch import Tensor

from interp import metrics
from interp.hooks import hooks, run_with_cache
from interp.model import hook_name, sites
from interp.results import PatchResult, nested_tuple
from interp.tasks import Task

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

Progress = Callable[[int, int], None]
"""progress(done, total) in forward passes."""
Selector = tuple
"""Index into an activation without its batch axis, e.g. (pos,) or (slice(None), head)."""
METRIC_NAMES = ("logit_diff", "answer_prob", "kl")


@dataclass(frozen=True)
class Site:
    """A patchable site: which hook, and how one patch indexes its activation."""

    name: str
    hook: str
    """Site kind whose hook is patched (see `interp.model.hook_name`)."""
    axes: tuple[str, ...]
    """Axes of one layer's patches, after "layer"."""

    def selectors(self, n_pos: int, n_heads: int) -> list[Selector]:
        every = slice(None)
        if self.axes == ("pos",):  # [batch, pos, d_model]
            return [(p,) for p in range(n_pos)]
        if self.name == "pattern":  # [batch, head, query, key]
            return [(h,) for h in range(n_heads)]
        if self.axes == ("head",):  # z, q, k, v: [batch, pos, head, d_head], every position
            return [(every, h) for h in range(n_heads)]
        return [(p, h) for h in range(n_heads) for p in range(n_pos)]  # z_pos, head-major


SITES = {
    **{s: Site(s, s, ("pos",)) for s in ("resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out")},
    **{s: Site(s, s, ("head",)) for s in ("z", "q", "k", "v", "pattern")},
    "z_pos": Site("z_pos", "z", ("head", "pos")),
}


def check_site(model: "TransformerBridge", site: str) -> Site:
    if site not in SITES:
        raise ValueError(f"unknown site {site!r}; sites are {', '.join(SITES)}")
    have = sites(model)
    if SITES[site].hook not in have:
        names = [s for s, spec in SITES.items() if spec.hook in have]
        raise ValueError(f"{model.cfg.model_name} has no {site} site; it has {', '.join(names)}")
    if site == "pattern" and not _pattern_hook_is_live(model):
        raise ValueError(
            f"{model.cfg.model_name}'s attention-pattern hook only observes: TransformerLens-native models compute "
            "attention outside it, so patching 'pattern' would report no effect anywhere. Patch 'z', 'q', 'k' or 'v' instead"
        )
    return SITES[site]


def check_options(model: "TransformerBridge", site: str, direction: str, metric: str) -> Site:
    """The site's spec, after checking the site, direction and metric (errors say what exists)."""
    if direction not in ("denoise", "noise"):
        raise ValueError(f"direction must be 'denoise' (clean into corrupted) or 'noise' (corrupted into clean), got {direction!r}")
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}; metrics are {', '.join(METRIC_NAMES)}")
    return check_site(model, site)


@torch.no_grad()
def _pattern_hook_is_live(model: "TransformerBridge") -> bool:
    """Whether changing blocks.0.attn.hook_pattern changes the output (measured, not assumed)."""
    tokens = torch.arange(1, 5, device=model.cfg.device)[None] % model.cfg.d_vocab
    before = model(tokens)

    def uniform(pattern: Tensor, hook=None) -> Tensor:
        return torch.tril(torch.ones_like(pattern)) / torch.arange(1, pattern.shape[-1] + 1, device=pattern.device)[:, None]

    with hooks(model, [("blocks.0.attn.hook_pattern", uniform)]):
        after = model(tokens)
    return not torch.equal(before, after)


def metric_values(
    name: str, last: Float[Tensor, "batch d_vocab"], task: Task, rows: Tensor, clean_last: Tensor | None = None
) -> Float[Tensor, "batch"]:
    """Per-prompt metric from logits at the metric position; `rows` says which prompt each row is."""
    sub = task.select(rows.tolist())
    if name == "logit_diff":
        return metrics.logit_diff(last, sub)
    if name == "answer_prob":
        return metrics.answer_prob(last, sub)
    if name == "kl":
        return -metrics.kl_to_clean(last, clean_last[rows.to(clean_last.device)], sub)  # negated: higher = more clean-like
    raise ValueError(f"unknown metric {name!r}; metrics are {', '.join(METRIC_NAMES)}")


def _last(logits: Tensor, task: Task) -> Tensor:
    return logits[torch.arange(len(task), device=logits.device), task.metric_pos.to(logits.device)]


def setter(source: Tensor, selector: Selector):
    """A hook writing `source` (the other run's activation) into the selected slice."""
    index = (slice(None), *selector)

    def fn(act: Tensor, hook=None) -> Tensor:
        act = act.clone()
        act[index] = source[index].to(act)
        return act

    return fn


@torch.no_grad()
def exact_patch_values(
    model: "TransformerBridge", task: Task, site: Site, base: Tensor, source_cache: dict[str, Tensor],
    metric: str, clean_last: Tensor, progress: Progress | None = None,
) -> Tensor:
    """[layer, patch] metric with one full forward pass per patch (the reference loop)."""
    n_layers = model.cfg.n_layers
    selectors = site.selectors(task.n_pos, site_heads(source_cache, site, model))
    out = torch.zeros(n_layers, len(selectors))
    rows = torch.arange(len(task))
    for layer in range(n_layers):
        name = hook_name(site.hook, layer)
        for i, sel in enumerate(selectors):
            with hooks(model, [(name, setter(source_cache[name], sel))]):
                logits = model(base)
            out[layer, i] = metric_values(metric, _last(logits, task), task, rows, clean_last).mean().float().cpu()
            if progress is not None:
                progress(layer * len(selectors) + i + 1, n_layers * len(selectors))
    return out


def site_heads(cache: dict[str, Tensor], site: Site, model: "TransformerBridge") -> int:
    act = cache[hook_name(site.hook, 0)]
    if site.name == "pattern":
        return act.shape[1]
    return act.shape[2] if act.ndim == 4 else model.cfg.n_heads  # k/v may hold fewer (grouped-query) heads


@torch.no_grad()
def patch(
    model: "TransformerBridge",
    task: Task,
    *,
    site: str = "resid_pre",
    direction: str = "denoise",
    metric: str = "logit_diff",
    method: str = "fast",
    progress: Progress | None = None,
) -> PatchResult:
    """Patch `site` in every layer (and position/head, as the site's axes say) from one run into the other."""
    from interp.fast_patching import fast_patch_values

    spec = check_options(model, site, direction, metric)
    if method not in ("exact", "fast"):
        raise ValueError(f"method must be 'exact' or 'fast', got {method!r}")
    start = time.perf_counter()
    task = task.to(model.cfg.device)
    names = [hook_name(spec.hook, layer) for layer in range(model.cfg.n_layers)]
    base_line = baselines(model, task, names, metric)
    base, source = (task.corrupted_tokens, base_line.clean_cache) if direction == "denoise" else (task.clean_tokens, base_line.bad_cache)
    runner = exact_patch_values if method == "exact" else fast_patch_values
    values = runner(model, task, spec, base, source, metric, base_line.clean_last, progress)
    n_heads = values.shape[1] // (task.n_pos if spec.axes == ("head", "pos") else 1)
    shape = (model.cfg.n_layers, *(n_heads if a == "head" else task.n_pos for a in spec.axes))
    return make_patch_result(
        model, task, kind="activation_patching", site=site, direction=direction, method=method, metric=metric,
        axes=("layer", *spec.axes), raw=values.reshape(shape), clean=base_line.clean, corrupted=base_line.corrupted, start=start,
    )


@dataclass(frozen=True)
class Baselines:
    """The clean and corrupted runs every patching method starts from."""

    clean_cache: dict[str, Tensor]
    bad_cache: dict[str, Tensor]
    clean_logits: Tensor
    bad_logits: Tensor
    clean_last: Tensor
    """Clean logits at the metric position (the KL metric's reference)."""
    clean: float
    corrupted: float
    """The metric on each run, mean over prompts."""


def baselines(model: "TransformerBridge", task: Task, names: list[str], metric: str) -> Baselines:
    """Run the clean and corrupted prompts, caching `names`, and measure the metric on both."""
    clean_logits, clean_cache = run_with_cache(model, task.clean_tokens, names)
    bad_logits, bad_cache = run_with_cache(model, task.corrupted_tokens, names)
    clean_last = _last(clean_logits, task)
    rows = torch.arange(len(task))
    clean_m = float(metric_values(metric, clean_last, task, rows, clean_last).mean())
    bad_m = float(metric_values(metric, _last(bad_logits, task), task, rows, clean_last).mean())
    return Baselines(clean_cache, bad_cache, clean_logits, bad_logits, clean_last, clean_m, bad_m)


def make_patch_result(
    model: "TransformerBridge", task: Task, *, kind: str, site: str, direction: str, method: str, metric: str,
    axes: tuple[str, ...], raw: Tensor, clean: float, corrupted: float, start: float,
) -> PatchResult:
    """A `PatchResult` with labels for `axes` (read off `raw`'s shape), normalised scores and the elapsed time."""
    sizes = dict(zip(axes, raw.shape))
    labels = {
        "layer": [str(layer) for layer in range(sizes["layer"])],
        "head": [f"H{h}" for h in range(sizes.get("head", 0))],
        "pos": position_labels(task) if "pos" in sizes else [],
    }
    return PatchResult(
        kind=kind, model=str(model.cfg.model_name), task=task.name, site=site, direction=direction, method=method,
        metric=metric, axes=axes, labels={a: tuple(labels[a]) for a in axes}, raw=nested_tuple(raw),
        normalized=nested_tuple(metrics.normalise(raw, clean, corrupted)), clean=round(clean, 6),
        corrupted=round(corrupted, 6), n_prompts=len(task), seconds=round(time.perf_counter() - start, 3),
    )


def position_labels(task: Task) -> list[str]:
    """"i token" per position; a token that differs across prompts is shown as prompt 0's, starred."""
    out = []
    for i in range(task.n_pos):
        toks = {row[i] for row in task.str_tokens}
        tok = task.str_tokens[0][i]
        out.append(f"{i} {tok}" if len(toks) == 1 else f"{i} {tok}*")
    return out

