"""Results of reading mechanisms from the weights (interp.weights): composition between heads, what each head's
circuits do to tokens, MLP neurons as key-value memories, and token representations."""

from __future__ import annotations

import math
from dataclasses import dataclass

from interp.results.io import Floats, Floats2

__all__ = [
    "Composition",
    "CompositionScores",
    "HeadRoles",
    "LayerMemories",
    "NeuronMemory",
    "PositionalQK",
    "PrincipalDirections",
    "TokenNeighbours",
    "TokenTable",
]


@dataclass(frozen=True)
class Composition:
    """How much head `source`'s output feeds head `target`'s query, key or value (Elhage et al. 2021)."""

    source: str
    target: str
    kind: str
    """q, k or v."""
    score: float
    """||W_OV(source) W(target)||_F / (||W_OV(source)||_F ||W(target)||_F), W the target's QK (q), QK^T (k) or OV
    (v) circuit: 1 when the source writes exactly what the target reads, about `baseline` for random weights."""


@dataclass(frozen=True)
class CompositionScores:
    """Every Q-, K- and V-composition score between heads of different layers, and the random-weights baseline."""

    model: str
    heads: tuple[str, ...]
    """Every head, "L{layer}H{head}", layer-major."""
    kinds: tuple[str, ...]
    baselines: Floats
    """Per kind: the mean score of random Gaussian weights of the same shapes (the score expected of no
    composition at all); read a score as its excess over this."""
    records: tuple[Composition, ...]
    """Every (source, target, kind) with the source in an earlier layer, source-major."""
    seconds: float

    def baseline(self, kind: str) -> float:
        return self.baselines[self.kinds.index(kind)]

    def into(self, target: str, kind: str) -> list[Composition]:
        """The scores of `kind` into head `target`, highest first."""
        return sorted((r for r in self.records if r.target == target and r.kind == kind), key=lambda r: -r.score)

    def matrix(self, kind: str) -> Floats2:
        """[source head][target head] scores of `kind` in `heads` order; NaN where the target is not later."""
        index = {h: i for i, h in enumerate(self.heads)}
        rows = [[math.nan] * len(self.heads) for _ in self.heads]
        for r in self.records:
            if r.kind == kind:
                rows[index[r.source]][index[r.target]] = r.score
        return tuple(tuple(row) for row in rows)

    def top(self, kind: str, k: int = 10) -> list[Composition]:
        """The `k` highest scores of `kind`."""
        return sorted((r for r in self.records if r.kind == kind), key=lambda r: -r.score)[:k]


@dataclass(frozen=True)
class PositionalQK:
    """A head's attention score as a function of how far back the key is, from the weights alone."""

    model: str
    head: str
    offsets: tuple[int, ...]
    """0 = the query's own position, 1 = the previous token, ..."""
    scores: Floats
    """The score (after the model's 1/sqrt(d_head) scale) between a query and a key `offset` positions back,
    averaged over pairs of tokens of the vocabulary sample (and, for learned positions, over query positions)."""
    how: str
    """Which positional scheme was read (rotary: the rotation at each offset; learned: W_pos)."""


@dataclass(frozen=True)
class HeadRoles:
    """Per head, what its weights say it does: copying, attending to the previous token, induction."""

    model: str
    heads: tuple[str, ...]
    copying: Floats
    """sum(eigenvalues) / sum(|eigenvalues|) of the full OV circuit W_E W_V W_O W_U (Elhage et al.'s direct
    path): 1 for a head that copies every token it attends to, -1 for one that suppresses it."""
    copying_in_context: Floats
    """The same of E_L W_V W_O W_U, E_L the tokens as the head's layer reads them (`positions_read`)."""
    self_map: Floats
    """Fraction of the token sample whose own token is the one the OV circuit promotes most (among the sample),
    the tokens read as for `copying_in_context`."""
    previous_token: Floats
    """The softmax weight of offset 1 among offsets 0..max_offset of the head's positional QK profile
    (interp.weights.positional_qk), read against `positions_read`."""
    induction: Floats
    """max over earlier heads of K-composition excess x that head's previous-token weight, times this head's
    copying in context (0 where it does not copy): an induction head reads keys a previous-token head wrote,
    and copies."""
    n_tokens: int
    """Size of the token sample the vocabulary-level scores were computed on."""
    positions_read: str
    """What the weights were read against: each layer's input on a text sample, or the embedding."""

    def top(self, name: str, k: int = 5) -> list[tuple[str, float]]:
        values = getattr(self, name)
        return sorted(zip(self.heads, values), key=lambda x: -x[1])[:k]


@dataclass(frozen=True)
class TokenTable:
    """Rows of a circuit over tokens (never the whole d_vocab x d_vocab matrix): for each source token, the
    tokens with the highest entries of its row."""

    model: str
    circuit: str
    """e.g. "L1H0 OV" (which tokens a head promotes when it attends to the source), "L1H0 QK" (which key tokens
    a query token prefers), "L0 MLP neuron 3 through L1H0 OV"."""
    sources: tuple[str, ...]
    top_tokens: tuple[tuple[str, ...], ...]
    top_scores: Floats2


@dataclass(frozen=True)
class NeuronMemory:
    """An MLP neuron as a key-value memory (Geva et al. 2021): what its output weights promote through the
    unembedding, what its input weights read from the embedding, and where it fires on real text."""

    model: str
    layer: int
    neuron: int
    promoted: tuple[str, ...]
    promoted_scores: Floats
    suppressed: tuple[str, ...]
    suppressed_scores: Floats
    key_tokens: tuple[str, ...]
    """The tokens whose (normalised) embedding drives the neuron's input most (direct path only)."""
    key_scores: Floats
    contexts: tuple[str, ...]
    """The top activating contexts in the text sample, the firing token marked [[like this]]."""
    activations: Floats


@dataclass(frozen=True)
class LayerMemories:
    """What one MLP layer stores: its neurons with the largest value norms through the unembedding, and the
    tokens each promotes."""

    model: str
    layer: int
    neurons: tuple[int, ...]
    value_norms: Floats
    """||W_out[n] W_U||, the size of what neuron n writes into the logits per unit of activation."""
    promoted: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class TokenNeighbours:
    """Nearest neighbours (cosine similarity) of tokens in a representation: the embedding, or a residual site
    averaged over each token's occurrences in a text sample."""

    model: str
    site: str
    tokens: tuple[str, ...]
    neighbours: tuple[tuple[str, ...], ...]
    similarities: Floats2


@dataclass(frozen=True)
class PrincipalDirections:
    """The principal directions of a representation and the tokens at each end of each."""

    model: str
    site: str
    explained: Floats
    """Fraction of the variance along each direction."""
    positive: tuple[tuple[str, ...], ...]
    negative: tuple[tuple[str, ...], ...]
    n_points: int
