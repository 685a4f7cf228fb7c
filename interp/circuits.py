"""Circuits: components chosen from a patching or attribution result, and how faithful they are.

A circuit here is a set of nodes (attention heads, and MLP layers) with edges from every node
to every node of a later layer and to the logits: the paths the residual stream allows between
them. Edges are implied by layer order, not scored: scoring each edge by path patching
(`interp.path_patching`) is the next step (a decision written down here, not an oversight).

Faithfulness: the task metric when every head and MLP outside the circuit is mean-ablated (its
output replaced by its mean over the task's clean prompts, position by position), as a fraction
of the full model's metric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from interp.hooks import hooks, run_with_cache
from interp.patching import metric_values, _last
from interp.results import PatchResult
from interp.tasks import Task

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

LOGITS = "logits"


@dataclass(frozen=True)
class Circuit:
    """Nodes "L{layer}H{head}" and "MLP{layer}", edges (source, target) including to "logits"."""

    model: str
    task: str
    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    scores: dict
    """Node -> the score it was chosen by (normalised patching effect); MLPs kept whole have None."""
    source: str
    """What it was built from, e.g. "exact activation_patching of z (denoise)"."""

    def heads(self) -> list[str]:
        return [n for n in self.nodes if "H" in n]


@dataclass(frozen=True)
class Faithfulness:
    circuit_metric: float
    """Metric with everything outside the circuit mean-ablated."""
    full_metric: float
    """The full model's metric on the same prompts."""
    ablated_metric: float
    """Metric with every head and MLP mean-ablated (the floor)."""
    faithfulness: float
    """circuit_metric / full_metric."""
    n_heads: int
    n_heads_total: int


def _layer(node: str) -> int:
    return int(re.findall(r"\d+", node)[0])


def circuit_from_result(
    result: PatchResult, *, top_k: int | None = None, threshold: float | None = None, n_mlp_layers: int = 0
) -> Circuit:
    """Heads with the largest |normalised| effect in a layer x head result (top-k, or above a threshold).

    The `n_mlp_layers` MLP layers (all of them, usually) are kept in the circuit whole: the
    question asked is which heads matter, with the MLPs left as they are.
    """
    if result.axes != ("layer", "head"):
        raise ValueError(f"build circuits from a layer x head result (site z, q, k or v); this one has axes {result.axes}")
    if (top_k is None) == (threshold is None):
        raise ValueError("give exactly one of top_k or threshold")
    scored = [
        (f"L{layer}{head}", float(v)) for layer, row in zip(result.labels["layer"], result.normalized) for head, v in zip(result.labels["head"], row)
    ]
    ranked = sorted(scored, key=lambda x: -abs(x[1]))
    chosen = ranked[:top_k] if top_k is not None else [x for x in ranked if abs(x[1]) >= threshold]
    return make_circuit(
        [n for n, _ in chosen] + [f"MLP{layer}" for layer in range(n_mlp_layers)], model=result.model, task=result.task,
        scores=dict(chosen), source=f"{result.method} {result.kind} of {result.site} ({result.direction})",
    )


def make_circuit(nodes: list[str], *, model: str, task: str, scores: dict | None = None, source: str = "given nodes") -> Circuit:
    """A circuit of the given nodes ("L1H3", "MLP2"), with the edges that layer order allows."""
    bad = [n for n in nodes if not re.fullmatch(r"L\d+H\d+|MLP\d+", n)]
    if bad:
        raise ValueError(f"nodes are heads like L1H3 or MLP layers like MLP2; got {bad}")
    nodes = sorted(set(nodes), key=lambda n: (_layer(n), "MLP" in n, n))
    edges = [(a, b) for a in nodes for b in nodes if _layer(a) < _layer(b) or (_layer(a) == _layer(b) and "H" in a and "MLP" in b)]
    edges += [(n, LOGITS) for n in nodes]
    scores = scores or {}
    return Circuit(model=model, task=task, nodes=tuple(nodes), edges=tuple(edges), scores={n: scores.get(n) for n in nodes}, source=source)


def _mean_ablation_hooks(model: "TransformerBridge", task: Task, keep: set[str]) -> list:
    names = [f"blocks.{layer}.attn.hook_z" for layer in range(model.cfg.n_layers)]
    if not model.cfg.attn_only:
        names += [f"blocks.{layer}.hook_mlp_out" for layer in range(model.cfg.n_layers)]
    _, cache = run_with_cache(model, task.clean_tokens, names)
    fwd = []
    for name in names:
        layer = _layer(name)
        mean = cache[name].mean(0, keepdim=True)  # over prompts, position by position
        if "hook_z" in name:
            ablate = torch.tensor([f"L{layer}H{h}" not in keep for h in range(cache[name].shape[2])])
            if ablate.any():
                fwd.append((name, _replace_heads(mean, ablate)))
        elif f"MLP{layer}" not in keep:
            fwd.append((name, lambda act, hook=None, mean=mean: mean.expand_as(act).clone()))
    return fwd


def _replace_heads(mean: Tensor, ablate: Tensor):
    def fn(z: Tensor, hook=None) -> Tensor:
        z = z.clone()
        z[:, :, ablate.to(z.device)] = mean[:, :, ablate.to(z.device)].expand(z.shape[0], -1, -1, -1)
        return z

    return fn


@torch.no_grad()
def faithfulness(model: "TransformerBridge", task: Task, circuit: Circuit, *, metric: str = "logit_diff") -> Faithfulness:
    """The metric with everything outside `circuit` mean-ablated, against the full model's."""
    task = task.to(model.cfg.device)
    rows = torch.arange(len(task))

    def run(keep: set[str] | None) -> float:
        fwd = [] if keep is None else _mean_ablation_hooks(model, task, keep)
        with hooks(model, fwd):
            logits = model(task.clean_tokens)
        return float(metric_values(metric, _last(logits, task), task, rows, _last(logits, task)).mean())

    full, kept, floor = run(None), run(set(circuit.nodes)), run(set())
    return Faithfulness(
        circuit_metric=round(kept, 6), full_metric=round(full, 6), ablated_metric=round(floor, 6),
        faithfulness=round(kept / full, 6) if abs(full) > 1e-9 else float("nan"),
        n_heads=len(circuit.heads()), n_heads_total=model.cfg.n_layers * model.cfg.n_heads,
    )


def head_circuit(
    model: "TransformerBridge", task: Task, *, top_k: int = 4, direction: str = "denoise"
) -> tuple[PatchResult, Circuit, Faithfulness]:
    """Patch every head's output (z), keep the `top_k` heads with the largest effect plus every MLP, and
    measure the circuit's faithfulness: the head patching, the circuit and its faithfulness."""
    from interp.patching import patch

    heads = patch(model, task, site="z", direction=direction)
    circuit = circuit_from_result(heads, top_k=top_k, n_mlp_layers=0 if model.cfg.attn_only else model.cfg.n_layers)
    return heads, circuit, faithfulness(model, task, circuit)
