"""Reading SmolLM2 from its weights: the time and peak memory of every composition score (target: under 10 s) and
of per-head OV top-token tables over the 49k vocabulary, and the weight-based head roles against the
activation-based head scores and the IOI case study's heads (docs/weights.md quotes this output).

    .venv/bin/python benchmarks/weights.py [--model zoo:smollm2-135m] [--out runs/bench-weights] [--smoke]

Run it alone: two torch processes on 2 cores slow each other down many times over. `--smoke`
(tests/test_benchmarks.py): the same on zoo:lang-4l, whose heads have other names than the IOI case study's (that
part of the report is empty), written to a new temporary folder unless --out is given.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from _common import parse, status_kib

from interp import load_model
from interp.observe.heads import head_scores
from interp.results import save_json
from interp.weights import composition_scores, head_roles, ov_table

IOI_HEADS = ("L23H0", "L24H4", "L23H3", "L20H0", "L17H4")
"""SmolLM2's heads of the IOI case study (docs/case-studies/smollm2-ioi.md): a name mover copies, the negative name
mover and subject suppression write against the token they attend to."""
SMOKE = {"model": "zoo:lang-4l"}
"""--smoke's model (options given on the command line still win)."""


def rss_mb(field: str = "VmHWM") -> float:
    """This process's peak (VmHWM) or current (VmRSS) resident memory in MiB."""
    return status_kib(field) / 1024


def reset_peak() -> float:
    """Restart the peak at the current resident memory (writing 5 to clear_refs); returns that memory."""
    Path("/proc/self/clear_refs").write_text("5")
    return rss_mb("VmRSS")


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = (torch.tensor(x).argsort().argsort().float() for x in (a, b))
    return float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])


def overlap(*, weights: list[tuple[str, float]], acts: list[tuple[str, float]]) -> str:
    shared = {h for h, _ in weights} & {h for h, _ in acts}
    return f"{len(shared)} of {len(acts)} ({', '.join(sorted(shared)) or 'none'})"


@torch.no_grad()  # not set for the process: a test runs --smoke in its own
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="zoo:smollm2-135m")
    args = parse(parser, argv, SMOKE, name="weights")
    model = load_model(args.model)
    weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    report: dict = {"model": args.model, "threads": torch.get_num_threads(), "weights_mb": round(weights_mb)}

    before = reset_peak()
    start = time.perf_counter()
    composition = composition_scores(model)
    report["composition_s"] = round(time.perf_counter() - start, 2)
    report["composition_extra_peak_mb"] = round(rss_mb() - before)  # above what the process held before
    report["pairs_x_kinds"] = len(composition.records)
    report["baselines"] = [round(b, 4) for b in composition.baselines]

    before = reset_peak()
    start = time.perf_counter()
    table = ov_table(model, layer=model.cfg.n_layers - 1, head=0, k=10)  # 64 source tokens x the whole vocabulary
    report["ov_table_one_head_s"] = round(time.perf_counter() - start, 2)
    report["ov_table_extra_peak_mb"] = round(rss_mb() - before)
    report["dense_ov_would_take_mb"] = round(4 * model.cfg.d_vocab**2 / 2**20)

    start = time.perf_counter()
    roles = head_roles(model, composition=composition)
    report["roles_s"] = round(time.perf_counter() - start, 2)
    report["positions_read"] = roles.positions_read

    scores = head_scores(model)
    flat = {n: [v for row in scores.score(n) for v in row] for n in scores.score_names}
    k = 5
    report["previous_token"] = {
        "spearman": round(spearman(list(roles.previous_token), flat["previous_token"]), 3),
        "weights_top": roles.top("previous_token", k),
        "activations_top": scores.top_heads("previous_token", k),
        "top_overlap": overlap(weights=roles.top("previous_token", k), acts=scores.top_heads("previous_token", k)),
    }
    report["induction"] = {
        "spearman": round(spearman(list(roles.induction), flat["induction"]), 3),
        "weights_top": roles.top("induction", k),
        "activations_top": scores.top_heads("induction", k),
        "top_overlap": overlap(weights=roles.top("induction", k), acts=scores.top_heads("induction", k)),
        "copying_of_activation_top": {h: round(roles.copying_in_context[roles.heads.index(h)], 3) for h, _ in
                                      scores.top_heads("induction", k)},
    }  # fmt: skip
    report["ioi_heads_copying"] = {
        h: {
            "direct path": round(roles.copying[roles.heads.index(h)], 3),
            "in context": round(roles.copying_in_context[roles.heads.index(h)], 3),
        }
        for h in IOI_HEADS
        if h in roles.heads  # all of them on SmolLM2
    }
    report["copying_top"] = roles.top("copying", 8)
    args.out.mkdir(parents=True, exist_ok=True)
    save_json(roles, args.out / "roles.json")
    save_json(table, args.out / "ov_table.json")
    (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
