"""Attribution graphs (interp.graphs): a prompt's graph through the model's transcoders, pruned by sliders; a node's
feature dashboard and edges on click; supernodes grouped by hand; interventions with the graph's prediction beside
the replacement model's answer; graphs exported to, and read from, circuit-tracer's viewer format."""

import json
import tempfile
from pathlib import Path

import streamlit as st

from app import state
from app.common import check_allowed_path, checked_model, current, shown_errors
from interp.graphs.export import graph_json, read_graph_json
from interp.graphs.prune import prune
from interp.loading.spec import defaults_for
from interp.plots.graphs import plot_attribution_graph
from interp.vocab.defaults import GRAPH
from interp.zoo import bundled_sae_folder

choice = current()
st.title("Attribution graph")
st.caption(
    "Transcoders replace the MLPs; with the prompt's attention patterns and normalisation frozen the model is linear "
    "in their latents, and each edge is a direct effect through that frozen model (circuit-tracer's method)."
)
bundled = bundled_sae_folder(defaults_for(choice.model).transcoders)
left, right = st.columns([3, 2])
folder = left.text_input(
    "transcoders", str(bundled or ""), help="a transcoder folder or `sae train` job folder (SAELens format)"
)
prompt = left.text_input("prompt", defaults_for(choice.model).prompt)
difference = right.text_input("logit difference (optional)", "", help='two tokens "A B": attribute logit(A) - logit(B)')
max_nodes = right.number_input("max latents attributed", 16, 16384, GRAPH.max_feature_nodes, step=256)
uploaded = st.file_uploader("…or open a graph file (circuit-tracer / Neuronpedia JSON)", type="json")


@st.cache_data(show_spinner=False, max_entries=8)
def run_graph(model_spec, device, folder, prompt, difference, max_nodes):
    from app.common import model_for, progress_bar
    from interp.graphs.attribute import attribute

    with progress_bar("attributing") as progress:
        return attribute(
            model_for(model_spec, device), _transcoders(folder, device), prompt, difference=difference,
            max_feature_nodes=max_nodes, progress=progress,
        )  # fmt: skip


@st.cache_resource(show_spinner=False, max_entries=4)
def _transcoders(folder, device):
    from interp.graphs.transcoder_set import load_transcoders
    from interp.loading.model import resolve_device

    return load_transcoders(folder, device=str(resolve_device(device)))


if uploaded is not None:
    with shown_errors(f"read {uploaded.name}"), tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / uploaded.name
        path.write_bytes(uploaded.getvalue())
        graph = read_graph_json(path)
    live = False
else:
    if not folder:
        st.info(f"{choice.model} has no bundled transcoders: give a folder (train them with `sae train`).")
        st.stop()
    checked_model(choice)
    with shown_errors("trace the graph"):
        check_allowed_path(folder, "transcoders")
        pair = tuple(difference.split()) if difference.strip() else None
        if pair is not None and len(pair) != 2:
            raise ValueError('give the logit difference as two tokens separated by a space, e.g. "Mary John"')
        graph = run_graph(choice.model, choice.device, folder, prompt, pair, int(max_nodes))
    live = True

a, b, c = st.columns(3)
node_threshold = a.slider(
    "node threshold", 0.1, 1.0, GRAPH.node_threshold, 0.01, help="share of influence on the logits kept"
)
edge_threshold = b.slider("edge threshold", 0.1, 1.0, GRAPH.edge_threshold, 0.01)
max_edges = c.slider("edges drawn", 50, 2000, 400, 50)
pruning = prune(graph, node_threshold=node_threshold, edge_threshold=edge_threshold)
cols = st.columns(4)
cols[0].metric("latents active", graph.n_features)
cols[1].metric("nodes / edges kept", f"{pruning.n_nodes} / {pruning.n_edges}")
cols[2].metric("replacement score", f"{pruning.replacement_score:.3f}", help="influence from tokens vs error nodes")
cols[3].metric("completeness score", f"{pruning.completeness_score:.3f}")
st.caption(
    f"logits: {', '.join(f'{label!r} p={p:.3f}' for label, p in graph.targets())}"
    f"; traced in {graph.seconds:.2f} s ({graph.passes})"
)

groups: dict = st.session_state.setdefault(state.GRAPH_GROUPS, {})
by_influence = pruning.kept()
kept = [n for n in by_influence if graph.kind(n) == "feature"]
selected = st.session_state.get(state.GRAPH_NODE)
fig = plot_attribution_graph(
    graph, pruning, max_edges=max_edges, highlight=(selected,) if selected is not None else (), groups=groups
)
event = st.plotly_chart(fig, width="stretch", on_select="rerun", selection_mode="points", key="graph_plot")
points = event.selection.points if event and event.selection else []
clicked = [p["customdata"] for p in points if isinstance(p.get("customdata"), int)]
if clicked and clicked[0] != selected:
    st.session_state[state.GRAPH_NODE] = clicked[0]
    st.rerun()

node = st.selectbox(
    "node (or click one in the graph)",
    by_influence,
    index=by_influence.index(selected) if selected in by_influence else 0,
    format_func=graph.label,
)
st.session_state[state.GRAPH_NODE] = node
incoming, outgoing = st.columns(2)
for column, title, into in ((incoming, "strongest edges in", True), (outgoing, "strongest edges out", False)):
    column.markdown(f"**{title}**")
    column.dataframe(
        [{"node": graph.label(n), "weight": round(w, 4)} for n, w in graph.strongest_edges(node, into=into)],
        hide_index=True,
    )


@st.cache_data(show_spinner="Building the dashboard ...", max_entries=64)
def dashboard(spec, device, folder, layer, latent):
    from app.common import model_for
    from interp.loading.token_sources import token_rows
    from sae.features import feature_dashboard

    model = model_for(spec, device)
    # the contexts come from the token source `sae train` collects a zoo model's transcoders from (its corpus)
    rows = token_rows(model, n_tokens=8000, context=48)
    return feature_dashboard(model, _transcoders(folder, device).by_layer[layer], rows, latent)


if live and graph.kind(node) == "feature" and st.toggle(f"feature dashboard of {graph.label(node)}", key="graph_dash"):
    from sae.plots import plot_feature_dashboard

    layer, pos, latent = graph.latent(node)
    with shown_errors("build the dashboard"):
        st.plotly_chart(plot_feature_dashboard(dashboard(choice.model, choice.device, folder, layer, latent)))

st.subheader("Supernodes")
st.caption("group latents that do one thing; groups are drawn in their own colour and can be intervened on together")
g1, g2 = st.columns([3, 1])
members = g1.multiselect("latents", kept, format_func=graph.label, key="group_members")
name = g2.text_input("group name", key="group_name")
if g2.button("add group", disabled=not (members and name)):
    groups[name] = list(members)
    st.rerun()
if groups:
    st.write({k: [graph.label(n) for n in v] for k, v in groups.items()})
    if st.button("clear groups"):
        groups.clear()
        st.rerun()

if live:
    st.subheader("Intervene")
    options = {**{f"group {k}": v for k, v in groups.items()}, **{graph.label(n): [n] for n in kept}}
    i1, i2, i3 = st.columns([3, 1, 1])
    chosen = i1.multiselect("latents or groups", list(options), key="intervene_on")
    factor = i2.number_input("scale activations by", -5.0, 10.0, 0.0, 0.5, help="0 ablates; 2 doubles")
    frozen = i3.checkbox("freeze attention", help="the local replacement model (attention and norms frozen)")
    if chosen and st.button("run intervention"):
        from app.common import model_for
        from interp.graphs.verify import intervene

        nodes = sorted({n for key in chosen for n in options[key]})
        with shown_errors("intervene"):
            result = intervene(
                model_for(choice.model, choice.device), _transcoders(folder, choice.device), graph, nodes,
                factor=factor, frozen=frozen,
            )  # fmt: skip
        r1, r2 = st.columns(2)
        r1.metric(f"predicted change of {result.target!r}", f"{result.predicted:+.3f}")
        r2.metric("actual change", f"{result.actual:+.3f}")

st.download_button(
    "Download graph JSON (circuit-tracer / Neuronpedia viewer)",
    json.dumps(graph_json(graph, pruning, slug="workbench-graph")),
    file_name="attribution-graph.json",
    mime="application/json",
)
