"""The Steer & edit page through `streamlit.testing.v1.AppTest` on zoo:lang-4l (tests/test_app.py's helpers): the
generations side by side, the strength sweep, and a fact traced and edited. Its own file, so that it runs beside
test_app.py rather than after it."""

from tests.test_app import _assert_clean, _assert_error, _charts, _open

PAGE = "views/steer_edit.py"


def test_generations_side_by_side_and_the_strength_sweep():
    at = _open(PAGE)
    _assert_clean(at)
    assert at.title[0].value == "Steer & edit" and not _charts(at)
    # lang-4l's word vocabulary reads none of the concept's prompts: its bundled SAE's latent steers by default
    assert at.radio(key="steer_source_zoo:lang-4l").value == "SAE latent"
    labels = [c.value.split(":")[0] for c in at.caption]
    assert labels[:3] == ["**plain**", "**steered**", "**prompted**"]
    plain, steered = (c.value for c in at.code)  # the prompted column: lang-4l cannot write "Talk about weddings."
    assert plain.strip() and steered.strip() and steered != plain  # latent 0 clamped to 10 changes the text
    assert "does not know 'Talk'" in at.info[0].value
    at.button(key="steer_sweep").click().run()
    _assert_clean(at)
    (chart,) = _charts(at)
    assert "Steering toward 'weddings' at blocks.2.hook_resid_post on zoo:lang-4l" in chart.proto.spec
    table = at.dataframe[0].value
    assert table[""].tolist() == ["none", "steer 0.25", "steer 0.5", "steer 1", "steer 2"]  # no prompting row
    assert list(table.columns) == ["", "concept score", "perplexity", "repetition"]
    at.text_area(key="steer_prompt_zoo:lang-4l").set_value("When Tom and Anna went to the park ,").run()
    _assert_clean(at)
    assert len(_charts(at)) == 1  # the sweep does not depend on the prompt: it stays shown


def test_diffmean_on_prompts_the_model_cannot_read_is_an_error():
    at = _open(PAGE, **{"steer_source_zoo:lang-4l": "DiffMean"})
    _assert_error(at, "does not know")
    assert len(at.code) == 1  # the plain generation still shows; the steered one has no vector


def test_trace_and_edit_the_default_fact():
    at = _open(PAGE)
    assert at.text_input(key="fact_prompt_zoo:lang-4l").value == "Mary lives near the"
    at.button(key="fact_trace").click().run()
    _assert_clean(at)
    (chart,) = _charts(at)
    assert "Causal trace of 'Mary lives near the'" in chart.proto.spec
    at.button(key="fact_edit").click().run()
    _assert_clean(at)
    assert len(_charts(at)) == 2 and "ROME edit on zoo:lang-4l" in _charts(at)[1].proto.spec
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["efficacy"] == "1.00" and metrics["specificity"] == "1.00"
    table = at.dataframe[0].value
    edit = table[table["kind"] == "edit"].iloc[0]
    assert edit["prompt"] == "Mary lives near the" and edit["top after"].strip() == "school" and edit["success"]
    assert table["kind"].tolist()[1:] == ["unrelated"]  # Mary is in no bundled fact: no neighbours, lang-4l's prompt
