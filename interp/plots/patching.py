"""Figures of patching and of direct logit attribution: the patching heatmap, DLA bars, the logit lens."""

from __future__ import annotations

import math
import textwrap

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.results import (
    DLAResult,
    LogitLensResult,
    PatchResult,
)

__all__ = ["plot_dla", "plot_logit_lens", "plot_patch"]


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
