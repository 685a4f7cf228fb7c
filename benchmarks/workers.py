"""Benchmark: one SAE sweep (`sae train`) run by one process and by `--workers N` worker processes.

    .venv/bin/python benchmarks/workers.py [--workers 2] [--k 8 16 32 64] [--training-tokens 2000000]

The activation cache is collected once and copied into each run's folder, so every run trains the same
SAEs from the same rows and the times are training alone (plus each command's start: imports, and
torchrun's rendezvous for the worker runs). Every process gets one torch thread (OMP_NUM_THREADS=1), so
on a machine with N cores the worker runs use N cores and the single process one: the comparison is of
the work divided, not of threads. Runs: one process; N workers dealing the SAEs out (`--split saes`); N
workers training each SAE data-parallel (`--split data`). Each is run `--repeats` times; the median counts.
Run it alone: anything else on the machine changes the times.
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
    done = subprocess.run(
        [sys.executable, "-m", "sae.cli", "train", str(config), *extra], env=env, cwd=ROOT, capture_output=True
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{config} {extra} failed:\n{done.stderr.decode()[-3000:]}")
    return seconds


def main() -> None:
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
    p.add_argument("--out", type=Path, default=Path("runs/bench-workers"))
    args = p.parse_args()

    from sae.harvest import CACHE_DIR, cached_activations
    from sae.train_config import TrainJobConfig

    runs = {"1 process": [], f"{args.workers} workers, SAEs dealt out": ["--split", "saes"]}
    runs[f"{args.workers} workers, data-parallel"] = ["--split", "data"]
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
