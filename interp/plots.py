"""Plotly figures built only from results: no model, no computation, no `.show()`."""

from __future__ import annotations

import math
import textwrap

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.circuit_plots import plot_circuit
from interp.edge_plots import plot_edge_circuit, plot_faithfulness_curve, plot_faithfulness_curves
from interp.results import (
    AttentionPatterns,
    CausalCheck,
    DLAResult,
    HeadScores,
    LogitLensResult,
    NextTokens,
    PatchResult,
    ProbeResult,
    TaskMetrics,
)

__all__ = [
    "plot_attention",
    "plot_causal_check",
    "plot_circuit",
    "plot_dla",
    "plot_edge_circuit",
    "plot_faithfulness_curve",
    "plot_faithfulness_curves",
    "plot_head_scores",
    "plot_logit_lens",
    "plot_next_tokens",
    "plot_patch",
    "plot_probe_accuracy",
    "plot_probe_direction_cosines",
    "plot_probe_selectivity",
    "plot_task_metrics",
]


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


SMALLEST_EXTENT = 0.05
"""The colour scale of a patching heatmap spans at least +-0.05 (normalised): a result with no effect anywhere is
drawn pale, not its rounding noise at full colour."""


def _extent(values) -> float:
    """The largest finite |value| in nested lists (NaN where clean and corrupted agree, None once saved)."""
    if isinstance(values, list | tuple):
        return max((_extent(v) for v in values), default=0.0)
    return abs(values) if values is not None and math.isfinite(values) else 0.0


def _change_from_clean(values):
    """A noising result's normalised values, nested as they are, minus 1 (the clean run's value)."""
    if isinstance(values, list | tuple):
        return [_change_from_clean(v) for v in values]
    return values - 1 if values is not None else None


def _patch_colours(result: PatchResult) -> tuple[list, str, str]:
    """The values coloured, the colour bar's title and the hover line, centred on "no effect" in both directions.

    Denoising patches clean activations into the corrupted run, whose normalised metric is 0, so its normalised
    effect is shown as it is. Noising patches corrupted activations into the clean run, at 1: on that scale an
    ordinary noising result is a field of 0.9-1.0, one dark blue in which no head stands out. It is shown as the
    change from the clean run (normalised - 1, -1: the patch removes the whole clean-corrupted gap), centred at 0
    like denoising, with both numbers in the hover text."""
    if result.direction == "noise":
        return (
            _change_from_clean(result.normalized),
            "change<br>from clean<br>(-1: corrupted)",
            "change from clean %{z:.3f}<br>normalised %{customdata[0]:.3f}",
        )
    return list(result.normalized), "normalised<br>(0: corrupted,<br>1: clean)", "normalised %{z:.3f}"


def plot_patch(result: PatchResult) -> go.Figure:
    """The patching effect as a heatmap with token labels; layer x head x pos as one row per head, layers ruled
    off. White is "no effect"; the diverging scale spans the result's largest effect (_patch_colours)."""
    lab = result.labels
    z, bar_title, hover = _patch_colours(result)
    # A fixed -1..1 scale hid results whose effects are all small (induction heads on SmolLM2, under 0.2 each);
    # spanning the data shows them, and the colour bar says how large they are.
    extent = max(_extent(z), SMALLEST_EXTENT)
    norm, raw = result.normalized, result.raw
    if len(result.axes) == 2:
        x_title, x, rows, row_px = result.axes[1], lab[result.axes[1]], [f"L{layer}" for layer in lab["layer"]], 22
    else:
        # one facet per layer made SmolLM2's 30 x 9 heads 11,000 px tall, each facet a sliver with its own axes
        x_title, x, row_px = "pos", lab["pos"], 16 if len(z) * len(z[0]) <= 64 else 13
        rows = [f"L{layer}{h}" if h.startswith("H") else f"L{layer} {h}" for layer in lab["layer"] for h in lab["head"]]
        z, norm, raw = ([row for layer in values for row in layer] for values in (z, norm, raw))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(x),
            y=rows,
            customdata=[[[n, r] for n, r in zip(ns, rs)] for ns, rs in zip(norm, raw)],
            zmin=-extent,
            zmax=extent,
            colorscale="RdBu",
            # a row per head makes a tall figure; a colour bar as tall as it would be read in pieces
            colorbar={"title": {"text": bar_title}}
            | ({"lenmode": "pixels", "len": 400, "y": 1, "yanchor": "top"} if len(result.axes) == 3 else {}),
            hovertemplate="%{y} / %{x}<br>" + hover + "<br>raw %{customdata[1]:.3f}<extra></extra>",
        )
    )
    if len(result.axes) == 3:
        for k in range(1, len(lab["layer"])):
            fig.add_hline(y=k * len(lab["head"]) - 0.5, line={"color": "white", "width": 2})
    what = "clean into the corrupted run" if result.direction == "denoise" else "corrupted into the clean run"
    # plotly never wraps a title, and a line wider than the figure is cut off at its right edge
    head = textwrap.wrap(f"{result.analysis.replace('_', ' ').capitalize()} of {result.site} on {result.model}", 75)
    title = "<br>".join(head) + (
        f"<br><sup>{result.direction} ({what}), {result.method}; {result.task}, {result.n_prompts} prompts; "
        f"{result.metric} clean {result.clean:.2f}, corrupted {result.corrupted:.2f}</sup>"
    )
    fig.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis={"title": "layer" if len(result.axes) == 2 else "head", "autorange": "reversed", "dtick": 1},
        height=max(420, 180 + row_px * len(rows)),  # short of 420 the colour bar shrinks under its title
        margin={"t": 70 + 24 * len(head)},
    )
    return fig


def plot_dla(result: DLAResult, *, top_k: int = 30) -> go.Figure:
    """Direct contributions as bars: every part at component and head granularity, the largest `top_k` neurons."""
    parts = list(zip(result.labels, result.contributions))
    if result.granularity == "neuron":
        parts = sorted(parts, key=lambda x: -abs(x[1]))[:top_k]
    # With more bars than the axis has room to name (SmolLM2's 270 heads), the axis names every fifth; the largest
    # few carry their name on the bar, so a reader can tell which head the tall one is.
    named = {p[0] for p in sorted(parts, key=lambda x: -abs(x[1]))[:5]} if len(parts) > 40 else set()
    fig = go.Figure(
        go.Bar(
            x=[p[0] for p in parts],
            y=[p[1] for p in parts],
            marker_color=["#2166ac" if p[1] >= 0 else "#b2182b" for p in parts],
            text=[p[0] if p[0] in named else "" for p in parts],
            textposition="outside",
            textfont={"size": 11},
            constraintext="none",
            cliponaxis=False,
        )
    )
    other = sum(result.other.values())
    fig.update_layout(
        title=(
            f"Direct logit attribution by {result.granularity} on {result.model} ({result.task}): logit diff "
            f"{result.logit_diff:.2f}"
            f"<br><sup>shown parts sum to {sum(result.contributions):.2f}; other terms {other:.2f}; unembedding "
            f"bias {result.unembed_bias:.2f}</sup>"
        ),
        xaxis_title=result.granularity,
        yaxis_title="contribution to logit(answer) - logit(wrong)",
    )
    return fig


def plot_logit_lens(result: LogitLensResult) -> go.Figure:
    """Answer logit, probability and rank after each layer."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=["answer logit", "answer probability", "answer rank (0 = top)"])
    hover = ["top: " + ", ".join(t) for t in result.top_tokens]
    for col, values in enumerate((result.answer_logit, result.answer_prob, result.answer_rank), start=1):
        fig.add_trace(
            go.Scatter(x=list(result.layers), y=values, mode="lines+markers", text=hover, showlegend=False),
            row=1,
            col=col,
        )
    fig.update_layout(title=f"Logit lens on {result.model} ({result.task}, {result.n_prompts} prompts)")
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
