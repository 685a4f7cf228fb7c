"""Shapes: every jaxtyping annotation speaks one vocabulary of dimension names, and the suite checks them
at run time (conftest.py installs the checker), so a wrong shape fails here rather than deep in a model."""

import ast
import re
from pathlib import Path

import pytest
import torch

from interp.vocab.types import DIMENSIONS

ROOT = Path(__file__).resolve().parents[1]
ARRAY_TYPES = {"Float", "Int", "Bool", "Shaped"}


def _shapes() -> list[tuple[str, str]]:
    found = []
    for path in [*(ROOT / "interp").rglob("*.py"), *(ROOT / "sae").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) in ARRAY_TYPES:
                dims = node.slice.elts[1] if isinstance(node.slice, ast.Tuple) else None
                if isinstance(dims, ast.Constant):
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", dims.value))
    return found


def test_annotations_use_the_dimension_vocabulary():
    shapes = _shapes()
    assert len(shapes) > 50  # the scan found the annotations
    offenders = []
    for where, spec in shapes:
        for dim in spec.split():
            names = re.findall(r"[A-Za-z_]\w*", dim.lstrip("*#_"))
            if any(n not in DIMENSIONS for n in names):
                offenders.append(f"{where}: {dim!r} in {spec!r}")
    assert not offenders, offenders


def test_a_wrong_shape_fails_at_the_call(lang_model):
    from jaxtyping import TypeCheckError

    from interp.core.metrics import at_metric_pos, logit_diff
    from interp.tasks.generators import ioi_task

    task = ioi_task(lang_model, n_prompts=4)
    logits = lang_model(task.clean_tokens)
    with pytest.raises(TypeCheckError, match="batch d_vocab"):
        logit_diff(logits, task)  # [batch, pos, d_vocab] where the logits at the metric position belong
    with pytest.raises(TypeCheckError):
        at_metric_pos(logits[0], task)  # one prompt's logits: the batch axis is missing
    assert logit_diff(at_metric_pos(logits, task), task).shape == (4,)


def test_a_task_with_mismatched_tensors_is_refused():
    from jaxtyping import TypeCheckError

    from interp.core.task import Task

    tokens = torch.zeros(3, 5, dtype=torch.long)
    labels = (("a",) * 5,) * 3
    with pytest.raises(TypeCheckError, match="batch"):
        Task(
            "t",
            tokens,
            tokens,
            torch.zeros(2, dtype=torch.long),
            torch.zeros(3, dtype=torch.long),
            torch.zeros(3, dtype=torch.long),
            labels,
            labels,
        )
