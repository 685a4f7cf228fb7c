"""Plotly figures built only from results: no model, no computation, no `.show()`."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.core.sites import layer_of
from interp.edge_plots import plot_edge_circuit, plot_faithfulness_curve, plot_faithfulness_curves
from interp.results import (
    AttentionPatterns,
    CausalCheck,
    Circuit,
    DLAResult,
    Faithfulness,
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


def _patch_heatmap(z, raw, x, y, *, showscale: bool) -> go.Heatmap:
    return go.Heatmap(
        z=z,
        x=list(x),
        y=list(y),
        customdata=raw,
        zmid=0,
        zmin=-1,
        zmax=1,
        colorscale="RdBu",
        showscale=showscale,
        colorbar={"title": "normalised"},
        hovertemplate="%{y} / %{x}<br>normalised %{z:.3f}<br>raw %{customdata:.3f}<extra></extra>",
    )


def plot_patch(result: PatchResult) -> go.Figure:
    """Normalised patching effect as a heatmap with token labels; layer x head x pos as one facet per layer."""
    lab = result.labels
    title = (
        f"{result.direction} {result.method} patching of {result.site} on {result.model} ({result.task}, "
        f"{result.n_prompts} prompts): "
        f"{result.metric} clean {result.clean:.2f}, corrupted {result.corrupted:.2f}"
    )
    if len(result.axes) == 2:
        x_axis = result.axes[1]
        fig = go.Figure(
            _patch_heatmap(
                result.normalized, result.raw, lab[x_axis], [f"L{layer}" for layer in lab["layer"]], showscale=True
            )
        )
        fig.update_layout(title=title, xaxis_title=x_axis, yaxis_title="layer", yaxis_autorange="reversed")
        return fig
    n_layers = len(lab["layer"])
    fig = make_subplots(
        rows=n_layers,
        cols=1,
        shared_xaxes=True,
        subplot_titles=[f"layer {layer}" for layer in lab["layer"]],
        vertical_spacing=0.02,
    )
    for i in range(n_layers):
        fig.add_trace(
            _patch_heatmap(result.normalized[i], result.raw[i], lab["pos"], lab["head"], showscale=i == 0),
            row=i + 1,
            col=1,
        )
        fig.update_yaxes(autorange="reversed", row=i + 1, col=1)
    fig.update_layout(title=title, height=160 + 40 * len(lab["head"]) * n_layers)
    return fig


def plot_dla(result: DLAResult, *, top_k: int = 30) -> go.Figure:
    """Direct contributions as bars: every part at component and head granularity, the largest `top_k` neurons."""
    parts = list(zip(result.labels, result.contributions))
    if result.granularity == "neuron":
        parts = sorted(parts, key=lambda x: -abs(x[1]))[:top_k]
    fig = go.Figure(
        go.Bar(
            x=[p[0] for p in parts],
            y=[p[1] for p in parts],
            marker_color=["#2166ac" if p[1] >= 0 else "#b2182b" for p in parts],
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


def plot_circuit(circuit: Circuit, faith: Faithfulness | None = None) -> go.Figure:
    """Nodes placed by layer (heads spread across, MLPs on the right), edges as lines, logits on top."""
    n_layers = max((layer_of(n) for n in circuit.nodes), default=0) + 1
    pos: dict[str, tuple[float, float]] = {"logits": (0.0, n_layers + 0.5)}
    widest = max(
        (sum(1 for n in circuit.nodes if "H" in n and layer_of(n) == lay) for lay in range(n_layers)), default=0
    )
    for lay in range(n_layers):
        row = [n for n in circuit.nodes if layer_of(n) == lay]
        heads = [n for n in row if "H" in n]
        for i, n in enumerate(heads):
            pos[n] = (i - (len(heads) - 1) / 2 - 0.5, lay)
        for n in row:
            if "MLP" in n:
                pos[n] = (widest / 2 + 0.5, lay + 0.35)  # one column of MLPs, right of the widest layer
    xs, ys = [], []
    for a, b in circuit.edges:
        xs += [pos[a][0], pos[b][0], None]
        ys += [pos[a][1], pos[b][1], None]
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": "rgba(120,120,120,0.35)", "width": 1},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    names = [*circuit.nodes, "logits"]
    scores = [circuit.scores.get(n) for n in names]
    fig.add_trace(
        go.Scatter(
            x=[pos[n][0] for n in names],
            y=[pos[n][1] for n in names],
            mode="markers+text",
            text=names,
            textposition="top center",
            marker={
                "size": 22,
                "color": ["#2166ac" if "H" in n else "#999999" if "MLP" in n else "#1b7837" for n in names],
            },
            hovertext=[f"{n}: score {s:.3f}" if s is not None else n for n, s in zip(names, scores)],
            hoverinfo="text",
            showlegend=False,
        )
    )
    title = f"Circuit on {circuit.model} ({circuit.task}), {len(circuit.heads())} heads, from {circuit.source}"
    if faith is not None:
        title += (
            f"<br><sup>faithfulness {faith.faithfulness:.2f}: metric {faith.circuit_metric:.2f} vs full "
            f"{faith.full_metric:.2f}, all ablated {faith.ablated_metric:.2f}</sup>"
        )
    fig.update_layout(
        title=title, xaxis={"visible": False}, yaxis={"title": "layer", "dtick": 1}, height=200 + 90 * n_layers
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
