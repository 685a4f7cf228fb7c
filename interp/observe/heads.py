"""Head scores: how strongly each head attends where a known mechanism would look.

On BOS + A + A (A = `seq_len` distinct random tokens), for a query at position q:
- previous-token: attention to q-1 (all q >= 1);
- duplicate-token: attention to the same token's earlier copy, q-L (second copy only);
- induction: attention to the token after the earlier copy, q-L+1 (second copy only),
as in Olsson et al. (2022) and TransformerLens's head detector. Needs no hub tokenizer: tokens are
drawn from the model's own vocabulary.
"""

from __future__ import annotations

import torch

from interp.core.hooks import run_with_cache
from interp.core.limits import check_count, check_fits, prompt_bytes
from interp.core.locking import exclusive
from interp.core.sites import hook_name
from interp.results import HeadScores, nested_tuple
from interp.tasks.generators import repeated_tokens
from interp.vocab.choices import HeadScoreName, options
from interp.vocab.types import Model

__all__ = ["SCORE_NAMES", "head_scores"]

SCORE_NAMES = options(HeadScoreName)


@exclusive
def head_scores(model: Model, *, n_prompts: int = 16, seq_len: int | None = None, seed: int = 0) -> HeadScores:
    """Previous-token, duplicate-token and induction scores of every head (each in [0, 1])."""
    cfg = model.cfg
    L = seq_len if seq_len is not None else min(20, (cfg.n_ctx - 1) // 2)
    check_count(n_prompts, "n_prompts")
    check_count(L, "seq_len")
    # every layer's attention pattern: a row of 1 + 2L keys per head and query position
    patterns = prompt_bytes(
        model, 1 + 2 * L, residuals=0, logits=1, extra_per_pos=cfg.n_layers * cfg.n_heads * (1 + 2 * L)
    )
    check_fits(model, n_prompts, patterns, what="head scores")
    tokens = repeated_tokens(model, n_prompts=n_prompts, seq_len=L, seed=seed)
    offset = tokens.shape[1] - 2 * L  # 1 when a BOS token leads, else 0
    names = [hook_name("pattern", layer) for layer in range(cfg.n_layers)]
    _, cache = run_with_cache(model, tokens, names)
    second = torch.arange(offset + L, offset + 2 * L)  # query positions in the second copy
    every = torch.arange(1, tokens.shape[1])
    scores = torch.zeros(len(SCORE_NAMES), cfg.n_layers, cfg.n_heads)
    for layer, name in enumerate(names):
        pattern = cache[name].float().mean(0).cpu()  # head q k
        scores[0, layer] = pattern[:, every, every - 1].mean(-1)
        scores[1, layer] = pattern[:, second, second - L].mean(-1)
        scores[2, layer] = pattern[:, second, second - L + 1].mean(-1)
    return HeadScores(
        model=str(cfg.model_name),
        score_names=SCORE_NAMES,
        layers=tuple(range(cfg.n_layers)),
        heads=tuple(f"L{layer}H{h}" for layer in range(cfg.n_layers) for h in range(cfg.n_heads)),
        scores=nested_tuple(scores),
        n_prompts=n_prompts,
        seq_len=L,
    )
