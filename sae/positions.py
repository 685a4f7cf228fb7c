"""Which positions an SAE reads: not special tokens, and not the rare "massive activations".

A few positions of a pretrained model carry residual norms far above the rest (Sun et al. 2024, "Massive
activations in large language models"): measured at SmolLM2-135M's layer 15, BOS has norm ~25,000 against a
median of ~150, and about 0.1% of the tokens right after BOS reach the same size. They are attention sinks,
not content. One such row outweighs ~20,000 ordinary rows in a squared error, so an SAE trained on them
spends itself there: with them in the cache, 75% of a 2,304-latent TopK SAE's latents were dead on held-out
text. Like SAELens's `exclude_special_tokens`, the workbench leaves these positions out of SAE training
data and evaluation statistics, and passes them through unchanged when it splices an SAE into the model.
"""

from __future__ import annotations

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from interp.core.locking import lock_free
from interp.core.tokens import special_token_ids
from interp.vocab.types import Model

__all__ = ["MASSIVE", "sae_positions"]

MASSIVE = 10.0
"""A position whose activation norm exceeds this multiple of the batch's median norm is left out."""


@lock_free("tokenizer and a given activation's norms")
def sae_positions(
    model: Model, tokens: Int[Tensor, "batch pos"], act: Float[Tensor, "batch pos ..."]
) -> Bool[Tensor, "batch pos"]:
    """True where an SAE should read the activation: an ordinary token with an ordinary norm. A model
    without special tokens (or a prompt of nothing else) keeps every position of ordinary norm."""
    special = torch.tensor(sorted(special_token_ids(model)), dtype=tokens.dtype)
    ordinary = ~torch.isin(tokens.cpu(), special)
    norms = act.detach().float().flatten(2).norm(dim=-1).cpu()  # a head site [.., head, d_head] as one vector
    median = norms[ordinary].median() if ordinary.any() else norms.median()
    return ordinary & (norms <= MASSIVE * median)
