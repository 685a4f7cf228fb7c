"""Which heads play which role in two models, side by side: roles, not weights, so any two models compare
(different tokenizers, widths and depths included; SmolLM2 against the zoo).

Roles read from attention on repeated random tokens (interp.observe.heads.head_scores: previous-token,
duplicate-token, induction; each a mean attention weight in [0, 1]) list every head whose score reaches
`threshold`. The "ioi" role lists the heads whose clean output, patched into the corrupted IOI run, restores the
most of the logit difference (attribution patching of each head's output: one forward and one backward pass, so
it stays seconds on SmolLM2's 270 heads; exact patching gives the same ranking at far more cost, README
"Activation patching").
"""

from __future__ import annotations

from collections.abc import Sequence

from interp.core.locking import lock_free
from interp.core.progress import step_counter
from interp.core.task import Task
from interp.observe.heads import SCORE_NAMES, head_scores
from interp.patching.attribution import attribution_patch
from interp.results import RoleComparison, RoleHeads
from interp.tasks.generators import ioi_task
from interp.vocab.types import Model, Progress

__all__ = ["IOI_ROLE", "compare_roles"]

IOI_ROLE = "ioi"
IOI_MARGIN = 1.0
"""A model does the IOI task when its clean logit difference (indirect object minus subject) averages this much."""


def _depth(model: Model, layer: int) -> float:
    return layer / (model.cfg.n_layers - 1) if model.cfg.n_layers > 1 else 0.0


def _role(
    model: Model,
    role: str,
    grid: Sequence[Sequence[float]],
    *,
    threshold: float = float("-inf"),
    top: int | None = None,
) -> RoleHeads:
    """The heads of a [layer][head] score grid in `role`: those scoring `threshold` or more, strongest first, at
    most `top` of them."""
    heads = [(layer, head, v) for layer, row in enumerate(grid) for head, v in enumerate(row) if v >= threshold]
    ranked = sorted(heads, key=lambda x: -x[2])[:top]
    return RoleHeads(
        role=role,
        heads=tuple(f"L{layer}H{head}" for layer, head, _ in ranked),
        scores=tuple(score for _, _, score in ranked),
        depths=tuple(_depth(model, layer) for layer, _, _ in ranked),
    )


def _attention_roles(model: Model, threshold: float, n_prompts: int) -> list[RoleHeads]:
    scores = head_scores(model, n_prompts=n_prompts)
    return [_role(model, name, scores.score(name), threshold=threshold) for name in SCORE_NAMES]


def _ioi_role(model: Model, task: Task, top: int) -> tuple[RoleHeads, str | None]:
    """The `top` heads by patching effect, and a note when the model does not do the task (its heads are noise)."""
    result = attribution_patch(model, task, site="z")
    note = None
    if result.clean < IOI_MARGIN:
        note = (f"{model.cfg.model_name} does not do IOI (it prefers the indirect object by {result.clean:.2f} "
                f"logits on average, under {IOI_MARGIN}): its ioi heads are noise")  # fmt: skip
    return _role(model, IOI_ROLE, result.normalized, top=top), note  # normalized: [layer][head]


@lock_free("head_scores and attribution_patch hold each model's lock for their passes")
def compare_roles(
    model_a: Model,
    model_b: Model,
    *,
    threshold: float = 0.4,
    n_prompts: int = 16,
    ioi_prompts: int = 16,
    ioi_top: int = 5,
    progress: Progress | None = None,
) -> RoleComparison:
    """The heads of each model in each role (module docstring): attention roles at `threshold`, and the `ioi_top`
    heads IOI depends on most when both models have the IOI task's names (otherwise a note says why there is no
    ioi role; a model that has them but does not do the task gets a note too). `progress(done, 4)` counts the two
    models' attention scores and IOI patching."""
    if not 0 < threshold <= 1 or ioi_top < 1:
        raise ValueError(
            f"need 0 < threshold <= 1 (a mean attention weight) and ioi_top >= 1; got {threshold}, {ioi_top}"
        )
    step = step_counter(progress, 4)
    sides = []
    for model in (model_a, model_b):
        sides.append(_attention_roles(model, threshold, n_prompts))
        step()
    roles, notes = list(SCORE_NAMES), []
    try:
        tasks = [ioi_task(model, n_prompts=ioi_prompts) for model in (model_a, model_b)]
    except ValueError as err:  # a model whose vocabulary has no IOI names (interp.tasks.generators says which)
        notes.append(f"no IOI role: {err}")
        for _ in range(2):  # nothing more to do: the count ends
            step()
    else:
        roles.append(IOI_ROLE)
        for side, model, task in zip(sides, (model_a, model_b), tasks):
            role, note = _ioi_role(model, task, ioi_top)
            side.append(role)
            notes += [note] if note else []
            step()
    return RoleComparison(
        model_a=model_a.cfg.model_name,
        model_b=model_b.cfg.model_name,
        roles=tuple(roles),
        a=tuple(sides[0]),
        b=tuple(sides[1]),
        threshold=threshold,
        ioi_top=ioi_top,
        notes=tuple(notes),
    )
