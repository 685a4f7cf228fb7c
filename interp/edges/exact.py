"""Exact edge patching: for every edge u -> v, the metric of a run in which v's input alone carries the other run's
value of u's output, everything else as in the base run.

Nothing before v's layer changes, so v's input is the base run's plus (a_other[u] - a_base[u]) and v's patched
activation can be computed directly (interp.edges.runs.recompute for a head's q, k or v; the input itself for an
MLP). The rest is fast patching's method (interp.patching.fast): a pass per prompt and reader layer runs the
layers below it once, on one row; at the layer's input a hook widens the batch to one row per edge (every row the
base run's residual); the reader's hook writes each row's patched activation; only the metric position's logits
are unembedded. An edge into the logits needs no pass at all: its logits are the final norm and unembedding of
the patched final input.
"""

from __future__ import annotations

import torch
from torch import Tensor

from interp.core.devices import unembed_residual
from interp.core.hooks import hooks
from interp.core.locking import exclusive
from interp.core.metrics import metric_values
from interp.core.sites import hook_name
from interp.core.task import Task
from interp.edges.runs import Captured, mlp_input_hook, recompute
from interp.edges.wiring import EdgeGraph
from interp.patching.fast import patches_per_pass
from interp.vocab.types import Model, Progress

__all__ = ["exact_edge_values"]


@exclusive
@torch.no_grad()
def exact_edge_values(
    model: Model,
    task: Task,
    graph: EdgeGraph,
    base: Captured,
    other: Captured,
    base_tokens: Tensor,
    *,
    metric: str,
    clean_last: Tensor,
    by_position: bool = False,
    progress: Progress | None = None,
) -> tuple[Tensor, str]:
    """[edge, pos] metric changes (the mean over prompts; one column holding the whole edge unless `by_position`),
    and what they cost."""
    w_idx, r_idx = graph.pairs
    n_pos = task.n_pos
    cols = n_pos if by_position else 1
    out = torch.zeros(len(w_idx), cols, dtype=torch.float64)
    rows_all = torch.arange(len(task))
    base_metric = metric_values(metric, base.last, task, rows_all, clean_last).double().cpu()
    delta = other.writers - base.writers  # [writer, batch, pos, d_model]
    n_rows = 0
    edge_layer = torch.tensor([graph.readers[r].layer for r in r_idx.tolist()])
    jobs = [(layer, b) for layer in sorted(set(edge_layer.tolist())) for b in range(len(task))]
    for done, (layer, b) in enumerate(jobs, 1):
        on = (edge_layer == layer).nonzero().squeeze(1)
        patches = [(int(e), p) for e in on for p in (range(n_pos) if by_position else [None])]
        width = patches_per_pass(model, n_pos, len(patches))
        for k in range(0, len(patches), width):
            chunk = patches[k : k + width]
            values = _patched_metrics(model, task, graph, base, delta, base_tokens, layer, b, chunk, metric, clean_last)
            for (e, p), v in zip(chunk, values.tolist()):
                out[e, 0 if p is None else p] += v - float(base_metric[b])
            n_rows += len(chunk)
        if progress is not None:
            progress(done, len(jobs))
    passes = (
        f"{len(jobs)} batched passes ({n_rows:,} patched rows: one per edge, prompt{' and position' * by_position})"
    )
    return out / len(task), passes


def _patched_input(x: Tensor, d: Tensor, p: int | None) -> Tensor:
    """x [pos, d_model] plus the writer difference d [pos, d_model], at position p alone if given."""
    if p is None:
        return x + d
    x = x.clone()
    x[p] += d[p]
    return x


def _patched_metrics(
    model: Model,
    task: Task,
    graph: EdgeGraph,
    base: Captured,
    delta: Tensor,
    base_tokens: Tensor,
    layer: int,
    b: int,
    chunk: list[tuple[int, int | None]],
    metric: str,
    clean_last: Tensor,
) -> Tensor:
    """The metric of prompt b with each (edge, position) of `chunk` patched (all readers in `layer`), one row each."""
    w_idx, r_idx = graph.pairs
    pos = int(task.metric_pos[b])
    rows = torch.full((len(chunk),), b, dtype=torch.long)
    readers = [graph.readers[int(r_idx[e])] for e, _ in chunk]
    inputs = [
        _patched_input(_reader_input(base, r, b), delta[int(w_idx[e]), b], p) for (e, p), r in zip(chunk, readers)
    ]
    if readers[0].kind == "logits":  # no pass: the final norm and the unembedding of the patched inputs
        final = torch.stack([x[pos] for x in inputs]).unsqueeze(1)
        last = unembed_residual(model, final)[:, 0]
        return metric_values(metric, last, task, rows, clean_last).double().cpu()
    writes: dict[str, list[tuple[int, int, Tensor]]] = {}  # hook -> (row, head or -1, value)
    for row, (r, x) in enumerate(zip(readers, inputs)):
        if r.kind == "mlp":
            writes.setdefault(mlp_input_hook(model, layer), []).append((row, -1, x))
        else:
            value = recompute(model, layer, r.kind, x[None, :, None, :], heads=[r.head])
            writes.setdefault(hook_name(r.kind, layer), []).append((row, r.head, value[0, :, 0]))

    def widen(act: Tensor, hook=None) -> Tensor:
        return act.expand(len(chunk), -1, -1).clone()

    def write(entries: list[tuple[int, int, Tensor]]):
        def fn(act: Tensor, hook=None) -> Tensor:
            act = act.clone()
            for row, head, value in entries:
                if head < 0:
                    act[row] = value
                else:
                    act[row, :, head] = value
            return act

        return fn

    fwd = [(hook_name("resid_pre", layer), widen), *((name, write(e)) for name, e in writes.items())]
    fwd.append(("unembed.hook_in", lambda resid, hook=None: resid[:, pos : pos + 1]))
    with hooks(model, fwd):
        last = model(base_tokens[b : b + 1])[:, 0]
    return metric_values(metric, last, task, rows, clean_last).double().cpu()


def _reader_input(base: Captured, reader, b: int) -> Tensor:
    if reader.kind == "logits":
        return base.final_in[b]
    if reader.kind == "mlp":
        return base.mlp_in[reader.layer][b]
    return base.attn_in[reader.layer][b]
