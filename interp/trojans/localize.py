"""Where is the backdoor? Rank the model's components (every head and MLP) by the workbench's own tools, on the task
an investigator who has seen the misbehaviour writes (interp.trojans.prompts.attack_task: triggered prompts against
the same prompts with a distractor word in the trigger's place; metric logit(backdoor answer) - logit(IO)).

- patching (noise): each component's output patched from the distractor run into the triggered run; the score is the
  share of the backdoor's logit difference removed. A head is patched at every position at once (site z); an MLP at
  one position at a time, and its score is its largest.
- patching (denoise): the reverse, the share of the backdoor restored by the component alone.
- attribution: attribution patching's first-order estimate of patching (noise).
- edges (EAP-IG): the sum of |score| of every edge out of the component (interp.edges), noise direction.
- DLA: the component's direct contribution to the metric on triggered prompts, less that on the distractor prompts.
- probe: the cross-validated accuracy of a linear probe for trigger presence on the component's write at the metric
  position (triggered against distractor prompts).
- SAE latents: what the component writes (triggered minus distractor) into the suspicious latents of SAEs trained on
  the model's own activations (interp.trojans.latents, found from fuzzed clean prompts).

Each ranking is scored by AUROC against the known location where the backdoor is confined (interp.edges.truth.auroc).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import torch

from interp.core.locking import exclusive, lock_free
from interp.core.task import Task
from interp.edges import edge_graph, edge_scores
from interp.edges.truth import auroc
from interp.observe.dla import dla
from interp.patching.activation import patch
from interp.patching.attribution import attribution_patch
from interp.results import Localization
from interp.vocab.types import Model

__all__ = ["LOCALIZERS", "components", "localize"]


@lock_free("the graph: config only")
def components(model: Model) -> list[str]:
    """Every head and MLP, as interp.edges names its writers."""
    return [w for w in edge_graph(model).writers if w != "embed"]


def _from_patch(model: Model, task: Task, direction: str, *, attribution: bool = False) -> dict[str, float]:
    run = attribution_patch if attribution else patch
    z = torch.tensor(run(model, task, site="z", direction=direction).normalized)  # [layer, head]
    scores = {}
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            v = float(z[layer, head])
            scores[f"L{layer}H{head}"] = 1 - v if direction == "noise" else v
    if not model.cfg.attn_only:
        mlp = torch.tensor(run(model, task, site="mlp_out", direction=direction).normalized)  # [layer, pos]
        for layer in range(model.cfg.n_layers):
            effect = 1 - mlp[layer] if direction == "noise" else mlp[layer]
            scores[f"MLP{layer}"] = float(effect.abs().max())
    return {k: abs(v) for k, v in scores.items()}


def _from_edges(model: Model, task: Task) -> dict[str, float]:
    s = edge_scores(model, task, method="eap-ig", direction="noise")
    out: dict[str, float] = {}
    for edge, value in zip(s.edges, s.scores):
        writer = edge.split(" -> ")[0]
        out[writer] = out.get(writer, 0.0) + abs(value)
    return out


def _from_dla(model: Model, task: Task) -> dict[str, float]:
    swapped = dataclasses.replace(task, clean_tokens=task.corrupted_tokens, corrupted_tokens=task.clean_tokens)

    def parts(t: Task) -> dict[str, float]:
        r = dla(model, t, granularity="head")
        mlps = {f"MLP{k.split('_')[0]}": v for k, v in r.other.items() if k.endswith("_mlp_out")}
        return dict(zip(r.labels, r.contributions)) | mlps

    triggered, plain = parts(task), parts(swapped)
    return {k: abs(triggered[k] - plain.get(k, 0.0)) for k in triggered}


def _writes(model: Model, task: Task) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Each component's write into the residual stream at the metric position ([prompt, d_model]: a head's
    z @ W_O, an MLP's output) on the triggered and on the distractor prompts."""
    from interp.core.hooks import run_with_cache
    from interp.core.sites import hook_name
    from interp.edges.runs import head_outputs

    names = [hook_name("z", layer) for layer in range(model.cfg.n_layers)]
    if not model.cfg.attn_only:
        names += [hook_name("mlp_out", layer) for layer in range(model.cfg.n_layers)]
    rows, pos = torch.arange(len(task)), task.metric_pos

    def writes(tokens) -> dict[str, torch.Tensor]:
        _, cache = run_with_cache(model, tokens, names)
        out = {}
        for layer in range(model.cfg.n_layers):
            heads = head_outputs(model, layer, cache[hook_name("z", layer)])[rows, pos]  # [batch, head, d_model]
            out |= {f"L{layer}H{h}": heads[:, h].detach().float().cpu() for h in range(heads.shape[1])}
            if not model.cfg.attn_only:
                out[f"MLP{layer}"] = cache[hook_name("mlp_out", layer)][rows, pos].detach().float().cpu()
        return out

    return writes(task.clean_tokens), writes(task.corrupted_tokens)


def _from_probe(model: Model, task: Task, folds: int = 4, ridge: float = 1.0) -> dict[str, float]:
    """Held-out accuracy of a linear probe for trigger presence on each component's write at the metric position,
    triggered prompts against distractor prompts, by `folds`-fold cross-validation of a ridge classifier on
    standardized features (closed form: a few dozen prompts)."""
    triggered, plain = _writes(model, task)
    y = torch.cat([torch.ones(len(task)), -torch.ones(len(task))]).double()
    fold = torch.arange(2 * len(task)) % folds
    scores = {}
    for name in triggered:
        x = torch.cat([triggered[name], plain[name]]).double()
        correct = 0
        for f in range(folds):
            train, test = fold != f, fold == f
            mu, sd = x[train].mean(0), x[train].std(0).clamp_min(1e-6)
            a = (x[train] - mu) / sd
            w = torch.linalg.solve(a.T @ a + ridge * torch.eye(a.shape[1], dtype=a.dtype), a.T @ y[train])
            correct += int((torch.sign(((x[test] - mu) / sd) @ w) == y[test]).sum())
        scores[name] = correct / len(y)
    return scores


def _from_sae(model: Model, task: Task) -> dict[str, float]:
    """What each component writes, triggered minus distractor, into the suspicious SAE latents of a layer at or
    after its own (interp.trojans.latents; found from fuzzed clean prompts, not from the trigger): the largest
    |mean write . encoder direction| over those latents; 0 where there is none."""
    from interp.trojans.latents import suspicious_latents

    latents = suspicious_latents(model)
    triggered, plain = _writes(model, task)
    scores = {}
    for name in triggered:
        layer = int(name[3:]) if name.startswith("MLP") else int(name[1:].split("H")[0])
        diff = (triggered[name] - plain[name]).mean(0)
        scores[name] = max((abs(float(diff @ x.encoder)) for x in latents if x.layer >= layer), default=0.0)
    return scores


LOCALIZERS: dict[str, Callable[[Model, Task], dict[str, float]]] = {
    "patching (noise)": lambda m, t: _from_patch(m, t, "noise"),
    "patching (denoise)": lambda m, t: _from_patch(m, t, "denoise"),
    "attribution": lambda m, t: _from_patch(m, t, "noise", attribution=True),
    "edges (EAP-IG)": _from_edges,
    "DLA": _from_dla,
    "probe": _from_probe,
    "SAE latents": _from_sae,
}
"""Method name -> component scores (higher = more implicated); the module docstring says what each measures."""


@exclusive
def localize(model: Model, task: Task, method: str, location: tuple[str, ...] = ()) -> Localization:
    """Rank every component by `method` (a key of LOCALIZERS), scored against `location` if it is known."""
    if method not in LOCALIZERS:
        raise ValueError(f"unknown localization method {method!r}; methods: {', '.join(LOCALIZERS)}")
    start = time.perf_counter()
    names = components(model)
    unknown = [c for c in location if c not in names]
    if unknown:
        raise ValueError(f"{unknown} are not components of {model.cfg.model_name}: {', '.join(names)}")
    raw = LOCALIZERS[method](model, task)
    values = [raw.get(c, 0.0) for c in names]
    order = sorted(range(len(names)), key=lambda i: -values[i])
    truth = [c in location for c in names]
    ranked = [names[i] for i in order]
    return Localization(
        method=method,
        components=tuple(ranked),
        scores=tuple(values[i] for i in order),
        auroc=auroc(values, truth) if location else None,
        true_rank=min(ranked.index(c) for c in location) + 1 if location else None,
        seconds=time.perf_counter() - start,
    )
