"""The attribution graph of one prompt: its nodes, the direct effects between them, and its file format.

Nodes are in circuit-tracer's order, so its pruning and scores read the same: the selected transcoder latents
(features), one error node per (block, position) in block-major order, one token node per position, and the
logit targets. `adjacency[target, source]` is the direct effect of the source on the target through the
prompt's frozen linear model (interp.graphs.replacement): a feature's edges are its activation times the
derivative along its decoder row, so the edges into a feature (or logit) plus its biases add up to its
pre-activation (or logit). Rows of errors and tokens are zero: nothing is attributed into them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from jaxtyping import Float, Int
from torch import Tensor

__all__ = ["GRAPH_JSON", "GRAPH_TENSORS", "AttributionGraph", "load_graph", "save_graph"]

GRAPH_JSON = "graph.json"
GRAPH_TENSORS = "graph.safetensors"
_TENSORS = ("features", "activations", "logit_probs", "logit_vectors", "adjacency")


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

    def node_index(self, layer: int, pos: int, latent: int) -> int:
        """The node of a feature, by (block, position, latent); a ValueError if it is not in the graph."""
        match = ((self.features == torch.tensor([layer, pos, latent])).all(-1)).nonzero()
        if len(match) == 0:
            raise ValueError(f"latent {latent} of block {layer} at position {pos} is not a node of this graph")
        return int(match[0, 0])


def save_graph(graph: AttributionGraph, folder: str | Path) -> Path:
    """Write `graph.json` (everything but the tensors) and `graph.safetensors` into `folder`."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: getattr(graph, k).contiguous() for k in _TENSORS}, str(folder / GRAPH_TENSORS))
    rest = {f.name: getattr(graph, f.name) for f in fields(graph) if f.name not in _TENSORS}
    (folder / GRAPH_JSON).write_text(json.dumps(rest, indent=1) + "\n")
    return folder


def load_graph(folder: str | Path) -> AttributionGraph:
    """Read what `save_graph` wrote (safetensors and JSON only: nothing is unpickled)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    for name in (GRAPH_JSON, GRAPH_TENSORS):
        if not (folder / name).is_file():
            raise ValueError(f"{folder} holds no attribution graph: {name} is missing")
    try:
        rest = json.loads((folder / GRAPH_JSON).read_text())
        tensors = load_file(str(folder / GRAPH_TENSORS))
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in rest.items()} | tensors
        return AttributionGraph(**values)
    except (json.JSONDecodeError, TypeError, KeyError, OSError) as err:
        raise ValueError(f"{folder} holds a damaged attribution graph: {err}") from err
