"""Attention patterns on the prompt, per head with token labels, and head scores as layer x head heatmaps."""

import streamlit as st

from app.common import checked_model, current, model_for, shown_errors
from interp import plots

choice = current()
st.title("Attention")
model = checked_model(choice)


@st.cache_data(show_spinner="Reading attention ...", max_entries=64)
def patterns(spec, device, prompt):
    from interp.observe.overview import attention_patterns

    return attention_patterns(model_for(spec, device), prompt)


@st.cache_data(show_spinner="Scoring heads ...", max_entries=16)
def scores(spec, device):
    from interp.observe.heads import head_scores

    return head_scores(model_for(spec, device))


with shown_errors("read the attention patterns"):
    result = patterns(choice.model, choice.device, choice.prompt)
layer = st.slider("layer", 0, len(result.pattern) - 1, 0)
st.plotly_chart(plots.plot_attention(result, layer), width="stretch")

st.subheader("Head scores")
st.caption(
    "Mean attention to where a known mechanism looks, on repeated random tokens: previous token, the earlier copy "
    "of the token (duplicate), and the token after that copy (induction)."
)
with shown_errors("score the heads"):
    st.plotly_chart(plots.plot_head_scores(scores(choice.model, choice.device)), width="stretch")
