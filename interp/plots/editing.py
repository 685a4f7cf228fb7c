"""Figures of steering and knowledge editing (interp.results.editing), built from the results alone."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.results import CausalTrace, EditEvaluation, SteeringEvaluation

__all__ = ["plot_causal_trace", "plot_edit", "plot_steering"]

SITE_TITLES = {"resid_post": "residual stream", "mlp_out": "MLP output", "attn_out": "attention output"}


def plot_causal_trace(trace: CausalTrace) -> go.Figure:
    """One heatmap per site: layer x token, the target's probability with that activation restored."""
    labels = [f"{t}{'*' if i in trace.subject_positions else ''} ({i})" for i, t in enumerate(trace.tokens)]
    titles = [SITE_TITLES.get(s, s) for s in trace.sites]
    fig = make_subplots(rows=1, cols=len(trace.sites), subplot_titles=titles, shared_yaxes=True)
    for i, values in enumerate(trace.values, 1):
        fig.add_heatmap(
            z=list(values),
            x=labels,
            y=list(trace.layers),
            zmin=0,
            zmax=max(trace.clean_prob, 1e-6),
            colorscale="Purples" if trace.sites[i - 1] != "mlp_out" else "Greens",
            showscale=i == len(trace.sites),
            hovertemplate="layer %{y}, token %{x}: p = %{z:.3f}<extra></extra>",
            row=1,
            col=i,
        )
    fig.update_yaxes(title_text="layer", row=1, col=1)
    fig.update_layout(
        title=(
            f"Causal trace of '{trace.prompt}' -> '{trace.target}' on {trace.model}"
            f"<br><sub>p(target): clean {trace.clean_prob:.3f}, subject noised {trace.corrupted_prob:.3f} "
            f"(* subject tokens, noise sd {trace.noise:.3g}, {trace.n_samples} samples"
            + (f"; MLP and attention restored {trace.window} layers at a time" if trace.window > 1 else "")
            + ")</sub>"
        ),
        height=max(360, 14 * len(trace.layers) + 160),
        margin={"t": 100},
    )
    return fig


def plot_steering(evaluation: SteeringEvaluation) -> go.Figure:
    """Concept score against perplexity: the strength sweep as a line, no intervention and prompting as markers."""
    sweep = [r for r in evaluation.rows if r.label.startswith("steer")]
    fig = go.Figure()
    fig.add_scatter(
        x=[r.perplexity for r in sweep],
        y=[r.concept_score for r in sweep],
        mode="lines+markers+text",
        text=[f"{r.strength:g}" for r in sweep],
        textposition="top center",
        name=f"steering ({evaluation.method})",
    )
    baselines = {r.label: r for r in evaluation.rows if r.label in ("none", "prompting")}
    for label, symbol in (("none", "circle-open"), ("prompting", "star")):
        if label not in baselines:  # no prompting row for a model that cannot read the instruction
            continue
        r = baselines[label]
        fig.add_scatter(
            x=[r.perplexity], y=[r.concept_score], mode="markers", marker={"size": 14, "symbol": symbol}, name=label
        )
    fig.update_xaxes(title_text="perplexity under the unsteered model (lower = more fluent)", type="log")
    fig.update_yaxes(title_text=f"share of generations about {evaluation.concept}", range=[-0.05, 1.05])
    fig.update_layout(
        title=f"Steering toward '{evaluation.concept}' at {evaluation.hook} on {evaluation.model} "
        f"<br><sub>labels: strength (x the activation's typical norm); {len(evaluation.prompts)} prompts</sub>",
        height=460,
    )
    return fig


def plot_edit(evaluation: EditEvaluation) -> go.Figure:
    """Per prompt, the expected answer's probability before and after the edit, grouped by kind."""
    scores = evaluation.scores
    names = [f"{s.kind}: {s.prompt[:40]}" for s in scores]
    fig = go.Figure()
    fig.add_bar(y=names, x=[s.before_prob for s in scores], orientation="h", name="before")
    fig.add_bar(y=names, x=[s.after_prob for s in scores], orientation="h", name="after")
    fig.update_xaxes(title_text="p(expected first token)", range=[0, 1])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        barmode="group",
        title=(
            f"{evaluation.method.upper()} edit on {evaluation.model}: efficacy {evaluation.efficacy:.2f}, "
            f"paraphrases {evaluation.generalisation:.2f}, specificity {evaluation.specificity:.2f}"
            f"<br><sub>perplexity of free generation {evaluation.fluency_before:.2f} before, "
            f"{evaluation.fluency_after:.2f} after</sub>"
        ),
        height=max(360, 22 * len(scores) + 160),
        margin={"l": 320, "t": 100},
    )
    return fig
