"""What activation patching can patch: each patch site's hook and how one patch indexes its activation.

Grouped-query attention (Llama 2 70B, Llama 3, Mistral, Qwen2, ...): query heads share fewer key/value
heads, query head h reading key/value head h // (n_heads // n_kv_heads) (Hugging Face's `repeat_kv`).
On a TransformerBridge `hook_k` and `hook_v` hold [batch, pos, kv_head, d_head], before the sharing, and
no hook holds a per-query-head copy. So a k or v patch is a patch of one key/value head, which changes
every query head of its group at once; there is no per-query-head k or v to patch. Results say so: their
axis is "kv_head" (not "head") with labels like "KV1 (H2-H3)", and `transformer_lens.patching` agrees
(its k and v patching returns [layer, n_kv_heads] on such models). z, q and pattern stay per query head.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from interp.core.hooks import hooks
from interp.core.locking import exclusive, lock_free
from interp.core.sites import ATTN_SITES, BLOCK_SITES, hook_name, model_sites
from interp.vocab.choices import Direction, MetricName, PatchSite, SiteKind, check_choice
from interp.vocab.types import Model

__all__ = [
    "SITES",
    "Selector",
    "Site",
    "check_patch_options",
    "check_site",
    "describe_patch",
    "kv_group",
    "kv_head_labels",
    "n_kv_heads",
    "patch_axes",
    "site_heads",
]

Selector = tuple
"""Index into an activation without its batch axis, e.g. (pos,) or (slice(None), head)."""


@dataclass(frozen=True)
class Site:
    """A patch site: the site kind whose hook is patched, and the axes one layer's patches run over."""

    name: PatchSite
    hook: SiteKind
    """Site kind whose hook is patched (see `interp.core.sites.hook_name`)."""
    axes: tuple[str, ...]
    """Axes of one layer's patches, after "layer"."""

    def selectors(self, n_pos: int, n_heads: int) -> list[Selector]:
        every = slice(None)
        if self.axes == ("pos",):  # [batch, pos, d_model]
            return [(p,) for p in range(n_pos)]
        if self.name == "pattern":  # [batch, head, query, key]
            return [(h,) for h in range(n_heads)]
        if self.axes == ("head",):  # z, q, k, v: [batch, pos, head, d_head] (k, v: kv_head under GQA)
            return [(every, h) for h in range(n_heads)]
        return [(p, h) for h in range(n_heads) for p in range(n_pos)]  # z_pos, head-major


SITES: dict[str, Site] = {
    **{s: Site(s, s, ("pos",)) for s in BLOCK_SITES},
    **{s: Site(s, s, ("head",)) for s in ATTN_SITES},
    "z_pos": Site("z_pos", "z", ("head", "pos")),
}
"""In the order of the `PatchSite` choices."""


@exclusive
def check_site(model: Model, site: PatchSite) -> Site:
    """The site's spec, after checking that the model has it (errors say which sites it has)."""
    check_choice(site, PatchSite, "site")
    have = model_sites(model)
    if SITES[site].hook not in have:
        names = [s for s, spec in SITES.items() if spec.hook in have]
        raise ValueError(f"{model.cfg.model_name} has no {site} site; it has {', '.join(names)}")
    if site == "pattern" and not _pattern_hook_is_live(model):
        raise ValueError(
            f"{model.cfg.model_name}'s attention-pattern hook only observes: TransformerLens-native models compute "
            "attention outside it, so patching 'pattern' would report no effect anywhere. Patch 'z', 'q', 'k' or 'v' "
            "instead"
        )
    return SITES[site]


@lock_free("calls check_site, which is exclusive")
def check_patch_options(model: Model, site: PatchSite, direction: Direction, metric: MetricName) -> Site:
    """The site's spec, after checking the site, direction and metric."""
    check_choice(direction, Direction, "direction")
    check_choice(metric, MetricName, "metric")
    return check_site(model, site)


@torch.no_grad()
def _pattern_hook_is_live(model: Model) -> bool:
    """Whether changing blocks.0.attn.hook_pattern changes the output (measured, not assumed)."""
    tokens = torch.arange(1, 5, device=model.cfg.device)[None] % model.cfg.d_vocab
    before = model(tokens)

    def uniform(pattern: Tensor, hook: object = None) -> Tensor:
        causal = torch.tril(torch.ones_like(pattern))
        return causal / torch.arange(1, pattern.shape[-1] + 1, device=pattern.device)[:, None]

    with hooks(model, [(hook_name("pattern", 0), uniform)]):
        after = model(tokens)
    return not torch.equal(before, after)


@lock_free("cache shapes")
def site_heads(cache: dict[str, Tensor], site: Site, model: Model) -> int:
    """Heads one layer's patches run over: k and v may hold fewer (grouped-query) heads than the model."""
    act = cache[hook_name(site.hook, 0)]
    if site.name == "pattern":
        return act.shape[1]
    return act.shape[2] if act.ndim == 4 else model.cfg.n_heads


@lock_free("config only")
def n_kv_heads(model: Model) -> int:
    """Key/value heads per layer: n_heads, or fewer under grouped-query attention."""
    return getattr(model.cfg, "n_key_value_heads", None) or model.cfg.n_heads


@lock_free("config only")
def kv_group(model: Model) -> int:
    """Query heads that share one key/value head (1 without grouped-query attention)."""
    return model.cfg.n_heads // n_kv_heads(model)


@lock_free("config only")
def kv_head_labels(model: Model) -> list[str]:
    """ "KV1 (H2-H3)": key/value head 1 and the query heads that read it."""
    r = kv_group(model)
    return [f"KV{g} (H{g * r}-H{g * r + r - 1})" for g in range(n_kv_heads(model))]


@lock_free("config only")
def patch_axes(model: Model, site: Site) -> tuple[str, ...]:
    """The axes of one layer's patches of `site` on `model`: k and v run over key/value heads ("kv_head")
    where the model groups its queries, since hook_k and hook_v hold one slice per key/value head."""
    if site.name in ("k", "v") and kv_group(model) > 1:
        return ("kv_head",)
    return site.axes


@lock_free("config only")
def describe_patch(model: Model, site: Site, direction: Direction) -> str:
    """What one patch of `site` does on `model`, for the result's record."""
    source = "clean" if direction == "denoise" else "corrupted"
    axes = patch_axes(model, site)
    index = {("pos",): "(pos,)", ("head",): "(:, head)", ("kv_head",): "(:, kv_head)", ("head", "pos"): "(pos, head)"}
    where = hook_name(site.hook, 0).replace("blocks.0.", "blocks.L.")
    text = f"SetSlice(source={source} run, index={'(head,)' if site.name == 'pattern' else index[axes]}) at {where}"
    text += f", per {' x '.join(('layer', *axes))}"
    if axes == ("kv_head",):
        text += f" (grouped-query attention: each key/value head feeds {kv_group(model)} query heads, all patched)"
    return text
