"""Figures of SAE features: dashboards, a prompt's features, interventions on one, its direct logit effects."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.results import (
    FeatureContext,
    FeatureDashboard,
    FeatureDLAResult,
    FeatureIntervention,
    PromptFeatures,
)

__all__ = ["plot_feature_dashboard", "plot_feature_dla", "plot_feature_intervention", "plot_prompt_features"]


def _context_text(context: FeatureContext) -> str:
    """One context as table text: the focus token in bold, other tokens where the feature fires in italics
    (plotly tables render only simple tags, so the per-token shading is left to the app, from token_acts)."""
    spaced = any(t.startswith(" ") for t in context.tokens)  # BPE tokens carry their spaces; word tokens do not
    parts = []
    for i, (tok, act) in enumerate(zip(context.tokens, context.token_acts)):
        text = tok.replace("<", "&lt;")
        parts.append(f"<b>{text}</b>" if i == context.focus else f"<i>{text}</i>" if act > 0 else text)
    return ("" if spaced else " ").join(parts)


def plot_feature_dashboard(dash: FeatureDashboard) -> go.Figure:
    """Top contexts (tokens shaded by activation), the activation histogram, and the logit effects."""
    fig = make_subplots(
        rows=2,
        cols=2,
        specs=[[{"type": "table", "colspan": 2}, None], [{}, {}]],
        row_heights=[0.55, 0.45],
        subplot_titles=("top activating contexts", "activation histogram (where it fires)", "logit effects"),
        vertical_spacing=0.08,
    )
    fig.add_trace(
        go.Table(
            columnwidth=[1, 1, 8],
            header={"values": ["activation", "prompt:pos", "context"], "align": "left"},
            cells={
                "values": [
                    [f"{c.activation:.5g}" for c in dash.contexts],
                    [f"{c.prompt}:{c.position}" for c in dash.contexts],
                    [_context_text(c) for c in dash.contexts],
                ],
                "align": "left",
            },
        ),
        row=1,
        col=1,
    )
    centres = [(a + b) / 2 for a, b in zip(dash.hist_edges, dash.hist_edges[1:])]
    fig.add_trace(
        go.Bar(x=centres, y=dash.hist_counts, name="tokens", marker_color="#4c78a8", showlegend=False), row=2, col=1
    )
    effects = list(dash.promoted[::-1]) + list(dash.suppressed)
    fig.add_trace(
        go.Bar(
            x=[v for _, v in effects],
            y=[repr(t) for t, _ in effects],
            orientation="h",
            showlegend=False,
            marker_color=["#54a24b" if v > 0 else "#e45756" for _, v in effects],
        ),
        row=2,
        col=2,
    )
    fig.update_layout(
        title=f"Feature {dash.feature} at {dash.hook}: density {dash.density:.2%} of {dash.n_tokens} tokens, "
        f"max {dash.max_activation:.2f}",
        height=900,
    )
    return fig


def plot_prompt_features(res: PromptFeatures) -> go.Figure:
    """Token x rank heatmap: which features fire on each token, and how strongly."""
    depth = max((len(f) for f in res.features), default=0)
    z = [[f[r][1] if r < len(f) else None for f in res.features] for r in range(depth)]
    text = [[f"f{f[r][0]}" if r < len(f) else "" for f in res.features] for r in range(depth)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=text,
            texttemplate="%{text}",
            x=[f"{i} {t}" for i, t in enumerate(res.tokens)],
            y=[f"#{r + 1}" for r in range(depth)],
            colorscale="Reds",
            hovertemplate="%{x}: %{text} = %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title="rank")
    fig.update_layout(title=f"Features firing on each token ({res.hook})", height=200 + 40 * depth)
    return fig


def plot_feature_intervention(res: FeatureIntervention) -> go.Figure:
    """Next-token probabilities before and after the edit, and the log-probability changes."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("top next tokens", "largest log-probability changes"))
    tokens = list(dict.fromkeys([t for t, _ in res.top_before] + [t for t, _ in res.top_after]))
    before, after = dict(res.top_before), dict(res.top_after)
    fig.add_trace(
        go.Bar(x=[repr(t) for t in tokens], y=[before.get(t, 0) for t in tokens], name="before"), row=1, col=1
    )
    fig.add_trace(go.Bar(x=[repr(t) for t in tokens], y=[after.get(t, 0) for t in tokens], name="after"), row=1, col=1)
    changes = list(res.most_increased) + list(res.most_decreased[::-1])
    fig.add_trace(
        go.Bar(
            x=[repr(t) for t, _ in changes],
            y=[v for _, v in changes],
            name="change",
            showlegend=False,
            marker_color=["#54a24b" if v > 0 else "#e45756" for _, v in changes],
        ),
        row=1,
        col=2,
    )
    what = "ablated" if res.mode == "ablate" else f"steered to {res.value:g}"
    fig.update_layout(title=f"Feature {res.feature} {what} at {res.hook}: KL {res.kl:.4f}", barmode="group", height=460)
    return fig


def plot_feature_dla(res: FeatureDLAResult) -> go.Figure:
    """The top features' direct contributions to logit(answer) - logit(wrong), with the other terms."""
    labels = [f"f{f}" for f in res.features] + list(res.other) + ["unembed bias"]
    values = list(res.contributions) + list(res.other.values()) + [res.unembed_bias]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=values,
            marker_color=["#4c78a8"] * len(res.features) + ["#bab0ac"] * (len(values) - len(res.features)),
        )
    )
    fig.update_layout(
        title=f"Feature DLA at {res.hook} on {res.task} ({res.n_prompts} prompts): all features "
        f"{res.all_features_total:.2f} "
        f"of logit diff {res.logit_diff:.2f}",
        yaxis_title="contribution to logit diff",
        height=460,
    )
    return fig
