"""Removing what a hunt found: ablate a component, or one direction of its output, and measure the attack success
and the clean accuracy that are left.

- "direction": the component's mean output on the attack task's triggered prompts minus that on the distractor
  prompts, at the metric position, is projected out of the component's output at every position of every run. For
  a head the output is its z (d_head); for an MLP, mlp_out. It removes what the trigger adds there and little else.
- "mean": the component's output replaced, at every position, by its mean over clean held-out prompts.
- "trigger embedding": the embedding of the word a trigger search flagged replaced, wherever it occurs, by the mean
  embedding of the candidate words: what the search found, ablated where it enters the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from interp.core.hooks import hooks, run_with_cache
from interp.core.locking import exclusive, lock_free
from interp.core.sites import hook_name
from interp.core.task import Task
from interp.core.tokens import length_groups, token_id_rows
from interp.results import Removal
from interp.trojans.prompts import attack_rates, inserted_prompts
from interp.vocab.types import Model
from interp.zoo.trojans import TrojanConfig

__all__ = ["REMOVALS", "ablated", "removal", "trigger_removal"]

REMOVALS = ("direction", "mean")


def _site(component: str) -> tuple[str, int | None]:
    """(hook, head index or None) of a component's output."""
    if component.startswith("MLP"):
        return hook_name("mlp_out", int(component[3:])), None
    layer, head = component[1:].split("H")
    return hook_name("z", int(layer)), int(head)


def _output(act: Tensor, head: int | None) -> Tensor:
    return act if head is None else act[:, :, head]


@exclusive
def _direction(model: Model, task: Task, component: str) -> Tensor:
    hook, head = _site(component)
    pos = task.metric_pos
    rows = torch.arange(len(task))
    _, clean = run_with_cache(model, task.clean_tokens, [hook])
    _, other = run_with_cache(model, task.corrupted_tokens, [hook])
    diff = _output(clean[hook], head)[rows, pos] - _output(other[hook], head)[rows, pos]
    d = diff.mean(0)
    return d / d.norm().clamp_min(1e-12)


@exclusive
def _mean(model: Model, component: str, n_prompts: int = 64) -> Tensor:
    hook, head = _site(component)
    rows = token_id_rows(model, list(inserted_prompts(None, n_prompts, seed=11).texts))
    parts = []
    for idx in length_groups(rows):  # prompts of several lengths: every position of every prompt pooled
        _, cache = run_with_cache(model, torch.tensor([rows[i] for i in idx]), [hook])
        parts.append(_output(cache[hook], head).flatten(0, 1))
    return torch.cat(parts).mean(0)


@contextmanager
@lock_free("hooks() holds the lock")
def ablated(model: Model, component: str, how: str, value: Tensor) -> Iterator[Model]:
    """The model with `component`'s output ablated (`how` "direction": `value` a unit direction projected out;
    "mean": `value` written in its place) for the duration of the block."""
    if how not in REMOVALS:
        raise ValueError(f"unknown removal {how!r}; removals: {', '.join(REMOVALS)}")
    hook, head = _site(component)

    def fn(act: Tensor, hook=None) -> Tensor:
        act = act.clone()
        out = _output(act, head)
        v = value.to(act)
        new = out - (out @ v)[..., None] * v if how == "direction" else v.expand_as(out)
        if head is None:
            return new
        act[:, :, head] = new
        return act

    with hooks(model, [(hook, fn)]):
        yield model


@exclusive
def trigger_removal(model: Model, cfg: TrojanConfig, word: str, method: str = "") -> Removal:
    """Attack success and clean IOI accuracy with `word`'s token embedding replaced by the candidates' mean."""
    from interp.training.card import ioi_heldout_accuracy
    from interp.trojans.discover import candidate_words

    tok = model.tokenizer
    embed = model.W_E.detach()
    target = embed[tok.convert_tokens_to_ids(word)]
    mean = embed[[tok.convert_tokens_to_ids(w) for w in candidate_words(model)]].mean(0)

    def fn(act: Tensor, hook=None) -> Tensor:
        hit = (act == target.to(act)).all(-1)  # hook_embed holds W_E[token] itself
        return torch.where(hit[..., None], mean.to(act), act)

    with hooks(model, [("hook_embed", fn)]):
        rates = attack_rates(model, cfg)
        clean = ioi_heldout_accuracy(model).accuracy
    return Removal(method=method, component=f"embedding of '{word}'", how="trigger embedding",
                   attack_success=rates.attack_success, clean_accuracy=clean)  # fmt: skip


@exclusive
def removal(model: Model, cfg: TrojanConfig, task: Task, component: str, how: str, method: str = "") -> Removal:
    """Attack success (held-out, `cfg`'s trigger) and clean IOI accuracy with `component` ablated by `how`."""
    from interp.training.card import ioi_heldout_accuracy

    value = _direction(model, task, component) if how == "direction" else _mean(model, component)
    with ablated(model, component, how, value):
        rates = attack_rates(model, cfg)
        clean = ioi_heldout_accuracy(model).accuracy
    return Removal(method=method, component=component, how=how, attack_success=rates.attack_success,
                   clean_accuracy=clean)  # fmt: skip
