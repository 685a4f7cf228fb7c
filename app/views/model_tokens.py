"""Model facts, the prompt's tokens, and the model's top next-token predictions."""

import streamlit as st

from app.common import checked_model, current, model_for, shown_errors
from interp import plots

choice = current()
st.title("Model & tokens")
model = checked_model(choice)


@st.cache_data(show_spinner="Reading the prompt ...", max_entries=64)
def read_prompt(spec, device, prompt, k):
    from interp.observe.overview import next_tokens

    return next_tokens(model_for(spec, device), prompt, k=k)


from interp.observe.overview import model_facts  # noqa: E402

facts = model_facts(model)
cols = st.columns(6)
for col, (label, value) in zip(
    cols,
    [
        ("layers", facts.n_layers),
        ("heads", facts.n_heads),
        ("d_model", facts.d_model),
        ("vocabulary", facts.d_vocab),
        ("context", facts.n_ctx),
        ("parameters", f"{facts.n_params:,}"),
    ],
):
    col.metric(label, value)
st.caption(
    f"{facts.name} on {facts.device} ({facts.dtype}); "
    f"{'attention only' if facts.attn_only else f'MLP width {facts.d_mlp}'}; "
    f"sites: {', '.join(facts.sites)}"
)

k = st.slider("predictions shown", 3, 20, 10)
with shown_errors("read the prompt"):
    result = read_prompt(choice.model, choice.device, choice.prompt, k)
st.subheader(f"{len(result.tokens)} tokens")
st.dataframe(
    {
        "position": list(range(len(result.tokens))),
        "token": [repr(t) for t in result.tokens],
        "id": list(result.token_ids),
        "top prediction": [repr(t[0]) for t in result.top_tokens],
        "p": [p[0] for p in result.top_probs],
    },
    hide_index=True,
    width="stretch",
)
position = st.slider("predictions after position", 0, len(result.tokens) - 1, len(result.tokens) - 1)
st.plotly_chart(plots.plot_next_tokens(result, position=position), width="stretch")
