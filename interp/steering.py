"""Causal check of a probe: ablate or add its direction while the model runs, and watch the task.

A direction that decodes a property is only interesting if the model uses it. The check runs the
probe's held-out prompts with the direction projected out (or added) at the probed positions,
and compares the task metric with the same intervention along random directions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from jaxtyping import Float
from torch import Tensor

from interp.hooks import hooks, run_with_cache
from interp.probe_tasks import ProbingTask
from interp.probes import TrainedProbe
from interp.results import CausalCheck

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

# An effect counts when it exceeds both 10% of the clean metric and 3x the random-direction effect.
RELATIVE_THRESHOLD = 0.1
RANDOM_MULTIPLE = 3.0


def direction_hook(directions: Float[Tensor, "feature d_model"], positions: Tensor, *, mode: str, alpha: float = 0.0):
    """A hook that projects `directions` out of (ablate) or adds alpha * directions[0] to (steer)
    the activation at `positions` ([batch, pos] booleans)."""
    if mode not in ("ablate", "steer"):
        raise ValueError(f"mode must be 'ablate' or 'steer', got {mode!r}")
    basis = torch.linalg.qr(directions.T.float()).Q  # d_model x k orthonormal span of the directions

    def fn(act: Tensor, hook=None) -> Tensor:
        if act.ndim != 3:
            raise ValueError(f"the causal check needs a [batch, pos, d_model] activation; {getattr(hook, 'name', 'this hook')} has shape {tuple(act.shape)}")
        where = positions.to(act.device)
        b = basis.to(act)
        if mode == "ablate":
            change = -(act @ b) @ b.T
        else:
            change = (alpha * directions[0] / directions[0].norm()).to(act).expand_as(act)
        return act + change * where[..., None]

    return fn


@torch.no_grad()
def causal_check(
    model: "TransformerBridge",
    task: ProbingTask,
    probe: TrainedProbe,
    *,
    hook: str,
    prompts: tuple[int, ...] | list[int],
    mode: str = "ablate",
    alpha: float = 0.0,
    downstream: tuple[str, TrainedProbe] | None = None,
    seed: int = 0,
) -> CausalCheck:
    """Intervene along `probe`'s directions at `hook` on `prompts` (the probe's test prompts) and
    report the task metric, the metric under random directions, and a downstream probe's accuracy.

    "ablate" projects all the probe's directions out; "steer" adds `alpha` x (mean activation norm
    at the probed positions) along its first direction (class 1 - class 0 for a binary probe)."""
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

    def run(dirs: Tensor | None) -> tuple[float, Tensor | None]:
        names = [downstream[0]] if downstream else []
        fwd = [(hook, direction_hook(dirs, positions, mode=mode, alpha=alpha * scale))] if dirs is not None else []
        with hooks(model, fwd):
            logits, cache = run_with_cache(model, tokens, names)
        metric = float(task.metric(logits, idx).mean())
        acts = cache[downstream[0]][positions.to(logits.device)].reshape(int(positions.sum()), -1) if downstream else None
        return metric, acts

    clean, acts_clean = run(None)
    intervened, acts_after = run(directions)
    random_metric, _ = run(random_dirs)
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
        model=str(model.cfg.model_name), task=task.name, hook=hook, mode=mode, alpha=alpha,
        metric_name=task.metric_name, metric_clean=round(clean, 6), metric_intervened=round(intervened, 6),
        metric_random=round(random_metric, 6), downstream_hook=downstream[0] if downstream else None,
        downstream_accuracy_clean=None if down_clean is None else round(down_clean, 6),
        downstream_accuracy_intervened=None if down_after is None else round(down_after, 6),
        verdict="changes the output" if changes else "decodes but does not change the output",
    )
