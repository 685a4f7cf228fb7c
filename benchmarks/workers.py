"""Benchmark: one SAE sweep (`sae train`) run by one process and by `--workers N` worker processes.

    .venv/bin/python benchmarks/workers.py [--workers 2] [--k 8 16 32 64] [--training-tokens 2000000]
                                           [--splits saes,data] [--smoke]

The activation cache is collected once and copied into each run's folder, so every run trains the same
SAEs from the same rows and the times are training alone (plus each command's start: imports, and
torchrun's rendezvous for the worker runs). Every process gets one torch thread (OMP_NUM_THREADS=1), so
on a machine with N cores the worker runs use N cores and the single process one: the comparison is of
the work divided, not of threads. Runs: one process; N workers dealing the SAEs out (`--split saes`); N
workers training each SAE data-parallel (`--split data`). Each is run `--repeats` times; the median counts.
Run it alone: anything else on the machine changes the times. `--smoke` (tests/test_benchmarks.py): one process and
2 data-parallel workers (each run starts its processes all the same: about 20 s on 2 cores), once each, on the
smallest job (one SAE of 64 latents, 2,048 tokens), written to a new temporary folder unless --out is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import parse  # noqa: E402

from tests.processes import started  # noqa: E402  (a run's workers stop with it, also when it is interrupted)

SMOKE = {
    "k": [8],
    "d_sae": 64,
    "training_tokens": 2048,
    "dataset_tokens": 2048,
    "batch_size": 256,
    "repeats": 1,
    "splits": "data",
}
"""--smoke's sizes (options given on the command line still win)."""
CONFIG = """model = "{model}"
hook = "{hook}"
training_tokens = {training_tokens}
batch_size = {batch_size}
dataset_tokens = {dataset_tokens}
checkpoint_every = {training_tokens}
device = "cpu"
out = "{out}"
"""


def timed(config: Path, extra: list[str]) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    command = [sys.executable, "-m", "sae.cli", "train", str(config), *extra]
    with started(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as run:
        _, stderr = run.communicate()
    seconds = time.perf_counter() - start
    if run.returncode:
        raise RuntimeError(f"{config} {extra} failed:\n{stderr.decode()[-3000:]}")
    return seconds


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="zoo:lang-4l")
    p.add_argument("--hook", default="blocks.2.hook_resid_post")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--k", type=int, nargs="+", default=[8, 16, 32, 64])
    p.add_argument("--d-sae", type=int, default=1024)
    p.add_argument("--training-tokens", type=int, default=2_000_000)
    p.add_argument("--dataset-tokens", type=int, default=120_000)
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--splits", default="saes,data", help="the worker runs' --split values (saes, data)")
    args = parse(p, argv, SMOKE, name="workers")

    from sae.harvest import CACHE_DIR, cached_activations
    from sae.train_config import TrainJobConfig

    what = {"saes": "SAEs dealt out", "data": "data-parallel"}
    runs = {"1 process": []} | {f"{args.workers} workers, {what[s]}": ["--split", s] for s in args.splits.split(",")}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory() as tmp:
        text = CONFIG.format(**(vars(args) | {"out": "{out}"})) + "".join(
            f"[[sae]]\nd_sae = {args.d_sae}\nsparsity = {k}\n" for k in args.k
        )
        cache = Path(tmp) / "cache"
        (Path(tmp) / "cache.toml").write_text(text.format(out=cache))
        cached_activations(TrainJobConfig.from_toml(Path(tmp) / "cache.toml"))
        for repeat in range(args.repeats):
            for i, (name, extra) in enumerate(runs.items()):
                out = Path(tmp) / f"run-{repeat}-{i}"
                shutil.copytree(cache / CACHE_DIR, out / CACHE_DIR)
                config = Path(tmp) / f"run-{repeat}-{i}.toml"
                config.write_text(text.format(out=out))
                workers = ["--workers", str(args.workers)] if extra else []
                seconds[name].append(timed(config, workers + extra))
                shutil.rmtree(out)
    base = statistics.median(seconds["1 process"])
    print(
        f"{args.model} {args.hook}: {len(args.k)} TopK SAEs x {args.d_sae} latents, {args.training_tokens:,} tokens "
        f"each, batch {args.batch_size}; one torch thread per process; {os.cpu_count()} cores; median of "
        f"{args.repeats}"
    )
    for name, times in seconds.items():
        median = statistics.median(times)
        print(f"{name:>34}: {median:6.1f} s ({', '.join(f'{t:.1f}' for t in times)}), {base / median:.2f}x")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"args": {k: str(v) for k, v in vars(args).items()}, "seconds": seconds}
    (args.out / "result.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
