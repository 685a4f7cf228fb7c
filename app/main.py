"""The workbench app: `./workbench run` or `python -m app` (localhost only, no usage statistics), or
`streamlit run app/main.py`.

A thin layer over the library: each page is widgets -> one library call (cached) -> figures built by
the library's plot functions. The sidebar (model, device, task, prompt) is shared by every page.
"""

from __future__ import annotations

import os

import streamlit as st
from streamlit import config

# `streamlit run app/main.py` puts app/, not the project, on the path: `app` is found as the installed package
# (pyproject.toml installs interp, sae and app; ./workbench setup installs the project)
from app import state
from app.common import REMOTE_ENV, serves, sidebar

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

    # a navigation of this one page: without it, Streamlit would list the page scripts itself
    st.navigation([st.Page(refused, title="Not available")]).run()
    st.stop()

# The page scripts live in views/, not pages/: Streamlit treats a pages/ folder beside the main script as its older
# multipage layout and, on a fresh session opened at a page's address, ran that script before this one (no sidebar
# yet: a KeyError). tests/test_app_browser.py opens a page by its address on a fresh server.
PAGES = {
    "Model": [
        st.Page("views/model_tokens.py", title="Model & tokens", icon=":material/token:"),
        st.Page("views/attention.py", title="Attention", icon=":material/grid_on:"),
    ],
    "Circuits": [
        st.Page("views/patching.py", title="Patching", icon=":material/swap_horiz:", default=True),
        st.Page("views/attribution.py", title="Attribution", icon=":material/bar_chart:"),
        st.Page("views/circuit.py", title="Circuit", icon=":material/account_tree:"),
        st.Page("views/graph.py", title="Attribution graph", icon=":material/schema:"),
        st.Page("views/trojans.py", title="Trojan hunt", icon=":material/bug_report:"),
    ],
    "Representations": [
        st.Page("views/probes.py", title="Probes", icon=":material/sensors:"),
        st.Page("views/sae_features.py", title="SAE features", icon=":material/scatter_plot:"),
        st.Page("views/superposition.py", title="Superposition", icon=":material/hub:"),
        st.Page("views/weights.py", title="Weights", icon=":material/grid_view:"),
    ],
    "Editing": [
        st.Page("views/steer_edit.py", title="Steer & edit", icon=":material/tune:"),
    ],
}

st.set_page_config(page_title="Interpretability workbench", layout="wide")
page = st.navigation(PAGES)
st.session_state[state.CHOICE] = sidebar()
page.run()
