"""Edge scores: EAP, EAP-IG (over the inputs, or over each layer's activations) and exact edge patching.

All four estimate one number per edge u -> v: the change of the task metric when v's input carries the other
run's value of u's output and everything else is as in the base run (direction "denoise": base = corrupted, the
edge carries the clean value; "noise": base = clean, the edge carries the corrupted value).

- exact (interp.edges.exact): that patched run, for every edge. The reference.
- eap (Syed et al., 2023): (a_other[u] - a_base[u]) . d metric / d input_v, the gradient taken on the base run.
  The other run's forward pass, and the base run's forward and backward (which also records its outputs).
- eap-ig (Hanna et al., 2024): the same difference dotted with the gradient averaged over m runs whose input
  embeddings step from the corrupted prompts' to the clean ones' (k/m, k = 1..m), as in their code. m + 2 passes.
- eap-ig-activations: the gradient for the edges out of one layer's writers (the embeddings, a layer's heads, a
  layer's MLP) averaged over m runs of the clean prompts in which only that layer's output steps from corrupted to
  clean (Marks et al., 2024; MIB's "EAP-IG-activations"). Hanna et al.'s code averages every pass's gradient into
  every edge; here each edge takes the gradients of the passes that interpolate its own writer, which is the
  integrated gradient of that writer's output. (2 n_layers + 1) m + 2 passes.
"""

from __future__ import annotations

import itertools
import time

import torch
from torch import Tensor

from interp.core.baselines import position_labels
from interp.core.limits import check_count, check_fits, prompt_bytes
from interp.core.locking import exclusive
from interp.core.metrics import metric_values
from interp.core.patch_sites import check_patch_options
from interp.core.sites import hook_name
from interp.core.task import Task
from interp.edges.exact import exact_edge_values
from interp.edges.runs import Captured, capture, reader_grads
from interp.edges.wiring import EdgeGraph, edge_graph
from interp.results import EdgeScores, nested_tuple
from interp.vocab.choices import Direction, EdgeMethod, MetricName, check_choice
from interp.vocab.types import Model, Progress

__all__ = ["edge_scores"]

_DOT_CHUNKS = 4
"""Runs of readers in the edge dot products (`_dot`)."""


@exclusive
def edge_scores(
    model: Model,
    task: Task,
    *,
    method: EdgeMethod = "eap-ig",
    steps: int = 5,
    direction: Direction = "denoise",
    metric: MetricName = "logit_diff",
    by_position: bool = False,
    progress: Progress | None = None,
) -> EdgeScores:
    """Score every edge of `model`'s graph (interp.edges.wiring) on `task` by `method` (the module docstring).

    `steps` is m for eap-ig and eap-ig-activations (ignored by eap and exact). With `by_position`, scores are also
    given per position of the edge's reader (the edge patched at that position alone).
    """
    check_choice(method, EdgeMethod, "method")
    check_patch_options(model, "resid_pre", direction, metric)
    check_count(steps, "steps")
    graph = edge_graph(model)
    # both runs' writer outputs and reader inputs, and the gradients of every reader
    per_prompt = prompt_bytes(model, task.n_pos, residuals=len(graph.writers) + 2 * len(graph.readers), logits=3)
    check_fits(model, len(task), per_prompt, what=f"{method} edge scores")
    start = time.perf_counter()
    task = task.to(model.cfg.device)
    base_tokens = task.corrupted_tokens if direction == "denoise" else task.clean_tokens
    grads = None
    if method == "eap":  # the base run's forward pass is the gradient's: one forward pass fewer
        if direction == "denoise":
            clean = capture(model, task, task.clean_tokens, graph)
            grads, corrupted = reader_grads(
                model, task, base_tokens, graph, metric=metric, clean_last=clean.last, record=True
            )
        else:
            grads, clean = reader_grads(model, task, base_tokens, graph, metric=metric, clean_last=None, record=True)
            corrupted = capture(model, task, task.corrupted_tokens, graph)
        passes = "1 forward + 1 forward-and-backward"
    else:
        clean = capture(model, task, task.clean_tokens, graph)
        corrupted = capture(model, task, task.corrupted_tokens, graph)
    base, other = (corrupted, clean) if direction == "denoise" else (clean, corrupted)
    rows = torch.arange(len(task))
    clean_m = float(metric_values(metric, clean.last, task, rows, clean.last).mean())
    corrupted_m = float(metric_values(metric, corrupted.last, task, rows, clean.last).mean())
    if method == "exact":
        values, passes = exact_edge_values(
            model, task, graph, base, other, base_tokens, metric=metric, clean_last=clean.last,
            by_position=by_position, progress=progress,
        )  # fmt: skip
    else:
        if grads is None:
            grads, passes = _gradients(model, task, graph, method, steps, clean, corrupted, metric, progress)
        values = _dot(graph, other.writers - base.writers, grads, by_position)
    return EdgeScores(
        model=str(model.cfg.model_name),
        task=task.name,
        method=method,
        steps=steps if method.startswith("eap-ig") else 1,
        direction=direction,
        metric=metric,
        edges=graph.names,
        scores=nested_tuple(values.sum(-1)),
        clean=clean_m,
        corrupted=corrupted_m,
        n_prompts=len(task),
        seconds=time.perf_counter() - start,
        passes=passes,
        positions=tuple(position_labels(task)) if by_position else (),
        by_position=nested_tuple(values) if by_position else (),
    )


def _dot(graph: EdgeGraph, delta: Tensor, grads: Tensor | list[Tensor], by_position: bool) -> Tensor:
    """[edge, pos] (pos of size 1 unless `by_position`): writer difference times reader gradient, summed over prompts
    and d_model (and positions), for every edge. `grads` is one [reader, batch, pos, d_model] tensor, or one per
    writer (eap-ig-activations, where a group's writers share theirs).

    Per position, or with a gradient per writer group, one matrix product per writer group
    (interp.edges.wiring.EdgeGraph.writer_groups) over the readers it feeds."""
    w, r = graph.pairs
    if isinstance(grads, Tensor) and not by_position:
        # a few large products, each of a run of readers with the writers that come before the last of them: each
        # gradient is read once, where a product per writer group reads them once per group (SmolLM2's EAP, 4
        # prompts: 0.14 s), and the waste over the edges' own multiplications stays small (0.05 s as one product)
        full = torch.zeros(delta.shape[0], grads.shape[0], dtype=delta.dtype, device=delta.device)
        feeds = graph.allowed.flip(0).int().argmax(0)  # per reader, the writers after its last one (0 for the logits)
        chunks = torch.linspace(0, grads.shape[0], _DOT_CHUNKS + 1).round().long().tolist()
        for lo, hi in itertools.pairwise(chunks):
            n = len(graph.writers) - int(feeds[lo:hi].min())
            full[:n, lo:hi] = delta[:n].flatten(1) @ grads[lo:hi].flatten(1).T
        return full[w, r].double().cpu().unsqueeze(-1)
    n_pos = delta.shape[2]
    out = torch.empty(len(w), n_pos if by_position else 1, dtype=torch.float64)
    for start, stop, first in graph.writer_groups:
        g = (grads[start] if isinstance(grads, list) else grads)[first:]  # [reader, batch, pos, d_model]
        d = delta[start:stop]
        if by_position:  # [pos, writer, batch*d_model] @ [pos, batch*d_model, reader]
            block = torch.bmm(d.permute(2, 0, 1, 3).flatten(2), g.permute(2, 1, 3, 0).flatten(1, 2)).permute(1, 2, 0)
        else:
            block = (d.flatten(1) @ g.flatten(1).T).unsqueeze(-1)
        on = ((w >= start) & (w < stop)).nonzero().squeeze(1)
        out[on] = block[w[on] - start, r[on] - first].double().cpu()
    return out


def _gradients(
    model: Model,
    task: Task,
    graph: EdgeGraph,
    method: str,
    steps: int,
    clean: Captured,
    corrupted: Captured,
    metric: MetricName,
    progress: Progress | None,
) -> tuple[Tensor | list[Tensor], str]:
    """The reader gradients eap-ig and eap-ig-activations dot with the writer differences, and what they cost."""

    def grad(tokens: Tensor, override: tuple[str, Tensor] | None = None) -> Tensor:
        return reader_grads(model, task, tokens, graph, metric=metric, clean_last=clean.last, override=override)[0]

    alphas = [k / steps for k in range(1, steps + 1)]
    groups = _writer_groups(graph, clean, corrupted)
    if method == "eap-ig":
        groups = groups[:1]  # the embeddings: interpolating them is interpolating the input
    per_writer: list[Tensor | None] = [None] * len(graph.writers)
    done = 0
    for hook, writers, lo, hi in groups:
        total = None
        for a in alphas:
            g = grad(task.clean_tokens, (hook, lo + a * (hi - lo)))
            total = g if total is None else total + g
            done += 1
            if progress is not None:
                progress(done, steps * len(groups))
        for w in writers:
            per_writer[w] = total / steps
    passes = f"2 forward + {steps * len(groups)} forward-and-backward"
    return (per_writer[0], passes) if method == "eap-ig" else (per_writer, passes)


def _writer_groups(
    graph: EdgeGraph, clean: Captured, corrupted: Captured
) -> list[tuple[str, list[int], Tensor, Tensor]]:
    """(hook whose value is interpolated, its writers, corrupted value, clean value) for the embeddings, then each
    layer's heads (interpolated at z: their outputs are linear in it) and MLP."""
    groups = [(hook_name("resid_pre", 0), [0], corrupted.writers[0], clean.writers[0])]
    for layer in range(graph.n_layers):
        heads = graph.head_writers(layer)
        groups.append((hook_name("z", layer), list(range(heads.start, heads.stop)), corrupted.z[layer], clean.z[layer]))
        if not graph.attn_only:
            w = graph.mlp_writer(layer)
            groups.append((hook_name("mlp_out", layer), [w], corrupted.writers[w], clean.writers[w]))
    return groups
