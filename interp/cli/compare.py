"""`interp compare`: two models side by side, layer by layer (interp.compare)."""

from __future__ import annotations

import argparse
from pathlib import Path

from interp.cli.common import add_model_args, say, write_results

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="linear CKA between every layer of model A and every layer of model B on the same tokens "
        "(interp.compare); the models must share a tokenizer",
    )
    add_model_args(p, positional=True)
    p.add_argument("other", help="model B: zoo:NAME, official name or folder; 'random' for a random-weights twin of A")
    p.add_argument("--tokens", type=int, default=4096, help="tokens both models read (default 4096)")
    p.add_argument("--context", type=int, default=64, help="tokens per row (default 64)")
    p.add_argument("--text", help="text source of the rows (default: model A's own, as `sae train` reads it)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/compare"), help="output folder (default runs/compare)")
    p.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    from interp.compare import layer_similarity, random_twin
    from interp.loading.model import load_model
    from interp.loading.token_sources import token_rows
    from interp.plots.compare import plot_layer_similarity

    def load(spec: str):
        return load_model(spec, device=args.device, dtype=args.dtype, progress=say)

    if args.tokens < 1 or args.context < 2:  # before any model loads
        raise ValueError(f"need --tokens >= 1 and --context >= 2; got {args.tokens} and {args.context}")
    a = load(args.model)
    b = random_twin(a, seed=args.seed) if args.other == "random" else load(args.other)
    rows = token_rows(a, n_tokens=args.tokens, context=args.context, dataset=args.text, seed=args.seed)
    result = layer_similarity(a, b, rows)
    chance = max(max(row) for row in result.chance)
    print(f"linear CKA, {result.model_a} (rows) vs {result.model_b} (columns), {result.n_tokens:,} tokens; "
          f"with the tokens shuffled, no pair of layers scores above {chance:.3f} (result.json: `chance`)")  # fmt: skip
    print(" " * 8 + "".join(f"{label:>8}" for label in result.layers_b))
    for label, row in zip(result.layers_a, result.values):
        print(f"{label:>8}" + "".join(f"{v:8.3f}" for v in row))
    write_results(args.out, {"result.json": result}, {"cka.html": plot_layer_similarity(result)})
    return 0
