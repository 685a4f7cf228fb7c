"""Figures of probing: accuracy by layer against the control, selectivity, direction cosines, the causal check."""

from __future__ import annotations

import plotly.graph_objects as go

from interp.results import (
    CausalCheck,
    ProbeResult,
)

__all__ = ["plot_causal_check", "plot_probe_accuracy", "plot_probe_direction_cosines", "plot_probe_selectivity"]


def plot_probe_accuracy(result: ProbeResult) -> go.Figure:
    """Probe and control score per layer, with chance."""
    x = [f"L{layer}" for layer in result.layers]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=result.accuracy, mode="lines+markers", name=f"probe ({result.metric})"))
    if result.control_accuracy:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=result.control_accuracy,
                mode="lines+markers",
                name=f"control ({result.control})",
                line={"dash": "dash"},
            )
        )
    if result.metric == "accuracy":
        fig.add_hline(
            y=result.chance, line={"dash": "dot", "color": "grey"}, annotation_text=f"chance {result.chance:.2f}"
        )
    fig.update_layout(
        title=f"{result.task} probe on {result.model} at {result.site} ({result.n_test} test rows)",
        xaxis_title="layer",
        yaxis_title=result.metric,
        yaxis_range=[0, 1.05],
    )
    return fig


def plot_probe_selectivity(result: ProbeResult) -> go.Figure:
    """Probe score minus control score per layer."""
    fig = go.Figure(go.Bar(x=[f"L{layer}" for layer in result.layers], y=result.selectivity))
    fig.update_layout(
        title=f"Selectivity ({result.metric} - {result.control} control) of the {result.task} probe",
        xaxis_title="layer",
        yaxis_title="selectivity",
    )
    return fig


def plot_probe_direction_cosines(result: ProbeResult) -> go.Figure:
    """Cosine similarity of the probe directions across layers."""
    labels = [f"L{layer}" for layer in result.layers]
    fig = go.Figure(
        go.Heatmap(
            z=result.direction_cosines(),
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            texttemplate="%{z:.2f}",
        )
    )
    fig.update_layout(title=f"Cosine of {result.task} probe directions across layers", yaxis_autorange="reversed")
    return fig


def plot_causal_check(result: CausalCheck) -> go.Figure:
    """Task metric clean, with the probe direction intervened on, and with random directions."""
    fig = go.Figure(
        go.Bar(
            x=["clean", f"{result.mode} probe direction", f"{result.mode} random direction"],
            y=[result.metric_clean, result.metric_intervened, result.metric_random],
            text=[f"{v:.3f}" for v in (result.metric_clean, result.metric_intervened, result.metric_random)],
        )
    )
    down = ""
    if result.downstream_hook:
        down = (
            f"<br><sup>probed property at {result.downstream_hook}: accuracy {result.downstream_accuracy_clean:.2f} "
            f"-> {result.downstream_accuracy_intervened:.2f}</sup>"
        )
    fig.update_layout(title=f"Causal check at {result.hook}: {result.verdict}{down}", yaxis_title=result.metric_name)
    return fig
