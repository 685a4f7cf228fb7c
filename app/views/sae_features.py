"""SAE features: load an SAE folder; which features fire on the prompt's tokens; a feature's dashboard
(top contexts with highlighted tokens, activation histogram, logit effects, density); and the effect
of ablating or steering it on the next-token distribution."""

import streamlit as st

from app.common import bundled_sae, check_allowed_path, checked_model, current, model_for, sae_for, shown_errors
from interp.loading.spec import defaults_for
from interp.vocab.choices import EditMode, options
from interp.zoo.texts import text_source_names

choice = current()
st.title("SAE features")
model = checked_model(choice)


def _model_and_sae(spec, device, path):
    """The model and the SAE on the model's device (both cached resources)."""
    model = model_for(spec, device)
    return model, sae_for(path, str(model.cfg.device))


def _prompt_ids(model, prompt):
    from interp.observe.overview import prompt_tokens

    return prompt_tokens(model, prompt)[0]


@st.cache_data(show_spinner="Encoding the prompt ...", max_entries=64)
def prompt_view(spec, device, path, prompt):
    from sae.features import prompt_features

    model, sae = _model_and_sae(spec, device, path)
    return prompt_features(model, sae, _prompt_ids(model, prompt))


@st.cache_data(show_spinner="Building the dashboard ...", max_entries=64)
def dashboard(spec, device, path, n_tokens, feature, text):
    from interp.loading.token_sources import token_rows
    from sae.features import feature_dashboard

    model, sae = _model_and_sae(spec, device, path)
    rows = token_rows(model, n_tokens=n_tokens, context=48, dataset=text)
    return feature_dashboard(model, sae, rows, feature)


@st.cache_data(show_spinner="Evaluating the SAE on held-out tokens ...", max_entries=16)
def evaluation(spec, device, path, n_tokens):
    """`sae eval`'s figures, on the tokens it reads by default: the held-out split of the text the SAE was trained
    on (a zoo model's own corpus otherwise), rows of 48 tokens."""
    from interp.loading.token_sources import token_rows
    from interp.zoo.texts import evaluation_source
    from sae.evaluation import evaluate_sae

    model, sae = _model_and_sae(spec, device, path)
    source = evaluation_source("", trained_on=str(sae.cfg.metadata.get("dataset_path") or ""))
    return evaluate_sae(model, sae, token_rows(model, n_tokens=n_tokens, context=48, dataset=source))


@st.cache_data(show_spinner="Editing the feature ...", max_entries=64)
def edit(spec, device, path, prompt, feature, mode, value):
    from sae.features import intervene

    model, sae = _model_and_sae(spec, device, path)
    return intervene(model, sae, _prompt_ids(model, prompt), feature, mode=mode, value=value)


default = bundled_sae(choice.model)
path = st.text_input(
    "SAE folder (SAELens format) or release:sae_id",
    value=str(default) if default else "",
    key=f"sae_path_{choice.model}",
    help="the model's bundled SAE when it has one (its CARD.md, in the folder, says what it reads)",
).strip()
if not path:
    st.info(f"Give an SAE trained on {choice.model} (`sae train` writes one to OUT/NAME/sae).")
    st.stop()
with shown_errors(f"load the SAE at {path}"):
    check_allowed_path(path, "SAEs")
    sae = sae_for(path, str(model.cfg.device))
st.caption(
    f"{type(sae).__name__}: {sae.cfg.d_in} -> {sae.cfg.d_sae} latents at "
    f"{sae.cfg.metadata.hook_name or '(hook not recorded)'}"
)

from sae import plots  # noqa: E402

if st.toggle("Evaluate this SAE on held-out tokens (as `sae eval`)", key="sae_eval"):
    with shown_errors("evaluate the SAE"):
        ev = evaluation(choice.model, choice.device, path, 4000)
    st.dataframe(
        {
            "measure": [
                "L0",
                "explained variance",
                "CE loss recovered, SAELens's (baseline zero-ablated at every position)",
                "CE loss recovered, consistent (baseline zero-ablated where the SAE is spliced)",
                "KL(clean || with SAE) per token",
                "dead latents",
            ],
            "value": [
                ev.l0,
                ev.explained_variance,
                ev.ce_loss_recovered,
                ev.ce_loss_recovered_consistent,
                ev.kl,
                ev.dead_fraction,
            ],
        },
        hide_index=True,
    )
    st.caption(
        f"{ev.n_tokens:,} tokens at {ev.hook}. The SAE reads and replaces the activations only where "
        "sae.positions keeps them (not BOS or massive activations). SAELens's figure is the one to compare with "
        "other tools; the consistent one is exactly 0 for an SAE that outputs zeros and 1 for an exact one."
    )

with shown_errors("encode the prompt"):
    pf = prompt_view(choice.model, choice.device, path, choice.prompt)
st.subheader("Features on each token of the prompt")
st.plotly_chart(plots.plot_prompt_features(pf), width="stretch")

strongest = pf.features[-1][0][0] if pf.features[-1] else 0
cols = st.columns(3)
feature = int(
    cols[0].number_input("feature", 0, sae.cfg.d_sae - 1, strongest, help="default: the strongest on the last token")
)
n_tokens = cols[1].select_slider("dashboard tokens", [2000, 4000, 8000, 16000, 32000], value=8000)
own = defaults_for(choice.model).text  # the model's own corpus, or the text its bundled SAE was trained on
texts = list(dict.fromkeys([own, *text_source_names()]))
text = cols[2].selectbox(
    "dashboard text",
    texts,
    key=f"sae_text_{choice.model}",
    help="zoo: the zoo model's own corpus; text:NAME: English text (/heldout: the split SAE jobs never train on)",
)
with shown_errors(f"build feature {feature}'s dashboard"):
    dash = dashboard(choice.model, choice.device, path, n_tokens, feature, text)
st.subheader(f"Feature {feature}: density {dash.density:.3%}, max activation {dash.max_activation:.2f}")
st.plotly_chart(plots.plot_feature_dashboard(dash), width="stretch")

st.subheader("Ablate or steer it on the prompt")
cols = st.columns(2)
mode = cols[0].radio("edit", options(EditMode), horizontal=True, key="sae_edit")
# a real model's latents reach hundreds (SmolLM2's up to ~260): the range follows the feature's own scale
limit = max(100.0, round(4 * dash.max_activation, 1))
value = cols[1].number_input(
    "steer to", -limit, limit, max(1.0, round(2 * dash.max_activation, 1)), disabled=mode == "ablate"
)
with shown_errors(f"{mode} feature {feature}"):
    result = edit(choice.model, choice.device, path, choice.prompt, feature, mode, value if mode == "steer" else 0.0)
st.caption(f"KL(before || after) at the last position: {result.kl:.4f}")
st.plotly_chart(plots.plot_feature_intervention(result), width="stretch")
