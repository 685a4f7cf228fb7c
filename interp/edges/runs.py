"""What every edge method needs from a model run: writer outputs, reader inputs, reader activations recomputed
from a changed input, and the gradient of the metric with respect to each reader's own input.

A reader's input is the residual stream it reads, before its norm: a head's query input is the block's input
(`blocks.L.hook_resid_pre`), an MLP's is the input of its norm (`blocks.L.ln2.hook_in`; on a TransformerBridge the
tensor a hook returns there reaches the MLP alone), the logits' is the final norm's input. To give one head's
query (or one key/value head's key or value) an input of its own, the reader's activation is recomputed from that
input, norm then projection (ln1(x) @ W_Q[h] + b_Q[h]), and written into `hook_q` (or `hook_k`, `hook_v`) for that
head alone: measured equal to the model's own value to the last bit on GPT-2-style and Llama bridges (tests
check it). TransformerLens's `use_split_qkv_input` would give per-head inputs too, but TransformerBridge does not
take it, and it computes every head's norm for every head on every run (n_heads times the work).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from interp.core.devices import run_at
from interp.core.hooks import hooks
from interp.core.locking import exclusive, lock_free
from interp.core.metrics import metric_values
from interp.core.sites import hook_name, hook_points
from interp.core.task import Task
from interp.edges.wiring import EdgeGraph
from interp.vocab.types import Model

__all__ = [
    "Captured",
    "capture",
    "final_input_hook",
    "head_outputs",
    "metric_pos_only",
    "mlp_input_hook",
    "reader_grads",
    "recompute",
]


@lock_free("the hook table")
def mlp_input_hook(model: Model, layer: int) -> str:
    """The hook holding layer `layer`'s MLP input before its norm, feeding the MLP alone."""
    name = f"blocks.{layer}.ln2.hook_in"
    return name if name in hook_points(model) else f"blocks.{layer}.mlp.hook_in"  # a model without norms


@lock_free("the hook table")
def final_input_hook(model: Model) -> str:
    return "ln_final.hook_in" if "ln_final.hook_in" in hook_points(model) else "unembed.hook_in"


def metric_pos_only(task: Task) -> tuple[str, Callable]:
    """A hook that unembeds each prompt's metric position alone: the model then returns [batch, 1, d_vocab], the
    logits every edge metric reads. On SmolLM2 (4 prompts of 15 tokens) unembedding every position took 0.03 s of a
    0.15 s forward pass, and as much again in a backward pass."""
    rows, pos = torch.arange(len(task)), task.metric_pos

    def fn(resid: Tensor, hook=None) -> Tensor:
        return resid[rows.to(resid.device), pos.to(resid.device)].unsqueeze(1)

    return "unembed.hook_in", fn


def _norm(module, x: Tensor) -> Tensor:
    """A block's norm on x [..., d_model], any leading axes (flattened to the [batch, pos, d_model] it expects)."""
    if module is None:
        return x
    return run_at(module, x.reshape(x.shape[0], -1, x.shape[-1])).reshape(x.shape)


@lock_free("weights only (inside a caller's hooks)")
def recompute(
    model: Model, layer: int, kind: str, x: Float[Tensor, "batch pos head d_model"], heads: list[int] | None = None
) -> Float[Tensor, "batch pos head d_head"]:
    """Each head's q (kind "q") or each key/value head's k or v from its own input x[:, :, i]: what
    `blocks.{layer}.attn.hook_{kind}` holds for head `heads[i]` (every head in order if None) given that input."""
    block = model.blocks[layer]
    attn = block.attn
    weight = {"q": attn.W_Q, "k": attn.W_K, "v": attn.W_V}[kind].to(x)  # [head, d_model, d_head]
    bias = {"q": attn.b_Q, "k": attn.b_K, "v": attn.b_V}[kind]
    if heads is not None:
        weight = weight[heads]
    out = torch.einsum("bphd,hde->bphe", _norm(getattr(block, "ln1", None), x), weight)
    if bias is None:
        return out
    return out + (bias.to(x) if heads is None else bias.to(x)[heads])


@lock_free("weights only")
def head_outputs(model: Model, layer: int, z: Float[Tensor, "batch pos head d_head"]) -> Tensor:
    """Each head's write into the residual stream, [batch pos head d_model] (z @ W_O, without the bias b_O)."""
    return torch.einsum("bphe,hed->bphd", z, model.blocks[layer].attn.W_O.to(z))


@dataclass
class Captured:
    """One run's writer outputs and reader inputs."""

    writers: Tensor
    """[writer, batch, pos, d_model]."""
    attn_in: list[Tensor]
    """Per layer, the block input [batch, pos, d_model] (every head's query, key and value input)."""
    mlp_in: list[Tensor]
    """Per layer, the MLP's input before its norm (empty for attention-only models)."""
    final_in: Tensor
    """The final norm's input."""
    z: list[Tensor]
    """Per layer, the heads' z [batch, pos, head, d_head]."""
    last: Tensor
    """Logits at each prompt's metric position [batch, d_vocab]."""


@exclusive
@torch.no_grad()
def capture(model: Model, task: Task, tokens: Tensor, graph: EdgeGraph, fwd: list | None = None) -> Captured:
    """Run `tokens` (with extra hooks `fwd`, installed first) and keep what the edge methods read."""
    store: dict[str, Tensor] = {}
    names = [hook_name("resid_pre", layer) for layer in range(graph.n_layers)]
    names += [hook_name("z", layer) for layer in range(graph.n_layers)]
    if not graph.attn_only:
        names += [mlp_input_hook(model, layer) for layer in range(graph.n_layers)]
        names += [hook_name("mlp_out", layer) for layer in range(graph.n_layers)]
    names.append(final_input_hook(model))
    with hooks(model, [*(fwd or []), *((n, _keeper(store, n)) for n in names), metric_pos_only(task)]):
        last = model(tokens)[:, 0]
    return _captured(model, graph, store, last.detach())


def _keeper(store: dict[str, Tensor], name: str):
    def fn(act: Tensor, hook=None) -> None:
        store[name] = act.detach().clone()

    return fn


def _captured(model: Model, graph: EdgeGraph, store: dict[str, Tensor], last: Tensor) -> Captured:
    return Captured(
        writers=_stack_writers(model, graph, store),
        attn_in=[store[hook_name("resid_pre", layer)] for layer in range(graph.n_layers)],
        mlp_in=[] if graph.attn_only else [store[mlp_input_hook(model, layer)] for layer in range(graph.n_layers)],
        final_in=store[final_input_hook(model)],
        z=[store[hook_name("z", layer)] for layer in range(graph.n_layers)],
        last=last,
    )


def _stack_writers(model: Model, graph: EdgeGraph, store: dict[str, Tensor]) -> Tensor:
    parts = [store[hook_name("resid_pre", 0)].unsqueeze(0)]
    for layer in range(graph.n_layers):
        parts.append(head_outputs(model, layer, store[hook_name("z", layer)]).permute(2, 0, 1, 3))
        if not graph.attn_only:
            parts.append(store[hook_name("mlp_out", layer)].unsqueeze(0))
    return torch.cat(parts)


@exclusive
def reader_grads(
    model: Model,
    task: Task,
    tokens: Tensor,
    graph: EdgeGraph,
    *,
    metric: str,
    clean_last: Tensor | None,
    override: tuple[str, Tensor] | None = None,
    record: bool = False,
) -> tuple[Float[Tensor, "reader batch pos d_model"], Captured | None]:
    """d(mean metric) / d(each reader's own input), on a run of `tokens` whose activation at hook `override[0]`
    is replaced by `override[1]` (an interpolated embedding or layer output, for integrated gradients).

    One forward and one backward pass, plus each layer's norm and q/k/v projections once more per head to
    carry the gradients at hook_q/k/v back to each head's own input (a vector-Jacobian product). With `record`, the
    run is also returned as `capture` would give it (EAP's base run: one forward pass fewer); `clean_last` None means
    this run is the clean one (the KL metric's reference is its own logits).
    """
    n_layers = graph.n_layers
    acts: dict[str, Tensor] = {}

    def leaf(act: Tensor, hook=None) -> Tensor:
        return act.detach().clone().requires_grad_()  # a leaf: grads flow whether or not the weights take them

    def replace(act: Tensor, hook=None) -> Tensor:
        return override[1].detach().clone().requires_grad_()

    def keep(name: str, *, own: bool):
        def fn(act: Tensor, hook=None) -> Tensor | None:
            if own:  # a copy that feeds this reader alone, so its gradient is this reader's (module docstring)
                act = act.clone()
            acts[name] = act
            return act if own else None

        return fn

    fwd = [(hook_name("resid_pre", 0), leaf)]
    if override is not None:
        fwd.append((override[0], replace))
    attn_in = [hook_name("resid_pre", layer) for layer in range(n_layers)]
    qkv = [hook_name(kind, layer) for layer in range(n_layers) for kind in ("q", "k", "v")]
    own = qkv + ([] if graph.attn_only else [mlp_input_hook(model, layer) for layer in range(n_layers)])
    own.append(final_input_hook(model))
    fwd += [(n, keep(n, own=False)) for n in attn_in] + [(n, keep(n, own=True)) for n in own]
    store: dict[str, Tensor] = {}
    if record:
        kept = [hook_name("z", layer) for layer in range(n_layers)]
        kept += [] if graph.attn_only else [hook_name("mlp_out", layer) for layer in range(n_layers)]
        fwd += [(n, _keeper(store, n)) for n in kept]
    with torch.enable_grad(), hooks(model, [*fwd, metric_pos_only(task)]):
        last = model(tokens)[:, 0]
        rows = torch.arange(len(task))
        reference = last.detach() if clean_last is None else clean_last
        value = metric_values(metric, last, task, rows, reference).mean()
        grads = torch.autograd.grad(value, [acts[n] for n in own], allow_unused=True)
    grad_of = {n: (torch.zeros_like(acts[n]) if g is None else g) for n, g in zip(own, grads)}
    like = acts[attn_in[0]]
    out = torch.empty(len(graph.readers), *like.shape, dtype=like.dtype, device=like.device)  # every row is set
    for layer in range(n_layers):
        idx = [i for kind in ("q", "k", "v") for i in graph.readers_of(layer, kind)]
        out[idx] = _input_grads(model, layer, acts[attn_in[layer]].detach(), grad_of)
        if not graph.attn_only:
            out[graph.readers_of(layer, "mlp")[0]] = grad_of[mlp_input_hook(model, layer)]
    out[-1] = grad_of[final_input_hook(model)]
    if not record:
        return out, None
    store |= {n: acts[n].detach() for n in [*attn_in, *own[3 * n_layers :]]}
    return out, _captured(model, graph, store, last.detach())


def _input_grads(model: Model, layer: int, x: Tensor, grad_of: dict[str, Tensor]) -> Tensor:
    """[reader, batch, pos, d_model]: the gradients at the layer's hook_q, hook_k and hook_v ([batch, pos, head,
    d_head] each) carried back to each head's own input (its q readers, then k, then v, as `recompute` computes them).

    Through the projection by hand (the gradient times each head's W^T), then through the norm, which every head
    shares, by one vector-Jacobian product on a per-head copy of x: 3 times fewer autograd calls than one per kind,
    and no projection recomputed (measured 0.08 s of SmolLM2's 0.7 s EAP before)."""
    attn = model.blocks[layer].attn
    weights = {"q": attn.W_Q, "k": attn.W_K, "v": attn.W_V}
    normed = torch.cat(
        [torch.einsum("bphe,hde->bphd", grad_of[hook_name(k, layer)], weights[k].to(x)) for k in ("q", "k", "v")], 2
    )
    norm = getattr(model.blocks[layer], "ln1", None)
    if norm is None:
        return normed.permute(2, 0, 1, 3)
    per_head = x.unsqueeze(2).expand(-1, -1, normed.shape[2], -1).clone().requires_grad_()
    with torch.enable_grad():
        (g,) = torch.autograd.grad(_norm(norm, per_head), per_head, grad_outputs=normed)
    return g.permute(2, 0, 1, 3)
