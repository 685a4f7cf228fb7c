"""Benchmark: edge scoring methods against circuits known by construction, and their faithfulness curves.

    .venv/bin/python benchmarks/edges.py [--models kc-induction,kc-lookup,induction-2l,lang-4l,smollm2]
                                         [--n-prompts 16] [--steps 5] [--direction noise] [--out runs/bench-edges]
                                         [--smoke]

For every model and method (exact edge patching, EAP, EAP-IG, EAP-IG over activations): the AUROC of |score| against
the model's true edges (zoo card.json "true_edges"; none for lang-4l), the true edges found among the top ones, CPR
and CMD of the faithfulness curve (corrupted ablation), the Pearson correlation with exact edge patching, the time,
and that time as a multiple of one forward pass of the same prompts. On zoo:lang-4l it also cuts the smallest circuits
that keep 80% of the behaviour (ACDC at several thresholds, learned masks at several budgets, and each ranking's top
edges). On SmolLM2 (`smollm2`, a real model, 70,651 edges) it times EAP and EAP-IG only: exact edge patching is
70,651 patched runs per prompt.

Writes table.json, curves.html and prints the table. Run it alone: timings on a shared CPU mean nothing.
`--smoke` (tests/test_benchmarks.py): kc-induction (a known circuit) and lang-4l (the smallest circuits: ACDC at one
threshold, one learned budget of 20 steps, each ranking's top 5%) on 4 prompts, curves of 3 sizes, one timed forward
pass, written to a new temporary folder unless --out is given; it checks in seconds that the benchmark runs.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from _common import parse

TASKS = {
    "kc-induction": "induction-resample",
    "kc-lookup": "lookup",
    "induction-2l": "induction-resample",
    "lang-4l": "ioi",
    "smollm2": "ioi",
}
METHODS = ("exact", "eap", "eap-ig", "eap-ig-activations")
SMOKE = {"models": "kc-induction,lang-4l", "n_prompts": 4, "steps": 2}
"""--smoke's sizes (options given on the command line still win)."""
SMOKE_FRACTIONS = (0.01, 0.1, 1.0)
"""--smoke's faithfulness curves: at 3 of MIB's 10 sizes."""


def forward_seconds(model, tokens, *, repeats: int = 5) -> float:
    """The best of `repeats` timed forward passes (after one warm-up)."""
    with torch.no_grad():
        model(tokens)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(tokens)
            times.append(time.perf_counter() - t0)
    return min(times)


def smallest_faithful(model, task, scores_by_method: dict, *, smoke: bool = False) -> list[dict]:
    """For ACDC (thresholds 0.01-0.04), learned masks (budgets of 2.5%, 5% and 10% of the edges) and each ranking's
    top n: the circuit size and faithfulness, to see the smallest circuit at >= 80%. `smoke`: ACDC at 0.1 (a third
    of 0.04's ablated runs: it prunes more, and sooner), the 5% budget learned in 20 steps, each ranking's top 5%."""
    from interp.edges import AblationRunner, acdc, circuit_from_scores, learned_circuit

    runner = AblationRunner(model, task, ablation="corrupted", metric="logit_diff")
    n = runner.graph.n_edges
    rows = []

    def row(how: str, circuit, seconds: float) -> dict:
        return {"how": how, "edges": len(circuit.edges), "fraction": circuit.fraction, "seconds": seconds,
                "faithfulness": runner.faithfulness(runner.metric_of(circuit))}  # fmt: skip

    taus = (0.01, 0.02, 0.03, 0.04)
    budgets = (round(0.025 * n), int(0.05 * n), round(0.1 * n))  # int: docs/edges.md's "at most 23" of 479 edges
    tops = (round(0.05 * n), round(0.1 * n))
    if smoke:
        taus, budgets, tops = (0.1,), budgets[1:2], tops[:1]
    for tau in taus:
        t0 = time.perf_counter()
        c = acdc(model, task, tau=tau)
        rows.append(row(f"ACDC tau {tau}", c, time.perf_counter() - t0))
    for budget in budgets:
        t0 = time.perf_counter()
        c = learned_circuit(model, task, budget, steps=20 if smoke else 300)
        rows.append(row(f"learned masks, <= {budget}", c, time.perf_counter() - t0))
    for method, scores in scores_by_method.items():
        for top in tops:
            rows.append(row(f"top {top} of {method}", circuit_from_scores(model, scores, top_n=top), 0.0))
    return rows


def main(argv: list[str] | None = None) -> None:
    from interp.edges import MIB_FRACTIONS, edge_scores, faithfulness_curve
    from interp.edges.truth import known_circuit_score
    from interp.loading.model import load_model
    from interp.plots import plot_faithfulness_curves
    from interp.tasks.generators import make_task
    from interp.zoo import known_edges

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="kc-induction,kc-lookup,induction-2l,lang-4l,smollm2")
    p.add_argument("--n-prompts", type=int, default=16)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--direction", default="noise")
    p.add_argument("--device", default="cpu")
    args = parse(p, argv, SMOKE, name="edges")
    args.out.mkdir(parents=True, exist_ok=True)
    rows, curves, circuits = [], [], {}
    for key in args.models.split(","):
        spec = "zoo:smollm2-135m" if key == "smollm2" else f"zoo:{key}"
        model = load_model(spec, device=args.device)
        task = make_task(TASKS[key], model, n_prompts=4 if key == "smollm2" else args.n_prompts, seed=0)
        fwd = forward_seconds(model, task.clean_tokens, repeats=1 if args.smoke else 5)
        truth = known_edges(key) if key not in ("lang-4l", "smollm2") else None
        methods = ("eap", "eap-ig") if key == "smollm2" else METHODS
        exact, by_method = None, {}
        for method in methods:
            scores = edge_scores(model, task, method=method, steps=args.steps, direction=args.direction)
            by_method[method] = scores
            exact = scores if method == "exact" else exact
            fractions = SMOKE_FRACTIONS if args.smoke else MIB_FRACTIONS
            curve = None if key == "smollm2" else faithfulness_curve(model, task, scores, fractions=fractions)
            if curve is not None:
                curves.append(curve)
            row = {"model": key, "method": method, "edges": len(scores.edges), "seconds": scores.seconds,
                   "forwards": scores.seconds / fwd, "passes": scores.passes,
                   "cpr": curve.cpr if curve else None, "cmd": curve.cmd if curve else None}  # fmt: skip
            if truth is not None:
                k = known_circuit_score(scores, truth, exact=exact, curve=curve)
                row |= {"auroc": k.auroc, "true_in_top": f"{k.true_in_top}/{k.n_true}",
                        "pearson_exact": k.pearson_with_exact}  # fmt: skip
            elif exact is not None:
                from interp.edges.truth import pearson

                row["pearson_exact"] = pearson(scores.scores, exact.scores)
            rows.append(row)
            print(_line(row), flush=True)
        if key == "lang-4l":
            circuits[key] = smallest_faithful(model, task, by_method, smoke=args.smoke)
            for c in circuits[key]:
                print(
                    f"  {c['how']:<28} {c['edges']:>4} edges ({c['fraction']:.1%}): "
                    f"faithfulness {c['faithfulness']:.3f}  ({c['seconds']:.1f} s)"
                )
    (args.out / "table.json").write_text(json.dumps({"rows": rows, "circuits": circuits}, indent=2))
    if curves:
        plot_faithfulness_curves(curves).write_html(str(args.out / "curves.html"), include_plotlyjs=True)
    print(f"written to {args.out.resolve()}: table.json" + (", curves.html" if curves else ""))


def _line(row: dict) -> str:
    def f(key: str, fmt: str) -> str:
        v = row.get(key)
        return "-" if v is None else format(v, fmt)

    return (
        f"{row['model']:<13}{row['method']:<20}AUROC {f('auroc', '.3f'):>5}  top {row.get('true_in_top', '-'):>5}  "
        f"CPR {f('cpr', '.3f'):>5}  CMD {f('cmd', '.3f'):>5}  r(exact) {f('pearson_exact', '.3f'):>5}  "
        f"{row['seconds']:7.2f} s = {row['forwards']:6.1f} forwards  ({row['edges']} edges)"
    )


if __name__ == "__main__":
    main()
