"""Low-rank changes to the MLPs' output weights, added and taken away again: what a knowledge edit (interp.editing)
changes, and what loading an edited model's folder (interp.loading.model) adds back to its base.

The weight edited is the MLP's output projection as the bridge runs it (`blocks.L.mlp.out`, a Linear whose weight
is [d_model, d_mlp]: out = W @ key + b), so an edit acts on the model as analyses see it, after TransformerLens's
weight processing. Its key, the projection's input, is read at `mlp_key_hook(model, L)`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from jaxtyping import Float
from torch import Tensor

from interp.core.locking import lock_free, model_lock
from interp.vocab.types import Model

__all__ = ["add_low_rank", "low_rank_added", "mlp_key_hook", "mlp_out_weight"]


@lock_free("reads the module tree only")
def mlp_out_weight(model: Model, layer: int) -> Tensor:
    """The [d_model, d_mlp] weight of layer `layer`'s MLP output projection: the parameter itself, or a transposed
    view of it (GPT-2), so that in-place changes reach the model."""
    if model.cfg.attn_only:
        raise ValueError(f"{model.cfg.model_name} is attention-only: it has no MLP to edit")
    if not 0 <= layer < model.cfg.n_layers:
        last = model.cfg.n_layers - 1
        raise ValueError(f"layer {layer} does not exist: {model.cfg.model_name} has layers 0 to {last}")
    out = getattr(model.blocks[layer].mlp, "out", None)
    linear = getattr(out, "original_component", out)
    weight = getattr(linear, "weight", None)
    shape = (model.cfg.d_model, model.cfg.d_mlp)
    if isinstance(weight, Tensor) and type(linear).__name__ == "Conv1D" and weight.shape == shape[::-1]:
        return weight.T  # GPT-2's Conv1D stores [in, out]: its transpose is a view, edited in place like the rest
    if not isinstance(weight, Tensor) or weight.shape != shape:
        raise ValueError(f"{model.cfg.model_name}'s MLP {layer} has no [d_model, d_mlp] output projection to edit")
    return weight


@lock_free("reads the hook names only")
def mlp_key_hook(model: Model, layer: int) -> str:
    """The hook whose activation is the MLP output projection's input (the key of a key-value memory)."""
    name = f"blocks.{layer}.mlp.out.hook_in"
    return name if name in model.hook_dict else f"blocks.{layer}.mlp.hook_post"


@lock_free("callers that run the model hold its lock; loading owns the model alone")
def add_low_rank(
    model: Model,
    layers: Sequence[int],
    left: Float[Tensor, "layer d_model rank"],
    right: Float[Tensor, "layer rank d_mlp"],
    *,
    sign: float = 1.0,
) -> None:
    """W_out[L] += sign x left[i] @ right[i] for each layer L = layers[i], in place (sign -1 takes it away)."""
    if len(layers) != left.shape[0] or left.shape[0] != right.shape[0]:
        raise ValueError(f"{len(layers)} layers for {left.shape[0]} left and {right.shape[0]} right factors")
    with torch.no_grad():
        for i, layer in enumerate(layers):
            weight = mlp_out_weight(model, layer)
            weight += sign * (left[i].to(weight) @ right[i].to(weight))


@contextmanager
@lock_free("holds the lock itself")
def low_rank_added(model: Model, layers: Sequence[int], left: Tensor, right: Tensor) -> Iterator[Model]:
    """The model with the change added for the `with` block, under its lock; afterwards (whatever happens) the edited
    weights are copied back from a copy kept before, so they return bit for bit."""
    with model_lock(model):
        kept = {layer: mlp_out_weight(model, layer).detach().clone() for layer in set(layers)}
        try:
            add_low_rank(model, layers, left, right)
            yield model
        finally:
            with torch.no_grad():
                for layer, weight in kept.items():
                    mlp_out_weight(model, layer).copy_(weight)
