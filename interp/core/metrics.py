"""Task metrics as pure functions of the logits at the metric position, normalisation against the clean
and corrupted baselines, and the answer-minus-wrong direction that direct logit attribution projects on."""

from __future__ import annotations

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.core.locking import lock_free
from interp.core.task import Task
from interp.vocab.choices import MetricName, check_choice
from interp.vocab.types import Model

__all__ = [
    "accuracy",
    "answer_direction",
    "answer_prob",
    "at_metric_pos",
    "kl_to_clean",
    "logit_diff",
    "metric_values",
    "normalise",
    "single_metric_position",
    "unembed_bias_diff",
]


def at_metric_pos(logits: Float[Tensor, "batch pos d_vocab"], task: Task) -> Float[Tensor, "batch d_vocab"]:
    """Each prompt's logits at its metric position."""
    return logits[torch.arange(len(task), device=logits.device), task.metric_pos.to(logits.device)]


def logit_diff(last: Float[Tensor, "batch d_vocab"], task: Task) -> Float[Tensor, " batch"]:
    """Answer logit minus wrong logit, from the logits at the metric position."""
    rows = torch.arange(len(task), device=last.device)
    return last[rows, task.answer_tokens.to(last.device)] - last[rows, task.wrong_tokens.to(last.device)]


def answer_prob(last: Float[Tensor, "batch d_vocab"], task: Task) -> Float[Tensor, " batch"]:
    """Probability of the answer token, from the logits at the metric position."""
    probs = last.float().softmax(-1)
    return probs[torch.arange(len(task), device=probs.device), task.answer_tokens.to(probs.device)]


def accuracy(last: Float[Tensor, "batch d_vocab"], task: Task) -> Float[Tensor, " batch"]:
    """1.0 where the answer is the top-1 prediction at the metric position, else 0.0."""
    top = last.argmax(-1)
    return (top == task.answer_tokens.to(top.device)).float()


def kl_to_clean(
    last: Float[Tensor, "batch d_vocab"], clean_last: Float[Tensor, "batch d_vocab"]
) -> Float[Tensor, " batch"]:
    """KL(clean || run) of the next-token distributions at the metric position, in nats."""
    log_p = clean_last.float().log_softmax(-1)
    log_q = last.float().log_softmax(-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def metric_values(
    name: MetricName,
    last: Float[Tensor, "batch d_vocab"],
    task: Task,
    rows: Int[Tensor, " batch"],
    clean_last: Float[Tensor, "prompt d_vocab"],
) -> Float[Tensor, " batch"]:
    """Per-row metric from logits at the metric position; `rows` says which prompt of `task` each row is,
    `clean_last` holds every prompt's clean logits there (the KL metric's reference)."""
    sub = task.select(rows.tolist())
    if name == "logit_diff":
        return logit_diff(last, sub)
    if name == "answer_prob":
        return answer_prob(last, sub)
    check_choice(name, MetricName, "metric")
    return -kl_to_clean(last, clean_last[rows.to(clean_last.device)])  # negated: higher = more clean-like


def normalise(metric: Tensor | float, clean: Tensor | float, corrupted: Tensor | float) -> Tensor:
    """(m - corrupted) / (clean - corrupted): 1 means clean behaviour restored, 0 means none.

    Raises when clean and corrupted agree (within 1e-6), because then every ratio is noise.
    """
    metric, clean, corrupted = (torch.as_tensor(x, dtype=torch.float32) for x in (metric, clean, corrupted))
    gap = clean - corrupted
    if bool((gap.abs() < 1e-6).any()):
        raise ValueError(
            "clean and corrupted metrics are equal: the corruption changes nothing, so normalising is undefined"
        )
    return (metric - corrupted) / gap


def single_metric_position(task: Task) -> int:
    """The one metric position shared by every prompt (analyses that read one position for the batch)."""
    positions = set(task.metric_pos.tolist())
    if len(positions) != 1:
        raise ValueError(
            f"this analysis reads one position for the whole batch; the task's metric positions are {sorted(positions)}"
        )
    return positions.pop()


@lock_free("unembedding weights")
def answer_direction(model: Model, task: Task) -> Float[Tensor, "batch d_model"]:
    """Per prompt, the unembedding direction of logit(answer) - logit(wrong), on the model's first device (where
    a model placed across devices hands its hooks their activations: interp.core.hooks)."""
    w_u = model.W_U
    answers, wrong = task.answer_tokens.to(w_u.device), task.wrong_tokens.to(w_u.device)
    return (w_u[:, answers] - w_u[:, wrong]).T.to(model.cfg.device)


@lock_free("unembedding weights")
def unembed_bias_diff(model: Model, task: Task) -> float:
    """Mean over prompts of b_U[answer] - b_U[wrong]: the part of the logit difference no component writes."""
    if model.b_U is None:  # models without an unembedding bias
        return 0.0
    b_u = model.b_U  # on a model placed across devices, where the unembedding is
    return float((b_u[task.answer_tokens.to(b_u.device)] - b_u[task.wrong_tokens.to(b_u.device)]).mean())
