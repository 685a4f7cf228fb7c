"""The workbench app: `./workbench run` or `python -m app` (localhost only, no usage statistics), or
`streamlit run app/main.py`.

A thin layer over the library: each page is widgets -> one library call (cached) -> figures built by
the library's plot functions. The sidebar (model, device, task, prompt) is shared by every page.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/, not the project, on the path
    sys.path.insert(0, str(ROOT))

from streamlit import config  # noqa: E402

from app.common import REMOTE_ENV, serves, sidebar  # noqa: E402

# Every way of starting the app reads app/.streamlit/config.toml (localhost only, no usage statistics), but a
# flag (`--server.address 0.0.0.0`) or STREAMLIT_* variables can override it: statistics go off here for every
# session after the first page load, and clients on other machines get nothing unless the person who started the
# app allowed them (python -m app --remote, or WORKBENCH_ALLOW_REMOTE=1).
config.set_option("browser.gatherUsageStats", False)
client = st.context.ip_address
client = client if isinstance(client, str) else None  # AppTest hands the script a mock context
if not serves(client, allow_remote=os.environ.get(REMOTE_ENV) == "1"):

    def refused() -> None:
        st.error(
            "This workbench answers only on the machine it runs on. To open it to others, start it with "
            f"`python -m app --remote` (or {REMOTE_ENV}=1) on a network you trust."
        )

    # a navigation of this one page: without it, Streamlit would list and serve the scripts in pages/ itself
    st.navigation([st.Page(refused, title="Not available")]).run()
    st.stop()

PAGES = {
    "Model": [
        st.Page("pages/model_tokens.py", title="Model & tokens", icon=":material/token:"),
        st.Page("pages/attention.py", title="Attention", icon=":material/grid_on:"),
    ],
    "Circuits": [
        st.Page("pages/patching.py", title="Patching", icon=":material/swap_horiz:", default=True),
        st.Page("pages/attribution.py", title="Attribution", icon=":material/bar_chart:"),
        st.Page("pages/circuit.py", title="Circuit", icon=":material/account_tree:"),
        st.Page("pages/graph.py", title="Attribution graph", icon=":material/schema:"),
        st.Page("pages/trojans.py", title="Trojan hunt", icon=":material/bug_report:"),
    ],
    "Representations": [
        st.Page("pages/probes.py", title="Probes", icon=":material/sensors:"),
        st.Page("pages/sae_features.py", title="SAE features", icon=":material/scatter_plot:"),
        st.Page("pages/superposition.py", title="Superposition", icon=":material/hub:"),
    ],
    "Editing": [
        st.Page("pages/steer_edit.py", title="Steer & edit", icon=":material/tune:"),
    ],
}

st.set_page_config(page_title="Interpretability workbench", layout="wide")
page = st.navigation(PAGES)
st.session_state["choice"] = sidebar()
page.run()
