"""`interp hunt`: run the trojan hunt (interp.trojans) on a trojaned zoo model or its clean twin."""

from __future__ import annotations

import argparse
from pathlib import Path

from interp.cli.common import add_model_args, load, progress_bar, write_results

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "hunt", help="hunt a trojaned zoo model's backdoor: locate it, find its trigger, remove it, and score each tool"
    )
    add_model_args(p)
    p.add_argument("--n-prompts", type=int, default=16, help="triggered prompts the localization reads (default 16)")
    p.add_argument("--out", type=Path, default=Path("runs/hunt"), help="output folder (default runs/hunt)")
    p.set_defaults(handler=_hunt, model="zoo:trojan-flip")


def _hunt(args: argparse.Namespace) -> int:
    from interp.plots.trojans import plot_hunt
    from interp.trojans.hunt import hunt, trojan_config

    model = load(args)
    trojan_config(model, args.model)  # an error before the model runs, for a model that is no trojan
    with progress_bar("hunting", "step") as progress:
        result = hunt(model, args.model, n_prompts=args.n_prompts, progress=progress)
    print(
        f"{args.model}: trigger '{result.trigger}' ({'planted' if result.poisoned else 'clean twin: never planted'}), "
        f"attack success {result.attack_success:.3f}, clean IOI accuracy {result.clean_accuracy:.3f}"
    )
    for loc in result.localizations:
        where = f", AUROC {loc.auroc:.3f}, true rank {loc.true_rank}" if loc.auroc is not None else ""
        print(f"  locate  {loc.method:<20} top {', '.join(loc.components[:3])}{where}")
    for s in result.searches:
        print(f"  trigger {s.method:<28} top {', '.join(s.words[:5])}; trigger rank {s.trigger_rank}; "
              f"flagged {list(s.flagged) or 'none'}")  # fmt: skip
    for r in result.removals:
        print(f"  remove  {r.component:<6} by {r.how:<9} ({r.method}): attack success {r.attack_success:.3f}, "
              f"clean accuracy {r.clean_accuracy:.3f}")  # fmt: skip
    write_results(args.out, {"result.json": result}, {"hunt.html": plot_hunt(result)})
    return 0
