"""A model and one prompt at a glance: the model's facts, the prompt's tokens with the top next-token
predictions, and every head's attention on it.

The app's "Model & tokens" and "Attention" pages and `interp info` show these; `interp.observe.heads` scores
heads over many prompts, while this reads a single prompt a user typed.
"""

from __future__ import annotations

import torch
from jaxtyping import Int

from interp.core.hooks import run_with_cache
from interp.core.locking import exclusive, lock_free
from interp.core.sites import hook_name, model_sites
from interp.core.tokens import str_tokens, token_ids
from interp.results import AttentionPatterns, ModelFacts, NextTokens, nested_tuple
from interp.vocab.types import Model

__all__ = ["attention_patterns", "model_facts", "next_tokens", "prompt_tokens"]


@lock_free("config and parameter counts")
def model_facts(model: Model) -> ModelFacts:
    """The shape of a model and where it runs."""
    cfg = model.cfg
    return ModelFacts(
        name=str(cfg.model_name),
        n_layers=cfg.n_layers,
        n_heads=cfg.n_heads,
        d_model=cfg.d_model,
        d_head=cfg.d_head,
        d_mlp=None if cfg.attn_only else cfg.d_mlp,
        d_vocab=cfg.d_vocab,
        n_ctx=cfg.n_ctx,
        attn_only=bool(cfg.attn_only),
        n_params=sum(p.numel() for p in model.original_model.parameters()),
        device=str(next(model.parameters()).device),
        dtype=str(next(model.parameters()).dtype).removeprefix("torch."),
        sites=tuple(model_sites(model)),
        n_kv_heads=getattr(cfg, "n_key_value_heads", None) or cfg.n_heads,
        weights=str(getattr(cfg, "weights_source", "")),
    )


@lock_free("tokenizer only")
def prompt_tokens(model: Model, prompt: str) -> Int[torch.Tensor, "1 pos"]:
    """A typed prompt as a [1, pos] batch on the model's device (BOS prepended when the model uses one);
    errors name an empty prompt, words the tokenizer lacks, or a prompt longer than the context."""
    ids = token_ids(model, prompt)
    if not ids:
        raise ValueError("the prompt is empty: type some text")
    return torch.tensor([ids], device=model.cfg.device)


@exclusive
@torch.no_grad()
def next_tokens(model: Model, prompt: str, *, k: int = 10) -> NextTokens:
    """The prompt's tokens and the `k` likeliest next tokens after each position."""
    tokens = prompt_tokens(model, prompt)
    probs = model(tokens)[0].float().softmax(-1)
    top = probs.topk(min(k, probs.shape[-1]), dim=-1)
    return NextTokens(
        model=str(model.cfg.model_name),
        prompt=prompt,
        token_ids=tuple(tokens[0].tolist()),
        tokens=tuple(str_tokens(model, tokens[0])),
        top_tokens=tuple(tuple(str_tokens(model, row)) for row in top.indices.cpu()),
        top_probs=nested_tuple(top.values),
    )


@exclusive
@torch.no_grad()
def attention_patterns(model: Model, prompt: str) -> AttentionPatterns:
    """Every head's attention pattern on the prompt: `pattern[layer][head][query][key]`."""
    tokens = prompt_tokens(model, prompt)
    names = [hook_name("pattern", layer) for layer in range(model.cfg.n_layers)]
    _, cache = run_with_cache(model, tokens, names)
    pattern = torch.stack([cache[name][0].float().cpu() for name in names])
    return AttentionPatterns(
        model=str(model.cfg.model_name),
        prompt=prompt,
        tokens=tuple(str_tokens(model, tokens[0])),
        pattern=nested_tuple(pattern),
    )
