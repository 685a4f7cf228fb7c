"""Typed results of the superposition analyses, saved and loaded with `interp.results.save_json` /
`load_json`. Matrices are nested tuples with their axes named in the field docstrings."""

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
