"""Results of comparing two models (interp.compare): how alike their representations are, layer by layer, and
which heads play which role in each."""

from __future__ import annotations

from dataclasses import dataclass

from interp.results.io import Floats, Floats2

__all__ = ["LayerSimilarity", "RoleComparison", "RoleHeads"]


@dataclass(frozen=True)
class LayerSimilarity:
    """Linear CKA (Kornblith et al. 2019) between every layer of model A and every layer of model B, read on the
    same tokens: 1 for representations that differ only by a rotation, a uniform scale or a shift."""

    model_a: str
    model_b: str
    layers_a: tuple[str, ...]
    """A's layers (rows): "embed" (what the first block reads), then "L{i}" (the residual stream after block i)."""
    layers_b: tuple[str, ...]
    values: Floats2
    """[layer of A][layer of B] linear CKA, in [0, 1]."""
    n_tokens: int
    """Tokens both models read (every position of every row but the first: see interp.compare.cka)."""
    chance: Floats2
    """[layer of A][layer of B] the CKA the same two layers would score with B's tokens shuffled (expected over
    every pairing; interp.compare.chance_cka): read a value against its chance, which grows with fewer tokens and
    with representations spread over more directions."""

    def value(self, layer_a: str, layer_b: str) -> float:
        return self.values[self.layers_a.index(layer_a)][self.layers_b.index(layer_b)]

    def largest_chance(self) -> float:
        """The highest chance of any pair of layers: below it, no value says anything."""
        return max(max(row) for row in self.chance)

    def diagonal(self) -> tuple[float, ...]:
        """Layer i of A against layer i of B (models of the same depth)."""
        return tuple(self.values[i][i] for i in range(min(len(self.layers_a), len(self.layers_b))))

    def best_match(self) -> tuple[str, ...]:
        """For each layer of A, the layer of B most like it."""
        return tuple(self.layers_b[max(range(len(row)), key=row.__getitem__)] for row in self.values)


@dataclass(frozen=True)
class RoleHeads:
    """One model's heads in one role, strongest first."""

    role: str
    heads: tuple[str, ...]
    """"L{layer}H{head}"."""
    scores: Floats
    """The role's score of each head (interp.compare.role_match says which score each role reads)."""
    depths: Floats
    """Each head's layer as a fraction of the model's depth: layer / (n_layers - 1), 0 for a one-layer model; so
    models of different depths can be laid side by side."""


@dataclass(frozen=True)
class RoleComparison:
    """Which heads play which role in each of two models: head scores on repeated random tokens (previous-token,
    duplicate-token, induction) and the heads IOI depends on, read per model, so models of any tokenizer, width or
    depth compare (roles, not weights)."""

    model_a: str
    model_b: str
    roles: tuple[str, ...]
    a: tuple[RoleHeads, ...]
    """Per role of `roles`: model A's heads in it."""
    b: tuple[RoleHeads, ...]
    threshold: float
    """A head plays an attention role when its score (a mean attention weight, 0-1) reaches this."""
    ioi_top: int
    """The IOI role lists each model's heads with the largest effect, at most this many."""
    notes: tuple[str, ...]
    """Roles left out and why (a model without the IOI task's names), and a model that does not do IOI."""

    def side(self, role: str) -> tuple[RoleHeads, RoleHeads]:
        i = self.roles.index(role)
        return self.a[i], self.b[i]
