"""`interp graph`: the attribution graph of a prompt under a model's transcoders."""

from __future__ import annotations

import argparse
from pathlib import Path

from interp.cli.common import add_model_args, load, progress_bar, save_figure
from interp.vocab.defaults import GRAPH

__all__ = ["VIEWER_JSON", "add_parsers"]

VIEWER_JSON = "attribution-graph.json"
"""The pruned graph in circuit-tracer's / Neuronpedia's viewer format (next to it, graph-metadata.json lists it as
circuit-tracer's own output folders do: interp.graphs.export.write_graph_json)."""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("graph", help="trace a prompt's attribution graph through transcoders (interp.graphs)")
    add_model_args(p)
    p.add_argument("--prompt", help="the prompt (the model's BOS token is put first)")
    p.add_argument(
        "--transcoders",
        help="a transcoder folder or `sae train` job folder, zoo:NAME, or release:id,id,... from SAELens's registry "
        "(default: the zoo model's bundled ones)",
    )
    p.add_argument("--difference", nargs=2, metavar=("A", "B"), help="attribute the logit difference A - B")
    g = GRAPH  # the library's defaults (interp.vocab.defaults), read here and by the app's page
    p.add_argument(
        "--max-logits",
        type=int,
        default=g.max_n_logits,
        help="most probable next tokens attributed (default %(default)s)",
    )
    p.add_argument(
        "--logit-prob", type=float, default=g.desired_logit_prob, help="...until their probabilities add up to this"
    )
    p.add_argument(
        "--max-feature-nodes",
        type=int,
        default=g.max_feature_nodes,
        help="latents given incoming edges (default %(default)s)",
    )
    p.add_argument(
        "--node-threshold",
        type=float,
        default=g.node_threshold,
        help="influence share of nodes kept (default %(default)s)",
    )
    p.add_argument(
        "--edge-threshold",
        type=float,
        default=g.edge_threshold,
        help="influence share of edges kept (default %(default)s)",
    )
    p.add_argument(
        "--batch-size", type=int, default=g.batch_size, help="targets per backward pass (default %(default)s)"
    )
    p.add_argument("--verify", action="store_true", help="check the edges and the top latents by intervention")
    p.add_argument("--read", type=Path, metavar="FILE", help="draw a circuit-tracer / Neuronpedia graph file instead")
    p.add_argument("--out", type=Path, default=Path("runs/graph"), help="output folder (default runs/graph)")
    p.set_defaults(handler=_graph)


def _transcoders_of(args: argparse.Namespace) -> str:
    if args.transcoders:
        return args.transcoders
    from interp.loading.spec import defaults_for
    from interp.zoo import bundled_sae_folder

    folder = bundled_sae_folder(defaults_for(args.model).transcoders)
    if folder is None:
        raise ValueError(f"{args.model} has no bundled transcoders: give --transcoders (train them with `sae train`)")
    return str(folder)


def _graph(args: argparse.Namespace) -> int:
    from interp.graphs.export import read_graph_json, write_graph_json
    from interp.graphs.prune import check_thresholds, prune
    from interp.plots.graphs import plot_attribution_graph

    check_thresholds(args.node_threshold, args.edge_threshold)  # before the model loads
    if args.read is not None:
        graph = read_graph_json(args.read)
        pruning = prune(graph, node_threshold=args.node_threshold, edge_threshold=args.edge_threshold)
        print(f"{args.read}: {graph.n_features} latents, {int((graph.adjacency != 0).sum())} links")
        print(f"figure written to {save_figure(plot_attribution_graph(graph, pruning), args.out / 'graph.html')}")
        return 0
    if not args.prompt:
        raise ValueError("give --prompt (or --read FILE to draw a graph file)")
    from interp.graphs.attribute import attribute
    from interp.graphs.transcoder_set import load_transcoders
    from interp.loading.model import resolve_device
    from interp.results import save_graph

    model = load(args)
    transcoders = load_transcoders(_transcoders_of(args), device=str(resolve_device(args.device)))
    with progress_bar("attributing", "target") as progress:
        graph = attribute(
            model, transcoders, args.prompt, max_n_logits=args.max_logits, desired_logit_prob=args.logit_prob,
            difference=tuple(args.difference) if args.difference else None, max_feature_nodes=args.max_feature_nodes,
            batch_size=args.batch_size, progress=progress,
        )  # fmt: skip
    pruning = prune(graph, node_threshold=args.node_threshold, edge_threshold=args.edge_threshold)
    print(
        f"{graph.n_pos} tokens, {graph.n_features} latents, {graph.n_nodes} nodes in {graph.seconds:.2f} s "
        f"({graph.passes}); pruned to {pruning.n_nodes} nodes and {pruning.n_edges} edges; replacement score "
        f"{pruning.replacement_score:.3f}, completeness {pruning.completeness_score:.3f}"
    )
    for label, prob in zip(graph.logit_labels, graph.logit_probs.tolist(), strict=True):
        print(f"  logit {label!r}: p = {prob:.3f}")
    viewer = write_graph_json(graph, pruning, args.out / VIEWER_JSON, slug=args.out.name)
    save_graph(graph, args.out / "full")
    files = [viewer, save_figure(plot_attribution_graph(graph, pruning), args.out / "graph.html")]
    if args.verify:
        files.append(_verify(model, transcoders, graph, args.out))
    print(f"results written to {args.out.resolve()}: {', '.join(f.name for f in files)}, full/ (the unpruned graph)")
    return 0


def _verify(model, transcoders, graph, out: Path) -> Path:
    from interp.graphs.verify import check_edges, check_interventions
    from interp.results import save_json

    edges = check_edges(model, transcoders, graph)
    print(
        f"frozen model: {edges.n_edges} edges out of {edges.n_sources} sources checked by removing each source; "
        f"largest |edge - effect| {edges.max_abs_error:.2e} (largest |edge| {edges.max_abs_edge:.2f})"
    )
    checks = [check_interventions(model, transcoders, graph, frozen=frozen) for frozen in (True, False)]
    for check in checks:
        where = "frozen attention" if check.frozen else "real attention"
        print(
            f"ablating the top {len(check.nodes)} latents ({where}): predicted vs actual change of "
            f"{check.target!r} correlate at {check.correlation:.3f}"
        )
    save_json(edges, out / "verify-edges.json")
    save_json(checks[0], out / "verify-frozen.json")
    return save_json(checks[1], out / "verify-real.json")
