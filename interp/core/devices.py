"""Running a model's own modules on tensors from elsewhere, for models placed across devices.

A model loaded with `load_model(..., device_map=...)` keeps each layer's weights on that layer's device,
while `interp.core.hooks` hands analyses every activation on the model's first device. An analysis that
calls a layer's module itself (a norm, the unembedding) runs it here: the input goes to the module's
device and the output comes back. On a model on one device both moves do nothing.
"""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor

from interp.core.locking import exclusive, lock_free
from interp.vocab.types import Model

__all__ = ["placed_across_devices", "run_at", "unembed_residual"]


@lock_free("config only")
def placed_across_devices(model: Model) -> bool:
    """Whether the model's layers live on several devices (TransformerLens records the count it dispatched to)."""
    return getattr(model.cfg, "n_devices", 1) > 1


def run_at(module: torch.nn.Module, x: Tensor) -> Tensor:
    """`module(x)` computed where the module's weights are, returned on x's device (differentiably)."""
    weight = next(module.parameters(), None)  # a module without weights runs anywhere
    out = module(x if weight is None else x.to(weight.device))
    return out.to(x.device)


@exclusive  # the final norm and the unembedding fire their hooks: another thread's hooks must not be in
def unembed_residual(model: Model, resid: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_vocab"]:
    """The logits the final norm and the unembedding make of a residual stream, on resid's device."""
    normed = run_at(model.ln_final, resid) if hasattr(model, "ln_final") else resid
    return run_at(model.unembed, normed)
