"""`sae train CONFIG.toml`: an SAE training job with a progress bar, checkpoints and resume; `--workers N` (or
running it under torchrun) spreads it over worker processes (sae.distributed, docs/distributed.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from interp.vocab.choices import JobSplit, options

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the SAEs of a TOML config (resumes from the last checkpoint when rerun)")
    p.add_argument(
        "config", type=Path, help="a TOML file: model, hook, training_tokens, ... and one [[sae]] table per SAE"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes on this machine, started under torchrun (one per GPU on a GPU machine); with "
        "--nodes, the same command on each machine (docs/distributed.md)",
    )
    p.add_argument(
        "--bind",
        default=None,
        metavar="ADDRESS|INTERFACE",
        help="where the job's sockets listen (rendezvous, store, gloo/NCCL): loopback by default, which is all a "
        "job on one machine needs; on several machines, the address or interface the others reach this one by "
        "(also $INTERP_DIST_BIND)",
    )
    p.add_argument("--nodes", type=int, default=1, help="machines the job runs on (with --rendezvous and --bind)")
    p.add_argument(
        "--rendezvous",
        default=None,
        metavar="HOST:PORT",
        help="with --nodes: the machine hosting the job's rendezvous (one of them, the same on every machine)",
    )
    p.add_argument(
        "--split",
        choices=options(JobSplit),
        default="auto",
        help="how workers share the job: data (each SAE data-parallel), saes (the SAEs dealt out among the "
        "workers), auto (saes when there are at least as many SAEs as workers)",
    )
    p.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from interp.cli.common import write_results
    from interp.loading.model import resolve_device
    from interp.results import TrainingLog
    from sae import plots
    from sae.distributed import joined_workers
    from sae.launcher import launch
    from sae.train_config import TrainJobConfig
    from sae.train_job import deals_out_saes, read_log, run_train_job

    cfg = TrainJobConfig.from_toml(args.config)  # read here first, so a bad file fails before workers start
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.nodes < 1:
        raise ValueError(f"--nodes must be at least 1, got {args.nodes}")
    deals_out_saes(cfg, args.workers * args.nodes, args.split)  # a job the workers cannot share fails before they start
    if (args.workers > 1 or args.nodes > 1) and "WORLD_SIZE" not in os.environ:
        argv = ["train", str(args.config), "--split", args.split]
        status = launch(argv, args.workers, nodes=args.nodes, rendezvous=args.rendezvous, bind=args.bind)
        if status:
            print(
                f"sae: error: a worker of the job failed (exit status {status}; torchrun's report above names it and "
                f"why). The checkpoints in {cfg.out} are kept: run the same command again to resume.",
                file=sys.stderr,
            )
        return status
    bars: dict[str, tqdm] = {}

    def progress(name: str, done: int, total: int, line: dict) -> None:
        bar = bars.setdefault(name, tqdm(total=total, desc=name, unit="tok", unit_scale=True))
        bar.update(done - bar.n)
        if line:  # collecting activations reports no training numbers
            bar.set_postfix(loss=line["loss"], l0=line["l0"], ev=line["explained_variance"])

    with joined_workers(str(resolve_device(cfg.device))) as workers:
        folders = run_train_job(cfg, progress=progress, workers=workers, split=args.split)
    for bar in bars.values():
        bar.close()
    for folder in folders:
        rows = read_log(folder)
        result = TrainingLog(
            name=folder.name,
            model=cfg.model,
            hook=cfg.hook,
            tokens=tuple(r["tokens"] for r in rows),
            loss=tuple(r["loss"] for r in rows),
            l0=tuple(r["l0"] for r in rows),
            explained_variance=tuple(r["explained_variance"] for r in rows),
        )
        last = rows[-1]
        print(
            f"{folder.name}: {last['tokens']} tokens, loss {last['loss']:.4f}, L0 {last['l0']:.1f}, explained variance "
            f"{last['explained_variance']:.3f}; SAE in {folder / 'sae'}"
        )
        write_results(folder, {"training.json": result}, {"training.html": plots.plot_training_log(result)})
    return 0
