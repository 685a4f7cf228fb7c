"""Benchmark: what the per-model lock (interp.core.locking) costs one caller with no one else waiting.

    .venv/bin/python benchmarks/locking.py [--repeats 7] [--n-prompts 16] [--smoke]

Each analysis runs alternately with the lock and with it replaced by a no-op (in one process, interleaved,
so machine noise hits both sides alike); the table gives the median time of each and their ratio. `--smoke`
(tests/test_benchmarks.py): one repeat on 4 prompts, to check in seconds that it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

from _common import parse

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SMOKE = {"repeats": 1, "n_prompts": 4}
"""--smoke's sizes (options given on the command line still win)."""


def main(argv: list[str] | None = None) -> None:
    import interp.core.hooks
    import interp.core.locking
    from interp.loading.model import load_model
    from interp.observe.dla import dla
    from interp.patching.activation import patch
    from interp.patching.attribution import attribution_patch
    from interp.tasks.generators import ioi_task

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n-prompts", type=int, default=16)
    args = parse(parser, argv, SMOKE)
    model = load_model("zoo:lang-4l", device="cpu")
    task = ioi_task(model, n_prompts=args.n_prompts)
    calls = {
        "patch resid_pre fast": lambda: patch(model, task, site="resid_pre"),
        "patch z_pos exact": lambda: patch(model, task, site="z_pos", method="exact"),
        "attribution z": lambda: attribution_patch(model, task, site="z"),
        "dla head": lambda: dla(model, task, granularity="head"),
    }
    locked_fn = interp.core.locking.model_lock

    def set_lock(on: bool) -> None:
        fn = locked_fn if on else (lambda model: contextlib.nullcontext())
        interp.core.locking.model_lock = fn  # read at call time by `exclusive`
        interp.core.hooks.model_lock = fn  # imported by name into hooks()

    print(f"zoo:lang-4l, {len(task)} IOI prompts, CPU; median of {args.repeats} interleaved runs")
    print(f"{'analysis':<24}{'with lock':>11}{'without':>10}{'ratio':>8}")
    for name, call in calls.items():
        call()  # warm-up
        times = {True: [], False: []}
        try:
            for _ in range(args.repeats):
                for on in (True, False):
                    set_lock(on)
                    start = time.perf_counter()
                    call()
                    times[on].append(time.perf_counter() - start)
        finally:  # the lock back, also after an error: the process (a test's, with --smoke) goes on
            set_lock(True)
        with_lock, without = statistics.median(times[True]), statistics.median(times[False])
        print(f"{name:<24}{with_lock:>10.4f}s{without:>9.4f}s{with_lock / without:>8.3f}")


if __name__ == "__main__":
    main()
