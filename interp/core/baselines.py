"""The clean and corrupted runs every patching method starts from, and the result it returns."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor

from interp.core.hooks import run_with_cache
from interp.core.locking import lock_free
from interp.core.metrics import at_metric_pos, metric_values, normalise
from interp.core.patch_sites import kv_head_labels
from interp.core.task import Task
from interp.results import PatchResult, nested_tuple
from interp.vocab.choices import Direction, MetricName
from interp.vocab.types import Model

__all__ = ["Baselines", "baselines", "make_patch_result", "position_labels"]


@dataclass(frozen=True)
class Baselines:
    """The clean and corrupted runs: their activations at the hooks asked for, and the metric on each."""

    clean_cache: dict[str, Tensor]
    corrupted_cache: dict[str, Tensor]
    clean_last: Tensor
    """Clean logits at the metric position (the KL metric's reference)."""
    clean: float
    corrupted: float
    """The metric on each run, mean over prompts."""


@lock_free("baselines runs through run_with_cache, which holds the lock")
def baselines(model: Model, task: Task, names: list[str], metric: MetricName) -> Baselines:
    """Run the clean and corrupted prompts, caching `names`, and measure the metric on both."""
    clean_logits, clean_cache = run_with_cache(model, task.clean_tokens, names)
    corrupted_logits, corrupted_cache = run_with_cache(model, task.corrupted_tokens, names)
    clean_last = at_metric_pos(clean_logits, task)
    rows = torch.arange(len(task))
    clean_m = float(metric_values(metric, clean_last, task, rows, clean_last).mean())
    corrupted_m = float(metric_values(metric, at_metric_pos(corrupted_logits, task), task, rows, clean_last).mean())
    return Baselines(clean_cache, corrupted_cache, clean_last, clean_m, corrupted_m)


@lock_free("baselines runs through run_with_cache, which holds the lock")
def make_patch_result(
    model: Model,
    task: Task,
    *,
    analysis: str,
    site: str,
    direction: Direction,
    method: str,
    metric: MetricName,
    intervention: str,
    axes: tuple[str, ...],
    raw: Tensor,
    clean: float,
    corrupted: float,
    start: float,
) -> PatchResult:
    """A `PatchResult` with labels for `axes` (read off `raw`'s shape), normalised scores and the elapsed time."""
    sizes = dict(zip(axes, raw.shape))
    labels = {
        "layer": [str(layer) for layer in range(sizes["layer"])],
        "head": [f"H{h}" for h in range(sizes.get("head", 0))],
        "kv_head": kv_head_labels(model) if "kv_head" in sizes else [],
        "pos": position_labels(task) if "pos" in sizes else [],
    }
    return PatchResult(
        analysis=analysis,
        model=str(model.cfg.model_name),
        task=task.name,
        site=site,
        direction=direction,
        method=method,
        metric=metric,
        intervention=intervention,
        axes=axes,
        labels={a: tuple(labels[a]) for a in axes},
        raw=nested_tuple(raw),
        normalized=nested_tuple(normalise(raw, clean, corrupted)),
        clean=clean,
        corrupted=corrupted,
        n_prompts=len(task),
        seconds=time.perf_counter() - start,
    )


def position_labels(task: Task) -> list[str]:
    """ "i token" per position; a token that differs across prompts is shown as prompt 0's, starred."""
    out = []
    for i in range(task.n_pos):
        toks = {row[i] for row in task.str_tokens}
        tok = task.str_tokens[0][i]
        out.append(f"{i} {tok}" if len(toks) == 1 else f"{i} {tok}*")
    return out
