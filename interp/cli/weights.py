"""`interp weights` and `interp neuron`: mechanisms read from the weights (interp.weights)."""

from __future__ import annotations

import argparse
from pathlib import Path

from interp.cli.common import add_model_args, load, progress_bar, write_results

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "weights",
        help="composition between heads, copying, previous-token and induction scores, and per-head top tokens, "
        "from the weights (interp.weights)",
    )
    add_model_args(p)
    p.add_argument("--tables", type=int, default=5, help="OV top-token tables for this many copying heads (5)")
    p.add_argument("--top", type=int, default=5, help="heads and scores listed per measure (5)")
    p.add_argument("--threshold", type=float, default=0.0, help="composition excess drawn from (default 0)")
    p.add_argument(
        "--tokens", help="comma-separated source tokens of the OV tables (default: a spread of the vocabulary)"
    )
    p.add_argument(
        "--full", metavar="HEAD", help="also save this head's dense OV circuit over --tokens (or the whole vocabulary)"
    )
    p.add_argument("--out", type=Path, default=Path("runs/weights"), help="output folder (default runs/weights)")
    p.set_defaults(handler=_weights)

    p = sub.add_parser("neuron", help="an MLP neuron as a key-value memory: what it promotes, reads, and fires on")
    add_model_args(p)
    p.add_argument("--layer", type=int, required=True)
    p.add_argument("--neuron", type=int, required=True)
    p.add_argument("--through", help="read the value through this later head's OV circuit first, e.g. L1H0")
    p.add_argument("--k", type=int, default=10, help="tokens and contexts listed (10)")
    p.add_argument("--out", type=Path, default=Path("runs/neuron"), help="output folder (default runs/neuron)")
    p.set_defaults(handler=_neuron)


def _weights(args: argparse.Namespace) -> int:
    import torch

    from interp.patching.path import parse_head
    from interp.plots.weights import plot_composition, plot_head_roles
    from interp.weights import composition_scores, head_roles, ov_table, token_ids
    from interp.weights.vocabulary import full_circuit

    model = load(args)
    tokens = token_ids(model, [t for t in args.tokens.split(",") if t]) if args.tokens else None
    full = None
    if args.full:  # refused before the long work when it does not fit
        full = full_circuit(model, *parse_head(args.full), "ov", tokens=tokens)
    with progress_bar("composition", "kind") as progress:
        composition = composition_scores(model, progress=progress)
    print(f"{len(composition.records)} composition scores in {composition.seconds:.2f} s; random baselines "
          + ", ".join(f"{k}: {b:.3f}" for k, b in zip(composition.kinds, composition.baselines)))  # fmt: skip
    for kind in composition.kinds:
        top = ", ".join(f"{r.source}->{r.target} {r.score:.3f}" for r in composition.top(kind, args.top))
        print(f"  {kind.upper()}-composition: {top}")
    with progress_bar("head roles", "layer") as progress:
        roles = head_roles(model, composition=composition, progress=progress)
    print(f"head roles, read against {roles.positions_read}:")
    for name in ("copying_in_context", "previous_token", "induction"):
        print(f"  {name}: " + ", ".join(f"{h} {v:.3f}" for h, v in roles.top(name, args.top)))
    results = {"result.json": composition, "roles.json": roles}
    for head, _ in roles.top("copying_in_context", args.tables):
        results[f"ov-{head}.json"] = ov_table(model, *parse_head(head), sources=tokens, k=10)
    figures = {"composition.html": plot_composition(composition, threshold=args.threshold)}
    write_results(args.out, results, figures | {"roles.html": plot_head_roles(roles)})
    if full is not None:
        from safetensors.torch import save_file

        path = args.out / f"full-ov-{args.full}.safetensors"
        save_file({"ov": full.contiguous(), "tokens": tokens if tokens is not None else torch.arange(len(full))}, path)
        print(f"{args.full}'s dense OV circuit ({len(full)} x {len(full)}) written to {path}")
    return 0


def _neuron(args: argparse.Namespace) -> int:
    from interp.weights import neuron_memory

    model = load(args)
    memory = neuron_memory(model, args.layer, args.neuron, k=args.k, through=args.through)
    via = f" through {args.through}'s OV circuit" if args.through else ""
    print(f"{args.model} block {args.layer} MLP neuron {args.neuron}")
    print(f"  promotes{via}: " + ", ".join(f"{t!r} {v:+.2f}" for t, v in zip(memory.promoted, memory.promoted_scores)))
    print(f"  suppresses{via}: "
          + ", ".join(f"{t!r} {v:+.2f}" for t, v in zip(memory.suppressed, memory.suppressed_scores)))  # fmt: skip
    keys = zip(memory.key_tokens, memory.key_scores)
    print("  key (embedding, direct path): " + ", ".join(f"{t!r} {v:.2f}" for t, v in keys))
    for text, act in zip(memory.contexts, memory.activations):
        print(f"  fires {act:+.2f}: {text!r}")
    write_results(args.out, {"neuron.json": memory}, {})
    return 0
