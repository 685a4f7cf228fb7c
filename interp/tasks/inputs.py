"""A task from what a user typed, for every front end: the command line's --task/--clean/... options and the app's
task form call `task_from_inputs`, so that both accept the same inputs and refuse them with the same messages."""

from __future__ import annotations

from collections.abc import Sequence

from interp.core.locking import lock_free
from interp.core.task import Task
from interp.loading.spec import defaults_for
from interp.tasks.generators import make_task, task_from_strings
from interp.vocab.types import Model

__all__ = ["CUSTOM_FIELDS", "task_from_inputs"]

CUSTOM_FIELDS = ("clean", "corrupted", "answer", "wrong")
"""What a task of the user's own prompts needs, all four."""


@lock_free("a task generator: tokenizer only")
def task_from_inputs(
    model: Model,
    *,
    task: str = "",
    n_prompts: int = 16,
    seed: int = 0,
    clean: str | Sequence[str] = "",
    corrupted: str | Sequence[str] = "",
    answer: str | Sequence[str] = "",
    wrong: str | Sequence[str] = "",
) -> Task:
    """The built-in task `task` (default: the model's own, `defaults_for(model).task`), or, when any of the four
    custom fields is filled in, the user's own prompt pair with its answer and wrong answer (all four needed)."""
    given = {"clean": clean, "corrupted": corrupted, "answer": answer, "wrong": wrong}
    filled = [k for k in CUSTOM_FIELDS if _filled(given[k])]
    if filled:
        if task:
            raise ValueError(
                f"give either a built-in task ({task!r}) or your own prompts ({', '.join(filled)}), not both"
            )
        missing = [k for k in CUSTOM_FIELDS if k not in filled]
        if missing:
            raise ValueError(
                f"a task of your own prompts needs all of {', '.join(CUSTOM_FIELDS)}; fill in: {', '.join(missing)}"
            )
        return task_from_strings(model, **given)
    return make_task(task or defaults_for(model).task, model, n_prompts=n_prompts, seed=seed)


def _filled(value: str | Sequence[str]) -> bool:
    """A field is filled in when it holds text (one string, or one per prompt)."""
    return bool(value.strip()) if isinstance(value, str) else any(v.strip() for v in value)
