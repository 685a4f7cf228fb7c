"""Circuits of components (heads, MLPs, residual positions) cut from a patching or attribution result, and how
faithful they are (`components`). Circuits of edges are `interp.edges`; attribution graphs `interp.graphs`.

    from interp.circuits import circuit_from_result, faithfulness, head_circuit
"""

from interp.circuits.components import LOGITS, circuit_from_result, faithfulness, head_circuit, make_circuit

__all__ = ["LOGITS", "circuit_from_result", "faithfulness", "head_circuit", "make_circuit"]
