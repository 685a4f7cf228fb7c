"""What the app keeps between reruns in `st.session_state`, named in one place: a reader finds every piece of
session state here, and two pages cannot share a key by accident (tests/test_layering.py refuses a key written
as a raw string in a page)."""

__all__ = [
    "CHOICE",
    "EDGES_ASKED",
    "EDGES_LEARNED",
    "FACT_EDIT",
    "FACT_TRACE",
    "GRAPH_GROUPS",
    "GRAPH_NODE",
    "STEER_SWEEP",
    "STEER_VECTORS",
    "TROJAN_HUNTED",
]

CHOICE = "choice"
"""The sidebar's `Choice` (model, device, task, prompt), set by main.py before each page runs."""
GRAPH_NODE = "graph_node"
"""Attribution graph: the node clicked or chosen."""
GRAPH_GROUPS = "graph_groups"
"""Attribution graph: supernodes by name -> their nodes."""
STEER_VECTORS = "steer_vectors"
"""Steer & edit: DiffMean vectors made this session, by (model, concept, layer)."""
STEER_SWEEP = "steer_sweep_result"
"""Steer & edit: (inputs, SteeringEvaluation) of the last sweep, shown while the inputs stay the same."""
FACT_TRACE = "fact_trace_result"
"""Steer & edit: (inputs, CausalTrace) of the last trace."""
FACT_EDIT = "fact_edit_result"
"""Steer & edit: (inputs, EditEvaluation) of the last edit."""
TROJAN_HUNTED = "trojan_hunted"
"""Trojan hunt: the models hunted this session (their results are cached)."""
EDGES_ASKED = "edges_asked"
"""Circuit: the edge searches asked for this session."""
EDGES_LEARNED = "edges_learned"
"""Circuit: the learned-mask searches run this session."""
