"""Case study: indirect-object identification (IOI) in SmolLM2-135M-Instruct, measured end to end.

    .venv/bin/python case_studies/smollm2_ioi.py [--out docs/case-studies] [--n-prompts 16] [--device auto]
    .venv/bin/python case_studies/smollm2_ioi.py --figures-only   # redraw the figures from the saved results

Writes `smollm2-ioi.md` (every number in it measured by this run), its figures as PNG files and
its results as JSON under `smollm2-ioi/`. It needs the model (`interp zoo fetch smollm2-135m`) and,
for the PNG figures, Debian's chromium driven by Playwright (both set up by `./workbench test`).
About 15 minutes on a 2-core CPU, most of it in head patching by position.

The steps follow Wang et al. (2022), "Interpretability in the Wild": behaviour; residual stream
patching; head patching (z, and z by position); direct logit attribution by head; path patching
to the name movers' queries (which heads tell them where to look: S-inhibition) and from there to
the S-inhibition heads' values (induction and duplicate-token heads); the attention patterns of the
heads found; a circuit with its faithfulness against its size; and SmolLM2's induction heads.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import plotly.graph_objects as go
import torch
from figures import save_png  # case_studies/figures.py: run as a script, this folder is on the path
from smollm2_ioi_report import ranked_heads, write_report

from interp import load_model
from interp.circuits.components import circuit_from_result, faithfulness
from interp.core.hooks import run_with_cache
from interp.observe.dla import dla
from interp.observe.heads import head_scores
from interp.observe.overview import model_facts
from interp.patching.activation import patch
from interp.patching.path import parse_head, path_patch
from interp.plots import plot_circuit, plot_dla, plot_head_scores, plot_patch
from interp.results import DLAResult, Faithfulness, HeadScores, PatchResult, load_json, save_json
from interp.tasks.evaluate import evaluate_task
from interp.tasks.generators import ioi_task, make_task

MODEL = "zoo:smollm2-135m"


def name_positions(task) -> dict[str, torch.Tensor]:
    """Per prompt, the positions of the indirect object (IO), the subject's two mentions (S1, S2) and END."""
    tokens = task.clean_tokens.cpu()
    io, s1, s2 = [], [], []
    for row, answer, wrong in zip(tokens, task.answer_tokens.cpu(), task.wrong_tokens.cpu()):
        io.append(int((row == answer).nonzero()[0]))
        s = (row == wrong).nonzero().flatten().tolist()
        s1.append(s[0])
        s2.append(s[1])
    return {"IO": torch.tensor(io), "S1": torch.tensor(s1), "S2": torch.tensor(s2), "END": task.metric_pos.cpu()}


def attention_to_names(model, task, heads: list[str], where: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """Mean attention from END to IO, S1 and S2, and from S2 to S1 and S1+1, for each head."""
    layers = sorted({parse_head(h)[0] for h in heads})
    names = [f"blocks.{layer}.attn.hook_pattern" for layer in layers]
    _, cache = run_with_cache(model, task.clean_tokens, names)
    rows = torch.arange(len(task))
    out = {}
    for h in heads:
        layer, head = parse_head(h)
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"][:, head].cpu()  # batch query key
        end, s2 = where["END"], where["S2"]
        out[h] = {
            "END->IO": float(pattern[rows, end, where["IO"]].mean()),
            "END->S1": float(pattern[rows, end, where["S1"]].mean()),
            "END->S2": float(pattern[rows, end, s2].mean()),
            "S2->S1": float(pattern[rows, s2, where["S1"]].mean()),
            "S2->S1+1": float(pattern[rows, s2, where["S1"] + 1].mean()),
        }
    return out


def head_roles(
    dla_by_head: dict[str, float], attention: dict[str, dict[str, float]], sinh: dict[str, float]
) -> dict[str, str]:
    """A Wang et al. role for each head, from measured numbers (thresholds stated in the report)."""
    roles = {}
    for h, att in attention.items():
        if att["END->S2"] > 0.3 and dla_by_head.get(h, 0) > 0.3:
            roles[h] = "subject suppression (attends END->S2, raises IO - S: writes against the subject)"
        elif att["END->IO"] > 0.2 and dla_by_head.get(h, 0) > 0.3:
            roles[h] = "name mover (attends END->IO, writes the IO logit)"
        elif att["END->IO"] > 0.2 and dla_by_head.get(h, 0) < -0.3:
            roles[h] = "negative name mover (attends END->IO, writes against it)"
        elif sinh.get(h, 0) > 0.05 and att["END->S2"] > 0.15:
            roles[h] = "S-inhibition (attends END->S2, moves the name movers' queries)"
        elif att["S2->S1+1"] > 0.3:
            roles[h] = "induction (attends S2->S1+1)"
        elif att["S2->S1"] > 0.3:
            roles[h] = "duplicate token (attends S2->S1)"
        else:
            roles[h] = "unclassified"
    return roles


def heatmap(values, x, y, title: str, *, zmid: float | None = 0.0, colorscale: str = "RdBu") -> go.Figure:
    fig = go.Figure(go.Heatmap(z=values, x=x, y=y, colorscale=colorscale, zmid=zmid))
    fig.update_layout(title=title, yaxis_autorange="reversed")
    return fig


def draw_figures(figs: Path, resid, z, z_pos, dla_heads, to_q, to_v, circuit, faith, scores, induction_z) -> dict:
    """The figures drawn by the library's plots, as PNG files in `figs`; their names by key. Patching heatmaps and
    the circuit take the height their plot gives them (a row per layer)."""
    png = {
        "resid": save_png(plot_patch(resid), figs / "patch_resid_pre.png"),
        "z": save_png(plot_patch(z), figs / "patch_z.png"),
        "dla": save_png(plot_dla(dla_heads, top_k=40), figs / "dla_head.png"),
        "to_q": save_png(plot_patch(to_q), figs / "path_to_name_mover_q.png"),
        "to_v": save_png(plot_patch(to_v), figs / "path_to_s_inhibition_v.png"),
        "circuit": save_png(plot_circuit(circuit, faith), figs / "circuit.png"),
        "scores": save_png(plot_head_scores(scores), figs / "head_scores.png", height=700),
        "induction_z": save_png(plot_patch(induction_z), figs / "patch_induction_z.png"),
    }
    zp = torch.tensor(z_pos.normalized)  # layer head pos
    top_pos_heads = [h for h, _ in ranked_heads(z, k=8)]
    rows = [zp[parse_head(h)].tolist() for h in top_pos_heads]
    png["z_pos"] = save_png(
        heatmap(rows, list(z_pos.labels["pos"]), top_pos_heads, "z patching by position, top heads (normalised)"),
        figs / "patch_z_pos_top.png",
        height=450,
    )
    return png


def redraw_figures(figs: Path) -> None:
    """Draw the figures again from the results a full run saved beside them (no model): after a change to a plot.
    The attention figure is left as it is: the attention it shows is not saved."""
    faith = load_json(Faithfulness, figs / "circuit_faithfulness.json")
    z = load_json(PatchResult, figs / "patch_z.json")
    # the circuit is not saved, but it is the top heads of z patching with every MLP, as the full run builds it
    circuit = circuit_from_result(z, top_k=faith.n_heads, n_mlp_layers=len(z.labels["layer"]))
    patches = {
        name: load_json(PatchResult, figs / f"{name}.json")
        for name in ("patch_resid_pre", "patch_z_pos", "path_to_name_mover_q", "path_to_s_inhibition_v")
    }
    draw_figures(
        figs,
        patches["patch_resid_pre"],
        z,
        patches["patch_z_pos"],
        load_json(DLAResult, figs / "dla_head.json"),
        patches["path_to_name_mover_q"],
        patches["path_to_s_inhibition_v"],
        circuit,
        faith,
        load_json(HeadScores, figs / "head_scores.json"),
        load_json(PatchResult, figs / "patch_induction_z.json"),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs/case-studies"))
    parser.add_argument("--n-prompts", type=int, default=16)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--figures-only",
        action="store_true",
        help="redraw the figures from the results saved by an earlier run (seconds, no model); the report is kept",
    )
    args = parser.parse_args()
    figs = args.out / "smollm2-ioi"
    if args.figures_only:
        redraw_figures(figs)
        print(f"redrew the figures in {figs}")
        return
    figs.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}

    def step(name):
        times[name] = time.perf_counter()
        print(f"[{time.strftime('%H:%M:%S')}] {name}", flush=True)

    start = time.perf_counter()
    step("load")
    model = load_model(MODEL, device=args.device)
    facts = model_facts(model)
    n_heads_total = facts.n_layers * facts.n_heads

    step("behaviour")
    task = ioi_task(model, n_prompts=args.n_prompts, corruption="abc", seed=0)
    s2_task = ioi_task(model, n_prompts=args.n_prompts, corruption="s2", seed=0)
    behaviour = evaluate_task(model, task)
    behaviour_big = evaluate_task(model, ioi_task(model, n_prompts=128, corruption="abc", seed=1))
    save_json(behaviour, figs / "behaviour.json")

    step("residual patching")
    resid = patch(model, task, site="resid_pre")
    save_json(resid, figs / "patch_resid_pre.json")
    step("head patching (z)")
    z = patch(model, task, site="z")
    save_json(z, figs / "patch_z.json")
    step("head patching (z, s2 corruption)")
    z_s2 = patch(model, s2_task, site="z")
    save_json(z_s2, figs / "patch_z_s2.json")
    top_z = ranked_heads(z, k=12)
    step("head patching by position (z_pos, 8 prompts)")
    z_pos = patch(model, task.select(range(min(8, len(task)))), site="z_pos")
    save_json(z_pos, figs / "patch_z_pos.json")

    step("direct logit attribution by head")
    dla_heads = dla(model, task, granularity="head")
    save_json(dla_heads, figs / "dla_head.json")
    dla_of = dict(zip(dla_heads.labels, dla_heads.contributions))
    dla_parts = sum(dla_heads.contributions) + sum(dla_heads.other.values()) + dla_heads.unembed_bias
    movers = sorted(dla_of.items(), key=lambda kv: -kv[1])[:6]
    negative = sorted(dla_of.items(), key=lambda kv: kv[1])[:3]

    step("path patching to the name movers' queries")
    mover_heads = [h for h, v in movers[:3]]
    to_q = path_patch(model, task, receivers=mover_heads, receiver_input="q")
    save_json(to_q, figs / "path_to_name_mover_q.json")
    sinh = ranked_heads(to_q, k=6, sign=-1)  # noising the senders lowers the logit difference: negative effect
    sinh_heads = [h for h, _ in sinh[:3]]
    step("path patching to the S-inhibition heads' values")
    to_v = path_patch(model, task, receivers=sinh_heads, receiver_input="v")
    save_json(to_v, figs / "path_to_s_inhibition_v.json")
    upstream = ranked_heads(to_v, k=6, sign=-1)

    step("attention patterns")
    where = name_positions(task)
    candidates = list(
        dict.fromkeys([h for h, _ in top_z[:8]] + [h for h, _ in movers[:4]] + sinh_heads + [h for h, _ in upstream])
    )
    attention = attention_to_names(model, task, candidates, where)
    sinh_effect = {h: -v for h, v in ranked_heads(to_q, k=len(to_q.labels["layer"]) * facts.n_heads, sign=-1)}
    roles = head_roles(dla_of, attention, sinh_effect)

    step("circuits")
    sizes = [1, 2, 3, 4, 5, 6, 8, 12, 16, 27, 40]
    curve = []
    for k in sizes:
        circuit = circuit_from_result(z, top_k=k, n_mlp_layers=facts.n_layers)
        curve.append((k, circuit, faithfulness(model, task, circuit)))
    # the smallest circuit within 20% of the model's logit difference, else the one closest to it
    best = next(
        ((k, c, f) for k, c, f in curve if 0.8 <= f.faithfulness <= 1.2),
        min(curve, key=lambda kcf: abs(kcf[2].faithfulness - 1)),
    )
    save_json(best[2], figs / "circuit_faithfulness.json")

    step("induction heads")
    scores = head_scores(model)
    save_json(scores, figs / "head_scores.json")
    induction = make_task("induction", model, n_prompts=8, seed=0)
    induction_z = patch(model, induction, site="z")
    save_json(induction_z, figs / "patch_induction_z.json")
    top_induction = scores.top_heads("induction", k=6)
    induction_effect = dict(ranked_heads(induction_z, k=n_heads_total))

    step("figures")
    png = draw_figures(figs, resid, z, z_pos, dla_heads, to_q, to_v, best[1], best[2], scores, induction_z)
    att_rows = [[attention[h][k] for k in ("END->IO", "END->S1", "END->S2", "S2->S1", "S2->S1+1")] for h in candidates]
    png["attention"] = save_png(
        heatmap(
            att_rows,
            ["END->IO", "END->S1", "END->S2", "S2->S1", "S2->S1+1"],
            candidates,
            "mean attention between name positions (clean prompts)",
            zmid=None,
            colorscale="Blues",
        ),
        figs / "attention_names.png",
        height=600,
    )
    total = time.perf_counter() - start

    durations = {}
    names = list(times)
    for a, b in zip(names, [*names[1:], None]):
        durations[a] = (times[b] if b else start + total) - times[a]
    write_report(
        args.out / "smollm2-ioi.md",
        locals() | {"durations": durations, "total": total, "n_heads_total": n_heads_total},
    )
    print(f"wrote {args.out / 'smollm2-ioi.md'} in {total:.0f} s")


if __name__ == "__main__":
    main()
