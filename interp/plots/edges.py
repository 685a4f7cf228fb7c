"""Plotly figures of edge-level circuits (interp.edges): the circuit as a graph, faithfulness over circuit sizes.

Built only from results; node names are read from the edge names ("L0H1 -> L1H0.k"), so no model is needed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import plotly.graph_objects as go

from interp.results import EdgeCircuit, FaithfulnessCurve

__all__ = ["plot_edge_circuit", "plot_faithfulness_curve", "plot_faithfulness_curves"]

INPUT_COLOURS = {"q": "#e6550d", "k": "#31a354", "v": "#756bb1", "mlp": "#636363", "logits": "#3182bd"}
"""Edge colour by the reader input an edge ends in."""
INPUT_LABELS = {"q": "into q", "k": "into k", "v": "into v", "mlp": "into an MLP", "logits": "into the logits"}
INPUT_OFFSET = {"q": -0.07, "k": 0.0, "v": 0.07}
"""Where on a head's node its q, k and v edges end (x offset), so that the three inputs stay apart."""
WIDTHS = (1.2, 2.5, 4.5, 7.0)
"""Line widths for |score| in the quarters of the largest |score| (one trace per colour and width)."""
NAN_WIDTH = 2.0
NODE_RE = re.compile(r"L(\d+)(H|KV)(\d+)$|MLP(\d+)$")


def _node(name: str) -> tuple[int, str, int]:
    """(layer, kind, index) of a node: kind head, kv (a key/value head of a group), mlp, embed or logits."""
    if name == "embed":
        return -1, "embed", 0
    if name == "logits":
        return 10**9, "logits", 0
    m = NODE_RE.match(name)
    if m is None:
        raise ValueError(f"unknown node {name!r} in an edge circuit")
    if m.group(4) is not None:
        return int(m.group(4)), "mlp", 0
    return int(m.group(1)), "head" if m.group(2) == "H" else "kv", int(m.group(3))


def _split(edge: str) -> tuple[str, str, str]:
    """(writer, reading component, input) of "L0H1 -> L1H0.k": ("L0H1", "L1H0", "k"); MLPs read "mlp"."""
    writer, reader = (s.strip() for s in edge.split("->"))
    comp, _, inp = reader.partition(".")
    return writer, comp, inp or ("logits" if comp == "logits" else "mlp")


def _layout(nodes: set[str]) -> tuple[dict[str, tuple[float, float]], int]:
    """Positions: a row per layer (heads spread across, key/value heads just below them, the MLP to the right and a
    little above, as it runs after them), the embeddings below and the logits above; and the logits' row."""
    parsed = {n: _node(n) for n in nodes}
    layers = [lay for lay, kind, _ in parsed.values() if kind not in ("embed", "logits")]
    top = max(layers, default=-1) + 1
    width = max((i + 1 for _, kind, i in parsed.values() if kind == "head"), default=1)
    n_kv = max((i + 1 for _, kind, i in parsed.values() if kind == "kv"), default=1)
    pos: dict[str, tuple[float, float]] = {}
    for n, (lay, kind, i) in parsed.items():
        if kind == "embed":
            pos[n] = (0.0, -1.0)
        elif kind == "logits":
            pos[n] = (0.0, float(top))
        elif kind == "head":
            pos[n] = (i - (width - 1) / 2, float(lay))
        elif kind == "kv":
            pos[n] = ((i + 0.5) * width / n_kv - width / 2 - 0.5, lay - 0.3)
        else:
            pos[n] = (width / 2 + 0.5, lay + 0.4)
    return pos, top


def _curve(a: tuple[float, float], b: tuple[float, float], n: int = 16) -> tuple[list[float], list[float]]:
    """A quadratic Bezier from a to b, bent to the right of an upward edge and above a level one: edges between
    nodes of one column (embed -> logits, MLP0 -> MLP3) or one row (L0H0 -> MLP0 past L0H1) would otherwise run
    through the nodes between them."""
    (x0, y0), (x2, y2) = a, b
    dx, dy = x2 - x0, y2 - y0
    length = math.hypot(dx, dy) or 1.0
    px, py = dy / length, -dx / length
    if px + py < 0:
        px, py = -px, -py
    bend = 0.18 * length
    x1, y1 = (x0 + x2) / 2 + bend * px, (y0 + y2) / 2 + bend * py
    ts = [k / (n - 1) for k in range(n)]
    xs = [(1 - t) ** 2 * x0 + 2 * (1 - t) * t * x1 + t**2 * x2 for t in ts]
    ys = [(1 - t) ** 2 * y0 + 2 * (1 - t) * t * y1 + t**2 * y2 for t in ts]
    return xs, ys


def _width(score: float, largest: float) -> float:
    if math.isnan(score) or not largest > 0:
        return NAN_WIDTH
    quarter = min(3, int(4 * abs(score) / largest))
    return WIDTHS[quarter]


def plot_edge_circuit(circuit: EdgeCircuit) -> go.Figure:
    """The circuit as a graph: components by layer (embed at the bottom, logits on top), each edge a curve from its
    writer to the component it reads into, coloured by the input (q, k, v, mlp, logits), wider for larger |score|."""
    split = [_split(e) for e in circuit.edges]
    nodes = {w for w, _, _ in split} | {c for _, c, _ in split} | {"embed", "logits"}
    pos, top = _layout(nodes)
    finite = [abs(s) for s in circuit.scores if not math.isnan(s)]
    largest = max(finite, default=0.0)
    # one trace per (input, width): plotly gives a trace one line width
    groups: dict[tuple[str, float], tuple[list, list, list]] = {}
    for edge, score, (writer, comp, inp) in zip(circuit.edges, circuit.scores, split):
        end = (pos[comp][0] + INPUT_OFFSET.get(inp, 0.0), pos[comp][1])
        xs, ys = _curve(pos[writer], end)
        text = f"{edge}<br>score {score:.4g}" if not math.isnan(score) else f"{edge}<br>(no score)"
        gx, gy, gt = groups.setdefault((inp, _width(score, largest)), ([], [], []))
        gx += [*xs, None]
        gy += [*ys, None]
        gt += [text] * len(xs) + [None]
    fig = go.Figure()
    shown: set[str] = set()
    for inp in INPUT_COLOURS:
        # widest first: thin edges stay visible on top, and the legend shows each colour in a wide line
        for (kind, width), (gx, gy, gt) in sorted(groups.items(), key=lambda g: -g[0][1]):
            if kind != inp:
                continue
            fig.add_trace(
                go.Scatter(
                    x=gx,
                    y=gy,
                    text=gt,
                    mode="lines",
                    line={"color": INPUT_COLOURS[inp], "width": width},
                    opacity=0.65,
                    name=INPUT_LABELS[inp],
                    legendgroup=inp,
                    showlegend=inp not in shown,
                    hoverinfo="text",
                )
            )
            shown.add(inp)
    names = sorted(nodes, key=lambda n: (pos[n][1], pos[n][0]))
    degree_in = {n: sum(1 for _, c, _ in split if c == n) for n in names}
    degree_out = {n: sum(1 for w, _, _ in split if w == n) for n in names}
    kinds = {n: _node(n)[1] for n in names}
    colours = {"head": "#2166ac", "kv": "#67a9cf", "mlp": "#999999", "embed": "#1b7837", "logits": "#1b7837"}
    fig.add_trace(
        go.Scatter(
            x=[pos[n][0] for n in names],
            y=[pos[n][1] for n in names],
            mode="markers",
            text=names,
            marker={"size": 20, "color": [colours[kinds[n]] for n in names], "line": {"color": "white", "width": 1}},
            hovertext=[f"{n}: {degree_in[n]} edges in, {degree_out[n]} out" for n in names],
            hoverinfo="text",
            name="components",
            showlegend=False,
        )
    )
    # labels as annotations: unlike a trace's text they have a background, so the edges under them do not hide them
    for n in names:
        if kinds[n] not in ("embed", "logits"):  # the y axis names those two
            fig.add_annotation(
                x=pos[n][0],
                y=pos[n][1],
                text=n,
                showarrow=False,
                xanchor="right",
                xshift=-12,
                font={"size": 11},
                bgcolor="rgba(255,255,255,0.85)",
            )
    # room on the left for the labels of the leftmost column, which would otherwise run into the layer names
    xs = [x for t in fig.data for x in t.x if x is not None]
    rows = [-1, *range(top), top]
    # 110 px a row suits the zoo's 4 layers; on SmolLM2's 30 it made the figure 3,700 px tall, read only by scrolling
    row_px = 110 if top <= 8 else max(45, 880 // top)
    fig.update_layout(
        title=(
            f"Edge circuit on {circuit.model} ({circuit.task}): {len(circuit.edges)} of {circuit.n_edges_total} edges "
            f"({_percent(circuit.fraction)})<br><sup>{circuit.source}; width: |score|</sup>"
        ),
        xaxis={"visible": False, "range": [min(xs) - 0.9, max(xs) + 0.3]},
        yaxis={
            "tickvals": rows,
            "ticktext": ["embed", *(f"layer {lay}" for lay in range(top)), "logits"],
            "zeroline": False,
        },
        legend={"orientation": "h", "y": -0.05},
        height=260 + row_px * (top + 1),
        plot_bgcolor="white",
    )
    return fig


def _percent(fraction: float) -> str:
    """10.0%, but 0.028% rather than 0.0% for 20 of SmolLM2's 70,651 edges."""
    return f"{fraction:.1%}" if fraction >= 0.01 or fraction == 0 else f"{100 * fraction:.2g}%"


def plot_faithfulness_curves(
    curves: Sequence[FaithfulnessCurve], *, mark: int | None = None, mark_faithfulness: float | None = None
) -> go.Figure:
    """Faithfulness against the fraction of edges kept (log scale), one line per curve, with 1 (the full model)
    dashed; `mark` (a circuit size in edges) draws a vertical line there, with a point at `mark_faithfulness`."""
    if not curves:
        raise ValueError("no faithfulness curve to plot")
    fig = go.Figure()
    for c in curves:
        # a size of 0 (a fraction too small for one edge, or every edge pruned) has no place on a log axis
        kept = [i for i, f in enumerate(c.fractions) if f > 0]
        fig.add_trace(
            go.Scatter(
                x=[c.fractions[i] for i in kept],
                y=[c.faithfulness[i] for i in kept],
                customdata=[[c.sizes[i], c.metric_values[i]] for i in kept],
                mode="lines+markers",
                name=f"{c.source}: CPR {c.cpr:.3f}, CMD {c.cmd:.3f}",
                hovertemplate=(
                    "%{customdata[0]} edges (%{x:.2%})<br>faithfulness %{y:.3f}<br>"
                    f"{c.metric} " + "%{customdata[1]:.3f}<extra></extra>"
                ),
            )
        )
    first = curves[0]
    fig.add_hline(y=1, line={"dash": "dash", "color": "grey"}, annotation_text="full model")
    fig.add_hline(y=0, line={"dash": "dot", "color": "lightgrey"})
    if mark is not None and mark > 0:
        x = mark / first.n_edges_total
        fig.add_vline(x=x, line={"dash": "dot", "color": "#d62728"})
        if mark_faithfulness is not None:
            fig.add_trace(
                go.Scatter(
                    x=[x],
                    y=[mark_faithfulness],
                    mode="markers",
                    marker={"symbol": "star", "size": 16, "color": "#d62728"},
                    name=f"this circuit: {mark} edges",
                    hovertemplate=f"{mark} edges (%{{x:.2%}})<br>faithfulness %{{y:.3f}}<extra></extra>",
                )
            )
    smallest = min((f for c in curves for f in c.fractions if f > 0), default=1e-3)
    if mark:
        smallest = min(smallest, mark / first.n_edges_total)
    ticks = [t for t in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0) if t >= smallest / 2.5]
    where = f"{first.model} ({first.task}), {first.ablation} ablation"
    if len(curves) == 1:
        # several short lines: the figure often sits in a narrow column
        title = (
            f"Faithfulness: CPR {first.cpr:.3f}, CMD {first.cmd:.3f}<br><sup>{first.source}<br>{where}<br>"
            f"1 = full model ({first.metric} {first.full_metric:.3f}), 0 = every edge ablated "
            f"({first.empty_metric:.3f})</sup>"
        )
    else:
        title = f"Faithfulness by circuit size<br><sup>{where}<br>CPR: area under the curve; CMD: area from 1</sup>"
    fig.update_layout(
        title=title,
        xaxis={
            "type": "log",
            "title": "fraction of edges kept",
            "tickvals": ticks,
            "ticktext": [f"{t:.1%}".replace(".0%", "%") for t in ticks],
            "range": [math.log10(smallest / 1.5), 0.12],
        },
        yaxis_title="faithfulness",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 150 if len(curves) == 1 else 110},
    )
    return fig


def plot_faithfulness_curve(
    curve: FaithfulnessCurve, *, mark: int | None = None, mark_faithfulness: float | None = None
) -> go.Figure:
    """One faithfulness curve (plot_faithfulness_curves), CPR and CMD in the title."""
    return plot_faithfulness_curves([curve], mark=mark, mark_faithfulness=mark_faithfulness)
