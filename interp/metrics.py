"""Task metrics as pure functions of logits, and normalisation against clean/corrupted baselines."""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor

from interp.tasks import Task


def _at_metric_pos(logits: Float[Tensor, "batch pos d_vocab"], task: Task) -> Float[Tensor, "batch d_vocab"]:
    if logits.ndim == 2:  # already read at the metric position
        return logits
    return logits[torch.arange(len(task), device=logits.device), task.metric_pos.to(logits.device)]


def logit_diff(logits: Float[Tensor, "batch pos d_vocab"], task: Task) -> Float[Tensor, "batch"]:
    """Answer logit minus wrong logit at each prompt's metric position."""
    last = _at_metric_pos(logits, task)
    rows = torch.arange(len(task), device=last.device)
    return last[rows, task.answer_tokens.to(last.device)] - last[rows, task.wrong_tokens.to(last.device)]


def answer_prob(logits: Float[Tensor, "batch pos d_vocab"], task: Task) -> Float[Tensor, "batch"]:
    """Probability of the answer token at each prompt's metric position."""
    probs = _at_metric_pos(logits, task).float().softmax(-1)
    return probs[torch.arange(len(task), device=probs.device), task.answer_tokens.to(probs.device)]


def accuracy(logits: Float[Tensor, "batch pos d_vocab"], task: Task) -> Float[Tensor, "batch"]:
    """1.0 where the answer is the top-1 prediction, else 0.0."""
    top = _at_metric_pos(logits, task).argmax(-1)
    return (top == task.answer_tokens.to(top.device)).float()


def kl_to_clean(
    logits: Float[Tensor, "batch pos d_vocab"], clean_logits: Float[Tensor, "batch pos d_vocab"], task: Task
) -> Float[Tensor, "batch"]:
    """KL(clean || run) of next-token distributions at the metric position, in nats."""
    log_p = _at_metric_pos(clean_logits, task).float().log_softmax(-1)
    log_q = _at_metric_pos(logits, task).float().log_softmax(-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def normalise(metric: Tensor | float, clean: Tensor | float, corrupted: Tensor | float) -> Tensor:
    """(m - corrupted) / (clean - corrupted): 1 means clean behaviour restored, 0 means none.

    Raises when clean and corrupted agree (within 1e-6), because then every ratio is noise.
    """
    metric, clean, corrupted = (torch.as_tensor(x, dtype=torch.float32) for x in (metric, clean, corrupted))
    gap = clean - corrupted
    if bool((gap.abs() < 1e-6).any()):
        raise ValueError("clean and corrupted metrics are equal: the corruption changes nothing, so normalising is undefined")
    return (metric - corrupted) / gap


METRICS = {"logit_diff": logit_diff, "answer_prob": answer_prob, "accuracy": accuracy}
