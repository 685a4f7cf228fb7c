"""The head circuit (interp.circuits.components) as a graph, built from the circuit and its faithfulness alone."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from interp.core.sites import layer_of
from interp.results import Circuit, Faithfulness

__all__ = ["plot_circuit"]

HEAD, MLP, LOGITS = "#2166ac", "#999999", "#1b7837"
MLP_RISE = 0.3
"""An MLP sits a little above its layer's heads: it runs after them and reads what they write."""
FULL_LABELS = 12
"""Rows with more heads than this are labelled "H3" (the y axis names the layer): "L23H3" beside each would run
into the next head's label at an ordinary column width."""


def _runs(layers: list[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive layers: [0, 1, 2, 5] -> [(0, 2), (5, 5)]."""
    runs: list[tuple[int, int]] = []
    for lay in sorted(set(layers)):
        if runs and lay == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], lay)
        else:
            runs.append((lay, lay))
    return runs


def _bent(a: tuple[float, float], b: tuple[float, float], n: int = 12) -> tuple[list[float], list[float]]:
    """A quadratic Bezier from a to b, bent a little to one side: heads of different layers often share a column
    (the middle one of each row, the logits), and a straight edge between two of them runs through the heads
    between, as if it joined them."""
    (x0, y0), (x2, y2) = a, b
    dx, dy = x2 - x0, y2 - y0
    length = math.hypot(dx, dy) or 1.0
    bend = min(0.5, 0.15 * length) / length  # at most half a unit: a long edge would otherwise bow across the figure
    x1, y1 = (x0 + x2) / 2 + bend * dy, (y0 + y2) / 2 - bend * dx  # the midpoint, moved across the edge
    ts = [k / (n - 1) for k in range(n)]
    xs = [(1 - t) ** 2 * x0 + 2 * (1 - t) * t * x1 + t**2 * x2 for t in ts]
    ys = [(1 - t) ** 2 * y0 + 2 * (1 - t) * t * y1 + t**2 * y2 for t in ts]
    return xs, ys


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def plot_circuit(circuit: Circuit, faith: Faithfulness | None = None) -> go.Figure:
    """Heads placed by layer (spread across their row), the logits on top; MLPs in a column on the right, a run of
    consecutive MLP layers drawn as one bar ("MLP0-29") instead of a node per layer; edges as faint lines."""
    heads = circuit.heads()
    mlps = [n for n in circuit.nodes if "MLP" in n]
    # the model's layers as far as the circuit knows them: with every MLP kept (the usual circuit), all of them
    top = max((layer_of(n) for n in circuit.nodes), default=-1) + 1
    rows: dict[int, list[str]] = {}
    for n in heads:
        rows.setdefault(layer_of(n), []).append(n)
    widest = max((len(r) for r in rows.values()), default=1)
    pos: dict[str, tuple[float, float]] = {"logits": (0.0, float(top))}
    for lay, row in rows.items():
        for i, n in enumerate(row):
            pos[n] = (i - (len(row) - 1) / 2, float(lay))
    column = widest / 2 + 1.0  # right of the widest row and its labels
    # A circuit keeps every MLP whole, so 30 MLP nodes on SmolLM2 would say no more than one bar does, and their
    # labels (and the edges between them) would pile up in one column.
    runs = _runs([layer_of(n) for n in mlps])
    run_of = {n: r for n in mlps for r in runs if r[0] <= layer_of(n) <= r[1]}
    for a, b in runs:
        if a == b:
            pos[f"MLP{a}"] = (column, a + MLP_RISE)

    def ends(src: str, dst: str) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """Where an edge is drawn: into a bar at the first MLP its writer feeds, out of a bar at the last MLP
        that feeds its reader; an edge inside one bar is the bar itself."""
        a, b = run_of.get(src), run_of.get(dst)
        if a is not None and a == b:
            return None
        if a is not None and a[0] != a[1]:
            last = a[1] if dst == "logits" else min(a[1], layer_of(dst) - 1)
            start = (column, last + MLP_RISE)
        else:
            start = pos[src]
        if b is not None and b[0] != b[1]:
            end = (column, max(b[0], layer_of(src) + (0 if "H" in src else 1)) + MLP_RISE)
        else:
            end = pos[dst]
        return start, end

    lines = {e for src, dst in circuit.edges if (e := ends(src, dst)) is not None}
    xs: list[float | None] = []
    ys: list[float | None] = []
    # a few hundred edges or more are a faint wash, where curving each would only multiply the points to draw by six
    points = 12 if len(lines) <= 300 else 2
    for a, b in sorted(lines):
        bx, by = _bent(a, b, points)
        xs += [*bx, None]
        ys += [*by, None]
    # Every edge here follows from layer order alone, so they show the shape, not a finding: drawn fainter the more
    # there are, so that a circuit of dozens of heads still shows its nodes under them.
    alpha = 0.4 if len(lines) <= 20 else max(0.06, 0.4 * math.sqrt(20 / len(lines)))
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": f"rgba(110,110,110,{alpha:.2f})", "width": 1},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for a, b in runs:
        if a != b:
            fig.add_trace(
                go.Scatter(
                    x=[column, column],
                    y=[a + MLP_RISE, b + MLP_RISE],
                    mode="lines+markers",
                    line={"color": MLP, "width": 9},
                    marker={"size": 12, "color": MLP},
                    name=f"MLP{a}-{b}",
                    hovertext=f"MLPs of layers {a}-{b}, kept whole",
                    hoverinfo="text",
                    showlegend=False,
                )
            )
    names = [*heads, *(f"MLP{a}" for a, b in runs if a == b), "logits"]
    scores = [circuit.scores.get(n) for n in names]
    fig.add_trace(
        go.Scatter(
            x=[pos[n][0] for n in names],
            y=[pos[n][1] for n in names],
            mode="markers",
            text=names,
            marker={
                "size": 16,
                "color": [HEAD if "H" in n else MLP if "MLP" in n else LOGITS for n in names],
                "line": {"color": "white", "width": 1},
            },
            hovertext=[f"{n}: score {s:.3f}" if s is not None else n for n, s in zip(names, scores)],
            hoverinfo="text",
            name="components",
            showlegend=False,
        )
    )
    short = widest > FULL_LABELS
    labels = [(pos[n], "H" + n.split("H", 1)[1] if short and "H" in n else n) for n in names if n != "logits"]
    labels += [((column, (a + b) / 2 + MLP_RISE), f"MLP{a}-{b}") for a, b in runs if a != b]
    # beside the node, not above it: on a 30-layer model the rows are closer together than a label is tall;
    # annotations, unlike a trace's text, have a background, so the edges under them do not hide them
    # set at once: add_annotation validates every annotation again on each call, 35 s for a circuit of 270 heads
    annotations = [
        {"x": x, "y": y, "text": text, "showarrow": False, "xanchor": "left", "xshift": 9, "font": {"size": 11},
         "bgcolor": "rgba(255,255,255,0.8)"}
        for (x, y), text in labels
    ]  # fmt: skip
    title = f"Circuit on {circuit.model} ({circuit.task}): {_plural(len(heads), 'head')}"
    if mlps:
        title += f" and {_plural(len(mlps), 'MLP')}"
    title += f"<br><sup>from {circuit.source}</sup>"
    if faith is not None:
        title += (
            f"<br><sup>faithfulness {faith.faithfulness:.2f}: metric {faith.circuit_metric:.2f} vs full "
            f"{faith.full_metric:.2f}, all ablated {faith.ablated_metric:.2f}</sup>"
        )
    # a row per layer and one for the logits, each tall enough for a label (a 30-layer model stays under 1000 px)
    row_px = min(90, max(24, 600 // (top + 1)))
    step = 1 if row_px >= 18 else 2
    ticks = [*range(0, top, step), top]
    fig.update_layout(
        title=title,
        annotations=annotations,
        xaxis={"visible": False, "range": [-widest / 2 - 0.5, column + 1.5]},
        yaxis={
            "range": [-0.6, top + 0.6],
            "tickvals": ticks,
            "ticktext": [*(f"L{lay}" for lay in ticks[:-1]), "logits"],
            "gridcolor": "#eeeeee",
            "zeroline": False,
        },
        height=180 + row_px * (top + 1),
        margin={"t": 110},
        plot_bgcolor="white",
    )
    return fig
