"""Figures of model comparisons (interp.results.compare), built from the results alone."""

from __future__ import annotations

import plotly.graph_objects as go

from interp.results import LayerSimilarity

__all__ = ["plot_layer_similarity"]


def plot_layer_similarity(result: LayerSimilarity) -> go.Figure:
    """Linear CKA between every layer of A (rows) and of B (columns), on a 0-1 scale."""
    fig = go.Figure(
        go.Heatmap(
            z=[list(row) for row in result.values], x=list(result.layers_b), y=list(result.layers_a),
            customdata=[list(row) for row in result.chance],
            zmin=0.0, zmax=1.0, colorscale="Viridis", colorbar={"title": "CKA"},
            hovertemplate=f"{result.model_a} %{{y}} vs {result.model_b} %{{x}}: %{{z:.3f}} "
            "(shuffled: %{customdata:.3f})<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title=result.model_a)
    fig.update_xaxes(title=result.model_b)
    top_chance = max(max(row) for row in result.chance)
    fig.update_layout(
        title=f"Linear CKA between layers, on {result.n_tokens:,} tokens (with the tokens shuffled: at most "
        f"{top_chance:.3f})",
        height=520,
    )
    return fig
