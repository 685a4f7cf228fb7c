"""Site kinds, their hook names, and which of them a model has.

A site kind (`resid_pre`, `z`, ...) in layer L is one TransformerLens hook: `blocks.L.hook_<kind>` for
the block's residual-stream sites, `blocks.L.attn.hook_<kind>` for those inside attention. Attention-only
models have no `resid_mid` / `mlp_out`, so which kinds a model has is read off its hooks, never assumed.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence

from interp.core.locking import lock_free
from interp.vocab.choices import AttnSite, BlockSite, SiteKind, check_choice, options
from interp.vocab.types import Model

__all__ = [
    "ATTN_SITES",
    "BLOCK_SITES",
    "check_hook_names",
    "hook_name",
    "hook_points",
    "layer_of",
    "mlp_hooks",
    "model_sites",
]

BLOCK_SITES: tuple[str, ...] = options(BlockSite)
ATTN_SITES: tuple[str, ...] = options(AttnSite)
_LAYER = re.compile(r"^(?:blocks\.|L|MLP)(\d+)")

# `TransformerBridge.hook_dict` rebuilds its alias table on every access (about 60 ms on a 12-layer model);
# fast patching installs hooks for hundreds of short passes, where that cost was half the run time. Hook
# points do not change after loading, so they are looked up once per model.
_HOOK_POINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def hook_name(site: SiteKind, layer: int) -> str:
    """The hook of site kind `site` in `layer`, e.g. hook_name("z", 2) == "blocks.2.attn.hook_z"."""
    check_choice(site, SiteKind, "site")
    return f"blocks.{layer}.attn.hook_{site}" if site in ATTN_SITES else f"blocks.{layer}.hook_{site}"


def mlp_hooks(layer: int) -> tuple[str, str]:
    """The hooks a transcoder of block `layer` reads and writes: what the MLP reads (after its normalisation, so
    that with the normalisation scale frozen a latent's pre-activation is linear in the residual stream) and
    what the MLP adds to the residual stream."""
    return f"blocks.{layer}.ln2.hook_normalized", f"blocks.{layer}.hook_mlp_out"


def layer_of(name: str) -> int:
    """The layer number of a hook name ("blocks.3.hook_resid_pre") or a component ("L3H1", "MLP3")."""
    match = _LAYER.match(name)
    if match is None:
        raise ValueError(f"cannot tell the layer of {name!r}: expected blocks.L.*, LxHy or MLPx")
    return int(match.group(1))


@lock_free("hook names and the hook table")
def hook_points(model: Model) -> dict:
    """Hook name (canonical or alias) -> HookPoint, computed once per model."""
    if model not in _HOOK_POINTS:
        _HOOK_POINTS[model] = dict(model.hook_dict)
    return _HOOK_POINTS[model]


@lock_free("hook names and the hook table")
def model_sites(model: Model) -> list[str]:
    """The site kinds this model has in every layer."""
    points = hook_points(model)
    found = []
    for site in BLOCK_SITES + ATTN_SITES:
        if site in ("resid_mid", "mlp_out") and model.cfg.attn_only:
            continue  # aliases such as hook_mlp_in exist on attention-only bridges but never fire
        if all(hook_name(site, layer) in points for layer in range(model.cfg.n_layers)):
            found.append(site)
    return found


@lock_free("hook names and the hook table")
def check_hook_names(model: Model, names: Sequence[str]) -> None:
    """An error naming the hooks the model lacks, with the site kinds it has."""
    have = hook_points(model)
    missing = [n for n in names if n not in have]
    if missing:
        raise ValueError(
            f"{model.cfg.model_name} has no hook {', '.join(missing)}; its sites are {', '.join(model_sites(model))} "
            f"(hooks like blocks.L.hook_resid_pre or blocks.L.attn.hook_z, L < {model.cfg.n_layers})"
        )
