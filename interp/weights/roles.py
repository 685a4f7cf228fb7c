"""What each head does, read from its weights: copying (OV eigenvalues, tokens mapped to themselves), attending to
the previous token (the positional QK profile), and induction (K-composition with a previous-token head, plus a
copying OV circuit).

A head in layer 20 does not read the token embeddings: it reads what 20 layers made of them. The weights are
therefore read twice where the model has a text corpus: on the embedding (Elhage et al.'s direct path, `copying`)
and on the tokens as each layer reads them (`copying_in_context`, the self-map and the positional profiles): the
mean of each token's normalised residual stream at the layer's input over a text sample, and that input's first
two moments. Measured on SmolLM2 (benchmarks/weights.py): the direct path gives the IOI name mover L23H0 a
copying score of -0.45; the layer's own token representations give +0.99, and -0.87 and -0.97 to the negative
name mover and the subject-suppression head, as the activation-based analysis classes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from interp.core.hooks import run_with_cache
from interp.core.locking import lock_free
from interp.core.sites import hook_name
from interp.results import CompositionScores, HeadRoles
from interp.vocab.types import Model, Progress
from interp.weights.composition import composition_scores
from interp.weights.factored import embedding_moments, head_label, normalised, positional_qk
from interp.weights.mlp import context_rows
from interp.weights.vocabulary import copying_score, embedding, self_map, token_sample, vocab_loop

__all__ = ["LayerInput", "head_roles", "layer_inputs"]


@dataclass(frozen=True)
class LayerInput:
    """What one layer's attention reads, summarised over a text sample (normalised, BOS left out: its massive
    activation is no token's)."""

    mean: Tensor
    second: Tensor
    """E[x x^T], [d_model, d_model]."""
    tokens: Tensor
    """The token ids that occur in the sample, commonest first."""
    vectors: Tensor
    """[token, d_model]: each token's mean normalised input, over its occurrences."""


@lock_free("run_with_cache holds the lock")
def layer_inputs(model: Model, rows: Tensor) -> list[LayerInput]:
    """Each layer's `LayerInput` on `rows` of token ids (hook_resid_pre)."""
    names = [hook_name("resid_pre", layer) for layer in range(model.cfg.n_layers)]
    _, cache = run_with_cache(model, rows, names)
    ids, where, counts = rows[:, 1:].flatten().cpu().unique(return_inverse=True, return_counts=True)
    order = counts.argsort(descending=True)
    out = []
    for name in names:
        x = normalised(cache.pop(name)[:, 1:].flatten(0, 1).float().cpu(), model)
        sums = torch.zeros(len(ids), x.shape[1]).index_add_(0, where, x)
        out.append(LayerInput(x.mean(0), x.T @ x / len(x), ids[order], (sums / counts[:, None])[order]))
    return out


@lock_free("weights; run_with_cache holds the lock for the text sample")
def head_roles(
    model: Model,
    *,
    n_tokens: int = 1000,
    max_offset: int = 16,
    rows: Tensor | None = None,
    composition: CompositionScores | None = None,
    progress: Progress | None = None,
) -> HeadRoles:
    """Copying, self-map, previous-token and induction scores of every head (HeadRoles says how each is
    computed), read against each layer's input on `rows` of text (default `context_rows(model, n_rows=128,
    context=64)`), or on the embedding alone for a model without a corpus. `n_tokens`: the self-map's sample
    (the commonest tokens of the text, or tokens spread over the vocabulary). `composition` reuses scores already
    computed. Measured on SmolLM2, the embedding's moments alone rank previous-token heads at Spearman 0.39
    against head_scores, each layer's input at 0.68."""
    cfg = model.cfg
    composition = composition or composition_scores(model)
    try:
        rows = context_rows(model, n_rows=128, context=64) if rows is None else rows
        inputs: list[LayerInput | None] = layer_inputs(model, rows)
        read = f"each layer's input on {rows[:, 1:].numel()} tokens of text"
    except ValueError:
        inputs, read = [None] * cfg.n_layers, "the embedding (no text sample)"
    direct_loop, sample = vocab_loop(model), token_sample(model, n_tokens)
    direct_vectors = embedding(model)[sample]
    moments = embedding_moments(model) if cfg.positional_embedding_type == "rotary" else None
    heads, copying, in_context, mapped, previous = [], [], [], [], []
    for layer, seen in enumerate(inputs):
        loop = direct_loop if seen is None else vocab_loop(model, seen.tokens, seen.vectors)
        tokens = sample if seen is None else seen.tokens[:n_tokens]
        vectors = direct_vectors if seen is None else seen.vectors[:n_tokens]
        for head in range(cfg.n_heads):
            heads.append(head_label(layer, head))
            copying.append(copying_score(model, layer, head, loop=direct_loop))
            in_context.append(copying[-1] if seen is None else copying_score(model, layer, head, loop=loop))
            mapped.append(self_map(model, layer, head, tokens, vectors=vectors))
            read_at = moments if seen is None else (seen.mean, seen.second)
            profile = positional_qk(model, layer, head, max_offset=max_offset, moments=read_at)
            previous.append(float(torch.tensor(profile.scores).softmax(0)[1]))
        if progress is not None:
            progress(layer + 1, cfg.n_layers)
    prev = dict(zip(heads, previous))
    baseline = composition.baseline("k")
    reads = dict.fromkeys(heads, 0.0)  # the strongest K-composition excess from a previous-token head, weighted
    for r in composition.records:
        if r.kind == "k":
            reads[r.target] = max(reads[r.target], max(r.score - baseline, 0.0) * prev[r.source])
    induction = [reads[h] * max(c, 0.0) for h, c in zip(heads, in_context)]
    return HeadRoles(
        model=cfg.model_name,
        heads=tuple(heads),
        copying=tuple(copying),
        copying_in_context=tuple(in_context),
        self_map=tuple(mapped),
        previous_token=tuple(previous),
        induction=tuple(induction),
        n_tokens=min(n_tokens, len(sample) if inputs[0] is None else len(inputs[0].tokens)),
        positions_read=read,
    )
