"""Circuits at the level of edges: the model's graph of writers and readers, edge scores (EAP, EAP-IG, exact edge
patching), circuits cut from them, faithfulness curves, and scores against circuits known by construction.

    from interp.edges import edge_scores, faithfulness_curve, learned_circuit
"""

from interp.edges.faithfulness import (
    MIB_FRACTIONS,
    AblationRunner,
    circuit_from_scores,
    circuit_metric,
    edge_circuit,
    faithfulness_curve,
    prune,
)
from interp.edges.scores import edge_scores
from interp.edges.search import acdc, learned_circuit
from interp.edges.wiring import LOGITS, EdgeGraph, Reader, edge_graph

__all__ = [
    "LOGITS",
    "MIB_FRACTIONS",
    "AblationRunner",
    "EdgeGraph",
    "Reader",
    "acdc",
    "circuit_from_scores",
    "circuit_metric",
    "edge_circuit",
    "edge_graph",
    "edge_scores",
    "faithfulness_curve",
    "learned_circuit",
    "prune",
]
