import math
import re

import pytest

from interp.circuits.components import make_circuit
from interp.plots import (
    plot_circuit,
    plot_dla,
    plot_edge_circuit,
    plot_faithfulness_curve,
    plot_faithfulness_curves,
    plot_head_scores,
    plot_patch,
    plot_task_metrics,
)
from interp.results import DLAResult, EdgeCircuit, Faithfulness, FaithfulnessCurve, HeadScores, PatchResult, TaskMetrics


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


def _patch(direction: str, normalized, *, axes=("layer", "head"), site="z", analysis="activation_patching"):
    """A PatchResult by hand: raw is the normalised value on a clean 4, corrupted 0 metric."""

    def raw(v):
        return tuple(raw(x) for x in v) if isinstance(v, tuple) else 4 * v

    shape = [len(normalized), len(normalized[0])] + ([len(normalized[0][0])] if len(axes) == 3 else [])
    names = {"layer": [str(i) for i in range(shape[0])], "head": [f"H{i}" for i in range(shape[1])]}
    names["pos"] = [f"{i} tok" for i in range(shape[-1])]
    return PatchResult(
        analysis=analysis,
        model="zoo:smollm2-135m",
        task="ioi",
        site=site,
        direction=direction,
        method="exact",
        metric="logit_diff",
        axes=axes,
        labels={a: tuple(names[a]) for a in axes},
        raw=raw(normalized),
        normalized=normalized,
        clean=4.0,
        corrupted=0.0,
        n_prompts=16,
        seconds=1.0,
    )


def _title_lines(fig) -> list[tuple[str, bool]]:
    """The title's lines as shown (tags stripped), each with whether it is a <sup> subtitle."""
    return [(re.sub(r"<[^>]+>", "", line), "<sup>" in line) for line in fig.layout.title.text.split("<br>")]


def _title_fits(fig) -> bool:
    # plotly never wraps a title: a 17 px title line over about 80 characters, or a <sup> line over about 110, runs
    # past the right edge of a 1000 px figure (the case study's PNGs) and is cut off there
    return all(len(text) <= (110 if sup else 80) for text, sup in _title_lines(fig))


def test_noising_heatmap_is_centred_on_no_effect_and_spans_the_data():
    noise = _patch("noise", ((1.0, 0.98), (0.7, 1.05)))
    heat = plot_patch(noise).data[0]
    # colour = the change from the clean run: 0 where patching did nothing, -0.3 where it took 30% of the gap away
    assert [[round(v, 6) for v in row] for row in heat.z] == [[0.0, -0.02], [-0.3, 0.05]]
    assert heat.zmin == -heat.zmax and heat.zmax == pytest.approx(0.3)  # centred on no effect, spanning the data
    assert heat.colorbar.title.text.startswith("change<br>from clean")
    # the hover text gives the change, the normalised value and the raw metric: customdata[0] and [1]
    assert "change from clean %{z" in heat.hovertemplate and "normalised %{customdata[0]" in heat.hovertemplate
    assert list(heat.customdata[1][0]) == [0.7, pytest.approx(2.8)]
    denoise = plot_patch(_patch("denoise", ((0.0, 0.1), (0.7, -0.05)))).data[0]
    assert [list(row) for row in denoise.z] == [[0.0, 0.1], [0.7, -0.05]]  # denoising's 0 is already no effect
    assert denoise.zmin == pytest.approx(-0.7) and denoise.zmax == pytest.approx(0.7)
    assert denoise.colorbar.title.text.startswith("normalised")


def test_patch_heatmap_without_effects_stays_pale():
    heat = plot_patch(_patch("denoise", ((0.0, 1e-7), (float("nan"), -1e-7)))).data[0]
    assert heat.zmax == pytest.approx(0.05) and heat.zmin == pytest.approx(-0.05)  # not +-1e-7 at full colour


def test_patch_heatmap_has_a_row_per_layer_and_a_title_that_fits():
    site = "z -> q of L23H3, L29H1, L23H0, L20H0, L19H2"
    result = _patch("noise", tuple((0.99,) * 9 for _ in range(30)), site=site, analysis="path_patching")
    fig = plot_patch(result)
    assert _title_fits(fig), _title_lines(fig)
    shown = " ".join(text for text, _ in _title_lines(fig))
    for fact in (site, "zoo:smollm2-135m", "ioi", "16 prompts", "clean 4.00", "corrupted 0.00", "noise"):
        assert fact in shown  # wrapped, not cut: nothing of the old one-line title is lost
    margins = fig.layout.margin.t + 80
    assert (fig.layout.height - margins) / 30 >= 18  # every layer's row tall enough for its label


def test_layer_head_pos_patching_is_one_heatmap_a_row_per_head():
    values = tuple(
        tuple(tuple(0.1 * (layer + head + pos) for pos in range(4)) for head in range(2)) for layer in range(3)
    )
    fig = plot_patch(_patch("denoise", values, axes=("layer", "head", "pos")))
    assert len(fig.data) == 1
    heat = fig.data[0]
    assert list(heat.y) == ["L0H0", "L0H1", "L1H0", "L1H1", "L2H0", "L2H1"] and list(heat.x) == [
        f"{i} tok" for i in range(4)
    ]
    assert list(heat.z[3]) == list(values[1][1])
    assert len(fig.layout.shapes) == 2  # a rule between each two layers
    # SmolLM2's 30 layers x 9 heads: one facet per layer made 11,000 px; a row per head, each tall enough to name
    tall = plot_patch(_patch("denoise", (((0.0,) * 4,) * 9,) * 30, axes=("layer", "head", "pos")))
    assert tall.layout.height <= 4000 and (tall.layout.height - 200) / 270 >= 12


LABEL_PX_PER_CHAR = 7
"""Width of a character of an 11 px label, generously: a layout that passes with it has no overlapping labels."""
PLOT_WIDTH = 700
"""The plot area of a circuit in an app column or in the case study's 1000 px PNG."""


def _boxes(fig) -> list[tuple[str, float, float, float, float]]:
    """(what, x0, x1, y0, y1) in pixels of every label, node and MLP bar of a circuit figure."""
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    px = PLOT_WIDTH / (x1 - x0)
    py = (fig.layout.height - fig.layout.margin.t - 80) / (y1 - y0)  # 80: plotly's default bottom margin
    boxes = []
    for a in fig.layout.annotations:  # labels start xshift to the right of their node, 14 px tall
        left = a.x * px + a.xshift
        boxes.append((a.text, left, left + LABEL_PX_PER_CHAR * len(a.text), a.y * py - 7, a.y * py + 7))
    for t in fig.data[1:]:  # the first trace is the edges
        if t.name == "components":
            boxes += [
                (f"node {n}", x * px - 8, x * px + 8, y * py - 8, y * py + 8) for n, x, y in zip(t.text, t.x, t.y)
            ]
        else:  # an MLP bar
            boxes.append((t.name, t.x[0] * px - 6, t.x[0] * px + 6, t.y[0] * py - 6, t.y[1] * py + 6))
    return boxes


def _overlaps(boxes) -> list[tuple[str, str]]:
    return [
        (a[0], b[0])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[1] < b[2] and b[1] < a[2] and a[3] < b[4] and b[3] < a[4]
    ]


SMOLLM2_HEADS = [f"L23H{h}" for h in range(9)] + ["L8H0", "L8H1", "L17H4", "L20H0", "L24H4", "L29H0", "L29H1"]


@pytest.mark.parametrize(
    ("heads", "n_layers", "mlps"),
    [
        (["L23H3"], 30, range(30)),  # the case study's circuit: 1 head, every MLP of SmolLM2
        (SMOLLM2_HEADS, 30, range(30)),  # a whole row of heads in one layer
        (["L0H0", "L0H1", "L0H3", "L1H2"], 4, range(4)),  # zoo:lang-4l, several heads per layer
        (["L0H0", "L2H1", "L3H0", "L3H1", "L3H2"], 4, (0, 2, 3)),  # MLPs with a gap
    ],
)
def test_circuit_labels_cannot_overlap_and_the_axis_holds_the_layers(heads, n_layers, mlps):
    circuit = make_circuit([*heads, *(f"MLP{m}" for m in mlps)], model="m", task="ioi", source="hand")
    faith = Faithfulness(
        circuit_metric=3.44, full_metric=3.43, ablated_metric=-0.52, faithfulness=1.0, n_heads=1, n_heads_total=270
    )
    fig = plot_circuit(circuit, faith)
    assert not _overlaps(_boxes(fig))
    low, high = fig.layout.yaxis.range
    assert -1 <= low < 0 and n_layers < high <= n_layers + 1  # no rows beyond the model's layers and the logits
    ticks = dict(zip(fig.layout.yaxis.ticktext, fig.layout.yaxis.tickvals))
    assert ticks["logits"] == n_layers and ticks["L0"] == 0
    rows_px = (fig.layout.height - fig.layout.margin.t - 80) / (high - low)
    assert rows_px >= 20 and fig.layout.height <= 1000  # a label's height a row, and the whole on one screen
    nodes = fig.data[-1]
    assert {n: y for n, y in zip(nodes.text, nodes.y) if n in heads} == {h: int(h[1 : h.index("H")]) for h in heads}
    assert _title_fits(fig), _title_lines(fig)


def test_a_run_of_mlps_is_one_labelled_bar():
    circuit = make_circuit(["L0H0", "L2H1", "MLP0", "MLP2", "MLP3"], model="m", task="ioi", source="hand")
    fig = plot_circuit(circuit)
    labels = {a.text for a in fig.layout.annotations}
    assert labels == {"L0H0", "L2H1", "MLP0", "MLP2-3"}
    assert "1 head" not in fig.layout.title.text and "2 heads and 3 MLPs" in fig.layout.title.text
    bar = next(t for t in fig.data if t.name == "MLP2-3")
    assert bar.y[0] < 3 < bar.y[1] < 4  # from layer 2 to layer 3 (each a little above its layer's heads)
    edges = fig.data[0]
    assert sum(v is None for v in edges.x) == 10  # 12 edges of layer order; MLP0 -> MLP2 -> MLP3 drawn as 1


def test_dla_names_its_largest_bars_when_the_axis_cannot():
    labels = tuple(f"L{i // 9}H{i % 9}" for i in range(270))
    contributions = tuple(2.0 if i == 210 else -0.8 if i == 261 else 0.01 * math.sin(i) for i in range(270))
    dla_result = DLAResult(
        model="m", task="ioi", granularity="head", labels=labels, contributions=contributions, other={},
        unembed_bias=0.0, logit_diff=3.4, n_prompts=16,
    )  # fmt: skip
    named = [t for t in plot_dla(dla_result, top_k=40).data[0].text if t]
    assert len(named) == 5 and {"L23H3", "L29H0"} <= set(named)
    few = DLAResult(**{**dla_result.__dict__, "labels": labels[:20], "contributions": contributions[:20]})
    assert not any(plot_dla(few).data[0].text)  # the axis names every bar


def test_edge_circuit_on_a_deep_model_stays_on_a_screen_or_two():
    circuit = EdgeCircuit(
        model="zoo:smollm2-135m",
        task="ioi",
        edges=("embed -> L0H1.v", "L0H1 -> L29H0.q", "L29H0 -> logits", "L0H1 -> MLP12", "MLP12 -> logits"),
        scores=(1.0, 2.0, 3.0, 0.5, 0.25),
        n_edges_total=70651,
        source="top 5 of eap (noise, logit_diff)",
    )
    fig = plot_edge_circuit(circuit)
    assert fig.layout.height <= 2000 and (fig.layout.height - 260) / 31 >= 40  # 31 rows, each room for a label
    nodes = fig.data[-1]
    assert fig.layout.xaxis.range[0] <= min(nodes.x) - 0.8  # room for the leftmost labels before the layer names
    assert "5 of 70651 edges (0.0071%)" in fig.layout.title.text  # not "(0.0%)"
