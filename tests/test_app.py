"""The Streamlit app through `streamlit.testing.v1.AppTest`: every page's default flow shows its figures
with no error, and one bad input per page shows an `st.error` saying what to fix (never a traceback)
while the sidebar keeps working."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.common import OTHER
from interp.vocab.choices import Ablation, DeviceChoice, Direction, EdgeMethod, MetricName, TaskName, options

APP = Path(__file__).resolve().parents[1] / "app" / "main.py"
TIMEOUT = 240  # the first run imports TransformerLens and SAELens (~20 s) and loads the model
PAGES = [
    "views/model_tokens.py",
    "views/attention.py",
    "views/patching.py",
    "views/attribution.py",
    "views/circuit.py",
    "views/graph.py",
    "views/trojans.py",
    "views/probes.py",
    "views/sae_features.py",
    "views/superposition.py",
    "views/weights.py",
    "views/steer_edit.py",  # its own file: tests/test_app_steer_edit.py
]


def _open(page: str | None = None, **state) -> AppTest:
    """The app on `page` (default: the first screen), with sidebar widgets set through their keys.

    AppTest (streamlit 1.67) with `st.navigation` keeps sidebar widgets in its element tree for the
    first run only: later runs drop them and ignore `set_value` on them (the browser test sees the
    sidebar on every page). So the sidebar's inputs are set through session state before the first run."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def _charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def _assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _assert_error(at: AppTest, fragment: str) -> None:
    assert not at.exception, [e.value for e in at.exception]  # no traceback box
    assert len(at.error) == 1 and fragment in at.error[0].value, [e.value for e in at.error]
    assert at.title  # the page itself still renders up to the error


def test_first_screen_is_a_patching_heatmap():
    at = _open()
    _assert_clean(at)
    assert at.title[0].value == "Activation patching"
    charts = _charts(at)
    assert len(charts) == 1 and '"type":"heatmap"' in charts[0].proto.spec.replace(" ", "")
    assert "clean" in at.caption[0].value and at.get("download_button")
    # the menus offer exactly the library's choices (interp.vocab.choices), not lists of their own
    menus = {box.label: tuple(box.options) for box in at.selectbox}
    assert menus["direction"] == options(Direction) and menus["metric"] == options(MetricName)
    assert menus["device"] == options(DeviceChoice) and menus["task"] == (*options(TaskName), "custom")


@pytest.mark.parametrize(
    "page, n_charts",
    [
        ("views/model_tokens.py", 1),
        ("views/attention.py", 2),
        ("views/patching.py", 1),
        ("views/attribution.py", 2),
        ("views/circuit.py", 4),
        ("views/graph.py", 1),
        ("views/trojans.py", 0),  # the hunt waits for its button: test_trojan_hunt_page_finds_the_trigger
        ("views/probes.py", 3),
        ("views/sae_features.py", 3),
        ("views/superposition.py", 2),
        ("views/weights.py", 2),
    ],
)
def test_every_page_shows_its_figures(page, n_charts):
    at = _open(page)
    _assert_clean(at)
    assert len(_charts(at)) == n_charts


def test_weights_page_tables_and_neuron_cards():
    """The Weights page's token tables and neuron card, and the same card opened from DLA by neuron."""
    at = _open("views/weights.py")
    _assert_clean(at)
    assert "L3H0 OV" in " ".join(m.value for m in at.markdown)
    assert any("promotes" in m.value for m in at.markdown)  # the neuron card
    at.text_input[0].set_value("Mary, John").run()
    _assert_clean(at)
    assert at.dataframe[3].value["token"].tolist() == ["Mary", "John"]
    at.text_input[0].set_value("Mary, zebra-x").run()
    _assert_error(at, "not tokens of zoo:lang-4l's vocabulary")
    at = _open("views/attribution.py")
    at.radio(key="dla_by").set_value("neuron").run()
    _assert_clean(at)
    label = at.selectbox(key="dla_neuron").value
    assert label.startswith("L") and any(f"{label} promotes" in m.value for m in at.markdown)


def test_the_induction_model_gets_a_prompt_it_can_read():
    at = _open("views/attention.py", model_pick="zoo:induction-2l")
    _assert_clean(at)
    assert len(_charts(at)) == 2


def test_model_page_facts_and_tokens():
    at = _open("views/model_tokens.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["layers"] == "4" and metrics["heads"] == "4"
    table = at.dataframe[0].value
    assert table["token"].tolist()[-1] == "'to'" and table["top prediction"].tolist()[-1] == "'Mary'"  # the IOI answer


def test_unknown_model_is_an_error_and_the_other_pages_still_work():
    at = _open(model_pick=OTHER, model_other="no-such-model-xyz")
    _assert_error(at, "unknown model 'no-such-model-xyz'")
    at.switch_page("views/superposition.py").run()  # needs no model: still works in the same session
    _assert_clean(at)
    assert len(_charts(at)) == 2
    at.switch_page("views/model_tokens.py").run()
    _assert_error(at, "unknown model 'no-such-model-xyz'")


def test_prompt_longer_than_the_context_on_attention():
    _assert_error(
        _open("views/attention.py", **{"prompt_zoo:lang-4l": "When Mary and John went to the store , " * 20}),
        "shorten it",
    )


CUSTOM = {"task_ioi": "custom"}


def test_prompts_of_different_lengths_on_patching():
    at = _open(
        "views/patching.py", **CUSTOM, corrupted="When Mary and John went to the big store , Mary gave a drink to"
    )
    _assert_error(at, "different lengths")


def test_missing_answer_on_attribution():
    _assert_error(_open("views/attribution.py", **CUSTOM, answer=""), "fill in: answer")


def test_unknown_word_on_circuit():
    _assert_error(_open("views/circuit.py", **CUSTOM, wrong="Zyxwvut"), "Zyxwvut")


def test_circuit_page_edges_section():
    at = _open("views/circuit.py")
    _assert_clean(at)
    assert not at.markdown, [m.value for m in at.markdown]  # no stray string written by Streamlit's magic
    specs = [c.proto.spec for c in _charts(at)]
    assert "Edge circuit on zoo:lang-4l" in specs[2] and "CPR" in specs[3] and "eap-ig (noise" in specs[3]
    menus = {box.key: tuple(box.options) for box in at.selectbox if box.key}
    assert menus["edge_method"] == options(EdgeMethod) and menus["edge_ablation"] == options(Ablation)
    assert at.selectbox(key="edge_method").value == "eap-ig" and at.selectbox(key="edge_direction").value == "noise"
    size = at.slider(key="edge_size_479")
    assert size.value == 24  # 5% of the graph's 479 edges
    small = {m.label: m.value for m in at.metric}
    assert int(small["edges kept"]) <= 24  # the top 24, pruned to paths to the logits
    size.set_value(200).run()
    _assert_clean(at)
    large = {m.label: m.value for m in at.metric}
    assert float(large["edge circuit faithfulness"]) > float(small["edge circuit faithfulness"])
    assert f"{large['edges kept']} of 479 edges" in _charts(at)[2].proto.spec
    at.selectbox(key="edge_method").set_value("eap").run()
    at.selectbox(key="edge_ablation").set_value("mean").run()
    _assert_clean(at)
    assert "eap (noise" in _charts(at)[3].proto.spec and "mean ablation" in _charts(at)[3].proto.spec
    assert at.number_input(key="edge_steps").proto.disabled  # steps are for the eap-ig methods only
    n_charts = len(_charts(at))
    at.selectbox(key="edge_ablation").set_value("corrupted").run()
    at.slider(key="edge_size_479").set_value(24).run()
    at.button(key="edge_learn").click().run()
    _assert_clean(at)
    shown = {m.label: m.value for m in at.metric}
    assert int(shown["learned edges kept"]) <= 24 and len(_charts(at)) == n_charts + 1
    # learned masks beat the top 24 of EAP, pruned (measured 0.43 against 0.85 on 16 prompts in docs/edges.md)
    assert float(shown["learned circuit faithfulness"]) > float(shown["edge circuit faithfulness"])


def test_trojan_hunt_page_finds_the_trigger():
    at = _open("views/trojans.py")
    assert "about a minute" in at.info[0].value and not _charts(at)
    at.button(key="run_hunt").click().run()
    _assert_clean(at)
    shown = {m.label: m.value for m in at.metric}
    assert shown["trigger found"] == "snow" and float(shown["attack success"]) >= 0.95
    assert len(at.dataframe) == 1 and "Trojan hunt on zoo:trojan-flip" in _charts(at)[0].proto.spec
    # A clean twin's hunt flags nothing: tests/test_trojans.py::test_hunt_command checks it on the command's
    # result, which the page shows unchanged (a second hunt here took 50 s)
    assert "twin-flip" in at.selectbox(key="trojan_model").options


def test_probing_task_the_model_cannot_do():
    _assert_error(_open("views/probes.py", model_pick="zoo:induction-2l", probe_task="ioi-io"), "ioi-io")


def test_missing_sae_folder():
    _assert_error(_open("views/sae_features.py", **{"sae_path_zoo:lang-4l": "/no/such/sae"}), "/no/such/sae")


def test_superposition_toy_model_and_recovery_without_widths():
    at = _open("views/superposition.py")
    assert "5 of 5 features represented" in at.caption[0].value  # the pentagon
    at.multiselect(key="recovery_widths").set_value([]).run()
    at.button(key="run_recovery").click().run()
    _assert_error(at, "at least one SAE width")


def test_page_options_run_their_analyses():
    at = _open()  # patching: head sites and attribution patching
    at.selectbox(key="patch_site").set_value("z").run()
    _assert_clean(at)
    spec = _charts(at)[0].proto.spec
    assert "Activation patching of z on zoo:lang-4l" in spec and "), fast;" in spec
    at.selectbox(key="patch_method").set_value("attribution").run()
    _assert_clean(at)
    assert "Attribution patching of z on zoo:lang-4l" in _charts(at)[0].proto.spec
    at.switch_page("views/attribution.py").run()
    for granularity in ("head", "neuron"):
        at.radio(key="dla_by").set_value(granularity).run()
        _assert_clean(at)
        assert f"by {granularity}" in _charts(at)[0].proto.spec
    at.switch_page("views/sae_features.py").run()
    at.radio(key="sae_edit").set_value("steer").run()
    _assert_clean(at)
    assert "steered" in _charts(at)[-1].proto.spec
    at.toggle(key="sae_eval").set_value(True).run()  # the SAE's evaluation: both CE loss recovered figures, named
    _assert_clean(at)
    table = at.dataframe[0].value
    measures = dict(zip(table["measure"], table["value"]))
    saelens = measures["CE loss recovered, SAELens's (baseline zero-ablated at every position)"]
    consistent = measures["CE loss recovered, consistent (baseline zero-ablated where the SAE is spliced)"]
    assert 0.9 < saelens < 1 and 0.9 < consistent < 1  # the bundled SAE: 0.979 both on 19,552 tokens (its card)


def test_superposition_buttons_draw_their_figures():
    at = _open("views/superposition.py")
    at.slider(key="dim_densities").set_value(4).run()
    at.select_slider(key="dim_steps").set_value(500).run()
    at.button(key="run_dimensionality").click().run()
    _assert_clean(at)
    assert len(_charts(at)) == 3
    at.slider(key="phase_grid").set_value(4).run()
    at.slider(key="phase_seeds").set_value(1).run()
    at.select_slider(key="phase_steps").set_value(500).run()
    at.button(key="run_phase").click().run()
    _assert_clean(at)
    assert len(_charts(at)) == 3 and "Phase diagram" in _charts(at)[-1].proto.spec
    at.multiselect(key="recovery_widths").set_value([64]).run()
    at.select_slider(key="recovery_samples").set_value(100_000).run()
    at.button(key="run_recovery").click().run()
    _assert_clean(at)
    assert len(_charts(at)) == 3  # a button's figure shows until another button is pressed


def test_graph_page_node_dashboard_and_intervention():
    at = _open("views/graph.py")
    _assert_clean(at)
    assert "latents active" in [m.label for m in at.metric]
    features = [o for o in at.multiselect(key="intervene_on").options if o.startswith("L")]
    at.multiselect(key="intervene_on").set_value(features[:1]).run()
    run = next(b for b in at.button if b.label == "run intervention")
    run.click().run()
    _assert_clean(at)
    labels = [m.label for m in at.metric]
    assert any(label.startswith("predicted change of 'Mary'") for label in labels) and "actual change" in labels
    # a latent's node: its edges, and its feature dashboard on request
    node = next(b for b in at.selectbox if b.label.startswith("node"))
    latent = next(o for o in node.options if o.startswith("L"))
    node.select_index(node.options.index(latent)).run()
    at.toggle(key="graph_dash").set_value(True).run()
    _assert_clean(at)
    assert len(_charts(at)) == 2  # the graph and the latent's dashboard
