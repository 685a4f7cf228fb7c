"""Figures of an SAE job: its evaluation and its training log."""

from __future__ import annotations

import itertools
import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.results import (
    SAEEvalResult,
    TrainingLog,
)

__all__ = ["plot_sae_eval", "plot_training_log"]


def plot_sae_eval(result: SAEEvalResult) -> go.Figure:
    """Feature-density histogram (log10 firing frequency of the live latents), with the headline metrics."""
    edges = result.density_log10_edges
    centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    fig = go.Figure(
        go.Bar(x=centres, y=result.density_counts, width=edges[1] - edges[0], marker_color="#4c78a8", name="latents")
    )
    fig.add_vline(x=math.log10(result.dense_threshold), line={"dash": "dot", "color": "grey"}, annotation_text="dense")
    fig.update_xaxes(title="log10 firing frequency")
    fig.update_yaxes(title="latents")
    fig.update_layout(
        title=(
            f"{result.d_sae}-latent SAE at {result.hook} of {result.model}, {result.n_tokens} tokens<br>"
            f"L0 {result.l0:.1f}, explained variance {result.explained_variance:.3f}, CE loss recovered "
            f"{result.ce_loss_recovered:.3f} (SAELens's; consistent {result.ce_loss_recovered_consistent:.3f}), "
            f"KL {result.kl:.4f}, dead {result.dead_fraction:.1%}, dense "
            f"{result.dense_fraction:.1%}"
        ),
        height=460,
        bargap=0,
    )
    return fig


def plot_training_log(result: TrainingLog) -> go.Figure:
    """Loss, L0 and explained variance of the training batches against tokens trained."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=("loss", "L0", "explained variance"))
    for col, values in enumerate((result.loss, result.l0, result.explained_variance), 1):
        fig.add_trace(go.Scatter(x=result.tokens, y=values, mode="lines", showlegend=False), row=1, col=col)
        fig.update_xaxes(title="tokens", row=1, col=col)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_layout(title=f"{result.name} on {result.hook} of {result.model}", height=400)
    return fig
