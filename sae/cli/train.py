"""`sae train CONFIG.toml`: an SAE training job with a progress bar, checkpoints and resume."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the SAEs of a TOML config (resumes from the last checkpoint when rerun)")
    p.add_argument(
        "config", type=Path, help="a TOML file: model, hook, training_tokens, ... and one [[sae]] table per SAE"
    )
    p.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from interp.cli.common import write_results
    from interp.results import TrainingLog
    from sae import plots
    from sae.train_config import TrainJobConfig
    from sae.train_job import read_log, run_train_job

    cfg = TrainJobConfig.from_toml(args.config)
    bars: dict[str, tqdm] = {}

    def progress(name: str, done: int, total: int, line: dict) -> None:
        bar = bars.setdefault(name, tqdm(total=total, desc=name, unit="tok", unit_scale=True))
        bar.update(done - bar.n)
        if line:  # collecting activations reports no training numbers
            bar.set_postfix(loss=line["loss"], l0=line["l0"], ev=line["explained_variance"])

    folders = run_train_job(cfg, progress=progress)
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
