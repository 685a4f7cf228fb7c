"""Circuits found by searching with the model run on edges ablated: ACDC's greedy pruning, one edge at a time, and
a mask over every edge learned at once (edge pruning, after Bhaskar et al., 2024).

Learned masks. Rankings by single-edge scores, and ACDC's pruning, judge each edge with every other edge in place.
Many edges of a small circuit matter only together, so on zoo:lang-4l IOI the top edges of any ranking level off at
0.66-0.70 faithfulness between 16 and 30 edges (docs/edges.md). Here every edge's keep-weight is learned at once:
each step runs the model with every edge kept in part (AblationRunner.metric_soft), and the weights move toward
faithfulness 1 while a penalty that grows over the first half of the run pushes the expected number of kept edges
down to the budget. Masks are sampled from a relaxed Bernoulli (logistic noise at temperature 0.5, as the concrete
distribution of Maddison et al. and Louizos et al.'s hard concrete do) so that the weights learned are ones that work
when edges are on or off, not half on. The circuit is the longest run of edges in order of weight whose paths to
the logits (interp.edges.faithfulness.prune) fit in the budget.

Measured on zoo:lang-4l IOI, 16 prompts, corrupted ablation, 300 steps (18-19 s on 2 CPU cores): 23 edges (4.8%) keep
0.83-0.89 of the behaviour over three prompt seeds, where the best ranking's top 24 keep 0.70 and ACDC's 21-edge
circuit 0.73.
"""

from __future__ import annotations

import time

import torch
from torch import Tensor

from interp.core.limits import check_count
from interp.core.locking import exclusive
from interp.core.task import Task
from interp.edges.faithfulness import AblationRunner, prune
from interp.edges.wiring import EdgeGraph
from interp.results import EdgeCircuit
from interp.vocab.choices import Ablation, MetricName
from interp.vocab.types import Model, Progress

__all__ = ["acdc", "learned_circuit"]

TEMPERATURE = 0.5
"""Of the relaxed Bernoulli masks sampled each step; lower makes the samples nearer 0 or 1 and the gradients noisier."""


@exclusive
def learned_circuit(
    model: Model,
    task: Task,
    n_edges: int,
    *,
    steps: int = 300,
    lr: float = 0.1,
    penalty: float = 1.0,
    ablation: Ablation = "corrupted",
    metric: MetricName = "logit_diff",
    seed: int = 0,
    progress: Progress | None = None,
) -> EdgeCircuit:
    """A circuit of at most `n_edges` edges whose masks were learned together (the module docstring).

    Each step is one forward and one backward pass of the clean prompts with every edge partly ablated. `penalty`
    weighs the expected edges over the budget (per budgeted edge) against (1 - faithfulness)^2. The circuit's scores
    are the learned keep-probabilities.
    """
    check_count(n_edges, "n_edges")
    check_count(steps, "steps")
    if not lr > 0 or not penalty > 0:
        raise ValueError(f"lr and penalty must be positive; got lr={lr}, penalty={penalty}")
    start = time.perf_counter()
    runner = AblationRunner(model, task, ablation, metric)
    graph = runner.graph
    if n_edges > graph.n_edges:
        raise ValueError(f"n_edges is {n_edges}, but {model.cfg.model_name}'s graph has {graph.n_edges} edges")
    runner.faithfulness(0.0)  # an error if the model and the empty circuit agree: there is nothing to keep
    device = model.cfg.device
    # starting every edge at keep-probability 0.95: the run begins as the full model, where the gradients are useful
    logits = torch.full((graph.n_edges,), 3.0, device=device, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=lr)
    noise = torch.Generator().manual_seed(seed)
    for step in range(steps):
        u = torch.rand(graph.n_edges, generator=noise, dtype=logits.dtype).clamp(1e-6, 1 - 1e-6).to(device)
        keep = torch.sigmoid((logits + u.log() - (1 - u).log()) / TEMPERATURE)
        faithfulness = runner.faithfulness(runner.metric_soft(keep))
        expected = torch.sigmoid(logits).sum()
        weight = penalty * min(1.0, 2 * step / steps)
        loss = (1 - faithfulness) ** 2 + weight * torch.relu(expected - n_edges) / n_edges
        (logits.grad,) = torch.autograd.grad(loss, [logits])  # the model's weights take no gradient
        opt.step()
        if progress is not None:
            progress(step + 1, steps)
    keep = _largest_within(graph, logits.detach().cpu(), n_edges)
    if not bool(keep.any()):
        raise ValueError(
            f"no path from the embeddings to the logits fits in {n_edges} edge(s) of the learned order; "
            "give a larger n_edges"
        )
    return _circuit(
        model, task, graph, keep, torch.sigmoid(logits.detach().cpu()),
        f"learned masks ({steps} steps, at most {n_edges} edges, {ablation} ablation, {metric}; "
        f"{time.perf_counter() - start:.1f} s)",
    )  # fmt: skip


def _circuit(model: Model, task: Task, graph: EdgeGraph, keep: Tensor, scores: Tensor, source: str) -> EdgeCircuit:
    """The circuit of the edges `keep` ([edge] bool), each with its entry of `scores` ([edge])."""
    on = keep.nonzero().squeeze(1).tolist()
    return EdgeCircuit(
        model=str(model.cfg.model_name),
        task=task.name,
        edges=tuple(graph.names[e] for e in on),
        scores=tuple(float(scores[e]) for e in on),
        n_edges_total=graph.n_edges,
        source=source,
    )


def _largest_within(graph: EdgeGraph, logits: Tensor, budget: int) -> Tensor:
    """The pruned set of the longest prefix of edges (by falling `logits`) that prunes to at most `budget` edges.

    A longer prefix prunes to a superset (more edges kept can only join more paths), so a binary search finds it."""
    order = logits.argsort(descending=True)

    def pruned(j: int) -> Tensor:
        keep = torch.zeros(graph.n_edges, dtype=torch.bool)
        keep[order[:j]] = True
        return prune(graph, keep)

    lo, hi = 0, graph.n_edges  # pruned(lo) fits; find the largest such lo
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if int(pruned(mid).sum()) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return pruned(lo)


@exclusive
def acdc(
    model: Model,
    task: Task,
    *,
    tau: float = 0.01,
    ablation: Ablation = "corrupted",
    metric: MetricName = "logit_diff",
    progress: Progress | None = None,
) -> EdgeCircuit:
    """ACDC's greedy pruning by exact patching (Conmy et al., 2023), the reference circuit on small models.

    Readers from the logits back to the first layer; for each edge into a reader still on a path to the logits, the
    edge is ablated for good if that moves the metric toward the empty circuit by less than `tau` of
    |m(full) - m(empty)| (ACDC thresholds a KL divergence; here the task metric, in the same units as faithfulness).
    One ablated run per edge tried.
    """
    if not 0 <= tau < 1:
        raise ValueError(f"tau is a fraction of the full-to-empty metric gap, in [0, 1); got {tau}")
    runner = AblationRunner(model, task, ablation, metric)
    graph = runner.graph
    keep = torch.ones(graph.n_edges, dtype=torch.bool)
    current, empty = runner.ends()
    gap = current - empty
    _, r = graph.pairs
    effect = torch.zeros(graph.n_edges, dtype=torch.float64)
    readers = sorted(set(r.tolist()), reverse=True)
    for done, reader in enumerate(readers, 1):
        keep = prune(graph, keep)
        for e in (r == reader).nonzero().squeeze(1).tolist():
            if not keep[e]:
                continue
            keep[e] = False
            trial = runner.metric_with(keep)
            effect[e] = (current - trial) / gap if gap else 0.0
            if effect[e] < tau:
                current = trial
            else:
                keep[e] = True
        if progress is not None:
            progress(done, len(readers))
    source = f"ACDC (tau {tau} of the metric gap, {ablation} ablation, {metric})"
    return _circuit(model, task, graph, prune(graph, keep), effect, source)
