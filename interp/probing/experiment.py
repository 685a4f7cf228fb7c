"""One probing experiment: collect activations for a built-in task, sweep probes over layers with a
control task, and run the causal check at the most selective layer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from interp.core.locking import exclusive
from interp.core.sites import hook_name, model_sites
from interp.observe.activations import collect_activations
from interp.probing.causal_check import causal_check
from interp.probing.datasets import ProbingTask
from interp.probing.probes import ProbeConfig, probe_sweep
from interp.results import ProbeExperiment
from interp.vocab.choices import BlockSite, EditMode, check_choice
from interp.vocab.types import Model

__all__ = ["probe_experiment"]


@exclusive
def probe_experiment(
    model: Model,
    task: ProbingTask,
    *,
    site: BlockSite = "resid_post",
    config: ProbeConfig = ProbeConfig(),
    mode: EditMode = "ablate",
    alpha: float = 0.0,
    layer: int | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ProbeExperiment:
    """Probe `site` in every layer for `task`, then ablate (or steer along) the direction of `layer`
    (default: the earliest near-best selectivity); the last layer's probe reads the property downstream.
    `cache_dir` streams the activations to disk instead of memory. `progress(stage, done, total)`."""
    check_choice(site, BlockSite, "probe site (one vector per position)")
    if site not in model_sites(model):
        raise ValueError(f"{model.cfg.model_name} has no {site} site; its sites are {', '.join(model_sites(model))}")
    if layer is not None and not 0 <= layer < model.cfg.n_layers:  # -1 would silently mean the last layer
        raise ValueError(f"layer must lie in 0..{model.cfg.n_layers - 1} for {model.cfg.model_name}; got {layer}")
    names = [hook_name(site, layer) for layer in range(model.cfg.n_layers)]
    report = (lambda stage: lambda done, total: progress(stage, done, total)) if progress else (lambda stage: None)
    dataset = collect_activations(
        model,
        task.tokens,
        hooks=names,
        labels=task.labels,
        mask=task.mask,
        label_names=task.label_names,
        out_dir=cache_dir,
        progress=report("activations"),
    )
    sweep = probe_sweep(
        dataset, config=config, model_name=str(model.cfg.model_name), task_name=task.name, progress=report("probes")
    )
    result, probes = sweep.result, sweep.probes
    score = result.selectivity or result.accuracy
    # The earliest layer within 0.02 of the best selectivity: later layers are left to read the
    # property downstream, and control accuracy noise (~0.02-0.05 on ~100 test rows) decides nothing.
    best = layer if layer is not None else min(i for i in range(len(names)) if score[i] >= max(score) - 0.02)
    later = names[-1] if best < len(names) - 1 else None
    check = causal_check(
        model,
        task,
        probes[names[best]],
        hook=names[best],
        prompts=result.test_prompts,
        mode=mode,
        alpha=alpha,
        downstream=(later, probes[later]) if later else None,
        seed=config.seed,
    )
    return ProbeExperiment(probes=result, causal_check=check)
