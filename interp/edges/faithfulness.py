"""Circuits of edges: cut from edge scores (top n, or a threshold), pruned to edges on a path from the embeddings
to the logits, run with every other edge ablated, and judged by faithfulness over circuit sizes.

A run with edges ablated: the residual stream itself is left as the run computes it, and each reader sees its input
minus, for every ablated edge u -> v into it, (a_run[u] - a_ablated[u]), where a_run[u] is u's output in this
same run (so the changes of upstream ablations propagate) and a_ablated[u] the ablation value: the corrupted run's
output of u, its mean over the clean prompts (position by position), or zero. With nothing ablated this is the
model; with every edge ablated to the corrupted run's values every reader sees its corrupted-run input, so the run
is the corrupted run (tests check both).
"""

from __future__ import annotations

import time

import torch
from torch import Tensor

from interp.core.hooks import hooks
from interp.core.limits import check_count
from interp.core.locking import exclusive, lock_free
from interp.core.metrics import metric_values
from interp.core.sites import hook_name
from interp.core.task import Task
from interp.edges.runs import capture, final_input_hook, head_outputs, metric_pos_only, mlp_input_hook, recompute
from interp.edges.wiring import EMBED, LOGITS, EdgeGraph, Reader, edge_graph
from interp.results import EdgeCircuit, EdgeScores, FaithfulnessCurve
from interp.vocab.choices import Ablation, MetricName, check_choice
from interp.vocab.types import Model, Progress

__all__ = [
    "MIB_FRACTIONS",
    "AblationRunner",
    "circuit_from_scores",
    "circuit_metric",
    "edge_circuit",
    "faithfulness_curve",
    "prune",
]

MIB_FRACTIONS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
"""The circuit sizes (fractions of every edge) at which the MIB benchmark measures faithfulness."""


def _owners(graph: EdgeGraph, reader: Reader) -> list[str]:
    """The components a reader feeds: its head or MLP, every query head of a key/value head's group, or the logits."""
    if reader.kind == "mlp":
        return [f"MLP{reader.layer}"]
    if reader.kind == "logits":
        return [LOGITS]
    r = graph.n_heads // graph.n_kv_heads if reader.kind in ("k", "v") else 1
    return [f"L{reader.layer}H{h}" for h in range(reader.head * r, reader.head * r + r)]


def prune(graph: EdgeGraph, keep: Tensor) -> Tensor:
    """`keep` ([edge] bool) less every edge that is not on a path of kept edges from the embeddings to the logits.

    Readers are listed in layer order, so one pass forward (which components the embeddings reach) and one backward
    (which reach the logits) settle it.
    """
    w, r = graph.pairs
    owners = [_owners(graph, graph.readers[j]) for j in r.tolist()]
    order = sorted(keep.nonzero().squeeze(1).tolist(), key=lambda e: int(r[e]))
    fed = {EMBED}
    for e in order:
        if graph.writers[int(w[e])] in fed:
            fed.update(owners[e])
    to_logits = {LOGITS}
    for e in reversed(order):
        if graph.writers[int(w[e])] in fed and any(o in to_logits for o in owners[e]):
            to_logits.add(graph.writers[int(w[e])])
    out = torch.zeros_like(keep)
    for e in order:
        out[e] = graph.writers[int(w[e])] in fed and any(o in to_logits for o in owners[e])
    return out


@lock_free("the graph: config only")
def edge_circuit(
    model: Model, edges: list[str] | tuple[str, ...], *, scores: list[float] | None = None, source: str = "given edges"
) -> EdgeCircuit:
    """A circuit of the named edges ("L0H1 -> L1H0.k"), less those on no path from the embeddings to the logits;
    an error if none is left."""
    graph = edge_graph(model)
    idx = graph.edge_indices(list(edges))
    keep = torch.zeros(graph.n_edges, dtype=torch.bool)
    keep[idx] = True
    kept = prune(graph, keep)
    if not bool(kept.any()):
        raise ValueError(
            f"no path from the embeddings to the logits runs through these {len(idx)} edge(s); a circuit needs one "
            f"(an edge into '{LOGITS}', fed from 'embed' through the circuit's other edges)"
        )
    given = dict(zip(idx, scores)) if scores is not None else {}
    on = kept.nonzero().squeeze(1).tolist()
    dropped = len(set(idx)) - len(on)
    return EdgeCircuit(
        model=str(model.cfg.model_name),
        task="",
        edges=tuple(graph.names[e] for e in on),
        scores=tuple(float(given.get(e, float("nan"))) for e in on),
        n_edges_total=graph.n_edges,
        source=source + (f", pruned of {dropped} edge(s) off every path to the logits" if dropped else ""),
    )


@lock_free("the graph: config only")
def circuit_from_scores(
    model: Model, scores: EdgeScores, *, top_n: int | None = None, threshold: float | None = None
) -> EdgeCircuit:
    """The `top_n` edges by |score| (or those with |score| >= `threshold`), pruned to paths to the logits."""
    if (top_n is None) == (threshold is None):
        raise ValueError("give exactly one of top_n or threshold")
    if top_n is not None:
        check_count(top_n, "top_n")
    order = sorted(range(len(scores.edges)), key=lambda i: -abs(scores.scores[i]))
    chosen = order[:top_n] if top_n is not None else [i for i in order if abs(scores.scores[i]) >= threshold]
    if not chosen:
        raise ValueError(f"no edge has |score| >= {threshold} (the largest is {abs(scores.scores[order[0]]):.4g})")
    cut = f"top {top_n}" if top_n is not None else f"|score| >= {threshold}"
    circuit = edge_circuit(
        model,
        [scores.edges[i] for i in chosen],
        scores=[scores.scores[i] for i in chosen],
        source=f"{cut} of {_describe(scores)}",
    )
    return EdgeCircuit(**{**circuit.__dict__, "task": scores.task})


def _describe(scores: EdgeScores) -> str:
    steps = f", {scores.steps} steps" if scores.method.startswith("eap-ig") else ""
    return f"{scores.method} ({scores.direction}, {scores.metric}{steps})"


def _ablation_values(model: Model, task: Task, graph: EdgeGraph, ablation: Ablation, clean: Tensor) -> Tensor:
    """[writer, batch, pos, d_model]: what each writer's output becomes on an ablated edge (`clean`: the clean run's
    writer outputs)."""
    if ablation == "corrupted":
        return capture(model, task, task.corrupted_tokens, graph).writers
    if ablation == "mean":
        return clean.mean(1, keepdim=True).expand_as(clean)
    return torch.zeros_like(clean)


def _run_ablated(
    model: Model, task: Task, graph: EdgeGraph, off: Tensor, ablated: Tensor, metric: MetricName, clean_last: Tensor
) -> Tensor:
    """The metric (mean over the clean prompts, a 0-d tensor) with the edges `off` ([writer, reader]) ablated: bool,
    or a float weight in [0, 1] per edge (how much of the ablation it takes; differentiable in it)."""
    # the edges whose ablation enters the run: every allowed one when `off` takes gradients (an edge fully kept
    # still has a derivative), else those ablated at all
    on = graph.allowed if off.requires_grad else off != 0
    cur: list[Tensor | None] = [None] * len(graph.writers)
    attn_in: dict[int, Tensor] = {}

    def correction(reader_idx: list[int]) -> Tensor | None:
        """[batch, pos, reader, d_model]: what the ablated edges into these readers take from their inputs."""
        sub = off[:, reader_idx]
        rows = on[:, reader_idx].any(1).nonzero().squeeze(1).tolist()
        if not rows:
            return None
        diff = torch.stack([cur[w] - ablated[w] for w in rows])
        return torch.einsum("wbpd,wn->bpnd", diff, sub[rows].to(diff))

    def store_embed(act: Tensor, hook=None) -> None:
        cur[0] = act
        attn_in[0] = act

    def store_attn_in(layer: int):
        def fn(act: Tensor, hook=None) -> None:
            attn_in[layer] = act

        return fn

    def store_heads(layer: int):
        heads = graph.head_writers(layer)

        def fn(act: Tensor, hook=None) -> None:
            out = head_outputs(model, layer, act)
            for i, w in enumerate(range(heads.start, heads.stop)):
                cur[w] = out[:, :, i]

        return fn

    def store_mlp(layer: int):
        def fn(act: Tensor, hook=None) -> None:
            cur[graph.mlp_writer(layer)] = act

        return fn

    def heads_in(layer: int, kind: str):
        idx = graph.readers_of(layer, kind)

        def fn(act: Tensor, hook=None) -> Tensor | None:
            corr = correction(idx)
            if corr is None:
                return None
            touched = on[:, idx].any(0).nonzero().squeeze(1).tolist()
            x = attn_in[layer].unsqueeze(2) - corr[:, :, touched]
            act = act.clone()
            act[:, :, touched] = recompute(model, layer, kind, x, heads=touched).to(act)
            return act

        return fn

    def resid_in(reader: int):
        def fn(act: Tensor, hook=None) -> Tensor | None:
            corr = correction([reader])
            return None if corr is None else act - corr[:, :, 0]

        return fn

    fwd = [(hook_name("resid_pre", 0), store_embed)]
    for layer in range(graph.n_layers):
        if layer > 0:
            fwd.append((hook_name("resid_pre", layer), store_attn_in(layer)))
        fwd += [(hook_name(kind, layer), heads_in(layer, kind)) for kind in ("q", "k", "v")]
        fwd.append((hook_name("z", layer), store_heads(layer)))
        if not graph.attn_only:
            fwd.append((mlp_input_hook(model, layer), resid_in(graph.readers_of(layer, "mlp")[0])))
            fwd.append((hook_name("mlp_out", layer), store_mlp(layer)))
    fwd.append((final_input_hook(model), resid_in(len(graph.readers) - 1)))
    with hooks(model, [*fwd, metric_pos_only(task)]):
        last = model(task.clean_tokens)[:, 0]
    rows = torch.arange(len(task))
    return metric_values(metric, last, task, rows, clean_last).mean()


class AblationRunner:
    """Ablated runs of one model and task: the ablation values and the clean logits computed once, then
    `metric_with(keep)` for any set of edges kept ([edge] bool, in the graph's edge order)."""

    def __init__(self, model: Model, task: Task, ablation: Ablation, metric: MetricName) -> None:
        check_choice(ablation, Ablation, "ablation")
        check_choice(metric, MetricName, "metric")
        self.model, self.task, self.metric = model, task.to(model.cfg.device), metric
        self.graph = edge_graph(model)
        clean = capture(model, self.task, self.task.clean_tokens, self.graph)
        self.ablated = _ablation_values(model, self.task, self.graph, ablation, clean.writers)
        self.clean_last = clean.last
        self._ends: tuple[float, float] | None = None

    def ends(self) -> tuple[float, float]:
        """The metric with every edge kept (the model) and with none (computed once)."""
        if self._ends is None:
            every = torch.ones(self.graph.n_edges, dtype=torch.bool)
            self._ends = (self.metric_with(every), self.metric_with(~every))
        return self._ends

    def faithfulness(self, value: float | Tensor) -> float | Tensor:
        """(value - m(none)) / (m(every) - m(none)), of a number or a tensor; an error where the two ends are equal."""
        full, empty = self.ends()
        if abs(full - empty) < 1e-9:
            raise ValueError("the full model and the empty circuit give the same metric: faithfulness is undefined")
        return (value - empty) / (full - empty)

    def off(self, keep: Tensor) -> Tensor:
        """[writer, reader] bool: the edges not in `keep` ([edge] bool)."""
        off = self.graph.allowed.clone()
        w, r = self.graph.pairs
        off[w[keep], r[keep]] = False
        return off

    def metric_soft(self, keep: Tensor) -> Tensor:
        """The metric (0-d, differentiable) with each edge kept in part: `keep` [edge] float in [0, 1], where 1
        keeps the edge and 0 ablates it (interp.edges.search)."""
        w, r = self.graph.pairs
        off = torch.zeros(self.graph.allowed.shape, dtype=keep.dtype, device=keep.device).index_put((w, r), 1 - keep)
        return _run_ablated(self.model, self.task, self.graph, off, self.ablated, self.metric, self.clean_last)

    @torch.no_grad()
    def metric_with(self, keep: Tensor) -> float:
        return float(
            _run_ablated(self.model, self.task, self.graph, self.off(keep), self.ablated, self.metric, self.clean_last)
        )

    def metric_of(self, circuit: EdgeCircuit) -> float:
        """`metric_with` the edges of `circuit`."""
        keep = torch.zeros(self.graph.n_edges, dtype=torch.bool)
        keep[self.graph.edge_indices(circuit.edges)] = True
        return self.metric_with(keep)


@exclusive
def circuit_metric(
    model: Model,
    task: Task,
    circuit: EdgeCircuit,
    *,
    ablation: Ablation = "corrupted",
    metric: MetricName = "logit_diff",
) -> float:
    """The metric on the clean prompts with every edge outside `circuit` ablated (mean over prompts)."""
    return AblationRunner(model, task, ablation, metric).metric_of(circuit)


@exclusive
def faithfulness_curve(
    model: Model,
    task: Task,
    scores: EdgeScores,
    *,
    ablation: Ablation = "corrupted",
    fractions: tuple[float, ...] = MIB_FRACTIONS,
    progress: Progress | None = None,
) -> FaithfulnessCurve:
    """Faithfulness of the top edges of `scores` at each fraction of the graph's edges (FaithfulnessCurve)."""
    if not fractions or any(not 0 < f <= 1 for f in fractions) or list(fractions) != sorted(fractions):
        raise ValueError(f"fractions must rise within (0, 1]; got {fractions}")
    start = time.perf_counter()
    runner = AblationRunner(model, task, ablation, scores.metric)
    graph = runner.graph
    if tuple(scores.edges) != graph.names:
        raise ValueError(f"these scores are for another graph ({scores.model}), not {model.cfg.model_name}'s")
    order = sorted(range(graph.n_edges), key=lambda i: -abs(scores.scores[i]))
    full, empty = runner.ends()
    runner.faithfulness(full)  # an error now, not after the runs, if it is undefined
    sizes, values = [], []
    for k, f in enumerate(fractions, 1):
        keep = torch.zeros(graph.n_edges, dtype=torch.bool)
        keep[order[: max(1, round(f * graph.n_edges))]] = True
        keep = prune(graph, keep)
        sizes.append(int(keep.sum()))
        values.append(runner.metric_with(keep))
        if progress is not None:
            progress(k, len(fractions))
    faith = [runner.faithfulness(v) for v in values]
    xs, ys = [0.0, *fractions], [0.0, *faith]
    return FaithfulnessCurve(
        model=str(model.cfg.model_name),
        task=task.name,
        source=_describe(scores),
        ablation=ablation,
        metric=scores.metric,
        sizes=tuple(sizes),
        fractions=tuple(s / graph.n_edges for s in sizes),
        metric_values=tuple(values),
        faithfulness=tuple(faith),
        full_metric=full,
        empty_metric=empty,
        cpr=_area(xs, ys),
        cmd=_area(xs, [abs(1 - y) for y in ys]),
        n_edges_total=graph.n_edges,
        seconds=time.perf_counter() - start,
    )


def _area(xs: list[float], ys: list[float]) -> float:
    """Trapezoids over [0, max(xs)]."""
    return float(sum((x1 - x0) * (y0 + y1) / 2 for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:])))
