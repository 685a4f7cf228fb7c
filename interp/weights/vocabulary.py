"""Circuits over tokens: a head's direct-path OV circuit (embed -> head -> unembed: which tokens it promotes when it
attends to a token) and QK circuit (which key tokens a query token prefers), as rows for the tokens asked for,
never as the d_vocab x d_vocab matrix; copying scores from the OV circuit's eigenvalues.

A row is a source token's normalised embedding times the head's weights times the unembedding (folded norms:
interp.weights.factored); biases are left out, as in Elhage et al. Rows are computed a chunk of sources at a
time, so memory is chunk x d_vocab floats whatever the vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float, Int
from torch import Tensor
from transformer_lens import FactoredMatrix

from interp.core.limits import check_budget
from interp.core.locking import lock_free
from interp.core.tokens import str_tokens
from interp.results import TokenTable
from interp.vocab.types import Model
from interp.weights.factored import attention_scale, check_head, head_label, head_weights, normalised

__all__ = [
    "CHUNK",
    "check_dense",
    "copying_score",
    "embedding",
    "full_circuit",
    "ov_rows",
    "ov_table",
    "qk_table",
    "self_map",
    "token_ids",
    "token_sample",
    "unembedding",
    "vocab_loop",
]

CHUNK = 256
"""Source tokens per chunk of rows (each chunk holds CHUNK x d_vocab floats)."""


@lock_free("weights only")
def embedding(model: Model) -> Float[Tensor, "d_vocab d_model"]:
    """The normalised token embeddings (what the first block's folded norm hands its heads), float32 on the CPU."""
    return normalised(model.W_E.detach().float().cpu(), model)


@lock_free("weights only")
def unembedding(model: Model) -> Float[Tensor, "d_model d_vocab"]:
    return model.W_U.detach().float().cpu()


@lock_free("tokenizer only")
def token_ids(model: Model, tokens: Sequence[str | int]) -> Int[Tensor, " token"]:
    """Token ids from ids or strings (each string must be one token of the vocabulary, e.g. " Paris"); anything
    else is refused with the offending entries."""
    ids, bad = [], []
    for t in tokens:
        if isinstance(t, int) and not isinstance(t, bool):
            (ids if 0 <= t < model.cfg.d_vocab else bad).append(t)
            continue
        found = model.tokenizer.encode(str(t), add_special_tokens=False) if model.tokenizer is not None else []
        if len(found) == 1:
            ids.append(found[0])
        else:
            bad.append(t)
    if bad:
        raise ValueError(
            f"not tokens of {model.cfg.model_name}'s vocabulary ({model.cfg.d_vocab} ids): "
            f"{', '.join(repr(b) for b in bad[:10])}; give ids in 0-{model.cfg.d_vocab - 1} or strings that are one "
            "token each (mind the leading space: ' Paris')"
        )
    if not ids:
        raise ValueError("the token set is empty")
    return torch.tensor(ids)


@lock_free("config sizes only")
def token_sample(model: Model, n: int) -> Int[Tensor, " token"]:
    """`n` token ids spread evenly over the vocabulary (all of it when it is smaller)."""
    d_vocab = model.cfg.d_vocab
    return torch.arange(d_vocab) if n >= d_vocab else torch.linspace(0, d_vocab - 1, n).round().long().unique()


@lock_free("config sizes and free memory")
def check_dense(model: Model, n_rows: int, n_cols: int, *, what: str) -> None:
    """Refuse a dense n_rows x n_cols float32 matrix larger than the memory budget, with its size and what to do."""
    check_budget(
        4 * n_rows * n_cols,
        what=f"{what} as a dense {n_rows:,} x {n_cols:,} matrix",
        advice="restrict it to a token set (tokens=[...], --tokens) or ask for the top k of each row (ov_table, "
        "qk_table), which never build it",
    )


@lock_free("weights only")
def full_circuit(model: Model, layer: int, head: int, kind: str = "ov", *, tokens: Tensor | None = None) -> Tensor:
    """The dense direct-path circuit over `tokens` (default: the whole vocabulary), [token, token]: OV (source ->
    promoted logit) or QK (query -> key score, content part). Refused, with the size and what to do instead, when
    it does not fit in the memory budget (SmolLM2's whole vocabulary: 9.0 GiB)."""
    check_head(model, layer, head)
    n = model.cfg.d_vocab if tokens is None else len(tokens)
    check_dense(model, n, n, what=f"the {kind.upper()} circuit of {head_label(layer, head)} over {n:,} tokens")
    w, emb = head_weights(model, layer), embedding(model)
    emb = emb if tokens is None else emb[tokens]
    with torch.no_grad():
        if kind == "ov":
            unembed = unembedding(model) if tokens is None else unembedding(model)[:, tokens]
            return (emb @ w["W_V"][head]) @ (w["W_O"][head] @ unembed)
        if kind == "qk":
            return (emb @ w["W_Q"][head]) @ (emb @ w["W_K"][head]).T * attention_scale(model)
    raise ValueError(f"kind is 'ov' or 'qk'; got {kind!r}")


def _top_rows(rows_of, sources: Tensor, k: int, targets: Tensor | None) -> tuple[Tensor, Tensor]:
    """Top-k (values, ids) of each source's row, computed CHUNK sources at a time."""
    values, ids = [], []
    for start in range(0, len(sources), CHUNK):
        rows = rows_of(sources[start : start + CHUNK])
        if targets is not None:
            rows = rows[:, targets]
        v, i = rows.topk(min(k, rows.shape[1]), dim=1)
        values.append(v)
        ids.append(i if targets is None else targets[i])
    return torch.cat(values), torch.cat(ids)


@lock_free("weights only")
def ov_rows(
    model: Model, layer: int, head: int, sources: Tensor | None = None, *, inputs: Tensor | None = None
) -> Tensor:
    """[source, d_vocab] rows of the head's OV circuit through the unembedding: the logits it adds per unit of
    attention on each source token's embedding, or on each row of `inputs` [n, d_model] (e.g. an MLP neuron's
    value vectors: virtual weights) when given."""
    check_head(model, layer, head)
    w = head_weights(model, layer)
    if (sources is None) == (inputs is None):
        raise ValueError("give the source tokens or the input vectors, one of the two")
    x = embedding(model)[sources] if inputs is None else normalised(inputs.float().cpu(), model)
    return x @ w["W_V"][head] @ w["W_O"][head] @ unembedding(model)


def _table(model, circuit, sources, values, ids) -> TokenTable:
    return TokenTable(
        model=model.cfg.model_name,
        circuit=circuit,
        sources=tuple(str_tokens(model, sources)),
        top_tokens=tuple(tuple(str_tokens(model, row)) for row in ids),
        top_scores=tuple(tuple(row) for row in values.tolist()),
    )


@lock_free("weights only")
def ov_table(
    model: Model, layer: int, head: int, *, sources: Tensor | None = None, k: int = 10, targets: Tensor | None = None
) -> TokenTable:
    """For each source token (default: 64 spread over the vocabulary), the `k` tokens the head's OV circuit
    promotes most when the head attends to it (among `targets`, default the whole vocabulary)."""
    sources = token_sample(model, 64) if sources is None else sources
    with torch.no_grad():
        values, ids = _top_rows(lambda s: ov_rows(model, layer, head, s), sources, k, targets)
    return _table(model, f"{head_label(layer, head)} OV", sources, values, ids)


@lock_free("weights only")
def qk_table(
    model: Model, layer: int, head: int, *, queries: Tensor | None = None, k: int = 10, keys: Tensor | None = None
) -> TokenTable:
    """For each query token, the `k` key tokens the head's content QK circuit (offset 0 under rotary
    embeddings; positions left out) scores highest, among `keys` (default the whole vocabulary)."""
    check_head(model, layer, head)
    queries = token_sample(model, 64) if queries is None else queries
    w, emb = head_weights(model, layer), embedding(model)
    keyed = (emb @ w["W_K"][head]).T * attention_scale(model)  # [d_head, d_vocab]
    with torch.no_grad():
        values, ids = _top_rows(lambda s: emb[s] @ w["W_Q"][head] @ keyed, queries, k, keys)
    return _table(model, f"{head_label(layer, head)} QK", queries, values, ids)


@lock_free("weights only")
def vocab_loop(model: Model, tokens: Tensor | None = None, vectors: Tensor | None = None) -> Tensor:
    """W_U[:, S] E_S [d_model, d_model] for tokens S (default: the vocabulary) represented by E_S (default: their
    normalised embeddings): the full OV circuit E_S W_V W_O W_U[:, S] has the nonzero eigenvalues of
    W_O (W_U[:, S] E_S) W_V, so every head's eigenvalues go through this one product (16 GMAC for SmolLM2)."""
    unembed = unembedding(model) if tokens is None else unembedding(model)[:, tokens]
    vectors = (embedding(model) if tokens is None else embedding(model)[tokens]) if vectors is None else vectors
    return unembed @ vectors


@lock_free("weights only")
def copying_score(model: Model, layer: int, head: int, *, loop: Tensor | None = None) -> float:
    """sum(λ) / sum(|λ|) over the eigenvalues λ of the full OV circuit (normalised W_E) W_V W_O W_U, taken from
    its d_head x d_head side (FactoredMatrix(W_V, W_O W_U E)): positive for a head that copies the tokens it
    attends to. `loop` reuses `vocab_loop(model)`."""
    check_head(model, layer, head)
    w = head_weights(model, layer)
    loop = vocab_loop(model) if loop is None else loop
    eig = FactoredMatrix(w["W_V"][head], w["W_O"][head] @ loop).eigenvalues
    return float(eig.real.sum() / eig.abs().sum().clamp(min=1e-30))


@lock_free("weights only")
def self_map(model: Model, layer: int, head: int, tokens: Tensor, *, vectors: Tensor | None = None) -> float:
    """Fraction of `tokens` whose own token is the one the OV circuit promotes most among `tokens` (the
    product taken through d_head: [tokens, d_head] x [d_head, tokens]); the tokens as the head reads them are
    their normalised embeddings, or `vectors` [token, d_model] (e.g. their mean at the layer's input)."""
    w = head_weights(model, layer)
    vectors = embedding(model)[tokens] if vectors is None else vectors
    with torch.no_grad():
        rows = (vectors @ w["W_V"][head]) @ (w["W_O"][head] @ unembedding(model)[:, tokens])
    return float((rows.argmax(1) == torch.arange(len(tokens))).float().mean())
