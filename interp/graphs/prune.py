"""Pruning an attribution graph by influence on the logits, and its replacement and completeness scores.

The definitions are circuit-tracer's (its `graph.py`), so thresholds mean the same in both tools: each target's
incoming edges are normalised to absolute shares summing to 1; a node's influence is the total share of the
logits (weighted by their probabilities) that flows through it along all paths, w A + w A^2 + ... ; nodes are
kept in order of influence until `node_threshold` of the total is covered, and edges (scored by their share
times their target's influence) until `edge_threshold` is; tokens and logits always stay. The scores: the
replacement score is the share of the logits' influence that starts at tokens rather than at error nodes, the
completeness score the influence-weighted share of incoming edges that come from non-error nodes.
"""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor

from interp.results import AttributionGraph, GraphPruning
from interp.vocab.defaults import GRAPH

__all__ = ["check_thresholds", "influence", "normalized", "prune"]


def normalized(matrix: Float[Tensor, "target source"]) -> Float[Tensor, "target source"]:
    """|matrix| with each row scaled to sum to 1 (rows of zeros stay zero)."""
    absolute = matrix.abs()
    return absolute / absolute.sum(-1, keepdim=True).clamp(min=1e-10)


def influence(square: Float[Tensor, "node node"], weights: Float[Tensor, " node"]) -> Float[Tensor, " node"]:
    """w A + w A^2 + ... for a normalised adjacency A (rows targets): what reaches each node from the weighted
    targets along paths of every length. The graph has no cycles (sources always precede their targets in
    layer and position), so the sum ends; it is computed as w A (I - A)^-1 in one solve."""
    n = len(square)
    first = weights @ square
    return torch.linalg.solve((torch.eye(n) - square).T, first)


def _threshold(scores: Tensor, keep: float) -> float:
    """The smallest score among the highest scores that together cover `keep` of the total."""
    ordered = scores.flatten().sort(descending=True).values
    covered = ordered.cumsum(0) / ordered.sum().clamp(min=1e-10)
    return float(ordered[min(int(torch.searchsorted(covered, torch.tensor(keep))), len(ordered) - 1)])


def _logit_weights(graph: AttributionGraph) -> Tensor:
    weights = torch.zeros(graph.n_nodes)
    weights[graph.n_nodes - graph.n_logits :] = graph.logit_probs
    return weights


def check_thresholds(node_threshold: float, edge_threshold: float) -> None:
    for name, value in (("node_threshold", node_threshold), ("edge_threshold", edge_threshold)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")


def prune(
    graph: AttributionGraph,
    *,
    node_threshold: float = GRAPH.node_threshold,
    edge_threshold: float = GRAPH.edge_threshold,
) -> GraphPruning:
    """Keep the nodes covering `node_threshold` of the influence on the logits and the edges covering
    `edge_threshold` of the influence among those; then drop, until nothing changes, features and errors left
    without an outgoing edge and features left without an incoming one."""
    check_thresholds(node_threshold, edge_threshold)
    weights = _logit_weights(graph)
    adjacency = graph.adjacency
    node_influence = influence(normalized(adjacency), weights)
    fixed = graph.n_nodes - graph.n_pos - graph.n_logits  # tokens and logits (always kept) start here
    node_mask = node_influence >= _threshold(node_influence[:fixed], node_threshold) if fixed else node_influence > 0
    node_mask[fixed:] = True
    kept = adjacency * node_mask[:, None] * node_mask[None, :]
    share = normalized(kept)
    edge_scores = share * (influence(share, weights) + weights)[:, None]
    edge_mask = edge_scores >= _threshold(edge_scores, edge_threshold)
    edge_mask &= edge_scores > 0
    while True:
        before = node_mask.clone()
        node_mask[:fixed] &= edge_mask[:, :fixed].any(0)  # an edge out
        node_mask[: graph.n_features] &= edge_mask[: graph.n_features].any(1)  # an edge in
        edge_mask &= node_mask[:, None] & node_mask[None, :]
        if torch.equal(before, node_mask):
            break
    order = node_influence.argsort(descending=True)
    cumulative = torch.empty_like(node_influence)
    cumulative[order] = node_influence[order].cumsum(0) / node_influence.sum().clamp(min=1e-10)
    return GraphPruning(
        node_threshold=node_threshold,
        edge_threshold=edge_threshold,
        node_mask=node_mask,
        edge_mask=edge_mask,
        influence=node_influence,
        cumulative=cumulative,
        **_scores(graph, weights),
    )


def _scores(graph: AttributionGraph, weights: Tensor) -> dict[str, float]:
    share = normalized(graph.adjacency)
    node_influence = influence(share, weights)
    errors = slice(graph.n_features, graph.n_features + graph.n_errors)
    tokens = slice(errors.stop, errors.stop + graph.n_pos)
    from_tokens, from_errors = float(node_influence[tokens].sum()), float(node_influence[errors].sum())
    non_error = 1 - share[:, errors].sum(-1)
    reach = node_influence + weights
    return {
        "replacement_score": from_tokens / max(from_tokens + from_errors, 1e-10),
        "completeness_score": float((non_error * reach).sum() / reach.sum()),
    }
