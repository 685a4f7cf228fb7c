"""`interp edges` (score every edge of the model's graph) and the edge options of `interp circuit`."""

from __future__ import annotations

import argparse
from pathlib import Path

from interp.cli.common import add_model_args, add_task_args, load, progress_bar, task_from_args, write_results
from interp.vocab.choices import Ablation, Direction, EdgeMethod, MetricName, options

__all__ = ["EDGE_DIRECTION", "add_circuit_args", "add_parsers", "edge_circuit_command"]


EDGE_DIRECTION = "noise"
"""Edges are scored in the noise direction by default (is the edge needed?), as Syed et al. and Hanna et al. do; on
zoo:lang-4l IOI, EAP's scores correlate with exact edge patching's at 0.81 in this direction and EAP-IG's at 0.99
(docs/edges.md)."""


def _method_args(p, *, direction: bool = True) -> None:
    p.add_argument("--method", choices=options(EdgeMethod), default="eap-ig", help="how edges are scored")
    p.add_argument("--steps", type=int, default=5, help="integration steps of eap-ig methods (default 5)")
    if direction:
        p.add_argument("--direction", choices=options(Direction), default=EDGE_DIRECTION)
    p.add_argument("--metric", choices=options(MetricName), default="logit_diff")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("edges", help="score every edge of the model's graph (EAP, EAP-IG, exact edge patching)")
    add_model_args(p)
    add_task_args(p)
    _method_args(p)
    p.add_argument("--by-position", action="store_true", help="also score each edge at each position")
    p.add_argument("--curve", action="store_true", help="also measure the faithfulness curve of the ranking")
    p.add_argument("--ablation", choices=options(Ablation), default="corrupted", help="for --curve")
    p.add_argument("--top-n", type=int, default=30, help="edges in the circuit drawn in edges.html (default 30)")
    p.add_argument("--out", type=Path, default=Path("runs/edges"), help="output folder (default runs/edges)")
    p.set_defaults(handler=_edges)


def add_circuit_args(p: argparse.ArgumentParser) -> None:
    """`interp circuit` builds an edge circuit with either of these; without them, a circuit of heads."""
    g = p.add_argument_group("edge circuits")
    g.add_argument("--edges", type=int, metavar="N", help="a circuit of the top N edges by --method")
    g.add_argument("--acdc", type=float, metavar="TAU", help="a circuit by ACDC's greedy pruning at threshold TAU")
    g.add_argument("--learn", type=int, metavar="N", help="a circuit of at most N edges by learned masks")
    g.add_argument("--learn-steps", type=int, default=300, help="optimisation steps of --learn (default 300)")
    _method_args(g, direction=False)  # `interp circuit` has --direction already
    g.add_argument("--ablation", choices=options(Ablation), default="corrupted", help="what edges outside carry")


def _edges(args: argparse.Namespace) -> int:
    from interp.edges import circuit_from_scores, edge_scores, faithfulness_curve
    from interp.plots import plot_edge_circuit, plot_faithfulness_curve

    model = load(args)
    task = task_from_args(args, model)
    with progress_bar(f"{args.method} edge scores", "step") as progress:
        scores = edge_scores(
            model, task, method=args.method, steps=args.steps, direction=args.direction, metric=args.metric,
            by_position=args.by_position, progress=progress,
        )  # fmt: skip
    print(
        f"{len(scores.edges)} edges scored by {scores.method} in {scores.seconds:.2f} s ({scores.passes}); "
        f"{scores.metric}: clean {scores.clean:.3f}, corrupted {scores.corrupted:.3f}"
    )
    for edge, value in scores.top(8):
        print(f"  {edge:<28}{value:>10.4f}")
    results: dict = {"result.json": scores}
    figures = {"edges.html": plot_edge_circuit(circuit_from_scores(model, scores, top_n=args.top_n))}
    if args.curve:
        curve = faithfulness_curve(model, task, scores, ablation=args.ablation)
        _print_curve(curve)
        results["curve.json"] = curve
        figures["curve.html"] = plot_faithfulness_curve(curve)
    write_results(args.out, results, figures)
    return 0


def _print_curve(curve) -> None:
    print(f"faithfulness ({curve.ablation} ablation): CPR {curve.cpr:.3f}, CMD {curve.cmd:.3f}")
    for size, frac, f in zip(curve.sizes, curve.fractions, curve.faithfulness):
        print(f"  {size:>6} edges ({frac:7.2%}): {f:.3f}")


def edge_circuit_command(args: argparse.Namespace) -> int:
    """`interp circuit --edges N`, `--acdc TAU` or `--learn N`."""
    from interp import edges
    from interp.plots import plot_edge_circuit, plot_faithfulness_curve

    if sum(x is not None for x in (args.edges, args.acdc, args.learn)) > 1:
        raise ValueError("give one of --edges N, --acdc TAU or --learn N")
    direction = args.direction or EDGE_DIRECTION
    model = load(args)
    task = task_from_args(args, model)
    results: dict = {}
    figures: dict = {}
    if args.acdc is not None:
        with progress_bar("ACDC", "reader") as progress:
            circuit = edges.acdc(
                model, task, tau=args.acdc, ablation=args.ablation, metric=args.metric, progress=progress
            )
    elif args.learn is not None:
        with progress_bar("learning edge masks", "step") as progress:
            circuit = edges.learned_circuit(
                model, task, args.learn, steps=args.learn_steps, ablation=args.ablation, metric=args.metric,
                progress=progress,
            )  # fmt: skip
    else:
        scores = edges.edge_scores(
            model, task, method=args.method, steps=args.steps, direction=direction, metric=args.metric
        )
        circuit = edges.circuit_from_scores(model, scores, top_n=args.edges)
        curve = edges.faithfulness_curve(model, task, scores, ablation=args.ablation)
        _print_curve(curve)
        results |= {"scores.json": scores, "curve.json": curve}
        figures["curve.html"] = plot_faithfulness_curve(curve, mark=len(circuit.edges))
    runner = edges.AblationRunner(model, task, args.ablation, args.metric)
    value, (full, empty) = runner.metric_of(circuit), runner.ends()
    print(f"circuit: {len(circuit.edges)} edges of {circuit.n_edges_total} ({circuit.fraction:.1%}), {circuit.source}")
    print(
        f"  {args.metric} with every other edge ablated ({args.ablation}): {value:.3f} (full model {full:.3f}, "
        f"no edges {empty:.3f}; faithfulness {(value - empty) / (full - empty):.3f})"
    )
    results["circuit.json"] = circuit
    figures["circuit.html"] = plot_edge_circuit(circuit)
    write_results(args.out, results, figures)
    return 0
