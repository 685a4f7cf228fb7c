"""Helpers shared by the `interp` subcommands (and the `sae` command): model and task options, loading,
progress bars, and writing results and figures where the user can find them."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from interp.vocab.choices import DType, TaskName, options
from interp.zoo import DEFAULT_MODEL

__all__ = [
    "add_model_args",
    "add_task_args",
    "check_out",
    "load",
    "progress_bar",
    "save_figure",
    "say",
    "task_from_args",
    "write_results",
]


def add_model_args(p: argparse.ArgumentParser, *, positional: bool = False) -> None:
    if positional:
        p.add_argument("model", help="zoo:NAME, a TransformerLens official name, or a local checkpoint folder")
    else:
        p.add_argument(
            "--model", default=DEFAULT_MODEL, help=f"zoo:NAME, official name, or folder (default {DEFAULT_MODEL})"
        )
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--dtype", default="float32", choices=options(DType))


def add_task_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=options(TaskName), help="built-in task (default: the model's own, ioi for most)")
    p.add_argument("--clean", action="append", help="your clean prompt (repeat for several)")
    p.add_argument("--corrupted", action="append", help="its corrupted prompt, same token length")
    p.add_argument("--answer", action="append", help='the right next token, e.g. " Mary"')
    p.add_argument("--wrong", action="append", help="the competing next token")
    p.add_argument("--n-prompts", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)


def task_from_args(args: argparse.Namespace, model: Any) -> Any:
    """The task the options name: the user's own prompts, or a built-in task."""
    from interp.tasks.inputs import CUSTOM_FIELDS, task_from_inputs

    custom = {k: getattr(args, k) or "" for k in CUSTOM_FIELDS}
    return task_from_inputs(model, task=args.task or "", n_prompts=args.n_prompts, seed=args.seed, **custom)


def load(args: argparse.Namespace) -> Any:
    from interp.loading.model import load_model

    return load_model(args.model, device=args.device, dtype=args.dtype, progress=say)


def say(message: str) -> None:
    """Progress of slow first-time work (a download, a conversion), on stderr so that stdout stays the result."""
    print(f"interp: {message}", file=sys.stderr, flush=True)


def check_out(path: Path) -> None:
    """Refuse an output folder that cannot be written, before the work whose results it would hold."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {path} is a file: give a folder for the results")
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as err:
        raise ValueError(f"cannot write results to {path}: {err.strerror or err}") from err


def save_figure(fig: Any, path: Path) -> Path:
    fig.write_html(str(path), include_plotlyjs=True)
    return path


def write_results(out: Path, results: dict, figures: dict) -> None:
    """Save result dataclasses as JSON and figures as HTML under `out`, and say where."""
    from interp.results import save_json

    files = [save_json(r, out / name) for name, r in results.items()]
    files += [save_figure(f, out / name) for name, f in figures.items()]
    print(f"results written to {out.resolve()}: " + ", ".join(f.name for f in files))


@contextmanager
def progress_bar(desc: str, unit: str) -> Iterator:
    """A tqdm bar driven by a library progress(done, total) callback."""
    from tqdm import tqdm

    with tqdm(desc=desc, unit=unit) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress
