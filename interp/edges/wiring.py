"""The model's computational graph at the level of edges (writers -> readers of the residual stream).

Writers put a vector into the residual stream: "embed" (token and positional embeddings together), each head's
output "L{l}H{h}" (z @ W_O of that head; the output bias b_O is a constant, in no edge), and each MLP's output
"MLP{l}". Readers take their input from it: each head's query, key and value inputs "L{l}H{h}.q/.k/.v", each MLP's
input "MLP{l}", and the final norm's input "logits". An edge is a (writer, reader) pair that layer order allows: a
writer of an earlier layer into a head's input, an earlier writer or a head of the same layer into an MLP (not
with parallel attention and MLP), and every writer into the logits.

Grouped-query attention: the query heads of a group read one key and one value input, computed once per key/value
head; no per-query-head copy of it exists in the model. So a key/value head is one reader, "L{l}KV{g}.k" and
"L{l}KV{g}.v" (with g the key/value head, query heads g*r .. g*r+r-1 reading it, r = n_heads // n_kv_heads): an edge
into it changes the keys or values of its whole group, as in the model. Queries stay per query head.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

import torch
from torch import Tensor

from interp.core.locking import lock_free
from interp.core.patch_sites import n_kv_heads
from interp.vocab.types import Model

__all__ = ["EMBED", "LOGITS", "EdgeGraph", "Reader", "edge_graph"]

LOGITS = "logits"
EMBED = "embed"


@dataclass(frozen=True)
class Reader:
    """A reader of the residual stream."""

    name: str
    layer: int
    """Its block; n_layers for the logits."""
    kind: str
    """"q", "k", "v", "mlp" or "logits"."""
    head: int = -1
    """The query head (q), the key/value head (k, v), or -1."""


@dataclass(frozen=True)
class EdgeGraph:
    """Writers, readers, and which (writer, reader) pairs are edges, for one model."""

    writers: tuple[str, ...]
    readers: tuple[Reader, ...]
    allowed: Tensor
    """[writer, reader] bool: the pair is an edge."""
    n_layers: int
    n_heads: int
    n_kv_heads: int
    attn_only: bool

    @cached_property
    def pairs(self) -> tuple[Tensor, Tensor]:
        """(writer indices, reader indices) of every edge, in the order of `names`."""
        w, r = self.allowed.nonzero(as_tuple=True)
        return w, r

    @cached_property
    def names(self) -> tuple[str, ...]:
        w, r = self.pairs
        return tuple(f"{self.writers[i]} -> {self.readers[j].name}" for i, j in zip(w.tolist(), r.tolist()))

    @cached_property
    def index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    @property
    def n_edges(self) -> int:
        return len(self.names)

    @cached_property
    def writer_groups(self) -> tuple[tuple[int, int, int], ...]:
        """(first writer, end, first reader): runs of writers that feed the same readers, which (readers being listed
        in layer order) are every reader from the first on: the embeddings, each layer's heads, each MLP."""
        groups: list[tuple[int, int, int]] = []
        for i in range(len(self.writers)):
            if groups and torch.equal(self.allowed[i], self.allowed[groups[-1][0]]):
                groups[-1] = (groups[-1][0], i + 1, groups[-1][2])
            else:
                groups.append((i, i + 1, int(self.allowed[i].nonzero()[0])))
        return tuple(groups)

    def head_writers(self, layer: int) -> slice:
        """The writer indices of layer `layer`'s heads."""
        start = 1 + layer * (self.n_heads + (0 if self.attn_only else 1))
        return slice(start, start + self.n_heads)

    def mlp_writer(self, layer: int) -> int:
        return self.head_writers(layer).stop

    def readers_of(self, layer: int, kind: str) -> list[int]:
        """Reader indices of one kind in one layer, by head."""
        return [i for i, r in enumerate(self.readers) if r.layer == layer and r.kind == kind]

    def edge_indices(self, edges: list[str] | tuple[str, ...]) -> list[int]:
        """Indices of named edges; unknown names get an error listing what an edge looks like."""
        bad = [e for e in edges if _normal(e) not in self.index]
        if bad:
            raise ValueError(
                f"unknown edge(s) {bad[:5]}: edges are written 'WRITER -> READER' like '{self.names[0]}' or "
                f"'{self.names[-1]}' ({self.n_edges} edges in this model's graph)"
            )
        return [self.index[_normal(e)] for e in edges]


def _normal(edge: str) -> str:
    return re.sub(r"\s*->\s*", " -> ", edge.strip())


@lock_free("config only")
def edge_graph(model: Model) -> EdgeGraph:
    """The edge graph of `model` (see the module docstring)."""
    cfg = model.cfg
    parallel = bool(getattr(cfg, "parallel_attn_mlp", False))
    return _graph(cfg.n_layers, cfg.n_heads, n_kv_heads(model), bool(cfg.attn_only), parallel)


@lru_cache(maxsize=16)
def _graph(n_layers: int, n_heads: int, n_kv: int, attn_only: bool, parallel: bool) -> EdgeGraph:
    """One graph per shape, kept: naming SmolLM2's 70,651 edges took 14 ms of a 0.6 s EAP run. The graph is never
    changed after it is made (its tensors are read, not written, by every user)."""
    writers, stage = [EMBED], [(-1, 1)]  # (layer, 0 = attention / 1 = MLP): a writer feeds readers after it
    readers: list[Reader] = []
    reads_from: list[tuple[int, int]] = []  # a reader reads writers whose (layer, stage) is below this
    kv_name = "H" if n_kv == n_heads else "KV"
    for layer in range(n_layers):
        writers += [f"L{layer}H{h}" for h in range(n_heads)]
        stage += [(layer, 0)] * n_heads
        readers += [Reader(f"L{layer}H{h}.q", layer, "q", h) for h in range(n_heads)]
        for kind in ("k", "v"):
            readers += [Reader(f"L{layer}{kv_name}{g}.{kind}", layer, kind, g) for g in range(n_kv)]
        reads_from += [(layer, 0)] * (n_heads + 2 * n_kv)
        if not attn_only:
            writers.append(f"MLP{layer}")
            stage.append((layer, 1))
            readers.append(Reader(f"MLP{layer}", layer, "mlp"))
            reads_from.append((layer, 0) if parallel else (layer, 1))
    readers.append(Reader(LOGITS, n_layers, "logits"))
    reads_from.append((n_layers, 0))
    # (layer, stage) pairs compared as 2 * layer + stage, at once (a Python double loop took 40 ms on SmolLM2)
    order = torch.tensor([2 * layer + part for layer, part in stage])
    allowed = order[:, None] < torch.tensor([2 * layer + part for layer, part in reads_from])[None, :]
    return EdgeGraph(tuple(writers), tuple(readers), allowed, n_layers, n_heads, n_kv, attn_only)
