"""Edge rankings scored against a circuit known by construction: AUROC, true edges in the top, agreement with
exact edge patching."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from interp.results import EdgeScores, FaithfulnessCurve, KnownCircuitScore

__all__ = ["auroc", "known_circuit_score", "pearson"]


def auroc(values: Sequence[float], positive: Sequence[bool]) -> float:
    """The probability that a random positive outranks a random negative (ties count half): the Mann-Whitney
    statistic, equal to the area under the ROC curve."""
    v = torch.as_tensor(values, dtype=torch.float64)
    pos = torch.as_tensor(positive, dtype=torch.bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUROC needs positives and negatives; got {n_pos} positive and {n_neg} negative")
    greater = (v[pos][:, None] > v[~pos][None, :]).double().sum()
    ties = (v[pos][:, None] == v[~pos][None, :]).double().sum()
    return float((greater + 0.5 * ties) / (n_pos * n_neg))


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    x = torch.tensor([list(a), list(b)], dtype=torch.float64)
    return float(torch.corrcoef(x)[0, 1])


def known_circuit_score(
    scores: EdgeScores,
    true_edges: Sequence[str],
    *,
    exact: EdgeScores | None = None,
    curve: FaithfulnessCurve | None = None,
) -> KnownCircuitScore:
    """How `scores` rank the `true_edges` (by |score|), with the curve's CPR and CMD and the Pearson correlation with
    `exact` when given (NaN otherwise)."""
    unknown = [e for e in true_edges if e not in scores.edges]
    if unknown:
        raise ValueError(f"true edges {unknown} are not edges of {scores.model}'s graph")
    truth = set(true_edges)
    positive = [e in truth for e in scores.edges]
    magnitude = [abs(s) for s in scores.scores]
    top = sorted(range(len(magnitude)), key=lambda i: -magnitude[i])[: len(truth)]
    nan = float("nan")
    return KnownCircuitScore(
        model=scores.model,
        method=scores.method,
        auroc=auroc(magnitude, positive),
        n_true=len(truth),
        n_edges=len(scores.edges),
        true_in_top=sum(positive[i] for i in top),
        cpr=curve.cpr if curve is not None else nan,
        cmd=curve.cmd if curve is not None else nan,
        pearson_with_exact=pearson(scores.scores, exact.scores) if exact is not None else nan,
        seconds=scores.seconds,
    )
