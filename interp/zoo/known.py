"""Known circuits of zoo models: the edges through which a task's clean/corrupted difference flows.

For the hand-made models (kc-induction, kc-lookup) the edges hold by construction; for induction-2l they
come from its design and the heads its card names, still to be checked by exact edge patching. Each edge is
listed with why it is in the circuit, and the mechanism's edges left out of it with why they carry no
difference, so that the card (interp.training.card) explains the set it ships in card.json's "true_edges".

Edges are "WRITER -> READER" in the edge graph's vocabulary: writers are "embed" (token and positional
embeddings together), "L{l}H{h}" (a head's output) and "MLP{l}"; readers are "L{l}H{h}.q", ".k", ".v",
"MLP{l}" (its input) and "logits".
"""

from __future__ import annotations

from dataclasses import dataclass

from interp.vocab.choices import TaskName

__all__ = ["KNOWN_CIRCUITS", "EdgeGroup", "KnownCircuit", "circuit_section"]


@dataclass(frozen=True)
class EdgeGroup:
    """Edges that are in (or out of) a circuit for one reason."""

    edges: tuple[str, ...]
    """"WRITER -> READER" strings."""
    why: str
    """The reason, one sentence or two."""

    def __post_init__(self) -> None:
        for edge in self.edges:
            writer, _, reader = edge.partition(" -> ")
            if not writer or not reader or " " in writer or " " in reader:
                raise ValueError(f"an edge is written 'WRITER -> READER'; got {edge!r}")


@dataclass(frozen=True)
class KnownCircuit:
    """A zoo model's circuit for one task."""

    task: TaskName
    """The built-in task whose clean/corrupted difference the edges carry."""
    heading: str
    """The card's section heading."""
    summary: str
    """Where the edges come from and how they are (to be) checked."""
    true: tuple[EdgeGroup, ...]
    """The edges the difference flows through."""
    left_out: tuple[EdgeGroup, ...]
    """Edges of the mechanism that carry no difference (or are not claimed), with why."""

    @property
    def true_edges(self) -> tuple[str, ...]:
        return tuple(e for group in self.true for e in group.edges)


def _heads(layer: int, heads: tuple[int, ...], suffix: str = "") -> tuple[str, ...]:
    return tuple(f"L{layer}H{h}{suffix}" for h in heads)


_PREV, _IND = (0, 1, 3), (0, 1, 2, 3)  # induction-2l's card: previous-token heads L0H1, L0H0, L0H3; induction all of L1

KNOWN_CIRCUITS: dict[str, KnownCircuit] = {
    "kc-induction": KnownCircuit(
        task="induction-resample",
        heading="Known circuit",
        summary=(
            "By construction, for the `induction-resample` task (clean and corrupted prompts share every position "
            "and no token): the difference enters through the token embeddings and reaches the logits only "
            "through these edges. Every other edge that reaches the logits passes through a distractor head, "
            "whose small random writes into the output subspace give it a small, non-zero effect."
        ),
        true=(
            EdgeGroup(("embed -> L0H0.v",), "the previous-token head's value copies the token subspace"),
            EdgeGroup(
                ("L0H0 -> L1H0.k",),
                "the induction head's key reads only the previous-token subspace, which only L0H0 writes",
            ),
            EdgeGroup(("embed -> L1H0.q",), "the induction head's query is the current token, A_{L-2} or B_{L-2}"),
            EdgeGroup(("embed -> L1H0.v",), "the induction head's value copies the attended token, A_{L-1}"),
            EdgeGroup(("L1H0 -> logits",), "the unembedding reads only the output subspace, written by L1H0"),
        ),
        left_out=(
            EdgeGroup(
                ("embed -> L0H0.q", "embed -> L0H0.k"),
                "positional only: L0H0's query and key read the position subspace, and clean and corrupted "
                "prompts share positions, so these carry no difference",
            ),
            EdgeGroup(
                ("embed -> L1H0.k", "embed -> logits"),
                "zero weight: the induction head's key reads only the previous-token subspace and the unembedding "
                "only the output subspace, which the embeddings do not write",
            ),
            EdgeGroup(
                ("L0H0 -> L1H0.q", "L0H0 -> L1H0.v", "L0H0 -> logits"),
                "zero weight: L0H0 writes only the previous-token subspace, which these do not read",
            ),
        ),
    ),
    "kc-lookup": KnownCircuit(
        task="lookup",
        heading="Known circuit",
        summary=(
            "By construction, for the `lookup` task (clean and corrupted prompts differ only in the key at "
            "position 1): the difference enters through the key's token embedding and reaches the logits only "
            "through these edges. Every other edge that reaches the logits passes through a distractor (the other "
            "heads and MLP1), whose small random writes into the output subspace give it a small, non-zero effect."
        ),
        true=(
            EdgeGroup(("embed -> MLP0",), "MLP0's neuron for key x reads x's token coordinate and fires only on x"),
            EdgeGroup(("MLP0 -> L1H0.v",), "MLP0 writes g(x) into the mapped subspace, which L1H0's value reads"),
            EdgeGroup(("L1H0 -> logits",), "L1H0 writes g(x) into the output subspace, the only one the logits read"),
        ),
        left_out=(
            EdgeGroup(
                ("embed -> L1H0.q",),
                "constant: the query reads a direction every position's embedding holds, the same in clean and "
                "corrupted prompts",
            ),
            EdgeGroup(
                ("embed -> L1H0.k",),
                "positional only: the key reads position 1's coordinate, shared by clean and corrupted prompts",
            ),
            EdgeGroup(
                ("embed -> L1H0.v", "embed -> logits", "MLP0 -> L1H0.q", "MLP0 -> L1H0.k", "MLP0 -> logits"),
                "zero weight: L1H0's value reads only the mapped subspace and the unembedding only the output "
                "subspace, which the embeddings do not write; MLP0 writes only the mapped subspace, which L1H0's "
                "query and key and the unembedding do not read",
            ),
        ),
    ),
    "induction-2l": KnownCircuit(
        task="induction-resample",
        heading="Known circuit (from the design and the card)",
        summary=(
            "For the `induction-resample` task (clean and corrupted prompts share positions and no token), from "
            "the model's design (a previous-token head feeds induction heads through their keys) and the heads "
            "this card names: previous-token heads L0H1, L0H0, L0H3; induction heads L1H0-L1H3. Unlike the "
            "hand-made models' circuits these edges are not known by construction: they are a claim, to be "
            "checked by exact edge patching (one patched run per edge)."
        ),
        true=(
            EdgeGroup(
                tuple(f"embed -> {h}" for h in _heads(0, _PREV, ".v")),
                "the previous-token heads' values copy the previous token",
            ),
            EdgeGroup(
                tuple(f"{w} -> {r}" for w in _heads(0, _PREV) for r in _heads(1, _IND, ".k")),
                "the induction heads' keys match on the previous token the previous-token heads wrote",
            ),
            EdgeGroup(
                tuple(f"embed -> {h}" for h in _heads(1, _IND, ".q")),
                "the induction heads' queries are the current token",
            ),
            EdgeGroup(
                tuple(f"embed -> {h}" for h in _heads(1, _IND, ".v")),
                "the induction heads' values copy the attended token, the answer",
            ),
            EdgeGroup(tuple(f"{h} -> logits" for h in _heads(1, _IND)), "the induction heads write the answer"),
        ),
        left_out=(
            EdgeGroup(
                tuple(f"embed -> {h}" for h in (*_heads(0, _PREV, ".q"), *_heads(0, _PREV, ".k"))),
                "the previous-token heads find the previous position by rotary position, shared by clean and "
                "corrupted prompts; the tokens these carry do differ (rotary positions leave only token "
                "embeddings in the residual stream), so a token-dependent pattern would show up here",
            ),
            EdgeGroup(
                tuple(f"{w} -> L1H{h}.{x}" for w in _heads(0, _PREV) for h in _IND for x in "qv"),
                "not part of the design: the previous token should matter to the induction heads through their "
                "keys only",
            ),
            EdgeGroup(
                (*(f"L0H2 -> {h}" for h in _heads(1, _IND, ".k")), *(f"{h} -> logits" for h in _heads(0, _PREV))),
                "L0H2 is not a previous-token head, and layer 0's direct effect on the logits is not part of "
                "the design",
            ),
        ),
    ),
}


def circuit_section(name: str) -> str:
    """The card's markdown section on `name`'s known circuit."""
    circuit = KNOWN_CIRCUITS[name]
    edges = lambda group: ", ".join(f"`{e}`" for e in group.edges)  # noqa: E731
    lines = [f"## {circuit.heading}", "", circuit.summary, "", f"True edges ({len(circuit.true_edges)}):"]
    lines += [f"- {edges(g)}: {g.why}." for g in circuit.true]
    lines += ["", "Edges of the mechanism not in the true set:"]
    lines += [f"- {edges(g)}: {g.why}." for g in circuit.left_out]
    return "\n".join(lines) + "\n"
