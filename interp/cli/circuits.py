"""`interp` subcommands for circuit analysis: patch, attribute, path-patch, circuit, dla, lens, heads."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from interp.cli.common import add_model_args, add_task_args, load, progress_bar, task_from_args, write_results
from interp.cli.edges import add_circuit_args, edge_circuit_command
from interp.vocab.choices import Direction, Granularity, MetricName, PatchMethod, PatchSite, ReceiverInput, options

__all__ = ["add_parsers"]


def _out(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--out", type=Path, default=Path(f"runs/{name}"), help=f"output folder (default runs/{name})")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The subcommands of this module, on the `interp` parser."""
    p = sub.add_parser("patch", help="activation patching over a site's layers, positions and heads")
    add_model_args(p)
    add_task_args(p)
    p.add_argument("--site", default="resid_pre", choices=options(PatchSite), help="what to patch (default resid_pre)")
    p.add_argument("--direction", choices=options(Direction), default="denoise")
    p.add_argument("--method", choices=options(PatchMethod), default="fast")
    p.add_argument("--metric", choices=options(MetricName), default="logit_diff")
    _out(p, "patch")
    p.set_defaults(handler=_patch)

    p = sub.add_parser("attribute", help="attribution patching (gradient estimate of activation patching)")
    add_model_args(p)
    add_task_args(p)
    p.add_argument("--site", default="resid_pre", choices=options(PatchSite))
    p.add_argument("--direction", choices=options(Direction), default="denoise")
    p.add_argument("--metric", choices=options(MetricName), default="logit_diff")
    p.add_argument("--compare", action="store_true", help="also run exact patching and record the correlation")
    _out(p, "attribute")
    p.set_defaults(handler=_attribute)

    p = sub.add_parser("path-patch", help="path patching: sender heads -> receiver heads' q, k or v")
    add_model_args(p)
    add_task_args(p)
    p.add_argument("--receivers", required=True, help="comma-separated receiver heads, e.g. L3H0,L3H2")
    p.add_argument("--input", choices=options(ReceiverInput), default="v", help="which receiver input the paths end in")
    p.add_argument("--direction", choices=options(Direction), default="noise")
    _out(p, "path-patch")
    p.set_defaults(handler=_path_patch)

    p = sub.add_parser(
        "circuit",
        help="heads chosen from head patching, or edges (--edges N, --acdc TAU, --learn N), with their faithfulness",
    )
    add_model_args(p)
    add_task_args(p)
    p.add_argument("--top-k", type=int, default=4, help="heads to keep (default 4)")
    p.add_argument("--direction", choices=options(Direction), help="default: denoise for heads, noise for edges")
    add_circuit_args(p)
    _out(p, "circuit")
    p.set_defaults(handler=_circuit)

    p = sub.add_parser("dla", help="direct logit attribution by component, head or neuron")
    add_model_args(p)
    add_task_args(p)
    p.add_argument("--by", choices=options(Granularity), default="component")
    _out(p, "dla")
    p.set_defaults(handler=_dla)

    p = sub.add_parser("lens", help="logit lens: the answer after each layer")
    add_model_args(p)
    add_task_args(p)
    _out(p, "lens")
    p.set_defaults(handler=_lens)

    p = sub.add_parser("heads", help="previous-token, duplicate-token and induction scores of every head")
    add_model_args(p)
    p.add_argument("--n-prompts", type=int, default=16)
    p.add_argument("--seq-len", type=int, help="repeated sequence length (default min(20, (n_ctx-1)//2))")
    p.add_argument("--seed", type=int, default=0)
    _out(p, "heads")
    p.set_defaults(handler=_heads)


def _flatten(nested: tuple, prefix: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], float]]:
    for i, v in enumerate(nested):
        if isinstance(v, tuple):
            yield from _flatten(v, (*prefix, i))
        else:
            yield (*prefix, i), v


def _patch(args: argparse.Namespace) -> int:
    from interp.patching.activation import patch
    from interp.plots import plot_patch

    model = load(args)
    task = task_from_args(args, model)
    with progress_bar(f"patching {args.site}", "pass") as progress:
        result = patch(
            model,
            task,
            site=args.site,
            direction=args.direction,
            metric=args.metric,
            method=args.method,
            progress=progress,
        )
    print(
        f"{result.metric}: clean {result.clean:.3f}, corrupted {result.corrupted:.3f}; {result.method} patching "
        f"took {result.seconds:.2f} s"
    )
    for idx, v in sorted(_flatten(result.normalized), key=lambda x: -abs(x[1]))[:5]:
        where = ", ".join(f"{a} {result.labels[a][i]}" for a, i in zip(result.axes, idx))
        print(f"  {where}: normalised {v:.3f}")
    write_results(args.out, {"result.json": result}, {"patch.html": plot_patch(result)})
    return 0


def _attribute(args: argparse.Namespace) -> int:
    from interp.patching.activation import patch
    from interp.patching.attribution import attribution_patch, with_agreement
    from interp.plots import plot_patch

    model = load(args)
    task = task_from_args(args, model)
    result = attribution_patch(model, task, site=args.site, direction=args.direction, metric=args.metric)
    if args.compare:
        exact = patch(model, task, site=args.site, direction=args.direction, metric=args.metric)
        result = with_agreement(result, exact)
        print(
            f"agreement with exact patching: Pearson {result.agreement.pearson:.3f}, Spearman "
            f"{result.agreement.spearman:.3f}"
        )
    print(
        f"{result.metric}: clean {result.clean:.3f}, corrupted {result.corrupted:.3f}; attribution took "
        f"{result.seconds:.2f} s"
    )
    write_results(args.out, {"result.json": result}, {"attribution.html": plot_patch(result)})
    return 0


def _path_patch(args: argparse.Namespace) -> int:
    from interp.patching.path import path_patch
    from interp.plots import plot_patch

    model = load(args)
    receivers = [r.strip() for r in args.receivers.split(",") if r.strip()]
    task = task_from_args(args, model)
    result = path_patch(model, task, receivers=receivers, receiver_input=args.input, direction=args.direction)
    print(f"{result.site}: {result.metric} clean {result.clean:.3f}, corrupted {result.corrupted:.3f}")
    unchanged = 1 if args.direction == "noise" else 0  # the normalised score of a sender with no effect
    for (layer, head), v in sorted(_flatten(result.normalized), key=lambda x: -abs(x[1] - unchanged))[:5]:
        print(f"  sender L{layer}H{head}: normalised {v:.3f}")
    write_results(args.out, {"result.json": result}, {"path_patch.html": plot_patch(result)})
    return 0


def _circuit(args: argparse.Namespace) -> int:
    if any(x is not None for x in (args.edges, args.acdc, args.learn)):
        return edge_circuit_command(args)
    from interp.circuits.components import head_circuit
    from interp.plots import plot_circuit

    model = load(args)
    task = task_from_args(args, model)
    found = head_circuit(model, task, top_k=args.top_k, direction=args.direction or "denoise")
    faith = found.faithfulness
    print(f"circuit heads: {', '.join(found.circuit.heads())} ({faith.n_heads} of {faith.n_heads_total})")
    print(
        f"faithfulness {faith.faithfulness:.3f}: logit diff {faith.circuit_metric:.3f} vs full {faith.full_metric:.3f} "
        f"(all ablated {faith.ablated_metric:.3f})"
    )
    results = {"circuit.json": found.circuit, "faithfulness.json": faith, "head_patching.json": found.patching}
    write_results(args.out, results, {"circuit.html": plot_circuit(found.circuit, faith)})
    return 0


def _dla(args: argparse.Namespace) -> int:
    from interp.observe.dla import dla
    from interp.plots import plot_dla

    model = load(args)
    result = dla(model, task_from_args(args, model), granularity=args.by)
    print(
        f"logit diff {result.logit_diff:.3f} = parts {sum(result.contributions):.3f} + other "
        f"{sum(result.other.values()):.3f} "
        f"+ unembedding bias {result.unembed_bias:.3f}"
    )
    for label, value in result.top(8):
        print(f"  {label:<14}{value:>9.3f}")
    write_results(args.out, {"result.json": result}, {"dla.html": plot_dla(result)})
    return 0


def _lens(args: argparse.Namespace) -> int:
    from interp.observe.lens import logit_lens
    from interp.plots import plot_logit_lens

    model = load(args)
    result = logit_lens(model, task_from_args(args, model))
    print(f"{'layer':<7}{'logit':>9}{'prob':>8}{'rank':>8}  top tokens (prompt 0)")
    for i, layer in enumerate(result.layers):
        top = ", ".join(result.top_tokens[i])
        print(
            f"{layer:<7}{result.answer_logit[i]:>9.3f}{result.answer_prob[i]:>8.3f}{result.answer_rank[i]:>8.1f}  {top}"
        )
    write_results(args.out, {"result.json": result}, {"lens.html": plot_logit_lens(result)})
    return 0


def _heads(args: argparse.Namespace) -> int:
    from interp.observe.heads import head_scores
    from interp.plots import plot_head_scores

    scores = head_scores(load(args), n_prompts=args.n_prompts, seq_len=args.seq_len, seed=args.seed)
    for name in scores.score_names:
        print(f"top {name.replace('_', '-')} heads: " + ", ".join(f"{h} {v:.2f}" for h, v in scores.top_heads(name)))
    write_results(args.out, {"result.json": scores}, {"heads.html": plot_head_scores(scores)})
    return 0
