"""Linear probes: logistic (binary and multi-class) and linear regression, per layer, with controls.

A probe is trained on standardised features (train-split mean and std) by full-batch AdamW with
early stopping on the validation loss; its weights are mapped back to raw activation space, so
its directions can be used to steer or ablate. Splits keep each prompt's rows together, since
rows of one prompt share context and would leak between train and test.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from interp.core.limits import check_fields
from interp.core.sites import layer_of
from interp.loading.model import resolve_device
from interp.observe.activations import ActivationDataset
from interp.results import ProbeResult, nested_tuple
from interp.vocab.choices import ControlKind, ProbeKind, check_choice
from interp.vocab.types import Progress

__all__ = [
    "ProbeConfig",
    "ProbeSweep",
    "Split",
    "TrainedProbe",
    "control_labels",
    "probe_sweep",
    "split_by_prompt",
    "train_probe",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeConfig:
    """How probes are trained."""

    kind: ProbeKind = "logistic"
    """"logistic" (classes) or "linear" (regression on float labels)."""
    weight_decay: float = 1e-3
    """L2 penalty on the weights: loss = mean loss + weight_decay / 2 * ||W||^2 (standardised features)."""
    lr: float = 0.05
    """Adam learning rate."""
    max_epochs: int = 400
    """Full-batch steps at most."""
    patience: int = 30
    """Stop after this many steps without a better validation loss; the best weights are kept."""
    val_fraction: float = 0.15
    """Share of prompts for validation (early stopping)."""
    test_fraction: float = 0.2
    """Share of prompts held out for the reported accuracy."""
    seed: int = 0
    """Seeds the split, the control labels and the initialisation."""
    device: str = "auto"
    """Where probes train: auto picks CUDA when present."""

    def __post_init__(self) -> None:
        check_fields(ProbeConfig, vars(self))
        check_choice(self.kind, ProbeKind, "kind")
        if (
            not 0 < self.val_fraction < 1
            or not 0 < self.test_fraction < 1
            or self.val_fraction + self.test_fraction >= 1
        ):
            raise ValueError("val_fraction and test_fraction must be in (0, 1) and leave prompts for training")
        if self.weight_decay < 0 or self.lr <= 0 or self.max_epochs < 1 or self.patience < 1:
            raise ValueError("weight_decay must be >= 0; lr, max_epochs and patience positive")


@dataclass(frozen=True)
class Split:
    """Row indices of each part of a probe's data."""

    train: Int[Tensor, " _row"]
    val: Int[Tensor, " _row"]
    test: Int[Tensor, " _row"]
    test_prompts: tuple[int, ...]


def split_by_prompt(prompt_index: Int[Tensor, " row"], config: ProbeConfig) -> Split:
    """Train/validation/test rows, with every prompt wholly in one part."""
    prompts = prompt_index.unique()
    order = prompts[torch.randperm(len(prompts), generator=torch.Generator().manual_seed(config.seed))]
    n_test = max(1, round(config.test_fraction * len(prompts)))
    n_val = max(1, round(config.val_fraction * len(prompts)))
    if len(prompts) - n_test - n_val < 1:
        raise ValueError(f"only {len(prompts)} prompts: too few to split into train, validation and test")
    test_p, val_p = order[:n_test], order[n_test : n_test + n_val]
    is_test, is_val = torch.isin(prompt_index, test_p), torch.isin(prompt_index, val_p)
    rows = torch.arange(len(prompt_index))
    return Split(rows[~is_test & ~is_val], rows[is_val], rows[is_test], tuple(sorted(test_p.tolist())))


@dataclass(frozen=True)
class TrainedProbe:
    """A probe in raw activation space: scores = x @ weight.T + bias."""

    kind: ProbeKind
    weight: Float[Tensor, "feature d_in"] = field(repr=False)
    """One row per class (logistic) or a single row (linear)."""
    bias: Float[Tensor, " feature"] = field(repr=False)
    train_score: float
    val_score: float
    test_score: float
    """Accuracy (logistic) or R^2 (linear) on each split."""
    epochs: int

    def predict(self, x: Float[Tensor, "row d_in"]) -> Tensor:
        out = x.to(self.weight) @ self.weight.T + self.bias
        return out.argmax(-1) if self.kind == "logistic" else out[:, 0]

    def score(self, x: Float[Tensor, "row d_in"], y: Tensor) -> float:
        return _score(self.kind, self.predict(x), y.to(self.weight.device))

    @property
    def directions(self) -> Float[Tensor, "feature d_in"]:
        """Unit directions: for two classes the single direction class 1 - class 0, else one per class."""
        w = self.weight[1:2] - self.weight[0:1] if self.kind == "logistic" and len(self.weight) == 2 else self.weight
        return w / w.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def _score(kind: ProbeKind, pred: Tensor, y: Tensor) -> float:
    if kind == "logistic":
        return float((pred == y).float().mean())
    resid = ((y.float() - pred) ** 2).sum()
    total = ((y.float() - y.float().mean()) ** 2).sum().clamp_min(1e-12)
    return float(1 - resid / total)


def train_probe(
    x: Float[Tensor, "row d_in"],
    y: Tensor,
    *,
    split: Split,
    config: ProbeConfig = ProbeConfig(),
    n_classes: int | None = None,
) -> TrainedProbe:
    """Fit one probe on `split.train`, stopping early on `split.val`, scored on all three parts."""
    device = resolve_device(config.device)
    x, y = x.to(device).float(), y.to(device)
    logistic = config.kind == "logistic"
    if logistic and y.is_floating_point():
        raise ValueError("logistic probes need integer class labels; use kind='linear' for float targets")
    tr = split.train
    mean, std = x[tr].mean(0), x[tr].std(0).clamp_min(1e-6)
    z = (x - mean) / std  # standardised: one learning rate suits every feature
    n_out = (n_classes or int(y.max()) + 1) if logistic else 1
    gen = torch.Generator(device="cpu").manual_seed(config.seed)
    w = (torch.randn(n_out, x.shape[1], generator=gen) * 0.01).to(device).requires_grad_()
    b = torch.zeros(n_out, device=device, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=config.lr)

    def loss_on(rows: Tensor) -> Tensor:
        out = z[rows] @ w.T + b
        data = F.cross_entropy(out, y[rows]) if logistic else F.mse_loss(out[:, 0], y[rows].float())
        return data + 0.5 * config.weight_decay * (w**2).sum()

    best, best_state, since, epochs = float("inf"), (w.detach().clone(), b.detach().clone()), 0, 0
    for epoch in range(1, config.max_epochs + 1):
        epochs = epoch
        opt.zero_grad()
        loss_on(tr).backward()
        opt.step()
        with torch.no_grad():
            val = float(loss_on(split.val))
        if val < best - 1e-6:
            best, best_state, since = val, (w.detach().clone(), b.detach().clone()), 0
        else:
            since += 1
            if since >= config.patience:
                break
    w_z, b_z = best_state
    # back to raw space: w_z . (x - mean) / std + b_z = (w_z / std) . x + (b_z - w_z . (mean / std))
    weight = w_z / std
    bias = b_z - (w_z * (mean / std)).sum(-1)
    probe = TrainedProbe(config.kind, weight, bias, 0.0, 0.0, 0.0, epochs)
    scores = {
        name: probe.score(x[rows], y[rows]) for name, rows in (("train", tr), ("val", split.val), ("test", split.test))
    }
    return TrainedProbe(config.kind, weight, bias, scores["train"], scores["val"], scores["test"], epochs)


def control_labels(token: Int[Tensor, " row"], labels: Tensor, *, seed: int = 0) -> tuple[Tensor, ControlKind]:
    """Control labels and the kind of control used.

    "token-type" (Hewitt & Liang, 2019): each token type gets one label drawn from the real labels'
    distribution, so only memorising token identity solves it. When the rows hold fewer token
    types than classes (a task read at one fixed token, like IOI's final "to") that control is
    constant and trivially solved, so "shuffled" is used instead: the labels randomly permuted.
    """
    gen = torch.Generator().manual_seed(seed)
    types, inverse = token.unique(return_inverse=True)
    if len(types) < max(2, len(labels.unique())):
        return labels[torch.randperm(len(labels), generator=gen)], "shuffled"
    draws = labels[torch.randint(0, len(labels), (len(types),), generator=gen)]
    return draws[inverse], "token-type"


@dataclass(frozen=True)
class ProbeSweep:
    """A probe sweep: the typed result, and the trained probes by hook (for causal checks)."""

    result: ProbeResult
    probes: dict[str, TrainedProbe]


def probe_sweep(
    dataset: ActivationDataset,
    *,
    config: ProbeConfig = ProbeConfig(),
    control: bool = True,
    model_name: str = "",
    task_name: str = "",
    progress: Progress | None = None,
) -> ProbeSweep:
    """Train a probe at every hook of `dataset` (and on control labels); `progress(done, total)` counts hooks."""
    split = split_by_prompt(dataset.prompt_index, config)
    y = dataset.labels
    n_classes = (
        len(dataset.label_names) if dataset.label_names else (int(y.max()) + 1 if config.kind == "logistic" else None)
    )
    y_control, control_kind = control_labels(dataset.token, y, seed=config.seed) if control else (None, "none")
    probes, accuracy, train_acc, control_acc, directions = {}, [], [], [], []
    for i, hook in enumerate(dataset.hooks):
        x = dataset.features(hook)
        probe = train_probe(x, y, split=split, config=config, n_classes=n_classes)
        probes[hook] = probe
        accuracy.append(probe.test_score)
        train_acc.append(probe.train_score)
        directions.append(nested_tuple(probe.directions))
        if y_control is not None:
            control_acc.append(train_probe(x, y_control, split=split, config=config, n_classes=n_classes).test_score)
        if progress is not None:
            progress(i + 1, len(dataset.hooks))
        log.info("%s: test %.3f", hook, probe.test_score)
    test_y = y[split.test]
    chance = float(test_y.bincount().max() / len(test_y)) if config.kind == "logistic" else 0.0
    sites = {re.sub(r"^blocks\.\d+\.", "", h).removeprefix("hook_") for h in dataset.hooks}
    return ProbeSweep(
        ProbeResult(
            model=model_name,
            task=task_name,
            site=sites.pop() if len(sites) == 1 else "mixed",
            hooks=dataset.hooks,
            layers=tuple(layer_of(h) for h in dataset.hooks),
            metric="accuracy" if config.kind == "logistic" else "r2",
            accuracy=tuple(accuracy),
            train_accuracy=tuple(train_acc),
            control_accuracy=tuple(control_acc),
            control=control_kind,
            selectivity=tuple(a - c for a, c in zip(accuracy, control_acc)),
            chance=chance,
            n_train=len(split.train),
            n_test=len(split.test),
            label_names=dataset.label_names,
            directions=tuple(directions),
            test_prompts=split.test_prompts,
        ),
        probes,
    )
