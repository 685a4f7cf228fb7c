"""Hooks that are always removed, and cached runs limited to the hooks asked for."""

from __future__ import annotations

import itertools
import weakref
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import torch
from jaxtyping import Float, Int
from torch import Tensor

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

HookFn = Callable[..., Tensor | None]

# `TransformerBridge.hook_dict` rebuilds its alias table on every access (about 60 ms on a 12-layer
# model), and `reset_hooks` walks every module (about 30 ms); fast patching installs hooks for hundreds
# of short passes, where that cost was half the run time. Hook points do not change after loading, so
# they are looked up once per model, and a `hooks` block removes only the hooks it added.
_HOOK_POINTS: "weakref.WeakKeyDictionary[TransformerBridge, dict]" = weakref.WeakKeyDictionary()
_LEVELS = itertools.count(1_000_000)  # TransformerBridge.hooks() numbers its own levels from 0


def hook_points(model: "TransformerBridge") -> dict:
    """Hook name (canonical or alias) -> HookPoint, computed once per model."""
    if model not in _HOOK_POINTS:
        _HOOK_POINTS[model] = dict(model.hook_dict)
    return _HOOK_POINTS[model]


def check_hook_names(model: "TransformerBridge", names: Sequence[str]) -> None:
    """An error naming the hooks the model lacks, with the site kinds it has."""
    from interp.model import sites

    have = hook_points(model)
    missing = [n for n in names if n not in have]
    if missing:
        raise ValueError(
            f"{model.cfg.model_name} has no hook {', '.join(missing)}; its sites are {', '.join(sites(model))} "
            f"(hooks like blocks.L.hook_resid_pre or blocks.L.attn.hook_z, L < {model.cfg.n_layers})"
        )


@contextmanager
def hooks(model: "TransformerBridge", fwd_hooks: Sequence[tuple[str, HookFn]]) -> Iterator["TransformerBridge"]:
    """Install forward hooks for the duration of a `with` block; they are removed even on error."""
    check_hook_names(model, [name for name, _ in fwd_hooks])
    points, level = hook_points(model), next(_LEVELS)
    added = []
    try:
        for name, fn in fwd_hooks:
            model.check_hooks_to_add(name)  # a gated hook (attn.hook_result, ...) says which setter enables it
            points[name].add_hook(fn, dir="fwd", level=level)
            added.append(points[name])
        yield model
    finally:
        for point in added:
            point.remove_hooks(dir="fwd", level=level)


@torch.no_grad()
def run_with_cache(
    model: "TransformerBridge", tokens: Int[Tensor, "batch pos"], names: Sequence[str]
) -> tuple[Float[Tensor, "batch pos d_vocab"], dict[str, Tensor]]:
    """Logits and the activations of exactly the hooks in `names`, on the model's device."""
    check_hook_names(model, names)
    wanted = set(names)
    logits, cache = model.run_with_cache(tokens.to(model.cfg.device), names_filter=lambda n: n in wanted)
    return logits, {n: cache[n] for n in names}
