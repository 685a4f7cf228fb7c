"""Attribution graph results (interp.graphs): the graph of one prompt, its pruning, and the checks by intervention.

The graph: its nodes, the direct effects between them; saved by `save_graph` through `interp.results.io`'s
folder format (graph.json + graph.safetensors).

Nodes are in circuit-tracer's order, so its pruning and scores read the same: the selected transcoder latents
(features), one error node per (block, position) in block-major order, one token node per position, and the
logit targets. `adjacency[target, source]` is the direct effect of the source on the target through the
prompt's frozen linear model (interp.graphs.replacement): a feature's edges are its activation times the
derivative along its decoder row, so the edges into a feature (or logit) plus its biases add up to its
pre-activation (or logit). Rows of errors and tokens are zero: nothing is attributed into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from interp.results.io import Floats, load_folder, save_folder

__all__ = [
    "AttributionGraph",
    "EdgeCheck",
    "GraphIntervention",
    "GraphPruning",
    "InterventionCheck",
    "load_graph",
    "save_graph",
]

GRAPH = "graph"
"""A graph folder holds graph.json and graph.safetensors."""


@dataclass(frozen=True)
class AttributionGraph:
    """The graph of one prompt (unpruned); `interp.graphs.prune` says which nodes and edges matter."""

    model: str
    transcoders: str
    """Where the transcoders were loaded from."""
    prompt: str
    tokens: tuple[str, ...]
    """The prompt's tokens, as strings, one per position."""
    token_ids: tuple[int, ...]
    n_layers: int
    features: Int[Tensor, "feature 3"]
    """(block, position, latent) of each feature node, in node order."""
    activations: Float[Tensor, " feature"]
    n_active: int
    """Latents active on the prompt; the `features` are those of them given incoming edges (all of them unless
    attribute's max_feature_nodes cut them down)."""
    logit_labels: tuple[str, ...]
    """Each logit target: its token, or "A - B" for a logit difference."""
    logit_ids: tuple[int, ...]
    """Each logit target's token id (the first token's, for a difference)."""
    logit_probs: Float[Tensor, " target"]
    """Each logit target's probability (a difference gets 1): the weights pruning gives the logits."""
    logit_vectors: Float[Tensor, "target d_vocab"]
    """What each logit node reads from the last position's logits: the token's one-hot minus the mean (the logit
    relative to the mean logit, as circuit-tracer attributes it), or +1/-1 for a difference."""
    adjacency: Float[Tensor, "node node"]
    seconds: float
    """Wall time of the attribution."""
    passes: str
    """What the graph cost, e.g. "31 backward passes of 64 targets"."""

    @property
    def n_pos(self) -> int:
        return len(self.tokens)

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def n_errors(self) -> int:
        return self.n_layers * self.n_pos

    @property
    def n_logits(self) -> int:
        return len(self.logit_labels)

    @property
    def n_nodes(self) -> int:
        return self.n_features + self.n_errors + self.n_pos + self.n_logits

    def kind(self, node: int) -> str:
        """feature, error, token or logit."""
        if node < self.n_features:
            return "feature"
        if node < self.n_features + self.n_errors:
            return "error"
        return "token" if node < self.n_features + self.n_errors + self.n_pos else "logit"

    def where(self, node: int) -> tuple[int, int]:
        """(layer, position) of a node: tokens are layer -1, logits layer n_layers at the last position."""
        kind = self.kind(node)
        if kind == "feature":
            layer, pos, _ = self.features[node].tolist()
            return layer, pos
        if kind == "error":
            return divmod(node - self.n_features, self.n_pos)
        if kind == "token":
            return -1, node - self.n_features - self.n_errors
        return self.n_layers, self.n_pos - 1

    def label(self, node: int) -> str:
        """A short name: "L2#417@5", "err L1@3", "tok 'Mary'@2", "logit ' John'"."""
        kind, (layer, pos) = self.kind(node), self.where(node)
        if kind == "feature":
            return f"L{layer}#{int(self.features[node, 2])}@{pos}"
        if kind == "error":
            return f"err L{layer}@{pos}"
        if kind == "token":
            return f"tok {self.tokens[pos]!r}@{pos}"
        return f"logit {self.logit_labels[node - self.n_nodes + self.n_logits]!r}"

    def targets(self) -> list[tuple[str, float]]:
        """(label, probability) of each logit target."""
        return list(zip(self.logit_labels, self.logit_probs.tolist(), strict=True))

    def latent(self, node: int) -> tuple[int, int, int]:
        """(block, position, latent) of a feature node."""
        if self.kind(node) != "feature":
            raise ValueError(f"node {node} ({self.label(node)}) is not a feature")
        layer, pos, latent = self.features[node].tolist()
        return layer, pos, latent

    def strongest_edges(self, node: int, *, into: bool = True, k: int = 8) -> list[tuple[int, float]]:
        """The `k` strongest edges into `node` (its sources) or out of it (its targets), as (other node, weight),
        strongest first; edges of weight 0 are left out."""
        weights = self.adjacency[node] if into else self.adjacency[:, node]
        order = weights.abs().argsort(descending=True)[:k].tolist()
        return [(n, float(weights[n])) for n in order if float(weights[n]) != 0]

    def node_index(self, layer: int, pos: int, latent: int) -> int:
        """The node of a feature, by (block, position, latent); a ValueError if it is not in the graph."""
        match = ((self.features == torch.tensor([layer, pos, latent])).all(-1)).nonzero()
        if len(match) == 0:
            raise ValueError(f"latent {latent} of block {layer} at position {pos} is not a node of this graph")
        return int(match[0, 0])


@dataclass(frozen=True)
class GraphPruning:
    """Which nodes and edges of a graph matter, and how much of the logits the graph explains."""

    node_threshold: float
    edge_threshold: float
    node_mask: Bool[Tensor, " node"]
    edge_mask: Bool[Tensor, "node node"]
    """[target, source], as the adjacency."""
    influence: Float[Tensor, " node"]
    """Each node's influence on the logits (unpruned graph)."""
    cumulative: Float[Tensor, " node"]
    """Each node's rank as the share of total influence covered down to it (0 = most influential; circuit-tracer's
    `influence` field in its JSON)."""
    replacement_score: float
    completeness_score: float

    @property
    def n_nodes(self) -> int:
        return int(self.node_mask.sum())

    @property
    def n_edges(self) -> int:
        return int(self.edge_mask.sum())

    def kept(self) -> list[int]:
        """The nodes kept, most influential first."""
        nodes = self.node_mask.nonzero()[:, 0].tolist()
        return sorted(nodes, key=lambda n: float(self.cumulative[n]))


@dataclass(frozen=True)
class EdgeCheck:
    """Edges against interventions in the frozen model: every edge out of `n_sources` sources into every target."""

    n_sources: int
    n_edges: int
    max_abs_error: float
    """The largest |edge - effect of removing its source| over the edges checked."""
    max_abs_edge: float
    seconds: float


@dataclass(frozen=True)
class InterventionCheck:
    """Predicted against measured effects of scaling the graph's most influential latents."""

    target: str
    """The logit node whose change is measured."""
    factor: float
    """Each latent's activation is multiplied by this (0: ablated)."""
    frozen: bool
    """True: attention and normalisation frozen (the local replacement model); False: live."""
    nodes: tuple[str, ...]
    predicted: Floats
    actual: Floats
    correlation: float
    """Pearson correlation of predicted and actual."""
    seconds: float


@dataclass(frozen=True)
class GraphIntervention:
    """Latents of a graph scaled together in the replacement model: the graph's prediction and what happened."""

    target: str
    factor: float
    frozen: bool
    nodes: tuple[str, ...]
    predicted: float
    """Change of the target logit node the graph predicts (linear in the latents: the sum of their effects)."""
    actual: float


def save_graph(graph: AttributionGraph, folder: str | Path) -> Path:
    """Write `graph.json` (everything but the tensors) and `graph.safetensors` into `folder`."""
    return save_folder(graph, folder, GRAPH)


def load_graph(folder: str | Path) -> AttributionGraph:
    """Read what `save_graph` wrote (safetensors and JSON only: nothing is unpickled)."""
    return load_folder(AttributionGraph, folder, GRAPH, what="attribution graph")
