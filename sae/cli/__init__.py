"""The `sae` command: train, eval, features, info, and the superposition commands (toy, recovery,
geometry). Heavy imports stay inside the handlers so `sae --help` answers at once."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interp.cli.common import check_out
from sae.cli import features, superposition, train

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sae", description="Sparse autoencoders on workbench models (SAELens)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="architecture, widths and hook of a saved SAE folder")
    p.add_argument("path", type=Path)
    p.add_argument("--device", default="cpu")
    p.set_defaults(handler=_info)
    train.add_parsers(sub)
    features.add_parsers(sub)
    superposition.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "out", None) is not None:
            check_out(args.out)
        return args.handler(args)
    except (ValueError, OSError) as err:
        print(f"sae: error: {err}", file=sys.stderr)
        return 2


def _info(args: argparse.Namespace) -> int:
    from interp.loading.saes import load_sae

    sae = load_sae(args.path, device=args.device)
    cfg = sae.cfg
    n_params = sum(p.numel() for p in sae.parameters())
    print(
        f"{args.path}: {cfg.architecture()} SAE, d_in {cfg.d_in} -> d_sae {cfg.d_sae}, {n_params:,} parameters, "
        f"{cfg.dtype}"
    )
    print(f"hook: {cfg.metadata.hook_name or 'not recorded'}; model: {cfg.metadata.model_name or 'not recorded'}")
    return 0
