"""Mechanisms read from the weights (interp.weights): composition between heads with a threshold, each head's
roles, a head's OV and QK top-token tables, and MLP neurons as memories."""

import streamlit as st

from app.common import checked_model, current, download, model_for, neuron_card, shown_errors
from interp import plots

choice = current()
st.title("Weights")
st.caption(
    "Read from the weights, with no prompt: which heads feed which (composition), what each head copies, where it "
    "looks, and what each MLP neuron stores. Scores are checked against the activation-based analyses in "
    "docs/weights.md."
)
model = checked_model(choice)


@st.cache_data(show_spinner="Scoring composition between every pair of heads ...", max_entries=8)
def run_composition(spec, device):
    from interp.weights import composition_scores

    return composition_scores(model_for(spec, device))


@st.cache_data(show_spinner="Reading each head's roles (copying, previous token, induction) ...", max_entries=8)
def run_roles(spec, device):
    from interp.weights import head_roles

    return head_roles(model_for(spec, device), composition=run_composition(spec, device))


@st.cache_data(show_spinner="Reading the head's circuits over tokens ...", max_entries=32)
def run_tables(spec, device, layer, head, tokens):
    from interp.weights import ov_table, qk_table, token_ids

    m = model_for(spec, device)
    chosen = token_ids(m, list(tokens)) if tokens else None
    return ov_table(m, layer, head, sources=chosen, k=8), qk_table(m, layer, head, queries=chosen, k=8)


with shown_errors("score composition"):
    composition = run_composition(choice.model, choice.device)
threshold = st.slider("composition drawn from (excess over the random baseline)", 0.0, 0.5, 0.02, 0.01)
st.plotly_chart(plots.plot_composition(composition, threshold=threshold), width="stretch")
cols = st.columns(len(composition.kinds))
for col, kind in zip(cols, composition.kinds):
    col.markdown(f"**strongest {kind.upper()}-composition**")
    col.dataframe(
        [{"from": r.source, "to": r.target, "score": round(r.score, 3)} for r in composition.top(kind, 8)],
        hide_index=True,
    )
download(composition, "composition.json")

with shown_errors("read the head roles"):
    roles = run_roles(choice.model, choice.device)
st.plotly_chart(plots.plot_head_roles(roles), width="stretch")

st.subheader("A head's circuits over tokens")
a, b, c = st.columns([1, 1, 3])
layer = a.number_input("layer", 0, model.cfg.n_layers - 1, model.cfg.n_layers - 1)
head = b.number_input("head", 0, model.cfg.n_heads - 1, 0)
text = c.text_input("source / query tokens (comma-separated; empty: a spread of the vocabulary)", "")
tokens = tuple(x.strip(" ") for x in text.split(",") if x.strip())
with shown_errors("read the head's circuits"):
    ov, qk = run_tables(choice.model, choice.device, int(layer), int(head), tokens)
    left, right = st.columns(2)
    for col, table, what in ((left, ov, "promotes (OV)"), (right, qk, "attends to (QK)")):
        col.markdown(f"**{table.circuit}: what each token {what}**")
        col.dataframe(
            [{"token": s, "top tokens": " ".join(repr(t) for t in row[:6])}
             for s, row in zip(table.sources, table.top_tokens)],
            hide_index=True,
        )  # fmt: skip

if not model.cfg.attn_only:
    st.subheader("An MLP neuron as a memory")
    n1, n2 = st.columns(2)
    mlp_layer = n1.number_input("block", 0, model.cfg.n_layers - 1, 0, key="neuron_layer")
    neuron = n2.number_input("neuron", 0, model.cfg.d_mlp - 1, 0, key="neuron_index")
    neuron_card(choice, int(mlp_layer), int(neuron))
