"""`interp compare`: two models side by side (interp.compare): which heads play which role in each, and, for
models that share a tokenizer, how alike their layers are."""

from __future__ import annotations

import argparse
from pathlib import Path

from interp.cli.common import add_model_args, progress_bar, say, write_results

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="head roles of two models side by side, and linear CKA between every pair of their layers on the "
        "same tokens when they share a tokenizer (interp.compare)",
    )
    add_model_args(p, positional=True)
    p.add_argument("other", help="model B: zoo:NAME, official name or folder; 'random' for a random-weights twin of A")
    p.add_argument("--tokens", type=int, default=4096, help="tokens both models read for CKA (default 4096)")
    p.add_argument("--context", type=int, default=64, help="tokens per row (default 64)")
    p.add_argument("--text", help="text source of the rows (default: model A's own, as `sae train` reads it)")
    p.add_argument("--threshold", type=float, default=0.4, help="attention-role score a head must reach (0.4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/compare"), help="output folder (default runs/compare)")
    p.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    from interp.compare import compare_roles, layer_similarity, random_twin
    from interp.loading.model import load_model
    from interp.loading.token_sources import token_rows
    from interp.plots.compare import plot_layer_similarity, plot_roles

    if args.tokens < 1 or args.context < 2:  # before any model loads
        raise ValueError(f"need --tokens >= 1 and --context >= 2; got {args.tokens} and {args.context}")

    def load(spec: str):
        return load_model(spec, device=args.device, dtype=args.dtype, progress=say)

    a = load(args.model)
    b = random_twin(a, seed=args.seed) if args.other == "random" else load(args.other)
    with progress_bar("head roles", "step") as progress:
        roles = compare_roles(a, b, threshold=args.threshold, progress=progress)
    _print_roles(roles)
    results, figures = {"roles.json": roles}, {"roles.html": plot_roles(roles)}
    try:
        rows = token_rows(a, n_tokens=args.tokens, context=args.context, dataset=args.text, seed=args.seed)
        with progress_bar("linear CKA", "step") as progress:
            cka = layer_similarity(a, b, rows, progress=progress)
    except ValueError as err:
        if "token by token" not in str(err):  # another problem (the token source): the user must fix it
            raise
        say(f"no CKA: {err}")  # the roles still compare
    else:
        _print_cka(cka)
        results["result.json"], figures["cka.html"] = cka, plot_layer_similarity(cka)
    write_results(args.out, results, figures)
    return 0


def _print_roles(roles) -> None:
    print(f"head roles, {roles.model_a} | {roles.model_b} (attention roles at >= {roles.threshold}; ioi: the "
          f"{roles.ioi_top} heads restoring the most logit difference)")  # fmt: skip
    for role in roles.roles:
        a, b = roles.side(role)
        print(f"  {role:>16}: {len(a.heads):>3} | {len(b.heads):>3}   "
              f"{' '.join(a.heads[:6]) or '-'} | {' '.join(b.heads[:6]) or '-'}")  # fmt: skip
    for note in roles.notes:
        print(f"  ({note})")


def _print_cka(result) -> None:
    print(f"linear CKA, {result.model_a} (rows) vs {result.model_b} (columns), {result.n_tokens:,} tokens; "
          f"with the tokens shuffled, no pair of layers scores above {result.largest_chance():.3f} "
          "(result.json: `chance`)")  # fmt: skip
    print(" " * 8 + "".join(f"{label:>8}" for label in result.layers_b))
    for label, row in zip(result.layers_a, result.values):
        print(f"{label:>8}" + "".join(f"{v:8.3f}" for v in row))
