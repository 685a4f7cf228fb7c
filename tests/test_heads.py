"""Head scores and the one-prompt overview on a Llama-style model: per query head under grouped-query attention."""

import pytest
import torch

from interp.core.hooks import run_with_cache
from interp.observe.heads import head_scores
from interp.observe.overview import attention_patterns, model_facts, next_tokens
from interp.tasks.generators import repeated_tokens
from tests.tolerances import PER_LAYER, assert_f32_close


def test_llama_head_scores_read_each_query_heads_pattern(llama_model):
    # Query heads 0 and 1 share key/value head 0 but not their queries: each has its own pattern and score.
    scores = head_scores(llama_model, n_prompts=4, seq_len=5)
    assert scores.heads == ("L0H0", "L0H1", "L0H2", "L0H3", "L1H0", "L1H1", "L1H2", "L1H3")
    tokens = repeated_tokens(llama_model, n_prompts=4, seq_len=5)  # the same prompts (same seed)
    names = ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"]
    _, cache = run_with_cache(llama_model, tokens, names)
    every = torch.arange(1, tokens.shape[1])
    for layer, name in enumerate(names):
        pattern = cache[name].mean(0)  # head query key
        assert pattern.shape[0] == 4
        previous = pattern[:, every, every - 1].mean(-1)
        # attention probabilities (at most 1) from another run of the same prompts: rounding relative to 1
        depth = PER_LAYER * llama_model.cfg.n_layers
        assert_f32_close(torch.tensor(scores.scores[0][layer]), previous, depth=depth, scale=1.0)
    assert scores.scores[0][0][0] != pytest.approx(scores.scores[0][0][1], abs=1e-3)


def test_llama_overview(llama_model):
    facts = model_facts(llama_model)
    assert (facts.n_layers, facts.n_heads, facts.n_kv_heads, facts.d_model, facts.d_head) == (2, 4, 2, 32, 8)
    patterns = attention_patterns(llama_model, "w1 w2 w3 w4")
    pattern = torch.tensor(patterns.pattern)  # layer head query key
    n = len(patterns.tokens)
    assert pattern.shape == (2, 4, n, n)
    torch.testing.assert_close(pattern.sum(-1), torch.ones(2, 4, n))
    assert pattern.triu(1).abs().max() == 0  # causal, exactly: masked scores are -inf, whose exp is 0
    nxt = next_tokens(llama_model, "w1 w2 w3 w4", k=3)
    with torch.no_grad():
        logits = llama_model(torch.tensor([nxt.token_ids]))[0]
    probs = logits.softmax(-1)
    # another run of the same tokens: a probability carries p times its logit's rounding, in each layer
    scale = probs.max() * logits.abs().max()
    depth = PER_LAYER * llama_model.cfg.n_layers
    assert_f32_close(torch.tensor(nxt.top_probs), probs.topk(3).values, depth=depth, scale=scale)
