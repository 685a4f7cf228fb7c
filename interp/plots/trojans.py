"""Figures of trojan hunts (interp.results.trojans), built from the results alone."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from interp.results import HuntResult

__all__ = ["plot_hunt", "plot_hunt_table"]

FOUND, OTHER = "#d62728", "#8c9bb5"


def plot_hunt(result: HuntResult, *, top: int = 10) -> go.Figure:
    """One row per localization method (its top components, the known location in red) and per trigger search (its
    top words, the trigger in red, the flag threshold dashed)."""
    rows = len(result.localizations) + len(result.searches)
    titles = [f"locate: {loc.method}" + (f" (AUROC {loc.auroc:.2f})" if loc.auroc is not None else "")
              for loc in result.localizations]  # fmt: skip
    titles += [f"trigger: {s.method} (trigger rank {s.trigger_rank})" for s in result.searches]
    fig = make_subplots(rows=rows, cols=1, subplot_titles=titles, vertical_spacing=0.6 / rows)
    for i, loc in enumerate(result.localizations, 1):
        names = list(loc.components[:top])
        colors = [FOUND if c in result.location else OTHER for c in names]
        fig.add_bar(x=names, y=list(loc.scores[:top]), marker_color=colors, row=i, col=1, showlegend=False)
    for j, s in enumerate(result.searches, len(result.localizations) + 1):
        words = list(s.words[:top])
        colors = [FOUND if w == result.trigger else OTHER for w in words]
        fig.add_bar(x=words, y=list(s.scores[:top]), marker_color=colors, row=j, col=1, showlegend=False)
        if s.method != "gradient":  # the others flag words at the threshold; plain HotFlip's scores are estimates
            fig.add_hline(y=result.threshold, line_dash="dash", row=j, col=1)
    state = "planted" if result.poisoned else "clean twin (never planted)"
    fig.update_layout(
        title=(
            f"Trojan hunt on {result.model}: trigger '{result.trigger}' {state}; attack success "
            f"{result.attack_success:.2f}, clean IOI accuracy {result.clean_accuracy:.2f}"
            f"<br><sub>red: the known location / the trigger; dashed: the flag threshold ({result.threshold})</sub>"
        ),
        height=230 * rows,
        margin={"t": 110},
    )
    return fig


def plot_hunt_table(results: list[HuntResult]) -> go.Figure:
    """The benchmark table: method x model, with localization AUROC and rank, trigger rank, and removal."""
    header = ["model", "method", "AUROC", "true rank", "trigger rank", "flagged", "attack after", "clean after"]
    cells: list[list] = [[] for _ in header]
    for r in results:
        for loc in r.localizations:
            rem = next((x for x in r.removals if x.method == loc.method and x.how == "direction"), None)
            row = [r.model, loc.method, _f(loc.auroc), loc.true_rank or "-", "", "",
                   _f(rem.attack_success if rem else None), _f(rem.clean_accuracy if rem else None)]  # fmt: skip
            for c, v in zip(cells, row):
                c.append(v)
        for s in r.searches:
            rem = next((x for x in r.removals if x.method == s.method and x.how == "trigger embedding"), None)
            row = [r.model, s.method, "", "", s.trigger_rank or "-", ", ".join(s.flagged) or "none",
                   _f(rem.attack_success if rem else None), _f(rem.clean_accuracy if rem else None)]  # fmt: skip
            for c, v in zip(cells, row):
                c.append(v)
    fig = go.Figure(go.Table(header={"values": header}, cells={"values": cells}))
    fig.update_layout(title="Trojan hunt: every method on every trojaned model and clean twin", height=900)
    return fig


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"
