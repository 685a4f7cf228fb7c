"""Figures built only from results (layer 5): `plot_x(result) -> go.Figure`, no model, no computation, no
`.show()`. One module per subject, mirroring `interp.results`; only this folder and `sae.plots` import plotly.

    from interp.plots import plot_patch
"""

from interp.plots.circuits import plot_circuit
from interp.plots.edges import plot_edge_circuit, plot_faithfulness_curve, plot_faithfulness_curves
from interp.plots.editing import plot_causal_trace, plot_edit, plot_steering
from interp.plots.graphs import graph_layout, plot_attribution_graph
from interp.plots.model import plot_attention, plot_head_scores, plot_next_tokens, plot_task_metrics
from interp.plots.patching import plot_dla, plot_logit_lens, plot_patch
from interp.plots.probing import (
    plot_causal_check,
    plot_probe_accuracy,
    plot_probe_direction_cosines,
    plot_probe_selectivity,
)
from interp.plots.trojans import plot_hunt, plot_hunt_table
from interp.plots.weights import plot_composition, plot_head_roles

__all__ = [
    "graph_layout",
    "plot_attention",
    "plot_attribution_graph",
    "plot_causal_check",
    "plot_causal_trace",
    "plot_circuit",
    "plot_composition",
    "plot_dla",
    "plot_edge_circuit",
    "plot_edit",
    "plot_faithfulness_curve",
    "plot_faithfulness_curves",
    "plot_head_roles",
    "plot_head_scores",
    "plot_hunt",
    "plot_hunt_table",
    "plot_logit_lens",
    "plot_next_tokens",
    "plot_patch",
    "plot_probe_accuracy",
    "plot_probe_direction_cosines",
    "plot_probe_selectivity",
    "plot_steering",
    "plot_task_metrics",
]
