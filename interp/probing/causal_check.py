"""Causal check of a probe: ablate or add its direction while the model runs, and watch the task.

A direction that decodes a property is only interesting if the model uses it. The check runs the
probe's held-out prompts with the direction projected out (or added) at the probed positions,
and compares the task metric with the same intervention along random directions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from interp.core.hooks import hooks, run_with_cache
from interp.core.interventions import AddDirection, Intervention, ProjectOut
from interp.core.locking import exclusive
from interp.probing.datasets import ProbingTask
from interp.probing.probes import TrainedProbe
from interp.results import CausalCheck
from interp.vocab.choices import EditMode, check_choice
from interp.vocab.types import Model

__all__ = ["RANDOM_MULTIPLE", "RELATIVE_THRESHOLD", "causal_check", "direction_edit"]

# An effect counts when it exceeds both 10% of the clean metric and 3x the random-direction effect.
RELATIVE_THRESHOLD = 0.1
RANDOM_MULTIPLE = 3.0


def direction_edit(
    directions: Float[Tensor, "feature d_model"],
    positions: Bool[Tensor, "batch pos"],
    *,
    mode: EditMode,
    scale: float = 0.0,
) -> Intervention:
    """The edit along a probe's directions at `positions`: project them all out (ablate), or add `scale` x the
    first one, as a unit vector (steer)."""
    check_choice(mode, EditMode, "mode")
    if mode == "ablate":
        return ProjectOut(directions, positions)
    return AddDirection(directions[0], scale, positions)


@exclusive
@torch.no_grad()
def causal_check(
    model: Model,
    task: ProbingTask,
    probe: TrainedProbe,
    *,
    hook: str,
    prompts: Sequence[int],
    mode: EditMode = "ablate",
    alpha: float = 0.0,
    downstream: tuple[str, TrainedProbe] | None = None,
    seed: int = 0,
) -> CausalCheck:
    """Intervene along `probe`'s directions at `hook` on `prompts` (the probe's test prompts) and
    report the task metric, the metric under random directions, and a downstream probe's accuracy.

    "ablate" projects all the probe's directions out; "steer" adds `alpha` x (mean activation norm
    at the probed positions) along its first direction (class 1 - class 0 for a binary probe)."""
    check_choice(mode, EditMode, "mode")
    idx = torch.as_tensor(sorted(prompts), dtype=torch.long)  # sorted: rows below follow prompt order
    tokens = task.tokens[idx].to(model.cfg.device)
    positions = task.mask[idx]
    directions = probe.directions.detach()
    gen = torch.Generator().manual_seed(seed)
    random_dirs = torch.randn(directions.shape, generator=gen).to(directions)

    # alpha is relative: steering adds alpha times the mean activation norm at the probed positions,
    # so one alpha means the same push in a model whose residual norm is 5 or 500.
    scale = 0.0
    if mode == "steer":
        _, cache = run_with_cache(model, tokens, [hook])
        scale = float(cache[hook][positions.to(cache[hook].device)].norm(dim=-1).mean())
    edit = direction_edit(directions, positions, mode=mode, scale=alpha * scale)

    def run(intervention: Intervention | None) -> tuple[float, Tensor | None]:
        names = [downstream[0]] if downstream else []
        fwd = [(hook, intervention)] if intervention is not None else []
        with hooks(model, fwd):
            logits, cache = run_with_cache(model, tokens, names)
        metric = float(task.metric(logits, idx).mean())
        acts = (
            cache[downstream[0]][positions.to(logits.device)].reshape(int(positions.sum()), -1) if downstream else None
        )
        return metric, acts

    clean, acts_clean = run(None)
    intervened, acts_after = run(edit)
    random_metric, _ = run(direction_edit(random_dirs, positions, mode=mode, scale=alpha * scale))
    labels = task.labels.reshape(-1)
    row_prompt = task.mask.nonzero()[:, 0]
    row_labels = labels[torch.isin(row_prompt, idx)]
    down_clean = down_after = None
    if downstream:
        down_clean = downstream[1].score(acts_clean, row_labels)
        down_after = downstream[1].score(acts_after, row_labels)
    effect, random_effect = intervened - clean, random_metric - clean
    changes = abs(effect) > max(RELATIVE_THRESHOLD * abs(clean), RANDOM_MULTIPLE * abs(random_effect))
    return CausalCheck(
        model=str(model.cfg.model_name),
        task=task.name,
        hook=hook,
        mode=mode,
        alpha=alpha,
        intervention=f"{edit!r} at {hook}",
        metric_name=task.metric_name,
        metric_clean=clean,
        metric_intervened=intervened,
        metric_random=random_metric,
        downstream_hook=downstream[0] if downstream else None,
        downstream_accuracy_clean=down_clean,
        downstream_accuracy_intervened=down_after,
        verdict="changes the output" if changes else "decodes but does not change the output",
    )
