"""Results of linear probing: a probe per layer against a control, and the causal check of a direction."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from interp.results.io import Floats, Floats2, Floats3, nested_tuple
from interp.vocab.choices import ControlKind, EditMode

__all__ = ["CausalCheck", "ProbeExperiment", "ProbeResult"]


@dataclass(frozen=True)
class ProbeResult:
    """A probe per layer at one site: test accuracy (or R^2) against a control task."""

    model: str
    task: str
    site: str
    """Site kind probed, e.g. "resid_post"."""
    hooks: tuple[str, ...]
    layers: tuple[int, ...]
    metric: str
    """"accuracy" (logistic probes) or "r2" (linear regression probes)."""
    accuracy: Floats
    """Held-out test score per layer."""
    train_accuracy: Floats
    control_accuracy: Floats
    """The same probe trained on control labels (see `control`)."""
    control: ControlKind
    """"token-type" (Hewitt & Liang: a random label per token type), "shuffled" (permuted labels,
    used when the probed rows hold too few token types) or "none"."""
    selectivity: Floats
    """accuracy - control_accuracy per layer."""
    chance: float
    """Majority-class rate on the test rows (0 for regression)."""
    n_train: int
    n_test: int
    label_names: tuple[str, ...] | None
    directions: Floats3
    """layer x direction x d_model unit vectors (one direction for two classes, else one per class)."""
    test_prompts: tuple[int, ...]
    """Prompt indices held out for testing (the causal check runs on these)."""

    def direction_cosines(self) -> Floats2:
        """layer x layer cosine of the probe directions (mean over classes when there are several)."""
        d = torch.tensor(self.directions)  # layer direction d_model
        return nested_tuple(torch.einsum("ird,jrd->ij", d, d) / d.shape[1])


@dataclass(frozen=True)
class CausalCheck:
    """What happens to the task and to the probed property when a probe direction is ablated or added."""

    model: str
    task: str
    hook: str
    mode: EditMode
    """"ablate" (project the directions out) or "steer" (add alpha * direction)."""
    alpha: float
    """Steering strength in units of the mean activation norm at the probed positions."""
    intervention: str
    """The intervention along the probe's directions, as run (interp.core.interventions)."""
    metric_name: str
    metric_clean: float
    """Task metric without intervention, on the probe's test prompts."""
    metric_intervened: float
    metric_random: float
    """The same intervention along random directions of the same count (the baseline)."""
    downstream_hook: str | None
    """Where the probed property is read again (a later layer's probe), if anywhere."""
    downstream_accuracy_clean: float | None
    downstream_accuracy_intervened: float | None
    verdict: str
    """"changes the output" or "decodes but does not change the output"."""

    @property
    def effect(self) -> float:
        return self.metric_intervened - self.metric_clean

    @property
    def random_effect(self) -> float:
        return self.metric_random - self.metric_clean


@dataclass(frozen=True)
class ProbeExperiment:
    """A probing experiment: the probe sweep over layers and the causal check at the chosen layer."""

    probes: ProbeResult
    causal_check: CausalCheck
