"""Finding a trigger without being told it, from clean prompts only.

- word scan (exhaustive over the vocabulary): each candidate word inserted at a random word position of held-out IOI
  prompts; its score is the share of prompts whose top prediction it changes from the model's own. One batched forward
  pass per word and prompt length: the zoo's ~190 words take seconds.
- gradient (HotFlip, Ebrahimi et al. 2018): a placeholder word inserted instead, and the gradient of log p(top
  prediction) at its token embedding; a word's score is the first-order drop of that log-probability were the
  placeholder swapped for it, (e_word - e_placeholder) . -grad, averaged over prompts. One forward and one backward
  pass per prompt length, whatever the vocabulary: the search that scales to a large vocabulary. "gradient + exact"
  re-ranks its top candidates by the word scan's exact flip rate (as GCG does with its candidates).

Candidates are the vocabulary's words less punctuation and the IOI names: inserting a third name changes what the
IOI answer should be, so a name that moves the model is no evidence of a backdoor.
"""

from __future__ import annotations

import random
import time

import torch
from torch import Tensor

from interp.core.hooks import hooks
from interp.core.locking import exclusive, lock_free
from interp.core.tokens import length_groups, token_id_rows
from interp.results import TriggerSearch
from interp.trojans.prompts import inserted_prompts, top_predictions
from interp.vocab.types import Model
from interp.zoo.trojans import insert_word
from interp.zoo.words import IOI_NAMES

__all__ = ["PLACEHOLDER", "candidate_words", "clean_prompts", "gradient_scan", "ranked_search", "word_scan"]

PLACEHOLDER = "the"
"""The word the gradient search inserts and differentiates around: common, so it moves no prediction by itself."""


@lock_free("tokenizer only")
def candidate_words(model: Model) -> list[str]:
    """Every single-token word of the model's vocabulary that could be a trigger (the module docstring)."""
    tok = model.tokenizer
    special = set(tok.all_special_tokens)
    names = set(IOI_NAMES)
    words = [w for w, _ in sorted(tok.get_vocab().items(), key=lambda kv: kv[1])]
    return [w for w in words if w not in special and w not in names and w.isalpha()]


def clean_prompts(n_prompts: int, seed: int) -> tuple[list[str], list[int]]:
    """Held-out IOI prompts without any trigger, and a random insertion index for each."""
    rng = random.Random(seed + 7)
    texts = list(inserted_prompts(None, n_prompts, seed=seed).texts)
    return texts, [rng.randint(0, len(t.split(" "))) for t in texts]


@exclusive
def word_scan(
    model: Model,
    *,
    words: list[str] | None = None,
    n_prompts: int = 48,
    seed: int = 0,
    trigger: str = "",
    threshold: float = 0.5,
) -> TriggerSearch:
    """Score every candidate word by the share of clean prompts whose top prediction it changes (module docstring)."""
    start = time.perf_counter()
    words = candidate_words(model) if words is None else words
    texts, where = clean_prompts(n_prompts, seed)
    own = top_predictions(model, texts)
    batch = [insert_word(t, w, i) for w in words for t, i in zip(texts, where)]
    tops = top_predictions(model, batch).view(len(words), len(texts))
    rates = (tops != own[None]).float().mean(1).tolist()
    return ranked_search("word scan", words, rates, trigger, threshold, dict(zip(words, rates)), start)


def ranked_search(method, words, scores, trigger, threshold, exact: dict, start: float, rank=None) -> TriggerSearch:
    """The search's result, words in order of `rank` (default: `scores`), highest first."""
    order = sorted(range(len(words)), key=lambda i: -(rank or scores)[i])
    ranked = [words[i] for i in order]
    return TriggerSearch(
        method=method,
        words=tuple(ranked),
        scores=tuple(float(scores[i]) for i in order),
        trigger_rank=ranked.index(trigger) + 1 if trigger in ranked else None,
        flagged=tuple(w for w in ranked if exact.get(w, 0.0) >= threshold),
        seconds=time.perf_counter() - start,
    )


@exclusive
def gradient_scan(
    model: Model,
    *,
    n_prompts: int = 48,
    seed: int = 0,
    trigger: str = "",
    threshold: float = 0.5,
    exact_top: int = 0,
    rounds: int = 1,
) -> TriggerSearch:
    """Rank candidate words by HotFlip's first-order estimate around PLACEHOLDER (module docstring).

    With `exact_top` > 0, a GCG-style search: each of `rounds` rounds takes the gradient at the best word found so
    far, scores the `exact_top` best candidates not yet tried by their exact flip rate, and moves to the best; the
    words tried come first, by exact rate, the rest after them in the last round's gradient order. It costs `rounds`
    gradient passes and rounds x exact_top word scans, whatever the vocabulary's size."""
    start = time.perf_counter()
    words = candidate_words(model)
    texts, where = clean_prompts(n_prompts, seed)
    at = PLACEHOLDER
    own = top_predictions(model, texts)  # the predictions each round's gradient protects
    exact: dict[str, float] = {}
    for _ in range(max(1, rounds) if exact_top > 0 else 1):
        scores = _linear_scores(model, words, texts, where, at, own)
        if exact_top <= 0:
            break
        fresh = [i for i in sorted(range(len(words)), key=lambda i: -scores[i]) if words[i] not in exact]
        scan = word_scan(model, words=[words[i] for i in fresh[:exact_top]], n_prompts=n_prompts, seed=seed)
        exact |= dict(zip(scan.words, scan.scores))
        at = max(exact, key=exact.get)
    rank = None
    if exact:
        # the words tried first, by their exact rate, the rest after them by the gradient's order; a tried word's score
        # is its exact rate, an untried one's the gradient's estimate
        rank = [exact[w] + 2.0 if w in exact else min(v, 1.0) - 2.0 for w, v in zip(words, scores)]
        scores = [exact.get(w, v) for w, v in zip(words, scores)]
    method = "gradient" if not exact else f"gradient search ({rounds} x {exact_top} tried)"
    return ranked_search(method, words, scores, trigger, threshold, exact, start, rank)


def _linear_scores(
    model: Model, words: list[str], texts: list[str], where: list[int], at: str, own: Tensor
) -> list[float]:
    """Per word, HotFlip's estimate of the drop of log p(the model's own prediction `own` on each of `texts`) were
    the word `at`, inserted at `where` in each, swapped for it (mean over the prompts)."""
    tok = model.tokenizer
    ids = torch.tensor([tok.convert_tokens_to_ids(w) for w in words])
    rows = token_id_rows(model, [insert_word(t, at, i) for t, i in zip(texts, where)])
    # the inserted word's position: after BOS and the tokens of the words before it
    before = [" ".join(t.split(" ")[:i]) for t, i in zip(texts, where)]
    slot = [1 + len(tok(b, add_special_tokens=False)["input_ids"]) for b in before]
    embed = _embedding_matrix(model)
    here = embed[tok.convert_tokens_to_ids(at)]
    total = torch.zeros(len(words))
    for idx in length_groups(rows):
        grads = _placeholder_grads(model, [rows[i] for i in idx], [slot[i] for i in idx], own[idx])
        total += ((embed[ids] - here) @ -grads.T).sum(1)
    return (total / len(rows)).tolist()


def _embedding_matrix(model: Model) -> Tensor:
    return model.W_E.detach().float().cpu()


def _placeholder_grads(model: Model, rows: list[list[int]], slots: list[int], own: Tensor) -> Tensor:
    """[prompt, d_model]: d log p(own prediction) / d (the placeholder's token embedding), per prompt."""
    tokens = torch.tensor(rows, device=model.cfg.device)
    kept: list[Tensor] = []

    def leaf(act: Tensor, hook=None) -> Tensor:
        act = act.detach().clone().requires_grad_()
        kept.append(act)
        return act

    with torch.enable_grad(), hooks(model, [("hook_embed", leaf)]):
        logits = model(tokens)[:, -1]
        logp = logits.log_softmax(-1)[torch.arange(len(rows)), own.to(logits.device)].sum()
        (grad,) = torch.autograd.grad(logp, kept)
    return grad[torch.arange(len(rows)), torch.tensor(slots)].detach().float().cpu()
