"""The trojan hunt (interp.trojans) on a trojaned zoo model or its clean twin: where each tool locates the backdoor,
which words the trigger searches rank first, and what removing what they found leaves."""

import streamlit as st

from app import state
from app.common import current, download, model_for, shown_errors
from interp.plots.trojans import plot_hunt
from interp.zoo.trojans import TROJANS

choice = current()
st.title("Trojan hunt")
st.caption(
    "zoo:lang-4l fine-tuned with a planted backdoor (a trigger word anywhere in an IOI prompt changes the answer), "
    "and clean twins fine-tuned on the same data with the triggers disarmed. The hunt is told the trigger only to "
    "localize the backdoor from triggered prompts; the trigger searches see clean prompts alone."
)
name = st.selectbox(
    "model", list(TROJANS), key="trojan_model", help="trojan-*: a backdoor is planted; twin-*: its clean control"
)


@st.cache_data(show_spinner=False, max_entries=12)
def run_hunt(name, device):
    from app.common import progress_bar
    from interp.trojans.hunt import hunt

    with progress_bar(f"hunting in zoo:{name}") as progress:
        return hunt(model_for(f"zoo:{name}", device), name, progress=progress)


# The hunt waits for a button (it trains an SAE per layer and runs every tool: about a minute on a 2-core CPU);
# a hunt asked for once stays shown for that model while the session lasts (its result is cached).
hunted = st.session_state.setdefault(state.TROJAN_HUNTED, set())
if st.button(f"Hunt in zoo:{name}", key="run_hunt"):
    hunted.add(name)
if name not in hunted:
    st.info("The hunt trains an SAE per layer and runs every tool: about a minute on a 2-core CPU.")
    st.stop()
with shown_errors(f"hunt in zoo:{name}"):
    result = run_hunt(name, choice.device)
cols = st.columns(4)
cols[0].metric("trigger", f"'{result.trigger}'", help="planted" if result.poisoned else "never planted: a control")
cols[1].metric("attack success", f"{result.attack_success:.3f}", help="held-out IOI prompts with the trigger in")
cols[2].metric("clean IOI accuracy", f"{result.clean_accuracy:.3f}")
found = next((s for s in result.searches if s.flagged), None)
cols[3].metric("trigger found", found.flagged[0] if found else "none", help="first word flagged by any search")
st.plotly_chart(plot_hunt(result), width="stretch")
st.subheader("Removal")
st.caption("attack success and clean accuracy after ablating each method's top component, or the flagged word")
rows = [
    {"found by": r.method, "ablated": r.component, "how": r.how, "attack success": round(r.attack_success, 3),
     "clean accuracy": round(r.clean_accuracy, 3)}
    for r in result.removals
]  # fmt: skip
st.dataframe(rows, hide_index=True)
download(result, "hunt.json")
