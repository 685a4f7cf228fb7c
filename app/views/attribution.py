"""Direct logit attribution (by component, head or neuron) and the logit lens, on the sidebar's task."""

import streamlit as st

from app.common import build_task, checked_model, current, download, model_for, neuron_card, shown_errors
from interp import plots
from interp.vocab.choices import Granularity, options

choice = current()
st.title("Attribution")
model = checked_model(choice)


@st.cache_data(show_spinner="Attributing ...", max_entries=32)
def run_dla(spec, device, task_spec, granularity):
    from interp.observe.dla import dla

    return dla(model_for(spec, device), build_task(spec, device, task_spec), granularity=granularity)


@st.cache_data(show_spinner="Reading the logit lens ...", max_entries=32)
def run_lens(spec, device, task_spec):
    from interp.observe.lens import logit_lens

    return logit_lens(model_for(spec, device), build_task(spec, device, task_spec))


granularity = st.radio("direct logit attribution by", options(Granularity), horizontal=True, key="dla_by")
top_k = st.slider("parts shown", 5, 60, 30)
with shown_errors("attribute the logit difference"):
    result = run_dla(choice.model, choice.device, choice.task, granularity)
st.caption(
    f"logit(answer) - logit(wrong) = {result.logit_diff:.3f} on {result.n_prompts} prompts; the parts, the unitemised "
    "rest and the unembedding bias add up to it"
)
st.plotly_chart(plots.plot_dla(result, top_k=top_k), width="stretch")
download(result, "dla.json")
if result.granularity == "neuron":
    top = [label for label, _ in result.top(top_k) if "N" in label]
    chosen = st.selectbox("a neuron's memory card (interp.weights.neuron_memory)", top, key="dla_neuron")
    if chosen:
        layer, neuron = chosen[1:].split("N")
        neuron_card(choice, int(layer), int(neuron))

st.subheader("Logit lens")
with shown_errors("read the logit lens"):
    lens = run_lens(choice.model, choice.device, choice.task)
st.plotly_chart(plots.plot_logit_lens(lens), width="stretch")
