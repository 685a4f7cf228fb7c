"""`sae toy`, `sae recovery` and `sae geometry`: the superposition commands. Heavy imports stay inside
the handlers so `sae --help` answers at once."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from interp.cli.common import progress_bar, write_results
from interp.vocab.choices import Architecture, ToySweep, options

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("toy", help="train toy models of superposition: one setting, or a sweep (--sweep)")
    p.add_argument("--n-features", type=int, help="default 5; 100 for --sweep dimensionality")
    p.add_argument("--d-hidden", type=int, help="default 2; 20 for --sweep dimensionality")
    p.add_argument("--feature-probability", type=float, default=0.01, help="probability each feature is non-zero")
    p.add_argument("--importance-decay", type=float, default=1.0, help="feature i has importance decay**i")
    p.add_argument(
        "--sweep",
        choices=options(ToySweep),
        help="phase diagram (2 features, 1 dim) or dimensions per feature vs sparsity",
    )
    p.add_argument("--n-seeds", type=int, default=None, help="initialisations per setting; the lowest loss is kept")
    _add_training_args(p)
    p.set_defaults(handler=_toy)

    p = sub.add_parser(
        "recovery", help="train SAEs on a known dictionary (or a toy model) and score recovered features"
    )
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--n-features", type=int, default=512)
    p.add_argument("--active", type=float, default=5.0, help="expected active features per sample")
    p.add_argument(
        "--correlation", type=float, default=0.0, help="strength of random feature correlations (0 = independent)"
    )
    p.add_argument("--d-sae", type=_numbers(int), default=(256, 512, 1024), help="comma-separated SAE widths")
    p.add_argument(
        "--architecture", default="topk", choices=options(Architecture), help="SAELens training architecture"
    )
    p.add_argument("--sparsity", type=_numbers(float), default=(5.0,), help="comma-separated k (topk) or coefficients")
    p.add_argument("--samples", type=int, default=1_000_000, help="training samples per SAE")
    p.add_argument("--toy-model", type=Path, help="a `sae toy` output folder: recover its W columns instead")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/recovery"))
    p.set_defaults(handler=_recovery)

    p = sub.add_parser("geometry", help="superposition statistics of a trained SAE's decoder")
    p.add_argument("path", type=Path, help="an SAE folder (SAELens format)")
    p.add_argument("--duplicate-cosine", type=float, default=0.9)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/geometry"))
    p.set_defaults(handler=_geometry)


def _given(value: int | None, default: int) -> int:
    """The option's value when given (0 included: the library refuses it), else the sweep's default."""
    return default if value is None else value


def _numbers(kind: type) -> Callable[[str], tuple]:
    """An argparse type: comma-separated numbers ("256,512"); empty items are skipped, so "" is no numbers."""

    def parse(text: str) -> tuple:
        try:
            return tuple(kind(item) for item in text.split(",") if item.strip())
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"expected comma-separated numbers like 256,512; got {text!r}") from err

    return parse


def _add_training_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, help="optimiser steps (default 5000; 3000 for --sweep phase)")
    p.add_argument("--batch-size", type=int, help="samples per step (default 1024; 512 for --sweep phase)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default 1e-2, cosine-decayed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/toy"))


def _toy(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from sae import plots
    from sae.superposition import PHASE_TRAINING, dimensionality_sweep, phase_diagram, toy_model
    from sae.toy_models import ToyTraining

    given = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr}
    base = PHASE_TRAINING if args.sweep == "phase" else ToyTraining()
    training = replace(base, seed=args.seed, **{k: v for k, v in given.items() if v is not None})
    with progress_bar("training toy models", "step") as progress:
        if args.sweep == "phase":
            result = phase_diagram(n_seeds=_given(args.n_seeds, 3), training=training, progress=progress)
            figures = {"phase.html": plots.plot_phase_diagram(result)}
        elif args.sweep == "dimensionality":
            result = dimensionality_sweep(
                n_features=_given(args.n_features, 100),
                d_hidden=_given(args.d_hidden, 20),
                training=training,
                progress=progress,
            )
            figures = {"dimensionality.html": plots.plot_dimensionality_sweep(result)}
        else:
            result = toy_model(
                n_features=_given(args.n_features, 5),
                d_hidden=_given(args.d_hidden, 2),
                feature_probability=args.feature_probability,
                importance_decay=args.importance_decay,
                n_seeds=_given(args.n_seeds, 32),
                training=training,
                progress=progress,
            )
            figures = {
                "geometry.html": plots.plot_toy_geometry(result),
                "interference.html": plots.plot_toy_interference(result),
            }
    if args.sweep is None:
        angles = f"; angles {', '.join(f'{a:.1f}' for a in result.angles)}" if result.angles else ""
        print(
            f"{result.n_represented} of {result.n_features} features represented; dimensionality "
            f"{', '.join(f'{d:.3f}' for d in result.dimensionality)}{angles}"
        )
    write_results(args.out, {"result.json": result}, figures)
    return 0


def _recovery(args: argparse.Namespace) -> int:
    import torch

    from interp.results import ToyModelResult, load_json
    from sae import plots
    from sae.recovery import RecoveryConfig, known_dictionary_recovery, toy_model_recovery

    cfg = RecoveryConfig(
        d_model=args.d_model,
        n_features=args.n_features,
        active_per_sample=args.active,
        correlation=args.correlation,
        d_sae=args.d_sae,
        architecture=args.architecture,
        sparsity=args.sparsity,
        training_samples=args.samples,
        seed=args.seed,
    )
    with progress_bar("training SAEs", "SAE") as progress:
        if args.toy_model is not None:
            toy = load_json(ToyModelResult, args.toy_model / "result.json")
            result = toy_model_recovery(
                torch.tensor(toy.W), toy.feature_probability, cfg, device=args.device, progress=progress
            )
        else:
            result = known_dictionary_recovery(cfg, device=args.device, progress=progress)
    for width, sparsity, mmcs, frac, l0 in zip(
        result.d_sae, result.sparsity, result.mmcs, result.fraction_recovered, result.l0
    ):
        print(
            f"d_sae {width}, sparsity {sparsity:g}: MMCS {mmcs:.3f}, recovered {frac:.1%} (cosine > 0.9), L0 {l0:.1f}"
        )
    write_results(args.out, {"result.json": result}, {"recovery.html": plots.plot_recovery(result)})
    return 0


def _geometry(args: argparse.Namespace) -> int:
    from interp.loading.saes import load_sae
    from sae import plots
    from sae.decoder_geometry import decoder_geometry

    sae = load_sae(args.path, device=args.device)
    result = decoder_geometry(
        sae.W_dec.detach(), source=str(args.path), duplicate_cosine=args.duplicate_cosine, seed=args.seed
    )
    print(
        f"{result.d_sae} latents in {result.d_in} dims: mean |cos| {result.mean_abs_cosine:.4f} (random "
        f"{result.random_mean_abs_cosine:.4f}); "
        f"{len(result.duplicates)} pairs above {result.duplicate_cosine}; mean dimensionality "
        f"{result.mean_dimensionality:.3f}"
    )
    write_results(args.out, {"result.json": result}, {"geometry.html": plots.plot_decoder_geometry(result)})
    return 0
