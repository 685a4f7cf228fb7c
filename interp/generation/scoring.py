"""Scoring text a model generated: its perplexity under a model as it is."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from interp.core.locking import exclusive
from interp.core.tokens import right_padded
from interp.vocab.types import Model

__all__ = ["perplexity"]

CHUNK = 8
"""Rows per forward pass: SmolLM2's log-probabilities take 49,152 floats per token."""


@exclusive
def perplexity(model: Model, prompt_tokens: Sequence[Sequence[int]], new_tokens: Sequence[Sequence[int]]) -> float:
    """exp of the mean negative log-likelihood of every new token given its prompt and the new tokens before it, under
    `model` as it is (no interventions), over all rows together."""
    if len(prompt_tokens) != len(new_tokens):
        raise ValueError(f"{len(prompt_tokens)} prompts for {len(new_tokens)} continuations")
    total, count = 0.0, 0
    for lo in range(0, len(prompt_tokens), CHUNK):
        prompts, news = prompt_tokens[lo : lo + CHUNK], new_tokens[lo : lo + CHUNK]
        tokens = right_padded(model, [list(p) + list(n) for p, n in zip(prompts, news)]).to(model.cfg.device)
        with torch.no_grad():
            logprobs = model(tokens).float().log_softmax(-1)
        for i, (p, n) in enumerate(zip(prompts, news)):
            if n:
                at = torch.arange(len(p) - 1, len(p) - 1 + len(n), device=logprobs.device)
                total -= float(logprobs[i, at, torch.tensor(list(n), device=logprobs.device)].sum())
                count += len(n)
    return math.exp(total / count) if count else float("nan")
