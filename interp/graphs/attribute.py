"""Attribution: the direct effects between a prompt's nodes, by batched backward passes through its frozen model.

A backward pass from one target's read (a latent's pre-activation at its position, or a logit read at the last
position) through the frozen linear model stops at the writes (interp.graphs.replacement) and leaves there the
derivative of the read along every write; a source's edge is then its write vector dotted with that derivative:
a token's embedding, an error vector, or a latent's activation times its decoder row. Each batch of targets is
one forward and one backward pass on `batch_size` copies of the prompt.

Memory: the rows kept are the logits' and at most `max_feature_nodes` latents', each as long as the sources
(latents active on the prompt, errors, tokens), which grow linearly with the prompt; past `max_feature_nodes`
the latents attributed are chosen greedily by their estimated influence on the logits, as circuit-tracer does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor

from interp.core.hooks import HookFn, hooks
from interp.core.locking import exclusive, lock_free
from interp.core.sites import mlp_hooks
from interp.core.tokens import single_token, str_tokens, token_ids
from interp.graphs.prune import influence, normalized
from interp.graphs.replacement import EMBED_HOOK, PromptState, frozen_hooks, prompt_state
from interp.graphs.transcoder_set import TranscoderSet
from interp.results import AttributionGraph
from interp.vocab.defaults import GRAPH
from interp.vocab.types import Model, Progress

__all__ = ["attribute", "logit_targets"]


@lock_free("tokenizer only")
def logit_targets(
    model: Model,
    logits: Float[Tensor, " d_vocab"],
    *,
    max_n_logits: int = 10,
    desired_logit_prob: float = 0.95,
    difference: tuple[str, str] | None = None,
) -> tuple[list[str], list[int], Tensor, Tensor]:
    """(labels, token ids, probabilities, read vectors) of the logit nodes: the most probable next tokens until
    their probabilities add up to `desired_logit_prob` (at most `max_n_logits`), each read as its logit minus the
    mean logit; or one node reading the logit difference of two single tokens."""
    probs = logits.float().softmax(-1)
    if difference is not None:
        a, b = (single_token(model, word) for word in difference)
        vector = torch.zeros_like(probs)
        vector[a], vector[b] = 1.0, -1.0
        return [f"{difference[0]} - {difference[1]}"], [a], torch.ones(1), vector[None]
    if not 0 < desired_logit_prob <= 1 or max_n_logits < 1:
        raise ValueError(
            f"need 0 < desired_logit_prob <= 1 and max_n_logits >= 1; got {desired_logit_prob}, {max_n_logits}"
        )
    top = probs.topk(min(max_n_logits, len(probs)))
    n = min(int(torch.searchsorted(top.values.cumsum(0), torch.tensor(desired_logit_prob))) + 1, len(top.values))
    ids = top.indices[:n].cpu()
    vectors = torch.full((n, len(probs)), -1.0 / len(probs))  # [logit, d_vocab]: not an identity of the vocabulary
    vectors[torch.arange(n), ids] += 1.0
    return str_tokens(model, ids), ids.tolist(), top.values[:n], vectors


class _Sources:
    """The prompt's sources and what each writes, and the edge rows of a batch of targets from the derivatives."""

    def __init__(self, state: PromptState, transcoders: TranscoderSet, n_layers: int):
        self.state, self.transcoders, self.n_layers = state, transcoders, n_layers
        found = [
            (layer, pos, latent) for layer in transcoders.layers for pos, latent in state.acts[layer].nonzero().tolist()
        ]
        self.features = torch.tensor(found, dtype=torch.long).reshape(-1, 3)
        self.activations = torch.stack([state.acts[layer][p, f] for layer, p, f in found]) if found else torch.zeros(0)
        self.n_features = len(found)
        self.n_sources = self.n_features + (n_layers + 1) * state.n_pos
        # per block and position: which feature columns, and their decoder rows scaled by the activations
        self.columns: dict[tuple[int, int], tuple[Tensor, Tensor]] = {}
        for layer in transcoders.layers:
            w_dec = transcoders.by_layer[layer].W_dec.float()
            for pos in range(state.n_pos):
                idx = ((self.features[:, 0] == layer) & (self.features[:, 1] == pos)).nonzero()[:, 0]
                if len(idx):
                    rows = w_dec[self.features[idx, 2].to(w_dec.device)] * self.activations[idx, None].to(w_dec.device)
                    self.columns[(layer, pos)] = (idx, rows)

    def rows(self, grads: dict[str, Tensor]) -> Float[Tensor, "batch source"]:
        """Edge rows from the derivatives at each write ([batch, pos, d_model] by hook name)."""
        state, n_pos = self.state, self.state.n_pos
        batch = len(grads[EMBED_HOOK])
        out = torch.zeros(batch, self.n_sources)
        for (layer, pos), (idx, rows) in self.columns.items():
            out[:, idx] = (grads[mlp_hooks(layer)[1]][:, pos] @ rows.T).float().cpu()
        at = self.n_features
        for layer in range(self.n_layers):
            error = state.errors[layer]
            out[:, at : at + n_pos] = (grads[mlp_hooks(layer)[1]] * error).sum(-1).float().cpu()
            at += n_pos
        out[:, at:] = (grads[EMBED_HOOK] * state.embeddings).sum(-1).float().cpu()
        return out


FINAL_HOOK = "unembed.hook_in"
"""What the unembedding reads (after the final normalisation): logit reads are taken here, as the residual stream
dotted with W_U times the logit's read vector, so no pass computes the [batch, pos, d_vocab] logits (on SmolLM2,
64 targets x 100 positions x 49,152 tokens would be 1.3 GB of float32)."""


class _Reached(Exception):
    """Raised by the hook of the last activation a batch of targets reads: nothing after it is needed."""


def _backward(
    model: Model,
    state: PromptState,
    transcoders: TranscoderSet,
    sources: _Sources,
    features: Sequence[tuple[int, int, int]],
    logit_vectors: Tensor,
) -> Float[Tensor, "batch source"]:
    """The edge rows of a batch of targets: latents (block, position, latent), then logit read vectors."""
    batch = len(features) + len(logit_vectors)
    writes = {
        name: value[None].expand(batch, -1, -1).clone().requires_grad_(True)
        for name, value in [(EMBED_HOOK, state.embeddings)]
        + [(mlp_hooks(layer)[1], state.writes(transcoders, layer)) for layer in range(sources.n_layers)]
    }
    reads_at = {mlp_hooks(layer)[0]: layer for layer in sorted({f[0] for f in features})}
    if len(logit_vectors):
        reads_at[FINAL_HOOK] = "final"
    last = list(reads_at)[-1]
    inputs: dict = {}

    def keep(name: str) -> HookFn:
        def fn(act: Tensor, hook=None) -> None:
            inputs[reads_at[name]] = act
            if name == last:
                raise _Reached

        return fn

    with torch.enable_grad():
        try:
            with hooks(model, frozen_hooks(state, transcoders, writes) + [(n, keep(n)) for n in reads_at]):
                model(state.tokens[None].expand(batch, -1).to(model.cfg.device))
        except _Reached:
            pass
        reads = []
        for row, (layer, pos, latent) in enumerate(features):
            tc = transcoders.by_layer[layer]
            reads.append(inputs[layer][row, pos].to(tc.dtype) @ tc.W_enc[:, latent])
        if len(logit_vectors):
            final = inputs["final"][len(features) :, -1].float()  # logits at the last position = final @ W_U + b_U
            directions = model.W_U.float() @ logit_vectors.T.to(final.device)  # d_model x logit
            reads.append((final * directions.T).sum())
        torch.stack([r.sum() for r in reads]).sum().backward()
    # writes after the last read never joined the graph (the pass stopped there): nothing they write reaches a target
    return sources.rows({k: torch.zeros_like(v) if v.grad is None else v.grad for k, v in writes.items()})


@exclusive
def attribute(
    model: Model,
    transcoders: TranscoderSet,
    prompt: str,
    *,
    max_n_logits: int = GRAPH.max_n_logits,
    desired_logit_prob: float = GRAPH.desired_logit_prob,
    difference: tuple[str, str] | None = None,
    max_feature_nodes: int = GRAPH.max_feature_nodes,
    batch_size: int = GRAPH.batch_size,
    progress: Progress | None = None,
) -> AttributionGraph:
    """The attribution graph of `prompt` (with the model's BOS token first) under `transcoders`.

    Logit nodes: the most probable next tokens (see `logit_targets`), or one logit `difference` ("A", "B").
    Every active latent is a source; at most `max_feature_nodes` latents get their own incoming edges (all of
    them when fewer are active). `progress(done, total)` counts targets."""
    if max_feature_nodes < 0 or batch_size < 1:
        raise ValueError(f"need max_feature_nodes >= 0 and batch_size >= 1; got {max_feature_nodes}, {batch_size}")
    transcoders.check_fits(model)
    start = time.perf_counter()
    tokens = torch.tensor(token_ids(model, prompt))
    state = prompt_state(model, transcoders, tokens)
    n_layers = model.cfg.n_layers
    labels, ids, probs, vectors = logit_targets(
        model, state.logits[-1], max_n_logits=max_n_logits, desired_logit_prob=desired_logit_prob, difference=difference
    )
    sources = _Sources(state, transcoders, n_layers)
    n_chosen = min(max_feature_nodes, sources.n_features)
    total, passes = n_chosen + len(labels), 0
    logit_rows = _backward(model, state, transcoders, sources, [], vectors)
    passes += 1
    rows: dict[int, Tensor] = {}
    while len(rows) < n_chosen:
        batch = _next_features(sources, rows, logit_rows, probs, n_chosen - len(rows), batch_size)
        found = _backward(
            model, state, transcoders, sources, [tuple(sources.features[i].tolist()) for i in batch], vectors[:0]
        )
        rows.update(zip(batch, found, strict=True))
        passes += 1
        if progress is not None:
            progress(len(rows) + len(labels), total)
    chosen = sorted(rows)
    return AttributionGraph(
        model=model.cfg.model_name,
        transcoders=transcoders.source,
        prompt=prompt,
        tokens=tuple(str_tokens(model, tokens)),
        token_ids=tuple(tokens.tolist()),
        n_layers=n_layers,
        features=sources.features[chosen],
        activations=sources.activations[chosen].float().cpu(),
        n_active=sources.n_features,
        logit_labels=tuple(labels),
        logit_ids=tuple(ids),
        logit_probs=probs.float().cpu(),
        logit_vectors=vectors.float(),
        adjacency=_square(sources, chosen, [rows[i] for i in chosen], logit_rows),
        seconds=time.perf_counter() - start,
        passes=f"{passes} forward+backward passes of up to {batch_size} targets",
    )


def _next_features(
    sources: _Sources, rows: dict[int, Tensor], logit_rows: Tensor, probs: Tensor, room: int, batch_size: int
) -> list[int]:
    """The next latents to attribute: all of them in order when every one fits; otherwise the unvisited ones with
    the most influence on the logits through the rows attributed so far (circuit-tracer's greedy order)."""
    unvisited = [i for i in range(sources.n_features) if i not in rows]
    if len(unvisited) <= room:
        return unvisited[:batch_size]
    visited = sorted(rows)
    targets = torch.cat([torch.stack([rows[i] for i in visited]) if visited else logit_rows[:0], logit_rows])
    share = normalized(targets)
    # influence on the logits (weighted by their probabilities) of each target attributed so far ...
    weights = torch.cat([torch.zeros(len(visited)), probs.float()])
    among = torch.zeros(len(targets), len(targets))
    among[:, : len(visited)] = share[:, visited]
    reach = weights + influence(among, weights)
    # ... spread to every source through its share of each target's incoming edges
    score = reach @ share
    score[visited] = -1.0
    order = score[: sources.n_features].argsort(descending=True).tolist()
    return order[: min(batch_size, room)]


def _square(sources: _Sources, chosen: list[int], feature_rows: list[Tensor], logit_rows: Tensor) -> Tensor:
    """The [node, node] adjacency in circuit-tracer's order: chosen features, errors, tokens, logits."""
    n_rest = sources.n_sources - sources.n_features  # errors and tokens
    n = len(chosen) + n_rest + len(logit_rows)
    out = torch.zeros(n, n)
    columns = torch.tensor(chosen + list(range(sources.n_features, sources.n_sources)), dtype=torch.long)
    if chosen:
        out[: len(chosen), : len(columns)] = torch.stack(feature_rows)[:, columns]
    out[n - len(logit_rows) :, : len(columns)] = logit_rows[:, columns]
    return out
