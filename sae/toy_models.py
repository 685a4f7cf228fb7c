"""Toy models of superposition (Elhage et al., 2022, "Toy Models of Superposition").

The ReLU output model: n sparse features x in [0, 1]^n are squeezed into m < n hidden dimensions
h = W x and read back as x' = ReLU(W^T h + b); the loss weights each feature's squared error by its
importance. Whether the model stores more features than dimensions (superposition) depends on how
sparse and how important they are.

Many instances train at once, as one batched tensor program (W is [instance, d_hidden, feature]):
a phase diagram of 400 settings costs about as much as one setting. This is written by hand
because neither TransformerLens nor SAELens has it; the formulas are the paper's.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from interp.core.limits import check_fields
from interp.vocab.types import Progress

__all__ = [
    "EVAL_SAMPLES",
    "REPRESENTED_NORM",
    "ToyModels",
    "ToyTraining",
    "adjacent_angles",
    "dimensionality",
    "dimensions_per_feature",
    "evaluation_loss",
    "feature_norms",
    "forward",
    "sample_features",
    "train_toy_models",
    "weighted_loss",
]

log = logging.getLogger(__name__)

REPRESENTED_NORM = 0.5
"""A feature counts as represented when ||W_i|| exceeds this: trained norms sit near 0 or near 1."""


@dataclass(frozen=True)
class ToyTraining:
    """How toy models are trained (the paper's setup: Adam, batches of fresh synthetic data)."""

    steps: int = 5000
    """Optimiser steps; every step draws a fresh batch."""
    batch_size: int = 1024
    """Synthetic samples per step."""
    lr: float = 1e-2
    """Adam learning rate, decayed to 0 by a cosine schedule. The paper's notebook uses 1e-3 for 10,000
    steps; 1e-2 for 5,000 reaches the same solutions here (measured: pentagon angles within 0.1 degree,
    dense n=5/m=2 norms within 1e-4 of 1 and 0) in half the time."""
    seed: int = 0
    """Seeds the initial weights and the data."""

    def __post_init__(self) -> None:
        check_fields(ToyTraining, vars(self))
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be positive, got {self.steps} and {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


@dataclass(frozen=True)
class ToyModels:
    """Trained instances, all with the same n_features and d_hidden."""

    W: Float[Tensor, "instance d_hidden feature"]
    b: Float[Tensor, "instance feature"]
    probability: Float[Tensor, "instance feature"]
    importance: Float[Tensor, "instance feature"]
    loss: Float[Tensor, " instance"]
    """Importance-weighted squared error per sample, on `EVAL_SAMPLES` inputs shared by every instance."""


def _check_settings(probability: Tensor, importance: Tensor, d_hidden: int) -> None:
    if probability.ndim != 2 or probability.shape != importance.shape:
        raise ValueError(
            f"probability and importance must both be [instance, feature]; got {tuple(probability.shape)} and "
            f"{tuple(importance.shape)}"
        )
    if bool(((probability <= 0) | (probability > 1)).any()):
        raise ValueError("feature probabilities must lie in (0, 1]")
    if bool((importance < 0).any()):
        raise ValueError("importances must be non-negative")
    if d_hidden < 1:
        raise ValueError(f"d_hidden must be at least 1, got {d_hidden}")


def sample_features(
    probability: Float[Tensor, "instance feature"], batch: int, generator: torch.Generator
) -> Float[Tensor, "instance batch feature"]:
    """Each feature is uniform on [0, 1] with its probability, else exactly 0 (the paper's data).
    One uniform draw u per entry serves both: the feature is on when u < p, and then u / p is uniform on
    [0, 1]. (Random numbers were half of a phase diagram's time with two draws.)"""
    u = torch.rand((probability.shape[0], batch, probability.shape[1]), generator=generator, device=probability.device)
    p = probability[:, None, :]
    return torch.where(u < p, u / p, torch.zeros_like(u))


def forward(
    W: Float[Tensor, "instance d_hidden feature"],
    b: Float[Tensor, "instance feature"],
    x: Float[Tensor, "instance batch feature"],
) -> Float[Tensor, "instance batch feature"]:
    """x' = ReLU(W^T W x + b), per instance. Instance-major batched matmuls: 2x faster than einsum over
    [batch, instance, feature] on the CPU for the phase diagram's 512 tiny models."""
    hidden = torch.bmm(x, W.transpose(1, 2))  # [instance, batch, d_hidden]
    return torch.relu(torch.bmm(hidden, W) + b[:, None, :])


def weighted_loss(
    W: Float[Tensor, "instance d_hidden feature"],
    b: Float[Tensor, "instance feature"],
    x: Float[Tensor, "instance batch feature"],
    importance: Float[Tensor, "instance feature"],
) -> Float[Tensor, " instance"]:
    return (importance[:, None, :] * (x - forward(W, b, x)) ** 2).sum(-1).mean(1)


def train_toy_models(
    probability: Float[Tensor, "instance feature"],
    importance: Float[Tensor, "instance feature"],
    d_hidden: int,
    *,
    training: ToyTraining = ToyTraining(),
    progress: Progress | None = None,
) -> ToyModels:
    """Train one toy model per row of `probability`/`importance`, all at once; `progress(done, total)` counts
    training steps."""
    _check_settings(probability, importance, d_hidden)
    n_instances, n_features = probability.shape
    gen = torch.Generator(device=probability.device).manual_seed(training.seed)
    W = torch.empty(n_instances, d_hidden, n_features, device=probability.device)
    for i in range(n_instances):  # Xavier-normal per instance, as in the paper's notebook
        W[i] = torch.randn(d_hidden, n_features, generator=gen, device=probability.device) * math.sqrt(
            2 / (d_hidden + n_features)
        )
    W.requires_grad_(True)
    b = torch.zeros(n_instances, n_features, device=probability.device, requires_grad=True)
    opt = torch.optim.Adam([W, b], lr=training.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 * (1 + math.cos(math.pi * step / training.steps)))
    for step in range(training.steps):
        x = sample_features(probability, training.batch_size, gen)
        # Summing over instances keeps each instance's gradient its own: they share no parameters.
        loss = weighted_loss(W, b, x, importance).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None and ((step + 1) % 100 == 0 or step + 1 == training.steps):
            progress(step + 1, training.steps)
    final = evaluation_loss(W.detach(), b.detach(), probability, importance, seed=training.seed)
    log.info(
        "trained %d toy models (%d features, %d hidden) for %d steps", n_instances, n_features, d_hidden, training.steps
    )
    return ToyModels(W.detach(), b.detach(), probability, importance, final)


EVAL_SAMPLES = 2**18
"""Samples of the loss that picks the best initialisation. At a feature probability of 0.01, one training
batch holds a few dozen active features, and the pentagon-plus-a-dropped-feature local minimum of 6
features in 2 dimensions beat the hexagon on such a batch in 2 runs of 3; 262,144 samples shared by all
instances (the same inputs for each: common random numbers) rank them by their expected loss."""


@torch.no_grad()
def evaluation_loss(
    W: Float[Tensor, "instance d_hidden feature"],
    b: Float[Tensor, "instance feature"],
    probability: Float[Tensor, "instance feature"],
    importance: Float[Tensor, "instance feature"],
    *,
    seed: int = 0,
    n_samples: int = EVAL_SAMPLES,
) -> Float[Tensor, " instance"]:
    """Each instance's loss on the same `n_samples` inputs (one uniform draw, shaped by each instance's
    probabilities), in chunks so that a phase diagram's hundreds of instances stay within a few MB."""
    gen = torch.Generator(device=W.device).manual_seed(seed + 1_000_003)  # not the training stream
    total = torch.zeros(W.shape[0], device=W.device, dtype=torch.float64)
    for start in range(0, n_samples, 8192):
        n = min(8192, n_samples - start)
        u = torch.rand((1, n, W.shape[2]), generator=gen, device=W.device)
        p = probability[:, None, :]
        x = torch.where(u < p, u / p, torch.zeros_like(p))
        total += weighted_loss(W, b, x, importance).double() * n
    return (total / n_samples).float()


# ---- analyses of W -----------------------------------------------------------------------------


def feature_norms(W: Float[Tensor, "d_hidden feature"]) -> Float[Tensor, " feature"]:
    return W.norm(dim=0)


def dimensionality(W: Float[Tensor, "d_hidden feature"]) -> Float[Tensor, " feature"]:
    """D_i = ||W_i||^2 / sum_j (W_i_hat . W_j)^2: the fraction of a dimension feature i holds
    (1 = a dimension of its own, 1/2 = shares one with an antipodal partner, 2/5 = pentagon).
    A feature with zero norm has dimensionality 0."""
    norms = W.norm(dim=0)
    unit = W / norms.clamp_min(1e-12)
    shared = ((unit.T @ W) ** 2).sum(1)  # i: sum_j (W_i_hat . W_j)^2, including j = i (= ||W_i||^2)
    return torch.where(norms > 1e-6, norms**2 / shared.clamp_min(1e-12), torch.zeros_like(norms))


def dimensions_per_feature(W: Float[Tensor, "d_hidden feature"]) -> float:
    """The paper's D* = m / ||W||_F^2: hidden dimensions per represented feature (its 'sticky' fractions)."""
    return float(W.shape[0] / (W**2).sum())


def adjacent_angles(W: Float[Tensor, "2 feature"], *, min_norm: float = REPRESENTED_NORM) -> list[float]:
    """For m = 2: the angles in degrees between neighbouring represented feature vectors, going round."""
    if W.shape[0] != 2:
        raise ValueError(f"adjacent angles need a 2-dimensional hidden space, got {W.shape[0]}")
    keep = W.norm(dim=0) > min_norm
    angles = torch.rad2deg(torch.atan2(W[1, keep], W[0, keep])).sort().values.tolist()
    if len(angles) < 2:
        return []
    return [b - a for a, b in itertools.pairwise(angles)] + [360 - angles[-1] + angles[0]]
