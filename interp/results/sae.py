"""Results of SAE work on a model: evaluation, feature dashboards, the features of a prompt, feature edits,
feature-level direct logit attribution, and training curves."""

from __future__ import annotations

from dataclasses import dataclass

from interp.results.io import Floats
from interp.vocab.choices import EditMode

__all__ = [
    "FeatureContext",
    "FeatureDLAResult",
    "FeatureDashboard",
    "FeatureIntervention",
    "PromptFeatures",
    "SAEEvalResult",
    "TrainingLog",
    "TranscoderEvalResult",
]


@dataclass(frozen=True)
class TranscoderEvalResult:
    """A model's transcoders evaluated together (`sae eval-transcoders` writes this as metrics.json)."""

    transcoders: str
    """Where they were loaded from."""
    model: str
    layers: tuple[int, ...]
    """The blocks whose MLPs have a transcoder."""
    n_tokens: int
    explained_variance: Floats
    """Per layer: 1 - E||y - y_hat||^2 / (E||y||^2 - ||E y||^2) of the MLP's output y on its own input."""
    l0: Floats
    """Per layer: mean number of active latents per token."""
    dead_fraction: Floats
    """Per layer: latents that never fired on these tokens."""
    ce_loss_clean: float
    ce_loss_replaced: float
    """Next-token cross-entropy with every MLP that has a transcoder replaced by it at once."""
    ce_loss_zero_ablation: float
    """The same with those MLPs' outputs set to zero."""
    ce_loss_recovered: float
    """(zero-ablated - replaced) / (zero-ablated - clean), SAELens's definition: the MLPs zeroed at every position,
    though the transcoders replace them only where they read (not BOS)."""
    kl: float
    """Mean per-token KL(clean || replaced)."""
    ce_loss_zero_ablation_at_transcoder_positions: float = float("nan")
    """Cross-entropy with those MLPs' outputs zeroed only where the transcoders replace them."""
    ce_loss_recovered_consistent: float = float("nan")
    """(zeroed there - replaced) / (zeroed there - clean): transcoders that output zeros score exactly 0. NaN in
    results written before it was measured."""


@dataclass(frozen=True)
class SAEEvalResult:
    """An SAE evaluated on a model's activations (`sae eval` writes this as metrics.json)."""

    sae: str
    """The SAE folder."""
    model: str
    hook: str
    d_in: int
    d_sae: int
    n_tokens: int
    """Activations (token positions) the metrics are averaged over."""
    l0: float
    """Mean number of non-zero latents per token."""
    mse: float
    """Mean over tokens of ||x - x_hat||^2 (summed over dimensions, as SAELens reports it)."""
    explained_variance: float
    """1 - E||x - x_hat||^2 / (E||x||^2 - ||E x||^2)."""
    ce_loss_clean: float
    """Next-token cross-entropy of the model as it is (mean over predictions)."""
    ce_loss_with_sae: float
    """The same with the SAE's reconstruction spliced in at the hook."""
    ce_loss_zero_ablation: float
    """The same with the hook's activations set to zero."""
    ce_loss_recovered: float
    """SAELens's definition, to compare with other tools: (zero-ablated - with SAE) / (zero-ablated - clean), the
    baseline zero-ablated at every position although the SAE is spliced in only at the positions it reads (not
    BOS): an SAE that outputs zeros scores above 0 on it (ce_loss_recovered_consistent does not)."""
    kl: float
    """Mean per-token KL(clean || with SAE) of the next-token distributions."""
    kl_zero_ablation: float
    dead_fraction: float
    """Latents that never fired on these tokens."""
    dense_fraction: float
    """Latents that fired on more than dense_threshold of the tokens."""
    dense_threshold: float
    density_log10_edges: tuple[float, ...]
    """Bin edges of log10(firing frequency), from -8 to 0."""
    density_counts: tuple[int, ...]
    """Latents per bin (dead latents are not in the histogram: log10 0 is undefined)."""
    interventions: tuple[str, ...] = ()
    """The runs' edits at the hook: the SAE's reconstruction spliced in, and the two zero ablations."""
    ce_loss_zero_ablation_at_sae_positions: float = float("nan")
    """Cross-entropy with the hook's activations set to zero only where the SAE is spliced in."""
    ce_loss_recovered_consistent: float = float("nan")
    """(zero-ablated at the SAE's positions - with SAE) / (that - clean): baseline and SAE at the same positions,
    so 1 = the SAE loses nothing and 0 = it is as bad as zeros, exactly. NaN in results written before it was
    measured (defaults keep their files readable)."""


@dataclass(frozen=True)
class FeatureContext:
    """One top-activating context of a feature: a window of tokens around where it fired."""

    prompt: int
    position: int
    activation: float
    tokens: tuple[str, ...]
    """The window: up to 8 tokens before the position and 2 after."""
    token_acts: tuple[float, ...]
    """The feature's activation on each token of the window (for highlighting)."""
    focus: int
    """The position's index in the window."""


@dataclass(frozen=True)
class FeatureDashboard:
    """One SAE feature over a set of tokens: where it fires most, how strongly, and what it writes."""

    feature: int
    hook: str
    n_tokens: int
    density: float
    """Fraction of tokens where the feature is non-zero."""
    max_activation: float
    contexts: tuple[FeatureContext, ...]
    """Top activating contexts, strongest first."""
    hist_edges: tuple[float, ...]
    hist_counts: tuple[int, ...]
    """Histogram of the feature's non-zero activations."""
    promoted: tuple[tuple[str, float], ...]
    """Tokens whose logits the decoder direction raises most (W_dec[f] @ W_U)."""
    suppressed: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class PromptFeatures:
    """The features firing on each token of one prompt."""

    hook: str
    tokens: tuple[str, ...]
    features: tuple[tuple[tuple[int, float], ...], ...]
    """Per token: (feature, activation) pairs, strongest first."""


@dataclass(frozen=True)
class FeatureIntervention:
    """The next-token distribution at a prompt's last position before and after editing one feature."""

    feature: int
    hook: str
    mode: EditMode
    """"ablate" (set to 0) or "steer" (set to value at every position)."""
    value: float
    intervention: str
    """The splice that made the edit, as run (interp.core.interventions.SpliceSAE)."""
    prompt: tuple[str, ...]
    top_before: tuple[tuple[str, float], ...]
    """(token, probability), most likely first."""
    top_after: tuple[tuple[str, float], ...]
    most_increased: tuple[tuple[str, float], ...]
    """(token, change in log-probability)."""
    most_decreased: tuple[tuple[str, float], ...]
    kl: float
    """KL(before || after)."""


@dataclass(frozen=True)
class FeatureDLAResult:
    """Direct logit attribution to logit(answer) - logit(wrong) by SAE feature (mean over prompts).

    all_features_total + sum(other.values()) + unembed_bias == logit_diff."""

    hook: str
    task: str
    features: tuple[int, ...]
    """The top_k features by |contribution|."""
    contributions: tuple[float, ...]
    all_features_total: float
    """Sum over every feature, listed or not."""
    other: dict[str, float]
    """"sae decoder bias", "sae error" (the residual the SAE does not reconstruct) and "later layers"."""
    unembed_bias: float
    logit_diff: float
    n_prompts: int


@dataclass(frozen=True)
class TrainingLog:
    """One SAE's training curve, read from its log.jsonl (one entry per logged step)."""

    name: str
    model: str
    hook: str
    tokens: tuple[int, ...]
    loss: tuple[float, ...]
    l0: tuple[float, ...]
    explained_variance: tuple[float, ...]
    """Of each logged training batch."""
