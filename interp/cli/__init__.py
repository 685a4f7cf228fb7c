"""The `interp` command: models, tasks, circuit analyses, probes, the zoo, the demo experiment, editing, and
reading the weights.

Each subcommand module adds its parsers (`add_parsers`) with a handler; heavy imports (torch,
TransformerLens) happen inside the handlers, so `interp models` and `interp --help` answer at once.
"""

from __future__ import annotations

import argparse
import logging
import sys

from interp.cli import circuits, compare, edges, editing, graphs, models, probe, trojans, weights
from interp.cli.common import check_out

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interp", description="Mechanistic interpretability workbench")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    models.add_parsers(sub)
    circuits.add_parsers(sub)
    edges.add_parsers(sub)
    graphs.add_parsers(sub)
    probe.add_parsers(sub)
    trojans.add_parsers(sub)
    editing.add_parsers(sub)
    weights.add_parsers(sub)
    compare.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if getattr(args, "out", None) is not None:
            check_out(args.out)
        return args.handler(args)
    except (ValueError, OSError) as err:  # our errors say what to fix; a traceback would bury that
        print(f"interp: error: {err}", file=sys.stderr)
        return 2
