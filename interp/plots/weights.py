"""Figures of what the weights say (interp.results.weights), built from the results alone."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.results import CompositionScores, HeadRoles

__all__ = ["plot_composition", "plot_head_roles"]


def plot_composition(result: CompositionScores, *, threshold: float = 0.0) -> go.Figure:
    """One heatmap per kind (Q, K, V): source head (rows) x later target head (columns), the excess of each score
    over the random-weights baseline; excesses under `threshold` left blank."""
    fig = make_subplots(
        rows=1, cols=len(result.kinds), subplot_titles=[f"{k.upper()}-composition" for k in result.kinds]
    )
    for i, kind in enumerate(result.kinds, 1):
        base = result.baseline(kind)
        z = [[None if math.isnan(v) or v - base < threshold else v - base for v in row] for row in result.matrix(kind)]
        fig.add_heatmap(
            z=z, x=list(result.heads), y=list(result.heads), coloraxis="coloraxis", row=1, col=i,
            hovertemplate="%{y} -> %{x}: %{z:.3f} over the baseline<extra></extra>",
        )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        title=f"Composition between heads of {result.model} (score minus the random baseline "
        f"{', '.join(f'{k}: {b:.3f}' for k, b in zip(result.kinds, result.baselines))})",
        coloraxis={"colorscale": "Blues", "colorbar": {"title": "excess"}},
        height=520,
    )
    return fig


def plot_head_roles(result: HeadRoles) -> go.Figure:
    """Per head: copying (direct path and in context), previous-token weight and induction, as bars."""
    names = ("copying", "copying_in_context", "previous_token", "induction")
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, subplot_titles=names, vertical_spacing=0.06)
    for i, name in enumerate(names, 1):
        fig.add_bar(x=list(result.heads), y=list(getattr(result, name)), row=i, col=1, showlegend=False)
    fig.update_layout(
        title=f"Head roles of {result.model} from the weights (read against {result.positions_read})",
        height=220 * len(names),
    )
    return fig
