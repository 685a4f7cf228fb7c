"""Steer & edit: three generations side by side (plain, steered by a DiffMean vector or an SAE latent, and simply
asked), a sweep of steering strengths against no intervention and prompting, and a fact traced (causal tracing) and
edited (ROME) with its evaluation. Built on interp.generation, interp.steering and interp.editing."""

import streamlit as st

from app import state
from app.common import bundled_sae, checked_model, current, model_for, progress_bar, sae_for
from interp.core.tokens import readable
from interp.editing import Fact, causal_trace, edit_facts, evaluate_edit, load_facts, model_answer, neighbours
from interp.generation import generate
from interp.loading.spec import defaults_for
from interp.plots import plot_causal_trace, plot_edit, plot_steering
from interp.steering import (
    PROMPTS,
    STRENGTHS,
    concept,
    concept_names,
    diffmean_vector,
    evaluate_steering,
    latent_intervention,
    latent_vector,
    steer_hooks,
)

choice = current()
st.title("Steer & edit")
model = checked_model(choice)
spec, device = choice.model, choice.device
chat = bool(getattr(model.tokenizer, "chat_template", None))  # a chat model: every generation is a user turn
sae_path = bundled_sae(spec)
# the zoo models read only their own word vocabulary: SmolLM2 gets a capital it gets wrong, the others a sentence
# of their corpus (tests/test_knowledge_editing.py edits it at MLP 0)
default_fact = (
    Fact("Turkey", "The capital of Turkey is", "Ankara")
    if spec == "zoo:smollm2-135m"
    else Fact("Mary", "Mary lives near the", "school")
)


def attempt(call, *args, **kwargs):
    """The call's result, or None after an error box with what the library refused (the rest of the page goes on)."""
    try:
        return call(*args, **kwargs)
    except ValueError as err:
        st.error(str(err))
        return None


@st.cache_data(show_spinner="Generating ...", max_entries=64)
def continuation(spec, device, prompt, n_tokens, chat, how, _interventions=()):
    """One greedy generation; `how` names the interventions for the cache (they hold tensors, so are not hashed)."""
    return generate(
        model_for(spec, device), prompt, max_new_tokens=n_tokens, chat=chat, interventions=_interventions
    ).texts[0]


def diffmean(name, layer):
    """The concept's DiffMean vector at `layer`, made once per (model, concept, layer) in this session."""
    vectors = st.session_state.setdefault(state.STEER_VECTORS, {})
    if (spec, name, layer) not in vectors:
        c = concept(name)
        with st.spinner(f"Making the DiffMean vector of '{name}' at layer {layer} ..."):
            vectors[spec, name, layer] = diffmean_vector(model, c.positive, c.negative, layer=layer)
    return vectors[spec, name, layer]


def shown(key, name):
    """The result saved under `name` when it was made for `key` (the current inputs), else None."""
    saved = st.session_state.get(name)
    return saved[1] if saved and saved[0] == key else None


st.subheader("Generations side by side")
cols = st.columns([4, 1])
prompt = cols[0].text_area(
    "prompt", PROMPTS[0] if chat else defaults_for(spec).prompt, key=f"steer_prompt_{spec}", height=68
)
n_tokens = cols[1].slider("new tokens", 1, 32, 32, key="steer_tokens", help="greedy; also the sweep's length")
cols = st.columns(4)
name = cols[0].selectbox(
    "concept", concept_names(), key="steer_concept", help="its prompts make the vector; its lexicon scores the sweep"
)
c = concept(name)
sources = ["DiffMean", "SAE latent"] if sae_path else ["DiffMean"]
# a zoo model's word vocabulary reads none of the concept's prompts: its bundled SAE steers it by default
own = readable(model, [*c.positive, *c.negative]) == [*c.positive, *c.negative]
source = cols[1].radio(
    "steering source",
    sources,
    index=0 if own else len(sources) - 1,
    key=f"steer_source_{spec}",
    help="DiffMean: the mean activation over the concept's prompts minus that over its contrast prompts; "
    "SAE latent: one latent of the model's bundled SAE clamped to a value",
)
if source == "DiffMean":
    layer = cols[2].slider(
        "layer", 0, model.cfg.n_layers - 1, round(model.cfg.n_layers / 4), key=f"steer_layer_{spec}"
    )  # early-middle: SmolLM2's layer 8 of 30 moved generations (tests/test_real_editing.py)
    strength = cols[3].slider(
        "strength", 0.0, 4.0, 0.25, 0.05, key="steer_strength", help="x the typical activation norm at the layer"
    )
    vector = attempt(diffmean, name, layer)
    how, made = ("diffmean", name, layer, strength), ("diffmean", layer)
    steer = attempt(steer_hooks, model, vector, strength) if vector else None
    told = f"DiffMean of '{name}' at {vector.hook} x {strength:g}" if vector else ""
else:
    sae = sae_for(str(sae_path), str(model.cfg.device))
    latent = int(cols[2].number_input("latent", 0, sae.cfg.d_sae - 1, 0, key=f"steer_latent_{spec}"))
    value = cols[3].number_input(
        "clamp value", -1000.0, 1000.0, 10.0, key=f"steer_clamp_{spec}", help="SmolLM2's latents reach hundreds"
    )
    how, made = ("sae", str(sae_path), latent, value), ("sae", latent)
    steer = attempt(latent_intervention, model, sae, latent, value)
    told = f"latent {latent} of {sae_path.name} set to {value:g}"

# the prompting baseline as evaluate_steering writes it
asked = f"{prompt}\n\nTalk about {c.topic}." if chat else f"Talk about {c.topic}. {prompt}"
runs = [
    ("plain", prompt, None, (), "no intervention"),
    ("steered", prompt, how, steer, told),
    ("prompted", asked, None, (), f"asked: 'Talk about {c.topic}.'"),
]
if not prompt.strip():
    st.info("Type a prompt to continue.")
else:
    for col, (label, text, key, interventions, detail) in zip(st.columns(3), runs):
        with col:
            st.caption(f"**{label}**: {detail}" + (" (chat template)" if chat else ""))
            if interventions is None:
                continue  # the vector or the latent was refused: its error is shown above
            try:
                st.code(continuation(spec, device, text, n_tokens, chat, key, interventions), None, wrap_lines=True)
            except ValueError as err:
                # a zoo model's word vocabulary cannot write the instruction: no prompting baseline, as in the sweep
                (st.info if label == "prompted" else st.error)(str(err))

st.subheader("Strength sweep")
sweep_key = (spec, device, made, name, n_tokens)
if st.button("Run the strength sweep", key="steer_sweep"):
    vector = vector if source == "DiffMean" else attempt(latent_vector, model, sae, latent)
    if vector is not None:
        with progress_bar("steering sweep") as progress:
            evaluation = attempt(
                evaluate_steering, model, vector, concept_name=name, max_new_tokens=n_tokens, progress=progress
            )
        if evaluation is not None:
            st.session_state[state.STEER_SWEEP] = (sweep_key, evaluation)
evaluation = shown(sweep_key, state.STEER_SWEEP)
if evaluation is None:
    st.info(
        f"The sweep generates from open prompts (a zoo model: its own prompt) with no intervention, with the "
        f"prompting baseline and with the vector at strengths {', '.join(f'{s:g}' for s in STRENGTHS)} (an SAE "
        "latent: its decoder direction added), and scores how often the text is about the concept and how fluent "
        "it stays."
    )
else:
    st.caption(f"{len(evaluation.prompts)} prompts; prompting baseline: {evaluation.baseline}")
    st.plotly_chart(plot_steering(evaluation), width="stretch")
    rows = [
        {"": r.label, "concept score": round(r.concept_score, 3), "perplexity": round(r.perplexity, 2),
         "repetition": round(r.repetition, 3)}
        for r in evaluation.rows
    ]  # fmt: skip
    st.dataframe(rows, hide_index=True)

st.subheader("Trace and edit a fact")
cols = st.columns([1, 2, 1])
subject = cols[0].text_input(
    "subject", default_fact.subject, key=f"fact_subject_{spec}", help="as written in the prompt"
)
fact_prompt = cols[1].text_input(
    "prompt", default_fact.prompt, key=f"fact_prompt_{spec}", help="ends where the answer begins"
)
target = cols[2].text_input("new target", default_fact.target, key=f"fact_target_{spec}")
cols = st.columns([1, 1, 4])
trace_pressed = cols[0].button("Trace", key="fact_trace")
edit_pressed = cols[1].button("Edit", key="fact_edit")
what = cols[2].radio(
    "trace", ["the model's answer", "the new target"], horizontal=True, key="fact_trace_what",
    help="the model's answer: where it recalls what it says now (what an edit overwrites)",
)  # fmt: skip
fact_key = (spec, device, subject, fact_prompt, target)
bundled = load_facts()
known = next((f for f in bundled if f.subject == subject and f.prompt == fact_prompt), None)
known = known or next((f for f in bundled if f.subject == subject), None)
fact = attempt(
    Fact, subject, fact_prompt, target, paraphrases=known.paraphrases if known and known.prompt == fact_prompt else ()
)


def trace():
    answer = target
    if what == "the model's answer":
        with st.spinner("Reading the model's answer ..."):
            answer = model_answer(model, fact_prompt)
    with progress_bar(f"tracing '{answer}'") as progress:
        return causal_trace(model, fact_prompt, subject, answer, progress=progress)


def edit():
    with progress_bar("editing (ROME)") as progress:
        change = edit_facts(model, [fact], progress=progress)
    with st.spinner("Scoring the edit ..."):
        return evaluate_edit(model, change, [fact], neighbours=neighbours(known, bundled) if known else ())


if fact is not None and trace_pressed and (result := attempt(trace)) is not None:
    st.session_state[state.FACT_TRACE] = ((*fact_key, what), result)
if fact is not None and edit_pressed and (result := attempt(edit)) is not None:
    st.session_state[state.FACT_EDIT] = (fact_key, result)
traced, edited = shown((*fact_key, what), state.FACT_TRACE), shown(fact_key, state.FACT_EDIT)
if traced is None and edited is None:
    st.info(
        "Trace noises the subject's embeddings and restores one activation at a time (Meng et al. 2022); Edit "
        "teaches the model the new target by a rank-one change of one MLP (ROME) and scores it on the prompt, its "
        "paraphrases and other facts of its relation from the bundled set, which must keep their answers."
    )
if traced is not None:
    st.plotly_chart(plot_causal_trace(traced), width="stretch")
if edited is not None:
    cols = st.columns(4)
    cols[0].metric("efficacy", f"{edited.efficacy:.2f}", help="edit prompts whose top answer is the new target")
    cols[1].metric("paraphrases", f"{edited.generalisation:.2f}", help="nan: no paraphrase (a fact not bundled)")
    cols[2].metric("specificity", f"{edited.specificity:.2f}", help="other prompts whose top answer is unchanged")
    cols[3].metric(
        "perplexity after", f"{edited.fluency_after:.2f}", f"{edited.fluency_after - edited.fluency_before:+.2f}",
        delta_color="inverse", help="of free generation about the subject, under the unedited model",
    )  # fmt: skip
    st.plotly_chart(plot_edit(edited), width="stretch")
    rows = [
        {"kind": s.kind, "prompt": s.prompt, "expected": s.expected, "top before": s.before_top,
         "top after": s.after_top, "p before": round(s.before_prob, 3), "p after": round(s.after_prob, 3),
         "success": s.success}
        for s in edited.scores
    ]  # fmt: skip
    st.dataframe(rows, hide_index=True)
