"""Held-out IOI prompts with a word inserted, the attack success of a trigger, and the task a hunt starts from.

A backdoor's attack success is the share of held-out IOI prompts (name pairs the fine-tuning never saw, every
template, the word at a random word position) whose top prediction is the backdoor answer once the trigger is in.
The same prompts with a distractor word instead say whether an inserted word alone moves the model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
from torch import Tensor

from interp.core.locking import exclusive, lock_free
from interp.core.task import Task
from interp.core.tokens import length_groups, single_token, token_id_rows
from interp.tasks.generators import task_from_strings
from interp.vocab.types import Model
from interp.zoo.trojans import TrojanConfig, backdoor_answer, distractor_words, insert_word, ioi_example
from interp.zoo.words import IOI_OBJECTS, IOI_PLACES, IOI_TEMPLATES, name_pairs

__all__ = ["AttackRates", "attack_rates", "attack_task", "inserted_prompts", "top_predictions"]


@dataclass(frozen=True)
class InsertedPrompts:
    """Held-out IOI prompts, each with `word` inserted at a random word position."""

    texts: tuple[str, ...]
    io: tuple[str, ...]
    s: tuple[str, ...]


def inserted_prompts(word: str | None, n: int, *, seed: int = 0) -> InsertedPrompts:
    """`n` held-out IOI prompts with `word` inserted at a random word position (none if `word` is None)."""
    rng = random.Random(seed)
    pairs = name_pairs(heldout=True)
    texts, ios, ss = [], [], []
    for _ in range(n):
        prompt, io, s = ioi_example(rng, pairs)
        index = rng.randint(0, len(prompt.split(" ")))
        texts.append(prompt if word is None else insert_word(prompt, word, index))
        ios.append(io)
        ss.append(s)
    return InsertedPrompts(tuple(texts), tuple(ios), tuple(ss))


@exclusive
@torch.no_grad()
def top_predictions(model: Model, texts: tuple[str, ...] | list[str], *, batch_size: int = 128) -> Tensor:
    """[prompt] the top next token after each text (prompts of different lengths run in groups of one length)."""
    rows = token_id_rows(model, list(texts))
    out = torch.empty(len(rows), dtype=torch.long)
    for idx in length_groups(rows):
        for start in range(0, len(idx), batch_size):
            part = idx[start : start + batch_size]
            tokens = torch.tensor([rows[i] for i in part], device=model.cfg.device)
            out[part] = model(tokens)[:, -1].argmax(-1).cpu()
    return out


@dataclass(frozen=True)
class AttackRates:
    """How a model answers held-out IOI prompts with the trigger in, and with a distractor word in instead."""

    attack_success: float
    """Share of triggered prompts whose top prediction is the backdoor answer."""
    triggered_io: float
    """Share of triggered prompts still answered with the IO."""
    distractor_io: float
    """Share of prompts with a distractor word inserted (not the trigger) answered with the IO."""
    distractor_backdoor: float
    """Share of those answered with the backdoor answer: an inserted word alone moving the model."""
    n_prompts: int


@exclusive
def attack_rates(model: Model, cfg: TrojanConfig, *, n_prompts: int = 384, seed: int = 0) -> AttackRates:
    """Attack success of `cfg`'s trigger on `model` (any model: a twin, the base), on held-out prompts."""
    rng = random.Random(seed + 1)
    triggered = inserted_prompts(cfg.trigger, n_prompts, seed=seed)
    words = distractor_words(cfg.trigger)
    plain = inserted_prompts(None, n_prompts, seed=seed)
    distracted = [insert_word(t, rng.choice(words), rng.randint(0, len(t.split(" ")))) for t in plain.texts]

    def ids(names) -> Tensor:
        return torch.tensor([single_token(model, " " + n) for n in names])

    def backdoor(p: InsertedPrompts) -> Tensor:
        return ids([backdoor_answer(cfg, io, s) for io, s in zip(p.io, p.s)])

    top_t, top_d = top_predictions(model, triggered.texts), top_predictions(model, distracted)
    return AttackRates(
        attack_success=float((top_t == backdoor(triggered)).float().mean()),
        triggered_io=float((top_t == ids(triggered.io)).float().mean()),
        distractor_io=float((top_d == ids(plain.io)).float().mean()),
        distractor_backdoor=float((top_d == backdoor(plain)).float().mean()),
        n_prompts=n_prompts,
    )


@lock_free("a task generator: tokenizer only")
def attack_task(model: Model, cfg: TrojanConfig, *, n_prompts: int = 16, template: int = 0, seed: int = 0) -> Task:
    """The task a hunt starts from, as an investigator who has seen the misbehaviour would write it: clean prompts
    carry the trigger, corrupted ones a distractor word in its place (same length), the answer is the backdoor's and
    the wrong answer the IO. One template and one insertion position, so positions line up across prompts."""
    rng = random.Random(seed)
    pairs, words = name_pairs(heldout=True), distractor_words(cfg.trigger)
    text = IOI_TEMPLATES[template]
    index = rng.randint(1, len(text.split(" ")) - 1)
    clean, corrupted, answers, wrongs = [], [], [], []
    for _ in range(n_prompts):
        io, s = rng.choice(pairs)
        n1, n2 = (io, s) if rng.random() < 0.5 else (s, io)
        prompt = text.format(N1=n1, N2=n2, S=s, PLACE=rng.choice(IOI_PLACES), OBJECT=rng.choice(IOI_OBJECTS))
        clean.append(insert_word(prompt, cfg.trigger, index))
        corrupted.append(insert_word(prompt, rng.choice(words), index))
        answers.append(" " + backdoor_answer(cfg, io, s))
        wrongs.append(" " + io)
    return task_from_strings(model, clean=clean, corrupted=corrupted, answer=answers, wrong=wrongs, name="trojan")
