"""Circuits: components chosen from a patching or attribution result, and how faithful they are.

A circuit here is a set of nodes (attention heads, and MLP layers) with edges from every node
to every node of a later layer and to the logits: the paths the residual stream allows between
them. Edges are implied by layer order, not scored: scoring each edge by path patching
(`interp.patching.path`) is the next step (a decision written down here, not an oversight).

Faithfulness: the task metric when every head and MLP outside the circuit is mean-ablated (its
output replaced by its mean over the task's clean prompts, position by position), as a fraction
of the full model's metric.
"""

from __future__ import annotations

import re

import torch

from interp.core.hooks import HookFn, hooks, run_with_cache
from interp.core.interventions import MeanAblate
from interp.core.limits import check_fits, prompt_bytes
from interp.core.locking import exclusive, lock_free
from interp.core.metrics import at_metric_pos, metric_values
from interp.core.sites import hook_name, layer_of
from interp.core.task import Task
from interp.patching.activation import patch
from interp.results import Circuit, Faithfulness, HeadCircuit, PatchResult
from interp.vocab.choices import Direction, MetricName, check_choice
from interp.vocab.types import Model

__all__ = ["LOGITS", "circuit_from_result", "faithfulness", "head_circuit", "make_circuit"]

LOGITS = "logits"


def circuit_from_result(
    result: PatchResult, *, top_k: int | None = None, threshold: float | None = None, n_mlp_layers: int = 0
) -> Circuit:
    """Heads with the largest |normalised| effect in a layer x head result (top-k, or above a threshold).

    The `n_mlp_layers` MLP layers (all of them, usually) are kept in the circuit whole: the
    question asked is which heads matter, with the MLPs left as they are.
    """
    if result.axes != ("layer", "head"):
        # ("layer", "kv_head"): k or v of a grouped-query model, whose patches are key/value heads that several
        # query heads share; a circuit's nodes are query heads, so such a result names none of them alone
        kv = (
            " (k and v of a grouped-query model run over key/value heads; patch z or q)"
            if "kv_head" in result.axes
            else ""
        )
        raise ValueError(
            f"build circuits from a layer x head result (site z, q, k or v); this one has axes {result.axes}{kv}"
        )
    if (top_k is None) == (threshold is None):
        raise ValueError("give exactly one of top_k or threshold")
    scored = [
        (f"L{layer}{head}", v)
        for layer, row in zip(result.labels["layer"], result.normalized)
        for head, v in zip(result.labels["head"], row)
    ]
    ranked = sorted(scored, key=lambda x: -abs(x[1]))
    chosen = ranked[:top_k] if top_k is not None else [x for x in ranked if abs(x[1]) >= threshold]
    return make_circuit(
        [n for n, _ in chosen] + [f"MLP{layer}" for layer in range(n_mlp_layers)],
        model=result.model,
        task=result.task,
        scores=dict(chosen),
        source=f"{result.method} {result.analysis} of {result.site} ({result.direction})",
    )


@lock_free("`model` is the model's name here")
def make_circuit(
    nodes: list[str], *, model: str, task: str, scores: dict[str, float] | None = None, source: str = "given nodes"
) -> Circuit:
    """A circuit of the given nodes ("L1H3", "MLP2"), with the edges that layer order allows."""
    bad = [n for n in nodes if not re.fullmatch(r"L\d+H\d+|MLP\d+", n)]
    if bad:
        raise ValueError(f"nodes are heads like L1H3 or MLP layers like MLP2; got {bad}")
    nodes = sorted(set(nodes), key=lambda n: (layer_of(n), "MLP" in n, n))
    edges = [
        (a, b)
        for a in nodes
        for b in nodes
        if layer_of(a) < layer_of(b) or (layer_of(a) == layer_of(b) and "H" in a and "MLP" in b)
    ]
    edges += [(n, LOGITS) for n in nodes]
    scores = scores or {}
    return Circuit(
        model=model,
        task=task,
        nodes=tuple(nodes),
        edges=tuple(edges),
        scores={n: scores.get(n) for n in nodes},
        source=source,
    )


def _mean_ablations(model: Model, task: Task, keep: set[str]) -> list[tuple[str, HookFn]]:
    """A MeanAblate per hook for every head and MLP outside `keep` (means over the clean prompts)."""
    names = [hook_name("z", layer) for layer in range(model.cfg.n_layers)]
    if not model.cfg.attn_only:
        names += [hook_name("mlp_out", layer) for layer in range(model.cfg.n_layers)]
    _, cache = run_with_cache(model, task.clean_tokens, names)
    fwd = []
    for name in names:
        layer = layer_of(name)
        mean = cache[name].mean(0, keepdim=True)  # over prompts, position by position
        if name.endswith("hook_z"):
            ablate = tuple(h for h in range(cache[name].shape[2]) if f"L{layer}H{h}" not in keep)
            if ablate:
                fwd.append((name, MeanAblate(mean, ablate)))
        elif f"MLP{layer}" not in keep:
            fwd.append((name, MeanAblate(mean)))
    return fwd


@exclusive
@torch.no_grad()
def faithfulness(model: Model, task: Task, circuit: Circuit, *, metric: MetricName = "logit_diff") -> Faithfulness:
    """The metric with everything outside `circuit` mean-ablated, against the full model's."""
    check_choice(metric, MetricName, "metric")
    # the mean-ablation cache (every head's output and every MLP's) and three runs' logits
    check_fits(model, len(task), prompt_bytes(model, task.n_pos, residuals=2, logits=3), what="faithfulness")
    task = task.to(model.cfg.device)
    rows = torch.arange(len(task))

    def run(fwd: list[tuple[str, HookFn]]) -> float:
        with hooks(model, fwd):
            logits = model(task.clean_tokens)
        last = at_metric_pos(logits, task)
        return float(metric_values(metric, last, task, rows, last).mean())

    ablations = _mean_ablations(model, task, set(circuit.nodes))
    full, kept, floor = run([]), run(ablations), run(_mean_ablations(model, task, set()))
    return Faithfulness(
        circuit_metric=kept,
        full_metric=full,
        ablated_metric=floor,
        faithfulness=kept / full if abs(full) > 1e-9 else float("nan"),
        n_heads=len(circuit.heads()),
        n_heads_total=model.cfg.n_layers * model.cfg.n_heads,
        interventions=tuple(f"{name}: {fn!r}" for name, fn in ablations),
    )


@exclusive
def head_circuit(model: Model, task: Task, *, top_k: int = 4, direction: Direction = "denoise") -> HeadCircuit:
    """Patch every head's output (z), keep the `top_k` heads with the largest effect plus every MLP, and
    measure the circuit's faithfulness."""
    heads = patch(model, task, site="z", direction=direction)
    circuit = circuit_from_result(heads, top_k=top_k, n_mlp_layers=0 if model.cfg.attn_only else model.cfg.n_layers)
    return HeadCircuit(patching=heads, circuit=circuit, faithfulness=faithfulness(model, task, circuit))
