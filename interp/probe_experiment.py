"""One probing experiment: collect activations for a built-in task, sweep probes over layers with a
control task, and run the causal check at the most selective layer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from interp.activations import collect_activations
from interp.model import hook_name, sites
from interp.probe_tasks import ProbingTask
from interp.probes import ProbeConfig, probe_sweep
from interp.results import CausalCheck, ProbeResult
from interp.steering import causal_check

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

RESIDUAL_LIKE = ("resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out")


def probe_experiment(
    model: "TransformerBridge",
    task: ProbingTask,
    *,
    site: str = "resid_post",
    config: ProbeConfig = ProbeConfig(),
    mode: str = "ablate",
    alpha: float = 0.0,
    layer: int | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[ProbeResult, CausalCheck]:
    """Probe `site` in every layer for `task`, then ablate (or steer along) the direction of `layer`
    (default: the earliest near-best selectivity); the last layer's probe reads the property downstream.
    `cache_dir` streams the activations to disk instead of memory."""
    if site not in RESIDUAL_LIKE:
        raise ValueError(f"probe sites are {', '.join(RESIDUAL_LIKE)} (one vector per position); got {site!r}")
    if site not in sites(model):
        raise ValueError(f"{model.cfg.model_name} has no {site} site; its sites are {', '.join(sites(model))}")
    names = [hook_name(site, layer) for layer in range(model.cfg.n_layers)]
    report = (lambda stage: (lambda done, total: progress(stage, done, total))) if progress else (lambda stage: None)
    dataset = collect_activations(
        model, task.tokens, hooks=names, labels=task.labels, mask=task.mask, label_names=task.label_names,
        out_dir=cache_dir, progress=report("activations"),
    )
    result, probes = probe_sweep(
        dataset, config=config, model_name=str(model.cfg.model_name), task_name=task.name, progress=report("probes")
    )
    score = result.selectivity or result.accuracy
    # The earliest layer within 0.02 of the best selectivity: later layers are left to read the
    # property downstream, and control accuracy noise (~0.02-0.05 on ~100 test rows) decides nothing.
    best = layer if layer is not None else min(i for i in range(len(names)) if score[i] >= max(score) - 0.02)
    later = names[-1] if best < len(names) - 1 else None
    check = causal_check(
        model, task, probes[names[best]], hook=names[best], prompts=result.test_prompts, mode=mode, alpha=alpha,
        downstream=(later, probes[later]) if later else None, seed=config.seed,
    )
    return result, check
