"""Figures of model comparisons (interp.results.compare), built from the results alone."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.results import LayerSimilarity, RoleComparison

__all__ = ["plot_layer_similarity", "plot_roles"]


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
    fig.update_layout(
        title=f"Linear CKA between layers, on {result.n_tokens:,} tokens (with the tokens shuffled: at most "
        f"{result.largest_chance():.3f})",
        height=520,
    )
    return fig


def plot_roles(result: RoleComparison) -> go.Figure:
    """One panel per role: each model's heads in it, at their relative depth (x) and score (y)."""
    fig = make_subplots(rows=1, cols=len(result.roles), subplot_titles=list(result.roles), shared_xaxes=True)
    for col, role in enumerate(result.roles, 1):
        # A filled, B an open diamond drawn over it: a head both models have in the same place shows both marks
        markers = ({"color": "#1f77b4", "size": 9}, {"color": "#d62728", "size": 14, "symbol": "diamond-open",
                                                        "line": {"width": 2}})  # fmt: skip
        for side, name, marker in zip(result.side(role), (result.model_a, result.model_b), markers):
            fig.add_scatter(
                x=list(side.depths), y=list(side.scores), text=list(side.heads), mode="markers", name=name,
                marker=marker, legendgroup=name, showlegend=col == 1, row=1, col=col,
                hovertemplate=f"{name} %{{text}}: %{{y:.3f}} at depth %{{x:.2f}}<extra></extra>",
            )  # fmt: skip
        fig.update_xaxes(range=[-0.05, 1.05], title="layer / (layers - 1)", row=1, col=col)
        if role != "ioi":  # attention roles are mean attention weights
            fig.update_yaxes(range=[0, 1.02], row=1, col=col)
    fig.update_layout(
        title=f"Head roles: {result.model_a} and {result.model_b} (attention roles at >= {result.threshold}; "
        f"ioi: the {result.ioi_top} heads with the largest patching effect)",
        height=420,
    )
    return fig
