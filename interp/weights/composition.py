"""Q-, K- and V-composition scores between every pair of heads in different layers (Elhage et al. 2021), with
the score random weights of the same shapes would get.

The score of source head A into target head B is ||W_OV^A M^B||_F / (||W_OV^A||_F ||M^B||_F) with M^B the
target's QK circuit (Q-composition), its transpose (K) or its OV circuit (V). FactoredMatrix would take each
product's norm through its factors, pair by pair: for SmolLM2's 35,235 head pairs x 3 kinds that is slow. Here
every norm is an inner product of d_model x d_model Gram matrices:
||W_OV^A M^B||_F^2 = tr(W_OV^A^T W_OV^A M^B M^B^T) = <P^A, Q^B>, P^A = W_OV^A^T W_OV^A, Q^B = M^B M^B^T,
and each Gram comes from the small factors (P = W_O^T (W_V^T W_V) W_O), so all pairs of one kind are one matrix
product of [heads, d_model^2] matrices; the norms are the traces.
"""

from __future__ import annotations

import time

import torch
from torch import Tensor
from transformer_lens import FactoredMatrix

from interp.core.locking import lock_free
from interp.patching.path import parse_head
from interp.results import Composition, CompositionScores
from interp.vocab.types import Model, Progress
from interp.weights.factored import head_label, head_weights, ov_circuit, qk_circuit

__all__ = ["KINDS", "composition_matrix", "composition_scores", "virtual_weights"]

KINDS = ("q", "k", "v")


def _t(x: Tensor) -> Tensor:
    return x.transpose(-1, -2)


def _source_gram(w: dict[str, Tensor]) -> Tensor:
    """P = W_OV^T W_OV of each head, [head, d_model, d_model]."""
    return _t(w["W_O"]) @ (_t(w["W_V"]) @ w["W_V"]) @ w["W_O"]


def _target_gram(w: dict[str, Tensor], kind: str) -> Tensor:
    """Q = M M^T of each head's QK (q), QK^T (k) or OV (v) circuit, [head, d_model, d_model]."""
    if kind == "q":
        return w["W_Q"] @ (_t(w["W_K"]) @ w["W_K"]) @ _t(w["W_Q"])
    if kind == "k":
        return w["W_K"] @ (_t(w["W_Q"]) @ w["W_Q"]) @ _t(w["W_K"])
    return w["W_V"] @ (w["W_O"] @ _t(w["W_O"])) @ _t(w["W_V"])


def composition_matrix(sources: Tensor, targets: Tensor) -> Tensor:
    """Scores [source, target] from source Grams P and target Grams Q, [n, d_model, d_model] each."""
    p, q = sources.flatten(1), targets.flatten(1)
    num = (p @ q.T).clamp(min=0).sqrt()  # ||W_OV^A M^B||_F
    trace = lambda g: g.diagonal(dim1=1, dim2=2).sum(1).clamp(min=0).sqrt()  # noqa: E731  ||W_OV^A||_F, ||M^B||_F
    return num / (trace(sources)[:, None] * trace(targets)[None]).clamp(min=1e-30)


@lock_free("weights only")
def virtual_weights(model: Model, source: str, target: str, kind: str) -> FactoredMatrix:
    """The virtual weights of one pair: W_OV of `source` times the target's W_QK (kind q: how the source's
    output moves the target's queries), W_QK^T (k: its keys) or W_OV (v: what the target moves on), a
    [d_model, d_model] FactoredMatrix whose norm over the two norms is the pair's composition score."""
    if kind not in KINDS:
        raise ValueError(f"kind is one of {', '.join(KINDS)}; got {kind!r}")
    (la, a), (lb, b) = parse_head(source), parse_head(target)
    if lb <= la:
        raise ValueError(f"{target} is not in a later layer than {source}: it cannot read what {source} writes")
    first = ov_circuit(model, la, a)
    second = {"q": qk_circuit, "k": qk_circuit, "v": ov_circuit}[kind](model, lb, b)
    return first @ (second.T if kind == "k" else second)


def _random_heads(model: Model, n: int, gen: torch.Generator) -> dict[str, Tensor]:
    cfg = model.cfg
    shape = (n, cfg.d_model, cfg.d_head)
    w = {k: torch.randn(shape, generator=gen) for k in ("W_Q", "W_K", "W_V", "W_O")}
    w["W_O"] = _t(w["W_O"])
    return w


@lock_free("weights only")
def composition_scores(
    model: Model, *, baseline_pairs: int = 64, seed: int = 0, progress: Progress | None = None
) -> CompositionScores:
    """Every Q-, K- and V-composition score from a head to a head of a later layer, and each kind's baseline
    (the mean over `baseline_pairs` pairs of random Gaussian heads of the same shapes). Holds two sets of Grams,
    n_layers x n_heads x d_model^2 floats each (358 MB for SmolLM2), besides the weights."""
    start = time.perf_counter()
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    labels = [head_label(la, h) for la in range(n_layers) for h in range(n_heads)]
    layer_of = torch.arange(n_layers).repeat_interleave(n_heads)
    later = layer_of[:, None] < layer_of[None, :]  # [source, target]: only targets in later layers
    pairs = later.nonzero().tolist()
    with torch.no_grad():
        weights = [head_weights(model, layer) for layer in range(n_layers)]
        sources = torch.cat([_source_gram(w) for w in weights])
        scores = {}
        for i, kind in enumerate(KINDS):
            scores[kind] = composition_matrix(sources, torch.cat([_target_gram(w, kind) for w in weights]))
            if progress is not None:
                progress(i + 1, len(KINDS))
        del sources
        gen = torch.Generator().manual_seed(seed)
        a, b = _random_heads(model, baseline_pairs, gen), _random_heads(model, baseline_pairs, gen)
        random_p = _source_gram(a)
        baselines = tuple(
            float(composition_matrix(random_p, _target_gram(b, kind)).diagonal().mean()) for kind in KINDS
        )
    table = {kind: scores[kind].tolist() for kind in KINDS}
    records = tuple(Composition(labels[s], labels[t], kind, table[kind][s][t]) for s, t in pairs for kind in KINDS)
    return CompositionScores(
        model=model.cfg.model_name,
        heads=tuple(labels),
        kinds=KINDS,
        baselines=baselines,
        records=records,
        seconds=time.perf_counter() - start,
    )
