"""Results about a model itself: its facts, its behaviour on a task, its heads, one prompt's reading."""

from __future__ import annotations

from dataclasses import dataclass

from interp.results.io import Floats, Floats2, Floats3

__all__ = ["AttentionPatterns", "HeadScores", "ModelFacts", "NextTokens", "TaskMetrics"]


@dataclass(frozen=True)
class ModelFacts:
    """What `interp info` prints: the shape of a model and where it runs."""

    name: str
    n_layers: int
    n_heads: int
    d_model: int
    d_head: int
    d_mlp: int | None
    d_vocab: int
    n_ctx: int
    attn_only: bool
    n_params: int
    device: str
    dtype: str
    sites: tuple[str, ...]
    n_kv_heads: int = 0
    """Key/value heads per layer: fewer than n_heads under grouped-query attention (0 in results saved before
    this field existed)."""
    weights: str = ""
    """Where the weights came from, e.g. dequantized from which GGUF file and quantization types."""


@dataclass(frozen=True)
class TaskMetrics:
    """A model's behaviour on a task's clean and corrupted prompts (the `interp task` result)."""

    model: str
    task: str
    n_prompts: int
    prompts: tuple[str, ...]
    """Clean prompts as text, one per row of the per-prompt fields."""
    clean_logit_diff: Floats
    """Answer minus wrong logit at the metric position, per clean prompt."""
    corrupted_logit_diff: Floats
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
    scores: Floats3
    """score x layer x head, each the mean attention weight on the score's target position."""
    n_prompts: int
    seq_len: int

    def score(self, name: str) -> Floats2:
        return self.scores[self.score_names.index(name)]

    def top_heads(self, name: str, k: int = 3) -> list[tuple[str, float]]:
        """The `k` heads with the highest `name` score, as (label, score)."""
        flat = [(f"L{layer}H{h}", v) for layer, row in enumerate(self.score(name)) for h, v in enumerate(row)]
        return sorted(flat, key=lambda x: -x[1])[:k]


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
    top_probs: Floats2
    """pos x k: their probabilities."""


@dataclass(frozen=True)
class AttentionPatterns:
    """Every head's attention on one prompt; `pattern[layer][head][query][key]` (rows sum to 1)."""

    model: str
    prompt: str
    tokens: tuple[str, ...]
    pattern: tuple[Floats3, ...]
