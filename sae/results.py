"""Typed results of the superposition analyses (toy models, SAE recovery, decoder geometry), saved and
loaded with `interp.results.save_json` / `load_json`. Matrices are nested tuples with their axes named
in the field docstrings."""

from __future__ import annotations

from dataclasses import dataclass

PHASES = ("not represented", "dedicated dimension", "superposition")
"""What a phase-diagram cell's extra feature does (index = the cell's value in `PhaseDiagramResult.phase`)."""


@dataclass(frozen=True)
class ToyModelResult:
    """One toy model of superposition: its weights and what they say (`sae toy` writes this)."""

    n_features: int
    d_hidden: int
    feature_probability: float
    """Probability that each feature is non-zero (1 - sparsity)."""
    importance: tuple[float, ...]
    """Per feature: importance_decay ** i."""
    importance_decay: float
    seed: int
    steps: int
    n_seeds: int
    """Instances trained from different initialisations; the one with the lowest loss is kept."""
    loss: float
    """Importance-weighted squared error per sample of the kept instance."""
    W: tuple[tuple[float, ...], ...]
    """[d_hidden][feature]: column i is feature i's direction in the hidden space."""
    b: tuple[float, ...]
    """[feature]: output bias."""
    norms: tuple[float, ...]
    """[feature]: ||W_i||."""
    dimensionality: tuple[float, ...]
    """[feature]: D_i = ||W_i||^2 / sum_j (W_i_hat . W_j)^2."""
    n_represented: int
    """Features with ||W_i|| > 0.5."""
    dimensions_per_feature: float
    """d_hidden / ||W||_F^2."""
    interference: tuple[tuple[float, ...], ...]
    """[feature][feature]: W^T W (the diagonal is ||W_i||^2)."""
    angles: tuple[float, ...]
    """d_hidden = 2 only: degrees between neighbouring represented features, going round; else empty."""
    kind: str = "toy_model"


@dataclass(frozen=True)
class PhaseDiagramResult:
    """Elhage et al.'s phase diagram: two features in one dimension, the second ("extra") feature's
    importance relative to the first against the features' density (probability of being non-zero)."""

    densities: tuple[float, ...]
    """Columns: feature probability, shared by both features."""
    importances: tuple[float, ...]
    """Rows: the extra feature's importance (the first feature's is 1)."""
    phase: tuple[tuple[int, ...], ...]
    """[importance][density]: index into `phases`."""
    norm_extra: tuple[tuple[float, ...], ...]
    """[importance][density]: ||W_extra||."""
    norm_first: tuple[tuple[float, ...], ...]
    """[importance][density]: ||W_first||."""
    steps: int
    n_seeds: int
    phases: tuple[str, ...] = PHASES
    kind: str = "phase_diagram"


@dataclass(frozen=True)
class DimensionalitySweepResult:
    """How many hidden dimensions each feature gets as features grow sparser (equal importance)."""

    n_features: int
    d_hidden: int
    densities: tuple[float, ...]
    """Feature probability of each trained model."""
    dimensions_per_feature: tuple[float, ...]
    """Per density: d_hidden / ||W||_F^2."""
    dimensionality: tuple[tuple[float, ...], ...]
    """[density][feature]: D_i."""
    n_represented: tuple[int, ...]
    """Per density: features with ||W_i|| > 0.5."""
    steps: int
    kind: str = "dimensionality_sweep"


@dataclass(frozen=True)
class RecoveryResult:
    """One row per trained SAE (the fields that are tuples run over those rows)."""

    source: str
    """"known dictionary" or "toy model"."""
    d_model: int
    n_features: int
    active_per_sample: float
    architecture: str
    d_sae: tuple[int, ...]
    sparsity: tuple[float, ...]
    mmcs: tuple[float, ...]
    """Mean over true features of the best cosine with any decoder direction."""
    fraction_recovered: tuple[float, ...]
    """True features whose best cosine exceeds 0.9."""
    l0: tuple[float, ...]
    """Mean active latents per sample on held-out data."""
    explained_variance: tuple[float, ...]
    seconds: tuple[float, ...]
    best_cosines: tuple[tuple[float, ...], ...]
    """[sae][true feature]: the best cosine of each true feature."""
    training_samples: int
    kind: str = "sae_recovery"


@dataclass(frozen=True)
class DecoderGeometryResult:
    """Superposition statistics of an SAE's decoder directions against random unit vectors (`sae geometry`)."""

    source: str
    """Where the decoder came from (an SAE folder)."""
    d_sae: int
    d_in: int
    bin_edges: tuple[float, ...]
    """201 edges from -1 to 1."""
    counts: tuple[int, ...]
    """Pairwise cosines between distinct decoder directions (each pair once), per bin."""
    random_counts: tuple[int, ...]
    """The same for d_sae random unit vectors in d_in dimensions."""
    mean_abs_cosine: float
    random_mean_abs_cosine: float
    mean_max_abs_cosine: float
    """Mean over latents of the largest |cosine| with any other latent."""
    random_mean_max_abs_cosine: float
    duplicate_cosine: float
    n_duplicate_pairs: int
    """Pairs whose cosine exceeds duplicate_cosine."""
    duplicates: tuple[tuple[int, int, float], ...]
    """Up to 100 such pairs, highest first: (latent i, latent j, cosine)."""
    dimensionality: tuple[float, ...]
    """[latent]: D_i = ||d_i||^2 / sum_j (d_i_hat . d_j)^2 over decoder directions d."""
    mean_dimensionality: float
    random_mean_dimensionality: float
    kind: str = "decoder_geometry"


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
    """(zero-ablated - with SAE) / (zero-ablated - clean): 1 = the SAE loses nothing."""
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
    kind: str = "sae_eval"


@dataclass(frozen=True)
class FeatureDashboard:
    """One SAE feature over a set of tokens: where it fires most, how strongly, and what it writes."""

    feature: int
    hook: str
    n_tokens: int
    density: float
    """Fraction of tokens where the feature is non-zero."""
    max_activation: float
    contexts: tuple[dict, ...]
    """Top activating contexts, strongest first: prompt, position, activation, tokens (a window around the
    position), token_acts (the feature's activation on each of those tokens), focus (the position's index
    in the window)."""
    hist_edges: tuple[float, ...]
    hist_counts: tuple[int, ...]
    """Histogram of the feature's non-zero activations."""
    promoted: tuple[tuple[str, float], ...]
    """Tokens whose logits the decoder direction raises most (W_dec[f] @ W_U)."""
    suppressed: tuple[tuple[str, float], ...]
    kind: str = "feature_dashboard"


@dataclass(frozen=True)
class PromptFeatures:
    """The features firing on each token of one prompt."""

    hook: str
    tokens: tuple[str, ...]
    features: tuple[tuple[tuple[int, float], ...], ...]
    """Per token: (feature, activation) pairs, strongest first."""
    kind: str = "prompt_features"


@dataclass(frozen=True)
class FeatureIntervention:
    """The next-token distribution at a prompt's last position before and after editing one feature."""

    feature: int
    hook: str
    mode: str
    """"ablate" (set to 0) or "steer" (set to value at every position)."""
    value: float
    prompt: tuple[str, ...]
    top_before: tuple[tuple[str, float], ...]
    """(token, probability), most likely first."""
    top_after: tuple[tuple[str, float], ...]
    most_increased: tuple[tuple[str, float], ...]
    """(token, change in log-probability)."""
    most_decreased: tuple[tuple[str, float], ...]
    kl: float
    """KL(before || after)."""
    kind: str = "feature_intervention"


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
    other: dict
    """"sae decoder bias", "sae error" (the residual the SAE does not reconstruct) and "later layers"."""
    unembed_bias: float
    logit_diff: float
    n_prompts: int
    kind: str = "feature_dla"


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
    kind: str = "training_log"
