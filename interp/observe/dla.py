"""Direct logit attribution.

DLA splits the final residual stream at the metric position into the parts that wrote it and
projects each, through the final LayerNorm's scale from the clean run (so the map is linear and
the parts add up), onto the answer-minus-wrong unembedding direction. The decomposition comes
from TransformerLens's ActivationCache (`decompose_resid`, `stack_head_results`,
`stack_neuron_results`, `apply_ln_to_stack`), which works on bridges; the parts plus the bias
terms sum to the model's logit difference (a test checks 1e-4, on LayerNorm models with biases and on a
Llama-style model with RMSNorm, grouped-query attention and no biases).

RMSNorm divides by the root mean square where LayerNorm first centres and then divides by the standard
deviation; `apply_ln_to_stack` divides each part by the clean run's cached `ln_final.hook_scale` either
way (and centres only under LayerNorm), and compatibility mode folds the norm's weight into W_U, so the
same linear map applies to both families.
"""

from __future__ import annotations

import torch
from torch import Tensor

from interp.core.biases import has_bias, stacked_bias
from interp.core.devices import placed_across_devices
from interp.core.hooks import full_cache
from interp.core.limits import check_fits, prompt_bytes
from interp.core.locking import exclusive
from interp.core.metrics import answer_direction, at_metric_pos, logit_diff, single_metric_position, unembed_bias_diff
from interp.core.task import Task
from interp.results import DLAResult
from interp.vocab.choices import Granularity, check_choice
from interp.vocab.types import Model

__all__ = ["dla"]


@exclusive
@torch.no_grad()
def dla(model: Model, task: Task, *, granularity: Granularity = "component") -> DLAResult:
    """Each part's direct contribution to logit(answer) - logit(wrong), mean over the clean prompts.

    granularity "component": embeddings, each attention layer, each MLP. "head": every (query) head, with
    each layer's attention output bias as its own term. "neuron": every MLP neuron, with each MLP's
    output bias as its own term. Bias terms appear only where the model has the bias (Llama-family
    models have none). Parts not itemised at that granularity go to `other`.
    """
    check_choice(granularity, Granularity, "granularity")
    if granularity == "neuron" and model.cfg.attn_only:
        raise ValueError(f"{model.cfg.model_name} is attention-only: it has no neurons")
    split = placed_across_devices(model)
    if granularity == "neuron" and split:
        # TransformerLens's stack_neuron_results multiplies by each layer's W_out where that layer lives
        raise ValueError(
            f"DLA by neuron does not run on a model placed across {model.cfg.n_devices} devices yet: load "
            f"{model.cfg.model_name} on one device for it (by head and by component run here)"
        )
    # the cache of every hook (about fourteen d_model-wide vectors per position and layer with the MLPs'
    # hidden layers); by neuron, every neuron's write at the metric position as well
    neurons = model.cfg.n_layers * (model.cfg.d_mlp or 0) * model.cfg.d_model if granularity == "neuron" else 0
    per_prompt = prompt_bytes(model, task.n_pos, residuals=14, logits=1, extra=neurons)
    check_fits(model, len(task), per_prompt, what=f"direct logit attribution by {granularity}")
    task = task.to(model.cfg.device)
    pos = single_metric_position(task)
    logits, cache = full_cache(model, task.clean_tokens)
    direction = answer_direction(model, task)  # batch d_model

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
        if granularity == "head" and split:
            stack, labels = _head_results(model, cache, pos)
        elif granularity == "head":
            stack, labels = cache.stack_head_results(layer=-1, pos_slice=pos, return_labels=True)
        else:
            stack, labels = cache.stack_neuron_results(layer=-1, pos_slice=pos, return_labels=True)
        values = project(stack)
        # The output bias (b_O: what the heads' outputs leave out of attn_out; b_out: the MLP's) is a term of
        # its own. Llama-family models have none: read through interp.core.biases (model.b_O raises on a
        # bridge without biases) and left out of `other`, where a 0 would name a parameter the model lacks.
        short = "b_O" if granularity == "head" else "b_out"
        other = {}
        if has_bias(model, short):
            n = task.clean_tokens.shape[0]
            bias_values = project(stacked_bias(model, short)[:, None, :].expand(n_layers, n, -1))
            other = {f"L{layer} {short}": float(bias_values[layer]) for layer in range(n_layers)}
        other |= {label: float(v) for label, v in zip(comp_labels, comp_values) if not label.endswith(kind)}
    return DLAResult(
        model=str(model.cfg.model_name),
        task=task.name,
        granularity=granularity,
        labels=tuple(str(label) for label in labels),
        contributions=tuple(values.tolist()),
        other=other,
        unembed_bias=unembed_bias_diff(model, task),
        logit_diff=float(logit_diff(at_metric_pos(logits, task), task).mean()),
        n_prompts=len(task),
    )


def _head_results(model: Model, cache, pos: int) -> tuple[Tensor, list[str]]:
    """Each head's write at `pos`, [layer x head, batch, d_model], on the model's first device, with labels.
    For a model placed across devices: TransformerLens's stack_head_results multiplies each layer's z by that
    layer's W_O where the layer lives, and the cache is on the first device (interp.core.hooks.full_cache)."""
    home = torch.device(model.cfg.device)
    parts = [
        torch.einsum("bhe,hed->hbd", cache[f"blocks.{layer}.attn.hook_z"][:, pos], block.attn.W_O.to(home))
        for layer, block in enumerate(model.blocks)
    ]
    labels = [f"L{layer}H{head}" for layer in range(model.cfg.n_layers) for head in range(model.cfg.n_heads)]
    return torch.cat(parts), labels
