"""How a model behaves on a task: metrics on the clean and corrupted prompts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from interp import metrics
from interp.results import TaskMetrics
from interp.tasks import Task

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge


@torch.no_grad()
def evaluate_task(model: "TransformerBridge", task: Task, *, batch_size: int = 64) -> TaskMetrics:
    """Logit difference, accuracy, answer probability and KL on the task's clean and corrupted runs."""
    task = task.to(model.cfg.device)
    clean_last, bad_last = [], []
    for start in range(0, len(task), batch_size):
        rows = slice(start, start + batch_size)
        pos = task.metric_pos[rows]
        idx = torch.arange(len(pos), device=pos.device)
        # keep only the metric position's logits: memory stays O(batch * vocab)
        clean_last.append(model(task.clean_tokens[rows])[idx, pos].float())
        bad_last.append(model(task.corrupted_tokens[rows])[idx, pos].float())
    clean, bad = torch.cat(clean_last), torch.cat(bad_last)
    mean = lambda t: round(float(t.mean()), 6)  # noqa: E731
    return TaskMetrics(
        model=str(model.cfg.model_name),
        task=task.name,
        n_prompts=len(task),
        prompts=tuple(model.tokenizer.decode(row[1:] if row[0] == model.tokenizer.bos_token_id else row) for row in task.clean_tokens.tolist()),
        clean_logit_diff=tuple(round(float(x), 6) for x in metrics.logit_diff(clean, task)),
        corrupted_logit_diff=tuple(round(float(x), 6) for x in metrics.logit_diff(bad, task)),
        clean_accuracy=mean(metrics.accuracy(clean, task)),
        corrupted_accuracy=mean(metrics.accuracy(bad, task)),
        clean_answer_prob=mean(metrics.answer_prob(clean, task)),
        corrupted_answer_prob=mean(metrics.answer_prob(bad, task)),
        kl_corrupted_to_clean=mean(metrics.kl_to_clean(bad, clean, task)),
    )
