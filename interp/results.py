"""Typed results with their axis labels, saved and loaded as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def to_json(result: object) -> str:
    """A result dataclass as indented JSON with its type name (tuples become lists)."""
    return json.dumps({"type": type(result).__name__, **asdict(result)}, indent=2) + "\n"


def save_json(result: object, path: str | Path) -> Path:
    """Write a result dataclass as `to_json` gives it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(result))
    return path


def load_json(cls: type[T], path: str | Path) -> T:
    """Read a result written by `save_json` back into `cls`."""
    data = json.loads(Path(path).read_text())
    if data.pop("type", cls.__name__) != cls.__name__:
        raise ValueError(f"{path} holds a {data.get('type')}, not a {cls.__name__}")
    names = {f.name for f in fields(cls)}
    return cls(**{k: _tuplify(v) for k, v in data.items() if k in names})


def nested_tuple(t, digits: int = 6) -> tuple:
    """A tensor (any number of dimensions) as nested tuples of floats rounded to `digits`: JSON-ready."""
    if t.ndim > 1:
        return tuple(nested_tuple(x, digits) for x in t)
    return tuple(round(float(v), digits) for v in t)


def _tuplify(value):
    if isinstance(value, dict):
        return {k: _tuplify(v) for k, v in value.items()}
    return tuple(_tuplify(v) for v in value) if isinstance(value, list) else value


@dataclass(frozen=True)
class TaskMetrics:
    """A model's behaviour on a task's clean and corrupted prompts (the `interp task` result)."""

    model: str
    task: str
    n_prompts: int
    prompts: tuple[str, ...]
    """Clean prompts as text, one per row of the per-prompt fields."""
    clean_logit_diff: tuple[float, ...]
    """Answer minus wrong logit at the metric position, per clean prompt."""
    corrupted_logit_diff: tuple[float, ...]
    clean_accuracy: float
    """Fraction of clean prompts whose top-1 next token is the answer."""
    corrupted_accuracy: float
    clean_answer_prob: float
    """Mean probability of the answer on clean prompts."""
    corrupted_answer_prob: float
    kl_corrupted_to_clean: float
    """Mean KL(clean || corrupted) of next-token distributions, nats."""

    @property
    def mean_clean_logit_diff(self) -> float:
        return sum(self.clean_logit_diff) / self.n_prompts

    @property
    def mean_corrupted_logit_diff(self) -> float:
        return sum(self.corrupted_logit_diff) / self.n_prompts


@dataclass(frozen=True)
class HeadScores:
    """Per-head attention scores on repeated random tokens; `scores[s][layer][head]`."""

    model: str
    score_names: tuple[str, ...]
    """"previous_token", "duplicate_token", "induction"."""
    layers: tuple[int, ...]
    heads: tuple[str, ...]
    """Head labels "L{layer}H{head}" in layer-major order (for flat views)."""
    scores: tuple[tuple[tuple[float, ...], ...], ...]
    """score x layer x head, each the mean attention weight on the score's target position."""
    n_prompts: int
    seq_len: int

    def score(self, name: str) -> tuple[tuple[float, ...], ...]:
        return self.scores[self.score_names.index(name)]

    def top_heads(self, name: str, k: int = 3) -> list[tuple[str, float]]:
        """The `k` heads with the highest `name` score, as (label, score)."""
        flat = [(f"L{l}H{h}", v) for l, row in enumerate(self.score(name)) for h, v in enumerate(row)]
        return sorted(flat, key=lambda x: -x[1])[:k]


@dataclass(frozen=True)
class ProbeResult:
    """A probe per layer at one site: test accuracy (or R^2) against a control task."""

    model: str
    task: str
    site: str
    """Site kind probed, e.g. "resid_post"."""
    hooks: tuple[str, ...]
    layers: tuple[int, ...]
    metric: str
    """"accuracy" (logistic probes) or "r2" (linear regression probes)."""
    accuracy: tuple[float, ...]
    """Held-out test score per layer."""
    train_accuracy: tuple[float, ...]
    control_accuracy: tuple[float, ...]
    """The same probe trained on control labels (see `control`)."""
    control: str
    """"token-type" (Hewitt & Liang: a random label per token type), "shuffled" (permuted labels,
    used when the probed rows hold too few token types) or "none"."""
    selectivity: tuple[float, ...]
    """accuracy - control_accuracy per layer."""
    chance: float
    """Majority-class rate on the test rows (0 for regression)."""
    n_train: int
    n_test: int
    label_names: tuple[str, ...] | None
    directions: tuple[tuple[tuple[float, ...], ...], ...]
    """layer x direction x d_model unit vectors (one direction for two classes, else one per class)."""
    test_prompts: tuple[int, ...]
    """Prompt indices held out for testing (the causal check runs on these)."""

    def direction_cosines(self) -> tuple[tuple[float, ...], ...]:
        """layer x layer cosine of the probe directions (mean over classes when there are several)."""
        import torch

        d = torch.tensor(self.directions)  # layer direction d_model
        return nested_tuple(torch.einsum("ird,jrd->ij", d, d) / d.shape[1])


@dataclass(frozen=True)
class CausalCheck:
    """What happens to the task and to the probed property when a probe direction is ablated or added."""

    model: str
    task: str
    hook: str
    mode: str
    """"ablate" (project the directions out) or "steer" (add alpha * direction)."""
    alpha: float
    """Steering strength in units of the mean activation norm at the probed positions."""
    metric_name: str
    metric_clean: float
    """Task metric without intervention, on the probe's test prompts."""
    metric_intervened: float
    metric_random: float
    """The same intervention along random directions of the same count (the baseline)."""
    downstream_hook: str | None
    """Where the probed property is read again (a later layer's probe), if anywhere."""
    downstream_accuracy_clean: float | None
    downstream_accuracy_intervened: float | None
    verdict: str
    """"changes the output" or "decodes but does not change the output"."""

    @property
    def effect(self) -> float:
        return self.metric_intervened - self.metric_clean

    @property
    def random_effect(self) -> float:
        return self.metric_random - self.metric_clean


@dataclass(frozen=True)
class PatchResult:
    """Activation patching over a site's axes; `raw[layer][...]` is the metric with that patch applied."""

    kind: str
    """"activation_patching"."""
    model: str
    task: str
    site: str
    direction: str
    """"denoise" (clean activations into the corrupted run) or "noise" (the reverse)."""
    method: str
    """"exact" (one forward pass per patch) or "fast" (batched; the same numbers)."""
    metric: str
    """Per-prompt metric at the metric position, averaged over prompts (e.g. "logit_diff")."""
    axes: tuple[str, ...]
    """Axis names in order, e.g. ("layer", "pos") or ("layer", "head", "pos")."""
    labels: dict
    """Axis name -> labels ("0", "1", ...; "H0", ...; "3 Mary*": position, token, * if it varies)."""
    raw: tuple
    """Nested by `axes`: the metric with each patch applied."""
    normalized: tuple
    """(raw - corrupted) / (clean - corrupted): 1 = clean behaviour, 0 = corrupted."""
    clean: float
    corrupted: float
    n_prompts: int
    seconds: float
    agreement: dict | None = None
    """For attribution patching compared with exact patching: {"pearson": r, "spearman": rho}."""


@dataclass(frozen=True)
class DLAResult:
    """Direct logit attribution to logit(answer) - logit(wrong) at the metric position (mean over prompts).

    sum(contributions) + sum(other.values()) + unembed_bias == logit_diff.
    """

    model: str
    task: str
    granularity: str
    """"component", "head" or "neuron"."""
    labels: tuple[str, ...]
    """One per itemised part: "embed", "0_attn_out", ...; "L0H3"; "L1N17"."""
    contributions: tuple[float, ...]
    other: dict
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
    answer_logit: tuple[float, ...]
    answer_prob: tuple[float, ...]
    answer_rank: tuple[float, ...]
    """Mean number of tokens ranked above the answer (0 = top-1)."""
    top_tokens: tuple[tuple[str, ...], ...]
    """Top tokens of the first prompt, per layer."""
    n_prompts: int


@dataclass(frozen=True)
class NextTokens:
    """A prompt's tokens and, after each position, the likeliest next tokens."""

    model: str
    prompt: str
    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    """The prompt's tokens as strings (BOS included when the model prepends one)."""
    top_tokens: tuple[tuple[str, ...], ...]
    """pos x k: the k likeliest next tokens after each position, best first."""
    top_probs: tuple[tuple[float, ...], ...]
    """pos x k: their probabilities."""


@dataclass(frozen=True)
class AttentionPatterns:
    """Every head's attention on one prompt; `pattern[layer][head][query][key]` (rows sum to 1)."""

    model: str
    prompt: str
    tokens: tuple[str, ...]
    pattern: tuple
