"""Path patching (Wang et al., 2022, "Interpretability in the Wild", section 3.1).

The effect of each sender head on chosen receiver heads through one of their inputs (query, key
or value), with every other head frozen: for each sender,
1. run the base prompts with every head's output (z) frozen to its base-run value, except the
   sender, whose output comes from the other run; MLPs recompute, as in Wang et al.; record the
   receivers' q, k or v;
2. run the base prompts again with only the receivers' inputs replaced by those records, and read
   the metric. Only the sender -> receiver paths carry the change.

Grouped-query attention: a receiver's key or value input is a key/value head that other query heads of
its layer read too, and no hook holds a per-query-head copy (`interp.core.patch_sites`). Writing the
recorded k or v into that key/value head would make its whole group receive. Instead, for each receiver
layer in turn, a run with the recorded k or v in the receivers' key/value heads gives the receivers' own
outputs (z), which depend on nothing else changed in that layer; the final run sets only those z. A query
head's z at layer L is attention(its q, the group's k and v) of layer L's input, so this is exactly what
patching a per-query-head copy of k or v would give (a test checks it against the same model written
with one key/value head per query head).
"""

from __future__ import annotations

import time

import torch
from torch import Tensor

from interp.core.baselines import baselines, make_patch_result
from interp.core.hooks import hooks, run_with_cache
from interp.core.interventions import SetHeads
from interp.core.limits import check_fits, prompt_bytes
from interp.core.locking import exclusive
from interp.core.metrics import at_metric_pos, metric_values
from interp.core.patch_sites import check_patch_options, kv_group
from interp.core.sites import hook_name
from interp.core.task import Task
from interp.results import PatchResult
from interp.vocab.choices import Direction, MetricName, ReceiverInput, check_choice
from interp.vocab.types import Model

__all__ = ["parse_head", "path_patch"]


def parse_head(head: str | tuple[int, int]) -> tuple[int, int]:
    """A head written "L1H3" (or given as (1, 3)) as (layer, head)."""
    if isinstance(head, tuple):
        return head
    try:
        layer, h = head.upper().removeprefix("L").split("H")
        return int(layer), int(h)
    except ValueError as err:
        raise ValueError(f"heads are written like L1H3; got {head!r}") from err


@exclusive
@torch.no_grad()
def path_patch(
    model: Model,
    task: Task,
    *,
    receivers: list[str | tuple[int, int]],
    receiver_input: ReceiverInput = "v",
    direction: Direction = "noise",
    metric: MetricName = "logit_diff",
) -> PatchResult:
    """Effect of every head in the layers before the first receiver, through `receiver_input` of `receivers`.

    direction "noise" (Wang et al.'s): base = clean prompts, senders take corrupted outputs.
    Returns a layer x head `PatchResult` whose layers are those before the earliest receiver.
    """
    check_choice(receiver_input, ReceiverInput, "receiver_input")
    check_patch_options(model, "z", direction, metric)
    parsed = [parse_head(r) for r in receivers]
    if not parsed:
        raise ValueError("give at least one receiver head, like L2H1")
    for layer, h in parsed:
        if not (0 <= layer < model.cfg.n_layers and 0 <= h < model.cfg.n_heads):
            raise ValueError(
                f"receiver L{layer}H{h} does not exist: {model.cfg.n_layers} layers of {model.cfg.n_heads} heads"
            )
    first = min(layer for layer, _ in parsed)
    if first == 0:
        raise ValueError("receivers must be after layer 0, so that some heads can send to them")
    # both runs' z caches, the frozen copies of one sender's run and the recorded receiver inputs
    check_fits(model, len(task), prompt_bytes(model, task.n_pos, residuals=5, logits=3), what="path patching")
    start = time.perf_counter()
    task = task.to(model.cfg.device)
    n_layers = model.cfg.n_layers
    z_names = [hook_name("z", layer) for layer in range(n_layers)]
    runs = baselines(model, task, z_names, metric)
    if direction == "noise":
        base_tokens, base_cache, other_cache = task.clean_tokens, runs.clean_cache, runs.corrupted_cache
    else:
        base_tokens, base_cache, other_cache = task.corrupted_tokens, runs.corrupted_cache, runs.clean_cache
    rows = torch.arange(len(task))
    clean_last = runs.clean_last
    by_layer: dict[int, list[int]] = {}
    for layer, h in parsed:
        by_layer.setdefault(layer, []).append(h)
    input_names = {layer: hook_name(receiver_input, layer) for layer in by_layer}
    shared = receiver_input in ("k", "v") and kv_group(model) > 1  # receivers' k/v shared with other heads
    every_head = tuple(range(model.cfg.n_heads))
    out = torch.zeros(first, model.cfg.n_heads)
    for s_layer in range(first):
        for s_head in range(model.cfg.n_heads):
            frozen = []
            for layer, name in enumerate(z_names):
                values = base_cache[name].clone()
                if layer == s_layer:
                    values[:, :, s_head] = other_cache[name][:, :, s_head]
                frozen.append((name, SetHeads(values, every_head)))
            _, recorded = _run_recording(model, base_tokens, frozen, list(input_names.values()))
            if shared:
                fwd = _receiver_outputs(model, base_tokens, by_layer, input_names, recorded)
            else:
                fwd = [
                    (input_names[layer], SetHeads(recorded[input_names[layer]], tuple(heads)))
                    for layer, heads in by_layer.items()
                ]
            with hooks(model, fwd):
                logits = model(base_tokens)
            out[s_layer, s_head] = float(
                metric_values(metric, at_metric_pos(logits, task), task, rows, clean_last).mean()
            )
    receivers_txt = ", ".join(f"L{layer}H{h}" for layer, h in parsed)
    source = "corrupted" if direction == "noise" else "clean"
    final = (
        f"then SetHeads(source=that run, receivers) at the receivers' blocks.L.attn.hook_{receiver_input}"
        if not shared
        else f"then, layer by layer, SetHeads(source=that run, the receivers' key/value heads) at "
        f"blocks.L.attn.hook_{receiver_input} to compute the receivers' outputs, and SetHeads(source=those "
        "outputs, receivers) at the receivers' blocks.L.attn.hook_z (grouped-query attention: the other query "
        "heads sharing those key/value heads are left alone)"
    )
    return make_patch_result(
        model,
        task,
        analysis="path_patching",
        site=f"z -> {receiver_input} of {receivers_txt}",
        direction=direction,
        method="exact",
        metric=metric,
        intervention=(
            "SetHeads(source=base run, every head) at every blocks.L.attn.hook_z but the sender's head from "
            f"the {source} run; {final}"
        ),
        axes=("layer", "head"),
        raw=out,
        clean=runs.clean,
        corrupted=runs.corrupted,
        start=start,
    )


def _receiver_outputs(
    model: Model,
    tokens: Tensor,
    by_layer: dict[int, list[int]],
    input_names: dict[int, str],
    recorded: dict[str, Tensor],
) -> list:
    """Hooks that set each receiver's output (z) to what it is when its key/value head holds the recorded k or
    v, computed one receiver layer at a time on top of the earlier layers' receivers (grouped-query models)."""
    r = kv_group(model)
    fwd = []
    for layer in sorted(by_layer):
        heads = tuple(by_layer[layer])
        groups = tuple(sorted({h // r for h in heads}))
        z_name = hook_name("z", layer)
        _, z = _run_recording(
            model, tokens, [*fwd, (input_names[layer], SetHeads(recorded[input_names[layer]], groups))], [z_name]
        )
        fwd.append((z_name, SetHeads(z[z_name], heads)))
    return fwd


def _run_recording(model: Model, tokens: Tensor, fwd: list, names: list[str]) -> tuple[Tensor, dict[str, Tensor]]:
    """Run with `fwd` hooks installed and return the activations at `names`."""
    with hooks(model, fwd):
        return run_with_cache(model, tokens, names)
