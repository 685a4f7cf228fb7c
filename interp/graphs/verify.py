"""Checking a graph by intervention, as circuit-tracer's tests do.

Two checks. In the prompt's frozen linear model, removing a source's write must change every target's read by
exactly the edge between them (`check_edges`; float32 rounding is the only difference). In the replacement model
with attention and normalisation live (the real model with every MLP replaced by its transcoder plus the
prompt's fixed error), scaling a latent changes the logits about as the graph predicts (`check_interventions`):
the prediction is the latent's total effect through the graph (direct edge plus every path through other
latents), which holds exactly only while attention, normalisation and the latents' gates stay as they were.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from torch import Tensor

from interp.core.hooks import HookFn, hooks
from interp.core.locking import exclusive
from interp.core.sites import mlp_hooks
from interp.graphs.prune import prune
from interp.graphs.replacement import EMBED_HOOK, frozen_hooks, keep_into, prompt_state, run_hooked, spliced_hooks
from interp.graphs.transcoder_set import TranscoderSet
from interp.results import AttributionGraph, EdgeCheck, GraphIntervention, InterventionCheck
from interp.vocab.types import Model

__all__ = [
    "check_edges",
    "check_interventions",
    "intervene",
    "total_effects",
]


def _reads(graph: AttributionGraph, transcoders: TranscoderSet, inputs: dict[int, Tensor], logits: Tensor) -> Tensor:
    """[batch, target] reads of every feature node (pre-activation less its bias) and every logit node."""
    parts = []
    for layer, pos, latent in graph.features.tolist():
        tc = transcoders.by_layer[layer]
        parts.append(inputs[layer][:, pos].to(tc.dtype) @ tc.W_enc[:, latent])
    parts += list((logits[:, -1].float() @ graph.logit_vectors.T.to(logits.device)).T)
    return torch.stack(parts, dim=1).float().cpu()


@exclusive
@torch.no_grad()
def check_edges(
    model: Model,
    transcoders: TranscoderSet,
    graph: AttributionGraph,
    *,
    sources: Sequence[int] | None = None,
    batch_size: int = 64,
) -> EdgeCheck:
    """Remove each source's write in turn (default: every feature, error and token node) from the frozen model and
    compare each target's change with the graph's edge."""
    start = time.perf_counter()
    tokens = torch.tensor(graph.token_ids)
    state = prompt_state(model, transcoders, tokens)
    n_sources = graph.n_features + graph.n_errors + graph.n_pos
    chosen = list(range(n_sources)) if sources is None else list(sources)
    if any(not 0 <= s < n_sources for s in chosen):
        raise ValueError(f"sources are feature, error or token nodes: 0 to {n_sources - 1}")
    targets = list(range(graph.n_features)) + list(range(graph.n_nodes - graph.n_logits, graph.n_nodes))
    base = {EMBED_HOOK: state.embeddings} | {
        mlp_hooks(layer)[1]: state.writes(transcoders, layer) for layer in range(graph.n_layers)
    }
    reference = _frozen_reads(model, graph, transcoders, state, {k: v[None] for k, v in base.items()})
    worst, largest = 0.0, 0.0
    for at in range(0, len(chosen), batch_size):
        batch = chosen[at : at + batch_size]
        writes = {k: v[None].repeat(len(batch), 1, 1) for k, v in base.items()}
        for row, node in enumerate(batch):
            name, pos, vector = _write_of(graph, transcoders, state, node)
            writes[name][row, pos] -= vector
        effect = reference - _frozen_reads(model, graph, transcoders, state, writes)
        edges = graph.adjacency[targets][:, batch].T
        worst = max(worst, float((effect - edges).abs().max()))
        largest = max(largest, float(edges.abs().max()))
    return EdgeCheck(len(chosen), len(chosen) * len(targets), worst, largest, time.perf_counter() - start)


def _frozen_reads(model, graph, transcoders, state, writes) -> Tensor:
    inputs: dict[int, Tensor] = {}
    keep: list[tuple[str, HookFn]] = [(mlp_hooks(layer)[0], keep_into(inputs, layer)) for layer in transcoders.layers]
    batch = len(next(iter(writes.values())))
    with hooks(model, frozen_hooks(state, transcoders, writes) + keep):
        logits = model(state.tokens[None].expand(batch, -1).to(model.cfg.device))
    return _reads(graph, transcoders, inputs, logits)


def _write_of(graph, transcoders, state, node: int) -> tuple[str, int, Tensor]:
    """(hook, position, vector) a source node writes."""
    kind, (layer, pos) = graph.kind(node), graph.where(node)
    if kind == "feature":
        latent = int(graph.features[node, 2])
        vector = graph.activations[node] * transcoders.by_layer[layer].W_dec[latent].float().cpu()
        return mlp_hooks(layer)[1], pos, vector.to(state.errors[layer].device)
    if kind == "error":
        return mlp_hooks(layer)[1], pos, state.errors[layer][pos]
    return EMBED_HOOK, pos, state.embeddings[pos]


def total_effects(graph: AttributionGraph, logit: int = 0) -> Tensor:
    """Each feature node's total effect on logit node `logit` per unit of its activation, through every path of
    the graph: g = r (I - M)^-1, with r the direct effects on the logit and M[t, s] those on other features."""
    acts = graph.activations.clamp(min=1e-12)
    features = slice(0, graph.n_features)
    among = graph.adjacency[features, features] / acts[None, :]
    direct = graph.adjacency[graph.n_nodes - graph.n_logits + logit, features] / acts
    return torch.linalg.solve((torch.eye(graph.n_features) - among).T, direct)


@exclusive
@torch.no_grad()
def intervene(
    model: Model,
    transcoders: TranscoderSet,
    graph: AttributionGraph,
    nodes: Sequence[int],
    *,
    factor: float = 0.0,
    frozen: bool = False,
    logit: int = 0,
) -> GraphIntervention:
    """Multiply the activations of feature nodes `nodes` by `factor` (0: ablate) in the replacement model (every
    MLP replaced by its transcoder plus the prompt's error; attention and normalisation live unless `frozen`)
    and measure logit node `logit`'s change against the graph's prediction."""
    return _intervene(model, transcoders, graph, [nodes], factor=factor, frozen=frozen, logit=logit)[0]


def _intervene(model, transcoders, graph, groups, *, factor, frozen, logit) -> list[GraphIntervention]:
    if not 0 <= logit < graph.n_logits:
        raise ValueError(f"the graph has {graph.n_logits} logit nodes; got logit {logit}")
    if graph.logit_vectors.shape[1] == 0:
        raise ValueError("this graph was read from a viewer file, which does not say what its logits read")
    for node in (n for group in groups for n in group):
        if not 0 <= node < graph.n_features:
            raise ValueError(
                f"node {node} is not a latent of the graph (latents are nodes 0 to {graph.n_features - 1})"
            )
    tokens = torch.tensor(graph.token_ids)
    state = prompt_state(model, transcoders, tokens)
    vector = graph.logit_vectors[logit]
    gains = total_effects(graph, logit)

    def read(edit: list) -> float:
        logits = run_hooked(model, tokens, spliced_hooks(state, transcoders, edit=edit, frozen=frozen))
        return float(logits[0, -1].cpu() @ vector)

    base = read([])
    out = []
    for group in groups:
        edits = [(*graph.features[n].tolist(), factor * float(graph.activations[n])) for n in group]
        predicted = sum((factor - 1.0) * float(graph.activations[n]) * float(gains[n]) for n in group)
        out.append(
            GraphIntervention(
                target=graph.logit_labels[logit],
                factor=factor,
                frozen=frozen,
                nodes=tuple(graph.label(n) for n in group),
                predicted=predicted,
                actual=read(edits) - base,
            )
        )
    return out


@exclusive
@torch.no_grad()
def check_interventions(
    model: Model,
    transcoders: TranscoderSet,
    graph: AttributionGraph,
    *,
    top: int = 50,
    factor: float = 0.0,
    frozen: bool = False,
    logit: int = 0,
) -> InterventionCheck:
    """Multiply each of the `top` most influential latents (by the graph's influence on the logits) by `factor`
    in turn, in the replacement model, and compare the change of logit node `logit` with the graph's prediction."""
    start = time.perf_counter()
    influence = prune(graph).influence[: graph.n_features]
    chosen = influence.argsort(descending=True)[: min(top, graph.n_features)].tolist()
    each = _intervene(model, transcoders, graph, [[n] for n in chosen], factor=factor, frozen=frozen, logit=logit)
    predicted, actual = [e.predicted for e in each], [e.actual for e in each]
    pair = torch.tensor([predicted, actual])
    return InterventionCheck(
        target=graph.logit_labels[logit],
        factor=factor,
        frozen=frozen,
        nodes=tuple(e.nodes[0] for e in each),
        predicted=tuple(predicted),
        actual=tuple(actual),
        correlation=float(torch.corrcoef(pair)[0, 1]) if len(chosen) > 1 else float("nan"),
        seconds=time.perf_counter() - start,
    )
