"""Results of edge-level circuit discovery (interp.edges): edge scores, circuits of edges, faithfulness curves,
and the scores of a method against a circuit known by construction."""

from __future__ import annotations

from dataclasses import dataclass

from interp.results.io import Floats, Floats2
from interp.vocab.choices import Ablation, Direction, EdgeMethod, MetricName

__all__ = ["EdgeCircuit", "EdgeScores", "FaithfulnessCurve", "KnownCircuitScore"]


@dataclass(frozen=True)
class EdgeScores:
    """Every edge of a model's graph with its score: the metric change when the edge alone carries the other run's
    value of its writer (exact), or a gradient estimate of that change (eap, eap-ig, eap-ig-activations)."""

    model: str
    task: str
    method: EdgeMethod
    steps: int
    """Integration steps of eap-ig and eap-ig-activations (1 for eap and exact)."""
    direction: Direction
    """denoise: base = corrupted, each edge carries the clean value; noise: base = clean, the edge is corrupted."""
    metric: MetricName
    edges: tuple[str, ...]
    """"WRITER -> READER", e.g. "L0H1 -> L1H0.k" (interp.edges.wiring names the nodes)."""
    scores: Floats
    """Per edge, the metric change (in the metric's units, mean over prompts), summed over positions."""
    clean: float
    """The metric on the clean prompts (mean)."""
    corrupted: float
    n_prompts: int
    seconds: float
    passes: str
    """What the scores cost, e.g. "2 forward + 1 backward" or "1 patched run per edge (6,204 rows)"."""
    positions: tuple[str, ...] = ()
    """With scores by position: the position labels ("3 Mary*": position, token, * where it varies)."""
    by_position: Floats2 = ()
    """With scores by position: [edge][position], summing to `scores`; empty otherwise."""

    def top(self, k: int = 10) -> list[tuple[str, float]]:
        """The `k` edges with the largest |score|."""
        return sorted(zip(self.edges, self.scores), key=lambda x: -abs(x[1]))[:k]


@dataclass(frozen=True)
class EdgeCircuit:
    """A circuit of edges: every edge kept carries the run's own value; every other one is ablated."""

    model: str
    task: str
    edges: tuple[str, ...]
    """The circuit's edges, each connected to the embeddings and to the logits through the circuit."""
    scores: Floats
    """The score each edge was chosen by (same order)."""
    n_edges_total: int
    """Edges of the model's whole graph."""
    source: str
    """How it was chosen, e.g. "top 30 of eap-ig (denoise, logit_diff), pruned to paths to the logits"."""

    @property
    def fraction(self) -> float:
        return len(self.edges) / self.n_edges_total


@dataclass(frozen=True)
class FaithfulnessCurve:
    """Faithfulness over circuit sizes, as the MIB benchmark defines it (Mueller et al., 2025).

    f(C) = (m(C) - m(empty)) / (m(full) - m(empty)), where m(C) is the metric with every edge outside C ablated.
    CPR is the area under f over the fraction of edges kept (0 to 1, trapezoids; higher is better); CMD is the area
    between f and 1, the integral of |1 - f| (lower is better).
    """

    model: str
    task: str
    source: str
    """The ranking the circuits were cut from, e.g. "eap-ig (denoise, 5 steps)"."""
    ablation: Ablation
    metric: MetricName
    sizes: tuple[int, ...]
    """Edges in each circuit, after pruning edges that reach neither the embeddings nor the logits."""
    fractions: Floats
    """sizes / n_edges_total."""
    metric_values: Floats
    """m(C) per size (mean over prompts)."""
    faithfulness: Floats
    full_metric: float
    empty_metric: float
    cpr: float
    cmd: float
    n_edges_total: int
    seconds: float


@dataclass(frozen=True)
class KnownCircuitScore:
    """How one method's edge ranking compares with the true edges of a model whose circuit is known by construction."""

    model: str
    method: str
    auroc: float
    """Area under the ROC curve of |score| separating the true edges from the rest (0.5 = chance)."""
    n_true: int
    n_edges: int
    true_in_top: int
    """True edges among the top len(true edges) by |score|."""
    cpr: float
    cmd: float
    pearson_with_exact: float
    """Pearson correlation of the scores with exact edge patching's, over every edge (1.0 for exact itself)."""
    seconds: float
