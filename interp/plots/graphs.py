"""Figures of attribution graphs (interp.graphs), from a graph and its pruning only."""

from __future__ import annotations

from collections import defaultdict

import plotly.graph_objects as go

from interp.results import AttributionGraph, GraphPruning

__all__ = ["graph_layout", "plot_attribution_graph"]

_COLOURS = {"feature": "#4c78a8", "error": "#9d9d9d", "token": "#54a24b", "logit": "#e45756"}
_WIDTHS = (1.0, 2.5, 5.0)
_EDGE_COLOURS = {True: "rgba(60,110,200,0.45)", False: "rgba(210,70,60,0.45)"}


def graph_layout(graph: AttributionGraph, nodes: list[int]) -> dict[int, tuple[float, float]]:
    """(x, y) of each node: x its position (nodes sharing a cell spread across it), y its layer (tokens at -1,
    logits at n_layers)."""
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for node in nodes:
        layer, pos = graph.where(node)
        cells[(layer, pos)].append(node)
    where = {}
    for (layer, pos), members in cells.items():
        for i, node in enumerate(members):
            offset = (i + 1) / (len(members) + 1) - 0.5
            where[node] = (pos + 0.8 * offset, float(layer))
    return where


def plot_attribution_graph(
    graph: AttributionGraph,
    pruning: GraphPruning,
    *,
    max_edges: int = 400,
    highlight: tuple[int, ...] = (),
    groups: dict[str, list[int]] | None = None,
) -> go.Figure:
    """The pruned graph on a layer x position grid: nodes coloured by kind, edges blue (positive) or red
    (negative) and as wide as their weight, the strongest `max_edges` of the pruned edges drawn. `highlight`
    rings chosen nodes; `groups` (supernodes: name -> nodes) draws each group's members in one colour."""
    nodes = pruning.node_mask.nonzero()[:, 0].tolist()
    where = graph_layout(graph, nodes)
    targets, sources = pruning.edge_mask.nonzero(as_tuple=True)
    weights = graph.adjacency[targets, sources]
    order = weights.abs().argsort(descending=True)[:max_edges]
    top = float(weights.abs().max()) if len(weights) else 1.0
    fig = go.Figure()
    segments: dict[tuple[bool, int], tuple[list, list]] = defaultdict(lambda: ([], []))
    for i in order.tolist():
        t, s, w = int(targets[i]), int(sources[i]), float(weights[i])
        width = min(int(3 * abs(w) / top), 2)
        xs, ys = segments[(w > 0, width)]
        xs += [where[s][0], where[t][0], None]
        ys += [where[s][1], where[t][1], None]
    for (positive, width), (xs, ys) in sorted(segments.items()):
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                line={"color": _EDGE_COLOURS[positive], "width": _WIDTHS[width]},
            )
        )  # fmt: skip
    member = {n: name for name, group in (groups or {}).items() for n in group}
    by_kind: dict[str, list[int]] = defaultdict(list)
    for node in nodes:
        by_kind[f"group {member[node]}" if node in member else graph.kind(node)].append(node)
    for kind, members in by_kind.items():
        fig.add_trace(
            go.Scatter(
                x=[where[n][0] for n in members],
                y=[where[n][1] for n in members],
                mode="markers",
                name=kind,
                customdata=members,
                text=[_hover(graph, pruning, n) for n in members],
                hoverinfo="text",
                marker={
                    "size": [8 + 14 * (1 - float(pruning.cumulative[n])) for n in members],
                    "color": _COLOURS.get(kind),
                    "line": {"width": [3 if n in highlight else 0.5 for n in members], "color": "black"},
                },
            )
        )
    fig.update_layout(
        title=(
            f"{graph.model}: {pruning.n_nodes} nodes, {pruning.n_edges} edges; replacement "
            f"{pruning.replacement_score:.2f}, completeness {pruning.completeness_score:.2f}"
        ),
        xaxis={"tickmode": "array", "tickvals": list(range(graph.n_pos)), "ticktext": list(graph.tokens)},
        yaxis={
            "tickmode": "array",
            "tickvals": list(range(-1, graph.n_layers + 1)),
            "ticktext": ["tokens", *(f"L{layer}" for layer in range(graph.n_layers)), "logits"],
        },
        height=160 + 110 * (graph.n_layers + 2),
        clickmode="event+select",
        hovermode="closest",
    )
    return fig


def _hover(graph: AttributionGraph, pruning: GraphPruning, node: int) -> str:
    text = f"{graph.label(node)}<br>influence rank {float(pruning.cumulative[node]):.3f}"
    if graph.kind(node) == "feature":
        text += f"<br>activation {float(graph.activations[node]):.3f}"
    return text
