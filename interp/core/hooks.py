"""Hooks that are always removed, and cached runs limited to the hooks asked for.

An edit at `blocks.L.hook_resid_mid` reaches the whole residual stream here, as on HookedTransformer.
On a TransformerBridge that name is an alias of `blocks.L.ln2.hook_in`, the input of the MLP's norm: the
block adds the MLP's output to its own reference to the residual (Hugging Face's `residual = hidden_states`
before `post_attention_layernorm`), so a tensor a hook returns there reaches the MLP alone, and patching
resid_mid at the last layer did not restore the residual it was given (TransformerLens's own
`get_act_patch_resid_mid` has the same blind spot). `hooks()` therefore adds what such a hook changed,
(returned - received), to the same block's output (`hook_resid_post`, ahead of every other hook there, so
they all see the corrected residual): it becomes what a true residual edit gives, resid_mid' +
mlp(resid_mid'), while `hook_mlp_out` still shows the MLP's own output. An edit made in place already
reaches both, since the block's reference is the same tensor.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from jaxtyping import Float, Int
from torch import Tensor
from transformer_lens.ActivationCache import ActivationCache

from interp.core.devices import placed_across_devices
from interp.core.locking import lock_free, model_lock
from interp.core.sites import check_hook_names, hook_name, hook_points
from interp.vocab.types import Model

__all__ = ["HookFn", "activations", "full_cache", "hooks", "run_with_cache"]

HookFn = Callable[..., Tensor | None]
"""fn(activation, hook=None) -> a replacement activation, or None to leave it as it is."""

# `reset_hooks` walks every module (about 30 ms on a 12-layer model); a `hooks` block removes only the
# hooks it added, by a level of its own. TransformerBridge.hooks() numbers its own levels from 0.
_LEVELS = itertools.count(1_000_000)


@contextmanager
@lock_free("hooks() and run_with_cache hold the lock themselves")
def hooks(model: Model, fwd_hooks: Sequence[tuple[str, HookFn]]) -> Iterator[Model]:
    """Install forward hooks for the duration of a `with` block; they are removed even on error. The block holds
    the model's lock (interp.core.locking): no other thread runs this model while the hooks are in."""
    check_hook_names(model, [name for name, _ in fwd_hooks])
    if placed_across_devices(model):
        home = torch.device(model.cfg.device)
        fwd_hooks = [(name, _at_home(fn, home)) for name, fn in fwd_hooks]
    points, level = hook_points(model), next(_LEVELS)
    added = []
    companions = []  # (hook name, fn): resid_mid edits carried to the block's output
    with model_lock(model):
        try:
            for name, fn in fwd_hooks:
                model.check_hooks_to_add(name)  # a gated hook (attn.hook_result, ...) says which setter enables it
                layer = _mlp_only_resid_mid(model, name)
                if layer is not None:
                    fn, to_residual = _reaching_the_residual(fn)
                    companions.append((hook_name("resid_post", layer), to_residual))
                points[name].add_hook(fn, dir="fwd", level=level)
                added.append(points[name])
            for name, fn in companions:
                points[name].add_hook(fn, dir="fwd", level=level, prepend=True)
                added.append(points[name])
            yield model
        finally:
            for point in added:
                point.remove_hooks(dir="fwd", level=level)


def _at_home(fn: HookFn, home: torch.device) -> HookFn:
    """`fn` for a model whose layers live on several devices (load_model's device_map): it sees the activation
    on the model's first device, where the tokens, the logits and every other hook's activation are, so an
    analysis written for one device combines them unchanged; what it returns goes back to the layer's device.
    The activation's copy is returned even when `fn` returns None, in case it was edited in place."""

    def at_home(act: Tensor, hook=None) -> Tensor | None:
        if act.device == home:
            return fn(act, hook=hook)
        moved = act.to(home)  # differentiable: gradients reach the layer's own copy
        out = fn(moved, hook=hook)
        return (moved if out is None else out).to(act.device)

    return at_home


_RESID_MID = re.compile(r"blocks\.(\d+)\.hook_resid_mid")


def _mlp_only_resid_mid(model: Model, name: str) -> int | None:
    """The layer of `name` if it is a resid_mid hook that feeds only the MLP (the module docstring says why)."""
    match = _RESID_MID.fullmatch(name)
    if match is None:
        return None
    layer = int(match.group(1))
    ln2 = getattr(model.blocks[layer], "ln2", None)
    return layer if ln2 is not None and hook_points(model)[name] is getattr(ln2, "hook_in", None) else None


def _reaching_the_residual(fn: HookFn) -> tuple[HookFn, HookFn]:
    """`fn` at resid_mid, keeping what it changed, and the hook at the block's output that adds it."""
    changes: list[Tensor] = []  # one forward pass at a time: set at resid_mid, used at the same block's output

    def at_resid_mid(act: Tensor, hook=None) -> Tensor | None:
        changes.clear()
        out = fn(act, hook=hook)
        if out is not None and out is not act:
            changes.append(out - act)  # grads flow through it too: attribution sees both paths
        return out

    def at_resid_post(act: Tensor, hook=None) -> Tensor | None:
        return act + changes.pop() if changes else None

    return at_resid_mid, at_resid_post


@torch.no_grad()
@lock_free("hooks() and run_with_cache hold the lock themselves")
def run_with_cache(
    model: Model, tokens: Int[Tensor, "batch pos"], names: Sequence[str]
) -> tuple[Float[Tensor, "batch pos d_vocab"], dict[str, Tensor]]:
    """Logits and the activations of exactly the hooks in `names`, on the model's device."""
    check_hook_names(model, names)
    wanted = set(names)
    with model_lock(model):
        logits, cache = model.run_with_cache(tokens.to(model.cfg.device), names_filter=lambda n: n in wanted)
    # on a model placed across devices (load_model's device_map), the entries are each on their layer's device
    return logits.to(model.cfg.device), {n: cache[n].to(model.cfg.device) for n in names}


@torch.no_grad()
@lock_free("hooks() and run_with_cache hold the lock themselves")
def full_cache(model: Model, tokens: Int[Tensor, "batch pos"], **kwargs) -> tuple[Tensor, ActivationCache]:
    """TransformerLens's `run_with_cache` (every hook, for its ActivationCache methods), with the logits and
    every entry on the model's first device: a model placed across devices (load_model's device_map) leaves
    each layer's entries on that layer's device, where the cache's stacking methods would fail."""
    logits, cache = model.run_with_cache(tokens.to(model.cfg.device), **kwargs)
    if placed_across_devices(model):
        logits, cache = logits.to(model.cfg.device), cache.to(model.cfg.device)
    return logits, cache


class _Enough(Exception):
    """Raised by the hook that completes an `activations` call: nothing after it is needed."""


@torch.no_grad()
@lock_free("hooks() and run_with_cache hold the lock themselves")
def activations(model: Model, tokens: Int[Tensor, "batch pos"], names: Sequence[str]) -> dict[str, Tensor]:
    """The activations at `names`, without running what comes after the last of them.

    For an SAE's activation cache at layer L of 30 this skips the later layers and the unembedding (on
    SmolLM2, 576 x 49,152 per token: more than a layer's work). TransformerLens's `stop_at_layer` cuts
    only at a block boundary and not every model class takes it; a hook that stops the forward pass once
    every asked-for activation is in works on any model and at any site.
    """
    wanted, got = set(names), {}

    def keeper(name: str) -> HookFn:
        # by the name asked for: an alias (blocks.1.hook_resid_post) calls its hook by the canonical name
        def keep(act: Tensor, hook=None) -> None:
            got[name] = act
            if len(got) == len(wanted):
                raise _Enough

        return keep

    try:
        with hooks(model, [(name, keeper(name)) for name in wanted]):
            model(tokens.to(model.cfg.device))
    except _Enough:
        pass
    missing = wanted - got.keys()
    if missing:  # every checked hook name fires in a forward pass; this guards against a model that skips one
        raise RuntimeError(f"the forward pass never reached {', '.join(sorted(missing))}")
    return {name: got[name] for name in names}
