"""A circuit of the heads that matter most in head patching, drawn as a graph, with its faithfulness."""

import streamlit as st

from app.common import build_task, checked_model, current, download, model_for, shown_errors
from interp import plots

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
    from interp.circuits import head_circuit

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
