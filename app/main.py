"""The workbench app: `streamlit run app/main.py` (or `./workbench run`).

A thin layer over the library: each page is widgets -> one library call (cached) -> figures built by
the library's plot functions. The sidebar (model, device, task, prompt) is shared by every page.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/, not the project, on the path
    sys.path.insert(0, str(ROOT))

from app.common import sidebar  # noqa: E402

PAGES = {
    "Model": [
        st.Page("pages/model_tokens.py", title="Model & tokens", icon=":material/token:"),
        st.Page("pages/attention.py", title="Attention", icon=":material/grid_on:"),
    ],
    "Circuits": [
        st.Page("pages/patching.py", title="Patching", icon=":material/swap_horiz:", default=True),
        st.Page("pages/attribution.py", title="Attribution", icon=":material/bar_chart:"),
        st.Page("pages/circuit.py", title="Circuit", icon=":material/account_tree:"),
    ],
    "Representations": [
        st.Page("pages/probes.py", title="Probes", icon=":material/sensors:"),
        st.Page("pages/sae_features.py", title="SAE features", icon=":material/scatter_plot:"),
        st.Page("pages/superposition.py", title="Superposition", icon=":material/hub:"),
    ],
}

st.set_page_config(page_title="Interpretability workbench", layout="wide")
page = st.navigation(PAGES)
st.session_state["choice"] = sidebar()
page.run()
