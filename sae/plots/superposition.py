"""Figures of superposition: toy models, phase diagrams, dimensionality, recovery of known features, decoders."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.results import (
    DecoderGeometryResult,
    DimensionalitySweepResult,
    PhaseDiagramResult,
    RecoveryResult,
    ToyModelResult,
)

__all__ = [
    "plot_decoder_geometry",
    "plot_dimensionality_sweep",
    "plot_phase_diagram",
    "plot_recovery",
    "plot_toy_geometry",
    "plot_toy_interference",
]

PHASE_COLOURS = ("#d9d9d9", "#4c78a8", "#e45756")


def plot_toy_geometry(result: ToyModelResult) -> go.Figure:
    """Each feature's vector W_i drawn from the origin (d_hidden = 2); for d_hidden = 3 in 3-D; for
    larger d_hidden, the first two hidden dimensions. Colour = dimensionality."""
    W, n = result.W, result.n_features
    fig = go.Figure()
    three = result.d_hidden == 3
    for i in range(n):
        xs, ys = [0, W[0][i]], [0, W[1][i] if result.d_hidden > 1 else 0]
        text = f"feature {i}<br>norm {result.norms[i]:.3f}<br>D {result.dimensionality[i]:.3f}"
        if three:
            fig.add_trace(
                go.Scatter3d(
                    x=xs, y=ys, z=[0, W[2][i]], mode="lines+markers", name=f"f{i}", hovertext=text, hoverinfo="text"
                )
            )
        else:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=f"f{i}", hovertext=text, hoverinfo="text"))
    angles = f"; angles {', '.join(f'{a:.0f}°' for a in result.angles)}" if result.angles else ""
    fig.update_layout(
        title=(
            f"Toy model: {n} features in {result.d_hidden} dims, p = {result.feature_probability:g}<br>"
            f"{result.n_represented} represented{angles}"
        ),
        width=680,
        height=640,
    )
    if not three:
        # constrain="domain": in a wide column (the app stretches the figure) plotly keeps the 1:1 scale by narrowing
        # the plot, where by default it widened the x range to -2..2 around vectors of length 1
        fig.update_xaxes(title="hidden dim 0", range=[-1.3, 1.3], zeroline=True, constrain="domain")
        fig.update_yaxes(title="hidden dim 1", range=[-1.3, 1.3], scaleanchor="x", scaleratio=1, constrain="domain")
    return fig


def plot_toy_interference(result: ToyModelResult) -> go.Figure:
    """W^T W (feature x feature), with each feature's norm, dimensionality and bias beside it."""
    labels = [f"f{i}" for i in range(result.n_features)]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], subplot_titles=("W^T W", "per feature"))
    fig.add_trace(
        go.Heatmap(
            z=result.interference,
            x=labels,
            y=labels,
            zmid=0,
            colorscale="RdBu",
            reversescale=True,
            colorbar={"x": 0.54, "len": 0.9},
        ),
        row=1,
        col=1,
    )
    for name, values in (("norm", result.norms), ("dimensionality", result.dimensionality), ("bias", result.b)):
        fig.add_trace(go.Bar(x=labels, y=values, name=name), row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_layout(
        title=f"Interference and per-feature statistics (loss {result.loss:.4g})",
        barmode="group",
        height=480,
        legend={"orientation": "h", "x": 0.62, "y": -0.12},
    )
    return fig


def plot_phase_diagram(result: PhaseDiagramResult) -> go.Figure:
    """Phase per cell: the extra feature not represented, given a dedicated dimension, or in superposition."""
    n = len(result.phases)
    scale = [c for k in range(n) for c in ([k / n, PHASE_COLOURS[k]], [(k + 1) / n, PHASE_COLOURS[k]])]
    text = [[result.phases[v] for v in row] for row in result.phase]
    fig = go.Figure(
        go.Heatmap(
            z=result.phase,
            x=list(result.densities),
            y=list(result.importances),
            zmin=-0.5,
            zmax=n - 0.5,
            colorscale=scale,
            text=text,
            customdata=result.norm_extra,
            hovertemplate="density %{x:.3g}, importance %{y:.3g}<br>%{text}<br>||W_extra|| "
            "%{customdata:.2f}<extra></extra>",
            colorbar={"tickvals": list(range(n)), "ticktext": list(result.phases)},
        )
    )
    fig.update_xaxes(type="log", title="feature density (probability non-zero)")
    fig.update_yaxes(type="log", title="relative importance of the extra feature")
    fig.update_layout(title="Phase diagram: 2 features in 1 hidden dimension", width=720, height=560)
    return fig


def plot_dimensionality_sweep(result: DimensionalitySweepResult) -> go.Figure:
    """Dimensions per feature (d_hidden / ||W||_F^2) against 1 / density, with every feature's D_i as dots."""
    inv = [1 / d for d in result.densities]
    fig = go.Figure()
    xs = [x for x, dims in zip(inv, result.dimensionality) for _ in dims]
    ys = [v for dims in result.dimensionality for v in dims]
    fig.add_trace(
        go.Scatter(x=xs, y=ys, mode="markers", marker={"size": 4, "opacity": 0.3}, name="feature dimensionality D_i")
    )
    fig.add_trace(
        go.Scatter(x=inv, y=result.dimensions_per_feature, mode="lines+markers", name="dimensions per feature")
    )
    for frac in (1, 3 / 4, 2 / 3, 1 / 2, 2 / 5, 1 / 3):
        fig.add_hline(y=frac, line={"width": 1, "dash": "dot", "color": "grey"})
    fig.update_xaxes(type="log", title="1 / feature density")
    fig.update_yaxes(title="dimensions", range=[0, 1.1])
    fig.update_layout(title=f"Dimensionality: {result.n_features} features in {result.d_hidden} dims", height=520)
    return fig


def plot_recovery(result: RecoveryResult) -> go.Figure:
    """MMCS and the fraction of true features recovered (cosine > 0.9) against SAE width, one line per sparsity."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("mean max cosine similarity", "fraction recovered (cosine > 0.9)")
    )
    for sparsity in sorted(set(result.sparsity)):
        rows = [i for i, s in enumerate(result.sparsity) if s == sparsity]
        widths = [result.d_sae[i] for i in rows]
        for col, values in ((1, result.mmcs), (2, result.fraction_recovered)):
            fig.add_trace(
                go.Scatter(
                    x=widths,
                    y=[values[i] for i in rows],
                    mode="lines+markers",
                    name=f"sparsity {sparsity:g}",
                    legendgroup=str(sparsity),
                    showlegend=col == 1,
                    customdata=[[result.l0[i], result.explained_variance[i]] for i in rows],
                    hovertemplate="d_sae %{x}: %{y:.3f}<br>L0 %{customdata[0]:.1f}, explained variance "
                    "%{customdata[1]:.3f}",
                ),
                row=1,
                col=col,
            )
    fig.add_vline(x=result.n_features, line={"dash": "dot", "color": "grey"})
    fig.update_xaxes(type="log", title="SAE latents (dotted: true features)")
    fig.update_yaxes(range=[0, 1.05])
    fig.update_layout(
        title=f"{result.architecture} SAEs on a {result.source}: {result.n_features} true features in "
        f"{result.d_model} dims, "
        f"{result.active_per_sample:g} active",
        height=460,
    )
    return fig


def plot_decoder_geometry(result: DecoderGeometryResult) -> go.Figure:
    """Pairwise decoder cosines against random unit vectors (log counts), and the latents' dimensionality."""
    centres = [(a + b) / 2 for a, b in zip(result.bin_edges, result.bin_edges[1:])]
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("pairwise cosine of decoder directions", "dimensionality per latent")
    )
    fig.add_trace(go.Bar(x=centres, y=result.counts, name="SAE decoder", marker_color="#4c78a8"), row=1, col=1)
    fig.add_trace(
        go.Scatter(x=centres, y=result.random_counts, name="random unit vectors", line={"color": "#e45756"}),
        row=1,
        col=1,
    )
    fig.add_vline(x=result.duplicate_cosine, line={"dash": "dot", "color": "grey"}, row=1, col=1)
    fig.add_trace(go.Histogram(x=result.dimensionality, nbinsx=50, name="D_i", marker_color="#54a24b"), row=1, col=2)
    fig.update_yaxes(type="log", title="pairs", row=1, col=1)
    fig.update_xaxes(title="cosine", row=1, col=1)
    fig.update_xaxes(title=f"D_i (random baseline mean {result.random_mean_dimensionality:.3f})", row=1, col=2)
    fig.update_layout(
        title=f"{result.d_sae} latents in {result.d_in} dims: mean |cos| {result.mean_abs_cosine:.3f} "
        f"(random {result.random_mean_abs_cosine:.3f}); {result.n_duplicate_pairs} pairs above "
        f"{result.duplicate_cosine}",
        height=460,
        bargap=0,
    )
    return fig
