from interp.plots import (
    plot_edge_circuit,
    plot_faithfulness_curve,
    plot_faithfulness_curves,
    plot_head_scores,
    plot_task_metrics,
)
from interp.results import HeadScores, TaskMetrics
from interp.results.edges import EdgeCircuit, FaithfulnessCurve


def test_head_score_figure_has_one_labelled_heatmap_per_score():
    scores = HeadScores(
        model="m",
        score_names=("previous_token", "induction"),
        layers=(0, 1),
        heads=("L0H0", "L0H1", "L1H0", "L1H1"),
        scores=(((0.9, 0.1), (0.0, 0.2)), ((0.0, 0.1), (0.3, 0.8))),
        n_prompts=2,
        seq_len=5,
    )
    fig = plot_head_scores(scores)
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"]
    assert list(fig.data[1].y) == ["L0", "L1"] and list(fig.data[1].x) == ["H0", "H1"]
    assert fig.data[1].z[1][1] == 0.8


def test_task_figure_shows_clean_and_corrupted_per_prompt():
    metrics = TaskMetrics(
        model="m",
        task="ioi",
        n_prompts=2,
        prompts=("a", "b"),
        clean_logit_diff=(3.0, 1.0),
        corrupted_logit_diff=(-1.0, 0.0),
        clean_accuracy=1.0,
        corrupted_accuracy=0.0,
        clean_answer_prob=0.8,
        corrupted_answer_prob=0.1,
        kl_corrupted_to_clean=1.2,
    )
    fig = plot_task_metrics(metrics)
    assert [t.name for t in fig.data] == ["clean", "corrupted"]
    assert list(fig.data[0].y) == [3.0, 1.0] and "2.00 clean" in fig.layout.title.text


def _edge_circuit(scores=(2.0, -1.0, 0.5, float("nan"), 0.25, 1.5)) -> EdgeCircuit:
    return EdgeCircuit(
        model="m",
        task="ioi",
        edges=(
            "embed -> L0H1.v",
            "L0H1 -> L1H0.k",
            "L0H1 -> L1H0.q",
            "L0H1 -> MLP0",
            "MLP0 -> logits",
            "L1H0 -> logits",
        ),
        scores=scores,
        n_edges_total=60,
        source="top 6 of eap (noise, logit_diff)",
    )


def test_edge_circuit_figure_has_a_node_per_component_and_a_colour_per_input():
    fig = plot_edge_circuit(_edge_circuit())
    nodes = fig.data[-1]
    assert set(nodes.text) == {"embed", "L0H1", "L1H0", "MLP0", "logits"}
    y = dict(zip(nodes.text, nodes.y))
    assert y["embed"] < y["L0H1"] < y["MLP0"] < y["L1H0"] < y["logits"]  # by layer, the MLP after its heads
    lines = fig.data[:-1]
    assert {t.legendgroup for t in lines} == {"q", "k", "v", "mlp", "logits"}
    assert sum(t.showlegend for t in lines) == 5  # one legend entry per input, however many widths
    # every edge is one curve (points then a None gap); its hover text names it
    assert sum(list(t.x).count(None) for t in lines) == 6
    texts = {s for t in lines for s in t.text if s}
    assert "L0H1 -> L1H0.k<br>score -1" in texts and "L0H1 -> MLP0<br>(no score)" in texts
    widths = {t.legendgroup: t.line.width for t in lines if t.legendgroup in ("v", "k")}
    assert widths["v"] > widths["k"]  # |2.0| is the largest score, |-1.0| half of it
    assert "6 of 60 edges (10.0%)" in fig.layout.title.text and "eap (noise" in fig.layout.title.text


def test_edge_circuit_figure_without_scores_and_with_key_value_heads():
    circuit = _edge_circuit(scores=(float("nan"),) * 6)
    fig = plot_edge_circuit(circuit)
    assert {t.line.width for t in fig.data[:-1]} == {2.0}  # no score: one constant width
    gqa = EdgeCircuit(**{**circuit.__dict__, "edges": ("embed -> L0KV1.k", "L0H3 -> logits", "embed -> L0H3.q")})
    fig = plot_edge_circuit(gqa)
    assert set(fig.data[-1].text) == {"embed", "L0KV1", "L0H3", "logits"}


def _curve(source: str, cpr: float) -> FaithfulnessCurve:
    return FaithfulnessCurve(
        model="m",
        task="ioi",
        source=source,
        ablation="corrupted",
        metric="logit_diff",
        sizes=(0, 1, 3, 6, 30, 60),
        fractions=(0.0, 1 / 60, 0.05, 0.1, 0.5, 1.0),
        metric_values=(0.1, 1.0, 2.0, 3.0, 3.5, 4.0),
        faithfulness=(0.0, 0.23, 0.49, 0.74, 0.87, 1.0),
        full_metric=4.0,
        empty_metric=0.1,
        cpr=cpr,
        cmd=1 - cpr,
        n_edges_total=60,
        seconds=0.1,
    )


def test_faithfulness_curve_on_a_log_axis_with_a_mark():
    fig = plot_faithfulness_curve(_curve("eap-ig (noise, logit_diff, 5 steps)", 0.8), mark=6, mark_faithfulness=0.7)
    assert fig.layout.xaxis.type == "log"
    line, star = fig.data
    assert list(line.x) == [1 / 60, 0.05, 0.1, 0.5, 1.0]  # size 0 has no place on a log axis
    assert list(line.y) == [0.23, 0.49, 0.74, 0.87, 1.0]
    assert star.x == (0.1,) and star.y == (0.7,)
    assert {s.y0 for s in fig.layout.shapes if s.type == "line" and s.y0 == s.y1} == {0, 1}  # 1: the full model
    assert any(s.x0 == 0.1 and s.x1 == 0.1 for s in fig.layout.shapes)  # the mark
    assert "CPR 0.800" in fig.layout.title.text and "CMD 0.200" in fig.layout.title.text


def test_several_faithfulness_curves_one_line_each():
    fig = plot_faithfulness_curves([_curve("eap", 0.7), _curve("eap-ig", 0.9)])
    assert [t.name for t in fig.data] == ["eap: CPR 0.700, CMD 0.300", "eap-ig: CPR 0.900, CMD 0.100"]
