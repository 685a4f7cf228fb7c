"""Direct logit attribution and the logit lens.

DLA splits the final residual stream at the metric position into the parts that wrote it and
projects each, through the final LayerNorm's scale from the clean run (so the map is linear and
the parts add up), onto the answer-minus-wrong unembedding direction. The decomposition comes
from TransformerLens's ActivationCache (`decompose_resid`, `stack_head_results`,
`stack_neuron_results`, `apply_ln_to_stack`), which works on bridges; the parts plus the bias
terms sum to the model's logit difference (a test checks 1e-4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from interp import metrics
from interp.results import DLAResult, LogitLensResult
from interp.tasks import Task

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

GRANULARITIES = ("component", "head", "neuron")


def _single_position(task: Task) -> int:
    positions = set(task.metric_pos.tolist())
    if len(positions) != 1:
        raise ValueError(f"DLA reads one position for the whole batch; this task's metric positions are {sorted(positions)}")
    return positions.pop()


@torch.no_grad()
def dla(model: "TransformerBridge", task: Task, *, granularity: str = "component") -> DLAResult:
    """Each part's direct contribution to logit(answer) - logit(wrong), mean over the clean prompts.

    granularity "component": embeddings, each attention layer, each MLP. "head": every head, with
    each layer's attention output bias as its own term. "neuron": every MLP neuron, with each MLP's
    output bias as its own term. Parts not itemised at that granularity go to `other`.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    if granularity == "neuron" and model.cfg.attn_only:
        raise ValueError(f"{model.cfg.model_name} is attention-only: it has no neurons")
    task = task.to(model.cfg.device)
    pos = _single_position(task)
    logits, cache = model.run_with_cache(task.clean_tokens)
    direction = (model.W_U[:, task.answer_tokens] - model.W_U[:, task.wrong_tokens]).T  # batch d_model

    def project(stack: Tensor) -> Tensor:  # component batch d_model -> component (mean over prompts)
        scaled = cache.apply_ln_to_stack(stack, layer=-1, pos_slice=pos)
        return (scaled * direction[None]).sum(-1).mean(-1)

    comp_stack, comp_labels = cache.decompose_resid(layer=-1, pos_slice=pos, return_labels=True)
    comp_values = project(comp_stack)
    n_layers = model.cfg.n_layers
    if granularity == "component":
        labels, values, other = comp_labels, comp_values, {}
    else:
        kind = "attn_out" if granularity == "head" else "mlp_out"
        if granularity == "head":
            stack, labels = cache.stack_head_results(layer=-1, pos_slice=pos, return_labels=True)
            bias = model.b_O  # layer d_model: what the heads' outputs leave out of attn_out
        else:
            stack, labels = cache.stack_neuron_results(layer=-1, pos_slice=pos, return_labels=True)
            bias = model.b_out
        values = project(stack)
        n = task.clean_tokens.shape[0]
        bias_values = project(bias[:, None, :].expand(n_layers, n, -1))
        short = "b_O" if granularity == "head" else "b_out"
        other = {f"L{layer} {short}": float(bias_values[layer]) for layer in range(n_layers)}
        other |= {label: float(v) for label, v in zip(comp_labels, comp_values) if not label.endswith(kind)}
    unembed_bias = float((model.b_U[task.answer_tokens] - model.b_U[task.wrong_tokens]).mean())
    return DLAResult(
        model=str(model.cfg.model_name), task=task.name, granularity=granularity,
        labels=tuple(str(label) for label in labels), contributions=tuple(float(v) for v in values),  # unrounded: they must sum exactly
        other=other, unembed_bias=round(unembed_bias, 6),
        logit_diff=round(float(metrics.logit_diff(logits, task).mean()), 6), n_prompts=len(task),
    )


@torch.no_grad()
def logit_lens(model: "TransformerBridge", task: Task, *, top_k: int = 5) -> LogitLensResult:
    """The answer's logit, probability and rank if the model stopped after each layer.

    Each layer's residual at the metric position goes through the final LayerNorm (recomputed
    for that residual, as the logit lens does) and the unembedding.
    """
    task = task.to(model.cfg.device)
    names = ["blocks.0.hook_resid_pre"] + [f"blocks.{layer}.hook_resid_post" for layer in range(model.cfg.n_layers)]
    _, cache = model.run_with_cache(task.clean_tokens, names_filter=lambda n: n in names)
    rows = torch.arange(len(task), device=task.clean_tokens.device)
    logit, prob, rank, top = [], [], [], []
    for name in names:
        resid = cache[name][rows, task.metric_pos][:, None]  # batch 1 d_model
        lens = model.unembed(model.ln_final(resid))[:, 0].float()  # batch d_vocab
        answer = lens[rows, task.answer_tokens]
        logit.append(round(float(answer.mean()), 6))
        prob.append(round(float(lens.softmax(-1)[rows, task.answer_tokens].mean()), 6))
        rank.append(round(float((lens > answer[:, None]).sum(-1).float().mean()), 3))
        top.append(tuple(model.tokenizer.decode([i]) for i in lens[0].topk(top_k).indices.tolist()))
    return LogitLensResult(
        model=str(model.cfg.model_name), task=task.name, layers=("embed", *(f"L{layer}" for layer in range(model.cfg.n_layers))),
        answer_logit=tuple(logit), answer_prob=tuple(prob), answer_rank=tuple(rank), top_tokens=tuple(top),
        n_prompts=len(task),
    )
