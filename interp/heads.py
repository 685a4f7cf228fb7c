"""Head scores: how strongly each head attends where a known mechanism would look.

On BOS + A + A (A = `seq_len` distinct random tokens), for a query at position q:
- previous-token: attention to q-1 (all q >= 1);
- duplicate-token: attention to the same token's earlier copy, q-L (second copy only);
- induction: attention to the token after the earlier copy, q-L+1 (second copy only),
as in Olsson et al. (2022) and TransformerLens's head detector. Needs no hub tokenizer: tokens are
drawn from the model's own vocabulary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from interp.hooks import run_with_cache
from interp.results import HeadScores, nested_tuple
from interp.tasks import repeated_tokens

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

SCORE_NAMES = ("previous_token", "duplicate_token", "induction")


def head_scores(model: "TransformerBridge", *, n_prompts: int = 16, seq_len: int | None = None, seed: int = 0) -> HeadScores:
    """Previous-token, duplicate-token and induction scores of every head (each in [0, 1])."""
    cfg = model.cfg
    L = seq_len if seq_len is not None else min(20, (cfg.n_ctx - 1) // 2)
    tokens = repeated_tokens(model, n_prompts=n_prompts, seq_len=L, seed=seed)
    offset = tokens.shape[1] - 2 * L  # 1 when a BOS token leads, else 0
    names = [f"blocks.{layer}.attn.hook_pattern" for layer in range(cfg.n_layers)]
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
        heads=tuple(f"L{l}H{h}" for l in range(cfg.n_layers) for h in range(cfg.n_heads)),
        scores=nested_tuple(scores),
        n_prompts=n_prompts,
        seq_len=L,
    )
