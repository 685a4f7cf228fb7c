"""A circuit of the heads that matter most in head patching, drawn as a graph, with its faithfulness; then a circuit
of edges (interp.edges): edge scores, the top edges as a graph, and faithfulness over circuit sizes."""

import streamlit as st

from app import state
from app.common import build_task, checked_model, current, download, model_for, progress_bar, shown_errors
from interp import plots
from interp.vocab.choices import Ablation, Direction, EdgeMethod, options

# Graphs up to this many edges are scored as soon as the page opens (about a second for the zoo's small models);
# larger ones wait for a button (smollm2-135m: 70,651 edges, minutes on a CPU). A comment, not a docstring:
# Streamlit's magic would write a bare string onto the page.
AUTO_EDGES = 5_000

choice = current()
st.title("Circuit")
model = checked_model(choice)
st.caption(
    "Heads ranked by |normalised effect| when their output (z) is patched from the clean run into the corrupted one; "
    "the top k (plus every MLP) form the circuit. Faithfulness: the metric with everything else mean-ablated, "
    "over the full model's."
)


@st.cache_data(show_spinner="Patching heads and ablating the rest ...", max_entries=32)
def run_circuit(spec, device, task_spec, top_k):
    from interp.circuits.components import head_circuit

    return head_circuit(model_for(spec, device), build_task(spec, device, task_spec), top_k=top_k)


top_k = st.slider(
    "heads in the circuit", 1, model.cfg.n_layers * model.cfg.n_heads, min(4, model.cfg.n_layers * model.cfg.n_heads)
)
with shown_errors("build the circuit"):
    found = run_circuit(choice.model, choice.device, choice.task, top_k)
faith = found.faithfulness
cols = st.columns(4)
cols[0].metric("faithfulness", f"{faith.faithfulness:.3f}")
cols[1].metric("circuit logit diff", f"{faith.circuit_metric:.3f}")
cols[2].metric("full model", f"{faith.full_metric:.3f}")
cols[3].metric("all ablated", f"{faith.ablated_metric:.3f}")
st.plotly_chart(plots.plot_circuit(found.circuit, faith), width="stretch")
with st.expander("Head patching the circuit was chosen from"):
    st.plotly_chart(plots.plot_patch(found.patching), width="stretch")
download(found.circuit, "circuit.json")

st.divider()
st.header("Edges")
st.caption(
    "Every edge from a writer (embeddings, head, MLP) to a reader (a head's q/k/v input, an MLP, the logits) scored "
    "by its effect on the logit difference; the top edges, pruned to paths from the embeddings to the logits, form the "
    "circuit. Faithfulness: (circuit - every edge ablated) / (full model - every edge ablated), with the edges outside "
    "the circuit ablated."
)
cols = st.columns(4)
methods, directions = options(EdgeMethod), options(Direction)
method = cols[0].selectbox(
    "edge scores",
    methods,
    index=methods.index("eap-ig"),
    key="edge_method",
    help="eap: one gradient; eap-ig: integrated gradients over the inputs; eap-ig-activations: over each layer's "
    "activations; exact: one patched run per edge (slow)",
)
steps = cols[1].number_input(
    "integration steps",
    1,
    50,
    5,
    key="edge_steps",
    disabled=not method.startswith("eap-ig"),
    help="eap-ig methods only",
)
direction = cols[2].selectbox(
    "direction",
    directions,
    index=directions.index("noise"),
    key="edge_direction",
    help="noise: each edge carries the corrupted run's value into the clean run; denoise: the reverse",
)
ablation = cols[3].selectbox(
    "ablation", options(Ablation), key="edge_ablation", help="what an edge outside the circuit carries instead"
)
steps = int(steps) if method.startswith("eap-ig") else 1  # other methods ignore steps: one cache entry


@st.cache_data(show_spinner=False, max_entries=16)
def run_edge_scores(spec, device, task_spec, method, steps, direction):
    from interp.edges import edge_scores

    model, task = model_for(spec, device), build_task(spec, device, task_spec)
    with progress_bar(f"scoring edges ({method})") as progress:
        return edge_scores(model, task, method=method, steps=steps, direction=direction, progress=progress)


# the scores are keyed by the arguments before them; `_scores` (not hashed) is what those arguments computed
@st.cache_data(show_spinner=False, max_entries=16)
def run_faithfulness_curve(spec, device, task_spec, method, steps, direction, ablation, _scores):
    from interp.edges import faithfulness_curve

    model, task = model_for(spec, device), build_task(spec, device, task_spec)
    with progress_bar("circuits of growing size") as progress:
        return faithfulness_curve(model, task, _scores, ablation=ablation, progress=progress)


# One runner per model, task, ablation and metric, shared by sessions: it captures the clean run and the ablation
# values once, so a slider move costs one ablated run (it captured twice per move before). It is read-only once
# built, and each run holds the model's lock.
@st.cache_resource(show_spinner="Capturing the runs the ablations need ...", max_entries=8)
def ablation_runner(spec, device, task_spec, ablation, metric):
    from interp.edges import AblationRunner

    return AblationRunner(model_for(spec, device), build_task(spec, device, task_spec), ablation, metric)


@st.cache_data(show_spinner="Ablating the edges outside the circuit ...", max_entries=64)
def run_edge_circuit(spec, device, task_spec, method, steps, direction, ablation, size, _scores):
    from interp.edges import circuit_from_scores

    circuit = circuit_from_scores(model_for(spec, device), _scores, top_n=size)
    return circuit, ablation_runner(spec, device, task_spec, ablation, _scores.metric).metric_of(circuit)


@st.cache_data(show_spinner=False, max_entries=16)
def run_learned_circuit(spec, device, task_spec, ablation, metric, size):
    from interp.edges import learned_circuit

    model, task = model_for(spec, device), build_task(spec, device, task_spec)
    with progress_bar("learning edge masks") as progress:
        circuit = learned_circuit(model, task, size, ablation=ablation, metric=metric, progress=progress)
    runner = ablation_runner(spec, device, task_spec, ablation, metric)
    return circuit, runner.faithfulness(runner.metric_of(circuit))


with shown_errors("score the edges"):
    from interp.edges import edge_graph

    n_edges = edge_graph(model).n_edges
    keys = (choice.model, choice.device, choice.task, method, steps, direction)
    asked = st.session_state.setdefault(state.EDGES_ASKED, set())
    if n_edges > AUTO_EDGES and (*keys, ablation) not in asked:
        st.info(
            f"This model's graph has {n_edges:,} edges: scoring them and measuring the faithfulness curve can take "
            "minutes on a CPU."
        )
        if not st.button("Score the edges", key="edge_run"):
            st.stop()
        asked.add((*keys, ablation))
    scores = run_edge_scores(*keys)
    curve = run_faithfulness_curve(*keys, ablation, scores)
size = st.slider(
    "edges in the circuit (top by |score|)",
    1,
    n_edges,
    max(1, round(0.05 * n_edges)),
    key=f"edge_size_{n_edges}",  # keyed by the graph: another model starts at its own 5%
)
with shown_errors("cut and ablate the edge circuit"):
    circuit, value = run_edge_circuit(*keys, ablation, size, scores)
faithfulness = (value - curve.empty_metric) / (curve.full_metric - curve.empty_metric)
st.caption(
    f"{scores.method} scores of {len(scores.edges):,} edges on "
    f"{scores.n_prompts} prompts ({scores.passes}, {scores.seconds:.2f} s); {scores.metric} clean {scores.clean:.3f}, "
    f"corrupted {scores.corrupted:.3f}"
)
cols = st.columns(4)
cols[0].metric("edge circuit faithfulness", f"{faithfulness:.3f}")
cols[1].metric("edges kept", f"{len(circuit.edges)}", help=f"top {size}, pruned to paths to the logits")
cols[2].metric(f"edge circuit {scores.metric}", f"{value:.3f}")
cols[3].metric("CPR / CMD", f"{curve.cpr:.3f} / {curve.cmd:.3f}", help="area under the curve / between it and 1")
left, right = st.columns([3, 2])
left.plotly_chart(plots.plot_edge_circuit(circuit), width="stretch")
right.plotly_chart(
    plots.plot_faithfulness_curve(curve, mark=len(circuit.edges), mark_faithfulness=faithfulness), width="stretch"
)
download(circuit, "edge-circuit.json")

st.subheader("Learned edge masks")
st.caption(
    "Every edge's keep-weight learned at once, by gradient descent through runs with the edges partly ablated "
    "(edge pruning): often more faithful than the top edges of any ranking at the same size, where edges matter "
    "only together. 300 steps of one forward and one backward pass each: about 20 s on the zoo's language model."
)
if st.button(f"Learn a circuit of at most {size} edges", key="edge_learn"):
    st.session_state.setdefault(state.EDGES_LEARNED, set()).add((*keys, ablation, size))
if (*keys, ablation, size) in st.session_state.get(state.EDGES_LEARNED, set()):
    with shown_errors("learn the edge masks"):
        learned, learned_faith = run_learned_circuit(
            choice.model, choice.device, choice.task, ablation, scores.metric, size
        )
        cols = st.columns(3)
        cols[0].metric("learned circuit faithfulness", f"{learned_faith:.3f}")
        cols[1].metric("learned edges kept", f"{len(learned.edges)}", help=f"at most {size}")
        cols[2].metric("vs the top edges", f"{learned_faith - faithfulness:+.3f}", help="faithfulness difference")
        st.plotly_chart(plots.plot_edge_circuit(learned), width="stretch")
        download(learned, "learned-edge-circuit.json")
