"""One prompt through the model: its tokens, the top next-token predictions, and every head's attention.

The app's "Model & tokens" and "Attention" pages show these; `interp.heads` scores heads over many
prompts, while this reads a single prompt a user typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from jaxtyping import Int

from interp.hooks import run_with_cache
from interp.model import hook_name, str_tokens, token_ids
from interp.results import AttentionPatterns, NextTokens, nested_tuple

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge


def prompt_tokens(model: "TransformerBridge", prompt: str) -> Int[torch.Tensor, "1 pos"]:
    """A typed prompt as a [1, pos] batch on the model's device (BOS prepended when the model uses one);
    errors name an empty prompt, words the tokenizer lacks, or a prompt longer than the context."""
    ids = token_ids(model, prompt)
    if not ids:
        raise ValueError("the prompt is empty: type some text")
    return torch.tensor([ids], device=model.cfg.device)


@torch.no_grad()
def next_tokens(model: "TransformerBridge", prompt: str, *, k: int = 10) -> NextTokens:
    """The prompt's tokens and the `k` likeliest next tokens after each position."""
    tokens = prompt_tokens(model, prompt)
    probs = model(tokens)[0].float().softmax(-1)
    top = probs.topk(min(k, probs.shape[-1]), dim=-1)
    return NextTokens(
        model=str(model.cfg.model_name), prompt=prompt, token_ids=tuple(tokens[0].tolist()), tokens=tuple(str_tokens(model, tokens[0])),
        top_tokens=tuple(tuple(str_tokens(model, row)) for row in top.indices.cpu()), top_probs=nested_tuple(top.values.cpu(), 5),
    )


@torch.no_grad()
def attention_patterns(model: "TransformerBridge", prompt: str) -> AttentionPatterns:
    """Every head's attention pattern on the prompt: `pattern[layer][head][query][key]`."""
    tokens = prompt_tokens(model, prompt)
    names = [hook_name("pattern", layer) for layer in range(model.cfg.n_layers)]
    _, cache = run_with_cache(model, tokens, names)
    pattern = torch.stack([cache[name][0].float().cpu() for name in names])
    return AttentionPatterns(model=str(model.cfg.model_name), prompt=prompt, tokens=tuple(str_tokens(model, tokens[0])), pattern=nested_tuple(pattern, 4))
