"""A block's biases, read the same way on every architecture, including those that have none.

Llama-family models (Llama, Mistral, Gemma, and Qwen's output projections) leave biases out of attention
and the MLP. HookedTransformer stored zeros for them; a TransformerBridge (TransformerLens 3.9) returns
None for each block's missing bias, and its stacked properties (`model.b_O`, `model.b_out`, `model.b_Q`,
...) then fail inside `torch.stack` ("expected Tensor as element 0 in argument 0, but got NoneType").
A missing bias adds nothing to the computation, so it is read here as zeros of the bias's shape: what an
analysis computes from it (direct logit attribution's bias terms, say) stays exact.
"""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor

from interp.core.locking import lock_free
from interp.vocab.choices import BiasName, check_choice
from interp.vocab.types import Model

__all__ = ["has_bias", "stacked_bias"]

_PART = {"b_Q": "attn", "b_K": "attn", "b_V": "attn", "b_O": "attn", "b_in": "mlp", "b_out": "mlp"}


def _block_biases(model: Model, name: BiasName) -> list[Tensor | None]:
    check_choice(name, BiasName, "bias")
    if _PART[name] == "mlp" and model.cfg.attn_only:
        raise ValueError(f"{model.cfg.model_name} is attention-only: it has no {name}")
    return [getattr(getattr(block, _PART[name]), name) for block in model.blocks]


def _shape(model: Model, name: BiasName) -> tuple[int, ...]:
    cfg = model.cfg
    kv_heads = getattr(cfg, "n_key_value_heads", None) or cfg.n_heads
    return {
        "b_Q": (cfg.n_heads, cfg.d_head),
        "b_K": (kv_heads, cfg.d_head),  # grouped-query attention: one bias per key/value head
        "b_V": (kv_heads, cfg.d_head),
        "b_O": (cfg.d_model,),
        "b_in": (cfg.d_mlp,),
        "b_out": (cfg.d_model,),
    }[name]


@lock_free("weights only")
def has_bias(model: Model, name: BiasName) -> bool:
    """Whether any block has the bias `name` (False on Llama-family models, which have none)."""
    return any(b is not None for b in _block_biases(model, name))


@lock_free("weights only")
def stacked_bias(model: Model, name: BiasName) -> Float[Tensor, "layer ..."]:
    """Every layer's bias `name` stacked, as `model.<name>` would be, with zeros for blocks without one."""
    like = model.W_E
    zeros = torch.zeros(_shape(model, name), device=like.device, dtype=like.dtype)
    return torch.stack([zeros if b is None else b.to(zeros) for b in _block_biases(model, name)])
