"""Figures of the SAE and superposition results (layer 5), built only from results, one module per subject.

from sae.plots import plot_feature_dashboard
"""

from sae.plots.features import plot_feature_dashboard, plot_feature_dla, plot_feature_intervention, plot_prompt_features
from sae.plots.superposition import (
    plot_decoder_geometry,
    plot_dimensionality_sweep,
    plot_phase_diagram,
    plot_recovery,
    plot_toy_geometry,
    plot_toy_interference,
)
from sae.plots.training import plot_sae_eval, plot_training_log

__all__ = [
    "plot_decoder_geometry",
    "plot_dimensionality_sweep",
    "plot_feature_dashboard",
    "plot_feature_dla",
    "plot_feature_intervention",
    "plot_phase_diagram",
    "plot_prompt_features",
    "plot_recovery",
    "plot_sae_eval",
    "plot_toy_geometry",
    "plot_toy_interference",
    "plot_training_log",
]
