"""What a model knows, and what an edit changed: efficacy, generalisation, specificity and fluency, before and after.

Scored on each prompt's top next token against the first token of the expected answer (CounterFact's "efficacy
score" compares probabilities; top-1 is the stricter reading the issue asks for). Specificity counts a neighbour or
an unrelated prompt as kept when its top prediction is the same token after the edit as before, right or wrong.
Fluency: greedy free generation from each edit prompt before and after, each scored by the unedited model's
perplexity (a broken edit shows as text the unedited model finds unlikely).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from interp.core.locking import exclusive
from interp.core.tokens import length_groups, readable, token_ids
from interp.core.weight_edits import low_rank_added
from interp.editing.facts import Fact, answer_ids
from interp.generation.generate import generate
from interp.generation.scoring import perplexity
from interp.loading.spec import defaults_for
from interp.results import EditEvaluation, FactRecall, FactScore, KnowledgeEdit
from interp.vocab.types import Model

__all__ = ["UNRELATED", "evaluate_edit", "recall_facts"]

UNRELATED = (
    "The chemical symbol for water is",
    "Two plus two equals",
    "The opposite of hot is",
    "The first month of the year is",
    "A group of lions is called a",
    "The color of the sky on a clear day is",
)
"""Prompts no fact of the bundled set touches: an edit must leave their answers alone."""


def _next(model: Model, prompts: Sequence[str]) -> torch.Tensor:
    """Next-token probabilities [prompt, d_vocab] of each prompt; prompts of one token length run as one batch (no
    padding to reason about; one by one, the 38 bundled facts took 4.9 s on SmolLM2, in batches 1.2 s)."""
    rows = [token_ids(model, p, prepend_bos=model.cfg.default_prepend_bos) for p in prompts]
    out = torch.empty(len(rows), model.cfg.d_vocab)
    with torch.no_grad():
        for idx in length_groups(rows):
            logits = model(torch.tensor([rows[i] for i in idx], device=model.cfg.device))[:, -1]
            out[idx] = logits.float().softmax(-1).cpu()
    return out


@exclusive
def recall_facts(model: Model, facts: Sequence[Fact]) -> FactRecall:
    """Whether the model's top next token after each fact's prompt is its target's first token."""
    if not facts:
        raise ValueError("no facts to check: give at least one")
    probs = _next(model, [f.prompt for f in facts])
    first = [answer_ids(model, f.prompt, f.target)[0] for f in facts]
    top = probs.argmax(-1)
    return FactRecall(
        model=model.cfg.model_name,
        subjects=tuple(f.subject for f in facts),
        prompts=tuple(f.prompt for f in facts),
        targets=tuple(f.target for f in facts),
        predicted=tuple(model.tokenizer.decode([int(t)]) for t in top),
        target_probs=tuple(float(probs[i, a]) for i, a in enumerate(first)),
        known=tuple(bool(int(top[i]) == a) for i, a in enumerate(first)),
    )


@exclusive
def evaluate_edit(
    model: Model,
    edit: KnowledgeEdit,
    facts: Sequence[Fact],
    *,
    neighbours: Sequence[Fact] = (),
    unrelated: Sequence[str] | None = None,
    max_new_tokens: int = 24,
) -> EditEvaluation:
    """Score `edit` (made on this model for `facts`, each carrying its new target) on the facts' prompts and
    paraphrases, on `neighbours` (other facts whose answers must stay) and `unrelated` prompts, and on free generation
    about each subject. `unrelated` None: the UNRELATED prompts the model's tokenizer can read, else its default
    prompt."""
    if unrelated is None:
        unrelated = readable(model, UNRELATED) or [defaults_for(model).prompt]
    if edit.model != model.cfg.model_name:
        raise ValueError(f"the edit was made on {edit.model}, not on {model.cfg.model_name}")
    start = time.perf_counter()
    asks = [(f.prompt, "edit", f) for f in facts] + [(p, "paraphrase", f) for f in facts for p in f.paraphrases]
    kept = [(n.prompt, "neighbour", n) for n in neighbours] + [(p, "unrelated", None) for p in unrelated]
    prompts = [p for p, _, _ in asks + kept]
    about = [f.prompt for f in facts]
    before = _next(model, prompts)
    plain = generate(model, about, max_new_tokens=max_new_tokens)
    with low_rank_added(model, edit.layers, edit.left, edit.right):
        after = _next(model, prompts)
        changed = generate(model, about, max_new_tokens=max_new_tokens)
    scores = []
    for i, (prompt, kind, fact) in enumerate(asks + kept):
        b_top, a_top = int(before[i].argmax()), int(after[i].argmax())
        expected_id = answer_ids(model, prompt, fact.target)[0] if kind in ("edit", "paraphrase") else b_top
        expected = fact.target if kind in ("edit", "paraphrase") else model.tokenizer.decode([b_top])
        scores.append(
            FactScore(
                prompt=prompt,
                kind=kind,
                expected=expected,
                before_top=model.tokenizer.decode([b_top]),
                after_top=model.tokenizer.decode([a_top]),
                before_prob=float(before[i, expected_id]),
                after_prob=float(after[i, expected_id]),
                success=a_top == expected_id,
            )
        )

    def share(*kinds: str) -> float:
        picked = [s.success for s in scores if s.kind in kinds]
        return sum(picked) / len(picked) if picked else float("nan")

    return EditEvaluation(
        model=model.cfg.model_name,
        edits=tuple(f"{f.subject}: {f.prompt} -> {f.target}" for f in facts),
        layers=edit.layers,
        method=edit.method,
        scores=tuple(scores),
        efficacy=share("edit"),
        generalisation=share("paraphrase"),
        specificity=share("neighbour", "unrelated"),
        fluency_before=perplexity(model, plain.prompt_tokens, plain.new_tokens),
        fluency_after=perplexity(model, changed.prompt_tokens, changed.new_tokens),
        generations_before=plain.texts,
        generations_after=changed.texts,
        seconds=time.perf_counter() - start,
    )
