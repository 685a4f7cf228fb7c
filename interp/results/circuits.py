"""Results of the circuit analyses: patching (activation, attribution, path), direct logit attribution,
the logit lens, and circuits with their faithfulness."""

from __future__ import annotations

from dataclasses import dataclass

from interp.results.io import Floats, Floats2, Floats3
from interp.vocab.choices import Direction, Granularity, MetricName

__all__ = ["Agreement", "Circuit", "DLAResult", "Faithfulness", "HeadCircuit", "LogitLensResult", "PatchResult"]


@dataclass(frozen=True)
class Agreement:
    """How well attribution patching ranks what exact patching measures (over every patch)."""

    pearson: float
    spearman: float


@dataclass(frozen=True)
class PatchResult:
    """Patching over a site's axes; `raw[layer][...]` is the metric with that patch applied."""

    analysis: str
    """"activation_patching", "attribution_patching" or "path_patching"."""
    model: str
    task: str
    site: str
    """The patch site (interp.vocab.choices.PatchSite), or the paths patched ("z -> v of L3H0")."""
    direction: Direction
    method: str
    """"exact" (one forward pass per patch), "fast" (the same numbers, batched) or "attribution" (first order)."""
    metric: MetricName
    """Per-prompt metric at the metric position, averaged over prompts."""
    axes: tuple[str, ...]
    """Axis names in order, e.g. ("layer", "pos") or ("layer", "head", "pos"); ("layer", "kv_head") for k and v
    of a grouped-query model, whose k and v patches are key/value heads shared by several query heads."""
    labels: dict[str, tuple[str, ...]]
    """Axis name -> labels ("0", "1", ...; "H0", ...; "KV1 (H2-H3)": a key/value head and the query heads
    that read it; "3 Mary*": position, token, * if it varies)."""
    raw: Floats2 | Floats3
    """Nested by `axes`: the metric with each patch applied."""
    normalized: Floats2 | Floats3
    """(raw - corrupted) / (clean - corrupted): 1 = clean behaviour, 0 = corrupted."""
    clean: float
    corrupted: float
    n_prompts: int
    seconds: float
    intervention: str = ""
    """What one patch does (interp.core.interventions), and where ("" in files saved before it was recorded)."""
    agreement: Agreement | None = None
    """For attribution patching compared with exact patching."""


@dataclass(frozen=True)
class DLAResult:
    """Direct logit attribution to logit(answer) - logit(wrong) at the metric position (mean over prompts).

    sum(contributions) + sum(other.values()) + unembed_bias == logit_diff.
    """

    model: str
    task: str
    granularity: Granularity
    labels: tuple[str, ...]
    """One per itemised part: "embed", "0_attn_out", ...; "L0H3"; "L1N17"."""
    contributions: Floats
    other: dict[str, float]
    """Parts not itemised at this granularity (embeddings, other blocks, bias terms) -> contribution."""
    unembed_bias: float
    logit_diff: float
    """The model's own mean logit difference on the clean prompts."""
    n_prompts: int

    def top(self, k: int = 10) -> list[tuple[str, float]]:
        """The `k` itemised parts with the largest absolute contribution."""
        return sorted(zip(self.labels, self.contributions), key=lambda x: -abs(x[1]))[:k]


@dataclass(frozen=True)
class LogitLensResult:
    """The answer after each layer, read through the final LayerNorm and unembedding."""

    model: str
    task: str
    layers: tuple[str, ...]
    """"embed", then "L0" ... (the residual after each layer)."""
    answer_logit: Floats
    answer_prob: Floats
    answer_rank: Floats
    """Mean number of tokens ranked above the answer (0 = top-1)."""
    top_tokens: tuple[tuple[str, ...], ...]
    """Top tokens of the first prompt, per layer."""
    n_prompts: int


@dataclass(frozen=True)
class Circuit:
    """Nodes "L{layer}H{head}" and "MLP{layer}", edges (source, target) including to "logits"."""

    model: str
    task: str
    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    scores: dict[str, float | None]
    """Node -> the score it was chosen by (normalised patching effect); MLPs kept whole have None."""
    source: str
    """What it was built from, e.g. "exact activation_patching of z (denoise)"."""

    def heads(self) -> list[str]:
        return [n for n in self.nodes if "H" in n]


@dataclass(frozen=True)
class Faithfulness:
    """The task metric with everything outside a circuit ablated, against the full model's."""

    circuit_metric: float
    """Metric with everything outside the circuit mean-ablated."""
    full_metric: float
    """The full model's metric on the same prompts."""
    ablated_metric: float
    """Metric with every head and MLP mean-ablated (the floor)."""
    faithfulness: float
    """circuit_metric / full_metric."""
    n_heads: int
    n_heads_total: int
    interventions: tuple[str, ...] = ()
    """The circuit run's ablations, one "hook: intervention" per hook touched."""


@dataclass(frozen=True)
class HeadCircuit:
    """A circuit of the heads that matter most in head patching: the patching, the circuit, its faithfulness."""

    patching: PatchResult
    circuit: Circuit
    faithfulness: Faithfulness
