"""Figures of a model and its runs: head scores, task metrics, next tokens, attention patterns."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.results import (
    AttentionPatterns,
    HeadScores,
    NextTokens,
    TaskMetrics,
)

__all__ = ["plot_attention", "plot_head_scores", "plot_next_tokens", "plot_task_metrics"]


def plot_head_scores(result: HeadScores) -> go.Figure:
    """One layer x head heatmap per score, side by side, on a shared 0-1 colour scale."""
    n_heads = len(result.scores[0][0])
    fig = make_subplots(
        rows=1,
        cols=len(result.score_names),
        subplot_titles=[n.replace("_", "-") for n in result.score_names],
        horizontal_spacing=0.06,
    )
    for i, name in enumerate(result.score_names):
        fig.add_trace(
            go.Heatmap(
                z=result.score(name),
                x=[f"H{h}" for h in range(n_heads)],
                y=[f"L{layer}" for layer in result.layers],
                zmin=0,
                zmax=1,
                colorscale="Blues",
                showscale=i == 0,
                hovertemplate="%{y}%{x}: %{z:.3f}<extra>" + name + "</extra>",
            ),
            row=1,
            col=i + 1,
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
        fig.add_trace(
            go.Bar(x=idx, y=values, name=label, customdata=result.prompts, hovertemplate="%{customdata}<br>%{y:.2f}")
        )
    fig.update_layout(
        title=(
            f"{result.task} on {result.model}: clean accuracy {result.clean_accuracy:.0%}, "
            f"mean logit diff {result.mean_clean_logit_diff:.2f} clean vs "
            f"{result.mean_corrupted_logit_diff:.2f} corrupted"
        ),
        xaxis_title="prompt",
        yaxis_title="logit(answer) - logit(wrong)",
        barmode="group",
    )
    return fig


def _indexed(tokens) -> list[str]:
    """Axis labels that stay distinct when a token repeats ("3 Mary")."""
    return [f"{i} {t}" for i, t in enumerate(tokens)]


def plot_next_tokens(result: NextTokens, *, position: int = -1) -> go.Figure:
    """The likeliest next tokens after one position (default: the last), as horizontal bars."""
    pos = position % len(result.tokens)
    probs, tokens = result.top_probs[pos], [repr(t) for t in result.top_tokens[pos]]
    fig = go.Figure(
        go.Bar(
            x=probs[::-1],
            y=tokens[::-1],
            orientation="h",
            marker_color="#4c78a8",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Next token after {pos} {result.tokens[pos]!r}", xaxis_title="probability", height=120 + 28 * len(tokens)
    )
    return fig


def plot_attention(result: AttentionPatterns, layer: int) -> go.Figure:
    """Every head of one layer: query x key heatmaps with token labels, on one 0-1 scale."""
    heads = result.pattern[layer]
    labels = _indexed(result.tokens)
    cols = min(4, len(heads))
    rows = -(-len(heads) // cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[f"L{layer}H{h}" for h in range(len(heads))],
        horizontal_spacing=0.03,
        vertical_spacing=0.08,
    )
    for h, pattern in enumerate(heads):
        fig.add_trace(
            go.Heatmap(
                z=pattern,
                x=labels,
                y=labels,
                zmin=0,
                zmax=1,
                colorscale="Blues",
                showscale=h == 0,
                hovertemplate="query %{y}<br>key %{x}<br>%{z:.3f}<extra>" + f"L{layer}H{h}" + "</extra>",
            ),
            row=h // cols + 1,
            col=h % cols + 1,
        )
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=True, col=1)
    fig.update_layout(
        title=f"Attention of layer {layer} on {len(labels)} tokens (rows: queries, columns: keys)",
        height=80 + 340 * rows,
    )
    return fig
