"""How a model behaves on a task: metrics on the clean and corrupted prompts."""

from __future__ import annotations

import torch

from interp.core.locking import exclusive
from interp.core.metrics import accuracy, answer_prob, kl_to_clean, logit_diff
from interp.core.task import Task
from interp.results import TaskMetrics
from interp.vocab.types import Model

__all__ = ["evaluate_task"]


@exclusive
@torch.no_grad()
def evaluate_task(model: Model, task: Task, *, batch_size: int = 64) -> TaskMetrics:
    """Logit difference, accuracy, answer probability and KL on the task's clean and corrupted runs."""
    task = task.to(model.cfg.device)
    clean_last, corrupted_last = [], []
    for start in range(0, len(task), batch_size):
        rows = slice(start, start + batch_size)
        pos = task.metric_pos[rows]
        idx = torch.arange(len(pos), device=pos.device)
        # keep only the metric position's logits: memory stays O(batch * vocab)
        clean_last.append(model(task.clean_tokens[rows])[idx, pos].float())
        corrupted_last.append(model(task.corrupted_tokens[rows])[idx, pos].float())
    clean, corrupted = torch.cat(clean_last), torch.cat(corrupted_last)
    bos = model.tokenizer.bos_token_id
    return TaskMetrics(
        model=str(model.cfg.model_name),
        task=task.name,
        n_prompts=len(task),
        prompts=tuple(model.tokenizer.decode(row[1:] if row[0] == bos else row) for row in task.clean_tokens.tolist()),
        clean_logit_diff=tuple(logit_diff(clean, task).tolist()),
        corrupted_logit_diff=tuple(logit_diff(corrupted, task).tolist()),
        clean_accuracy=float(accuracy(clean, task).mean()),
        corrupted_accuracy=float(accuracy(corrupted, task).mean()),
        clean_answer_prob=float(answer_prob(clean, task).mean()),
        corrupted_answer_prob=float(answer_prob(corrupted, task).mean()),
        kl_corrupted_to_clean=float(kl_to_clean(corrupted, clean).mean()),
    )
