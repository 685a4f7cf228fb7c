"""Hooks that are always removed, and cached runs limited to the hooks asked for."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import torch
from jaxtyping import Float, Int
from torch import Tensor

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

HookFn = Callable[..., Tensor | None]


def check_hook_names(model: "TransformerBridge", names: Sequence[str]) -> None:
    """An error naming the hooks the model lacks, with the site kinds it has."""
    from interp.model import sites

    missing = [n for n in names if n not in model.hook_dict]
    if missing:
        raise ValueError(
            f"{model.cfg.model_name} has no hook {', '.join(missing)}; its sites are {', '.join(sites(model))} "
            f"(hooks like blocks.L.hook_resid_pre or blocks.L.attn.hook_z, L < {model.cfg.n_layers})"
        )


@contextmanager
def hooks(model: "TransformerBridge", fwd_hooks: Sequence[tuple[str, HookFn]]) -> Iterator["TransformerBridge"]:
    """Install forward hooks for the duration of a `with` block; they are removed even on error."""
    check_hook_names(model, [name for name, _ in fwd_hooks])
    try:
        for name, fn in fwd_hooks:
            model.add_hook(name, fn)
        yield model
    finally:
        model.reset_hooks()


@torch.no_grad()
def run_with_cache(
    model: "TransformerBridge", tokens: Int[Tensor, "batch pos"], names: Sequence[str]
) -> tuple[Float[Tensor, "batch pos d_vocab"], dict[str, Tensor]]:
    """Logits and the activations of exactly the hooks in `names`, on the model's device."""
    check_hook_names(model, names)
    wanted = set(names)
    logits, cache = model.run_with_cache(tokens.to(model.cfg.device), names_filter=lambda n: n in wanted)
    return logits, {n: cache[n] for n in names}
