"""The logit lens: the answer if the model stopped after each layer."""

from __future__ import annotations

import torch

from interp.core.devices import unembed_residual
from interp.core.hooks import full_cache
from interp.core.limits import check_fits, prompt_bytes
from interp.core.locking import exclusive
from interp.core.sites import hook_name
from interp.core.task import Task
from interp.core.tokens import str_tokens
from interp.results import LogitLensResult
from interp.vocab.types import Model

__all__ = ["logit_lens"]


@exclusive
@torch.no_grad()
def logit_lens(model: Model, task: Task, *, top_k: int = 5) -> LogitLensResult:
    """The answer's logit, probability and rank if the model stopped after each layer.

    Each layer's residual at the metric position goes through the final LayerNorm (recomputed
    for that residual, as the logit lens does) and the unembedding.
    """
    check_fits(model, len(task), prompt_bytes(model, task.n_pos, residuals=2, logits=1), what="the logit lens")
    task = task.to(model.cfg.device)
    names = [hook_name("resid_pre", 0)] + [hook_name("resid_post", layer) for layer in range(model.cfg.n_layers)]
    _, cache = full_cache(model, task.clean_tokens, names_filter=lambda n: n in names)
    rows = torch.arange(len(task), device=task.clean_tokens.device)
    logit, prob, rank, top = [], [], [], []
    for name in names:
        resid = cache[name][rows, task.metric_pos][:, None]  # batch 1 d_model
        lens = unembed_residual(model, resid)[:, 0].float()  # batch d_vocab
        answer = lens[rows, task.answer_tokens]
        logit.append(float(answer.mean()))
        prob.append(float(lens.softmax(-1)[rows, task.answer_tokens].mean()))
        rank.append(float((lens > answer[:, None]).sum(-1).float().mean()))
        top.append(tuple(str_tokens(model, lens[0].topk(top_k).indices)))
    return LogitLensResult(
        model=str(model.cfg.model_name),
        task=task.name,
        layers=("embed", *(f"L{layer}" for layer in range(model.cfg.n_layers))),
        answer_logit=tuple(logit),
        answer_prob=tuple(prob),
        answer_rank=tuple(rank),
        top_tokens=tuple(top),
        n_prompts=len(task),
    )
