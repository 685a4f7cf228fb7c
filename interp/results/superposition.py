"""Results of the superposition analyses: toy models, the phase diagram, the dimensionality sweep, SAE
recovery of known features, and decoder geometry. Matrices are nested tuples with their axes named in the
field docstrings."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "PHASES",
    "DecoderGeometryResult",
    "DimensionalitySweepResult",
    "PhaseDiagramResult",
    "RecoveryResult",
    "ToyModelResult",
]

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
