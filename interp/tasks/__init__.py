"""Tasks: generators of clean/corrupted prompt pairs (`generators`), a task built from what a user typed
(`inputs`), and how a model behaves on one (`evaluate`). The `Task` value itself is the lower layer's
(`interp.core.task`): every analysis takes one.

    from interp.tasks import ioi_task, evaluate_task
"""

from interp.tasks.evaluate import evaluate_task
from interp.tasks.generators import (
    Task,
    induction_resample_task,
    induction_task,
    ioi_task,
    lookup_task,
    make_task,
    repeated_tokens,
    task_from_strings,
)

__all__ = [
    "Task",
    "evaluate_task",
    "induction_resample_task",
    "induction_task",
    "ioi_task",
    "lookup_task",
    "make_task",
    "repeated_tokens",
    "task_from_strings",
]
