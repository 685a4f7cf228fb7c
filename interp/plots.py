"""Plotly figures built only from results: no model, no computation, no `.show()`."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.results import HeadScores, TaskMetrics


def plot_head_scores(result: HeadScores) -> go.Figure:
    """One layer x head heatmap per score, side by side, on a shared 0-1 colour scale."""
    n_heads = len(result.scores[0][0])
    fig = make_subplots(rows=1, cols=len(result.score_names), subplot_titles=[n.replace("_", "-") for n in result.score_names], horizontal_spacing=0.06)
    for i, name in enumerate(result.score_names):
        fig.add_trace(
            go.Heatmap(
                z=result.score(name), x=[f"H{h}" for h in range(n_heads)], y=[f"L{l}" for l in result.layers],
                zmin=0, zmax=1, colorscale="Blues", showscale=i == 0,
                hovertemplate="%{y}%{x}: %{z:.3f}<extra>" + name + "</extra>",
            ),
            row=1, col=i + 1,
        )
        fig.update_yaxes(autorange="reversed", row=1, col=i + 1)
    fig.update_layout(
        title=f"Head scores of {result.model} ({result.n_prompts} repeated sequences of {result.seq_len} tokens)",
        height=280 + 30 * len(result.layers),
    )
    return fig


def plot_task_metrics(result: TaskMetrics) -> go.Figure:
    """Logit difference (answer - wrong) per prompt, clean vs corrupted."""
    idx = list(range(result.n_prompts))
    fig = go.Figure()
    for label, values in (("clean", result.clean_logit_diff), ("corrupted", result.corrupted_logit_diff)):
        fig.add_trace(go.Bar(x=idx, y=values, name=label, customdata=result.prompts, hovertemplate="%{customdata}<br>%{y:.2f}"))
    fig.update_layout(
        title=(
            f"{result.task} on {result.model}: clean accuracy {result.clean_accuracy:.0%}, "
            f"mean logit diff {result.mean_clean_logit_diff:.2f} clean vs {result.mean_corrupted_logit_diff:.2f} corrupted"
        ),
        xaxis_title="prompt", yaxis_title="logit(answer) - logit(wrong)", barmode="group",
    )
    return fig
