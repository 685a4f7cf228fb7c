"""Benchmark: the trojan hunt on every trojaned zoo model and its clean twin.

    .venv/bin/python benchmarks/trojans.py [--models trojan-flip,twin-flip,...] [--n-prompts 16]
                                           [--out runs/bench-trojans] [--smoke]

For each model (interp.zoo.trojans): each localization method's AUROC and rank of the known location (confined
backdoors), each trigger search's rank of the trigger and the words it flags, attack success and clean IOI accuracy
after ablating each method's top component (by direction and by mean), and the time. Writes table.json (every
HuntResult), table.html and hunt-MODEL.html, and prints the table. Run it alone: it times the methods.
`--smoke` (tests/test_benchmarks.py): trojan-flip alone on 4 prompts, a GCG-style search of 1 round x 2 words and
SAE latents trained SMOKE_SAE_STEPS steps, written to a new temporary folder unless --out is given; it checks that
the benchmark runs (about 20 s on 2 cores: the hunt's held-out accuracies and fuzzed prompts stay full size).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os

from _common import parse

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODELS = "trojan-flip,twin-flip,trojan-target,twin-target,trojan-head,twin-head"
SMOKE = {"models": "trojan-flip", "n_prompts": 4, "exact_top": 2, "rounds": 1}
"""--smoke's sizes (options given on the command line still win)."""
SMOKE_SAE_STEPS = 20
"""--smoke's training steps of the SAE-latent search's SAEs (interp.trojans.latents.STEPS, 1000: 30 s a model)."""


@contextlib.contextmanager
def sae_steps(steps: int):
    """interp.trojans.latents.STEPS set to `steps` while the block runs: hunt() offers no option for it."""
    from interp.trojans import latents

    before = latents.STEPS  # an AttributeError, not a silent no-op, if the constant is renamed
    latents.STEPS = steps
    try:
        yield
    finally:
        latents.STEPS = before


def main(argv: list[str] | None = None) -> None:
    from dataclasses import asdict

    from interp.loading.model import load_model
    from interp.plots.trojans import plot_hunt, plot_hunt_table
    from interp.trojans.hunt import hunt

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=MODELS)
    p.add_argument("--n-prompts", type=int, default=16)
    p.add_argument("--exact-top", type=int, default=8, help="words scanned per round of the GCG-style search")
    p.add_argument("--rounds", type=int, default=6, help="rounds of the GCG-style search")
    args = parse(p, argv, SMOKE, name="trojans")
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.models.split(","):
        model = load_model(f"zoo:{name}", device="cpu")
        with sae_steps(SMOKE_SAE_STEPS) if args.smoke else contextlib.nullcontext():
            r = hunt(model, name, n_prompts=args.n_prompts, exact_top=args.exact_top, rounds=args.rounds)
        results.append(r)
        plot_hunt(r).write_html(str(args.out / f"hunt-{name}.html"), include_plotlyjs="cdn")
        state = "planted" if r.poisoned else "(twin)"
        print(f"{name}: trigger '{r.trigger}' {state}, attack success {r.attack_success:.3f}, clean accuracy "
              f"{r.clean_accuracy:.3f}, {r.seconds:.0f} s", flush=True)  # fmt: skip
        for loc in r.localizations:
            after = ""
            for how in ("direction", "mean"):
                x = next((x for x in r.removals if x.method == loc.method and x.how == how), None)
                after += f"  after {how}: " + (f"attack {x.attack_success:.3f} clean {x.clean_accuracy:.3f}" if x
                                               else "nothing found")  # fmt: skip
            auroc = "-" if loc.auroc is None else f"{loc.auroc:.3f}"
            rank = loc.true_rank or "-"
            print(f"  {loc.method:<20} AUROC {auroc:>5}  true rank {rank:>2}  top {loc.components[0]:<5}{after}"
                  f"  ({loc.seconds:.1f} s)")  # fmt: skip
        for s in r.searches:
            rem = next((x for x in r.removals if x.method == s.method and x.how == "trigger embedding"), None)
            after = f"  after: attack {rem.attack_success:.3f} clean {rem.clean_accuracy:.3f}" if rem else ""
            print(f"  {s.method:<34} trigger rank {s.trigger_rank or '-':>3}  top {', '.join(s.words[:3]):<24}"
                  f"  flagged {', '.join(s.flagged) or 'none'}{after}  ({s.seconds:.1f} s)")  # fmt: skip
    (args.out / "table.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    plot_hunt_table(results).write_html(str(args.out / "table.html"), include_plotlyjs="cdn")
    print(f"written to {args.out.resolve()}: table.json, table.html, hunt-*.html")


if __name__ == "__main__":
    main()
