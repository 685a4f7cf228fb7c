"""Benchmark: how often `toy_model` at its defaults finds the known optimum of a setting, over many seeds.

    .venv/bin/python benchmarks/toy_optima.py [--seeds 20] [--n-seeds 8] [--smoke]

Settings (Elhage et al., 2022): 6 features in 2 dimensions at feature probability 0.01 settle in a hexagon
(every feature's dimensionality 1/3); 5 features at 0.05 in a pentagon (2/5 each, 72 degrees apart). A run
counts as found when every feature is represented and each dimensionality is within 0.02 of the optimum's.
`--smoke` (tests/test_benchmarks.py): one seed, 2 initialisations of 100 steps; it checks that the benchmark runs,
its counts mean nothing.
"""

from __future__ import annotations

import argparse
import time

from _common import parse

SMOKE = {"seeds": 1, "n_seeds": 2, "steps": 100}
"""--smoke's sizes (options given on the command line still win)."""


def main(argv: list[str] | None = None) -> None:
    from sae.superposition import toy_model
    from sae.toy_models import ToyTraining

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20, help="training seeds tried per setting")
    parser.add_argument("--n-seeds", type=int, default=32, help="initialisations per run (toy_model's n_seeds)")
    parser.add_argument("--steps", type=int, default=ToyTraining().steps, help="training steps (ToyTraining's)")
    args = parse(parser, argv, SMOKE)
    settings = {"hexagon": (6, 0.01, 1 / 3), "pentagon": (5, 0.05, 2 / 5)}
    print(
        f"{args.seeds} training seeds per setting, {args.n_seeds} initialisations per run, {args.steps} steps, "
        "defaults otherwise"
    )
    for name, (n_features, p, optimum) in settings.items():
        found, start = [], time.perf_counter()
        for seed in range(args.seeds):
            result = toy_model(
                n_features=n_features,
                d_hidden=2,
                feature_probability=p,
                n_seeds=args.n_seeds,
                training=ToyTraining(steps=args.steps, seed=seed),
            )
            ok = result.n_represented == n_features and all(abs(d - optimum) < 0.02 for d in result.dimensionality)
            found.append(ok)
        missed = [seed for seed, ok in enumerate(found) if not ok] or "none"
        seconds = time.perf_counter() - start
        print(f"{name:<9} found {sum(found)}/{args.seeds} ({seconds:.0f} s); missed seeds: {missed}")


if __name__ == "__main__":
    main()
