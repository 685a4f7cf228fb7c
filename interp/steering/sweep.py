"""Steering evaluated as a reviewer would: how strongly generations express the concept, how fluent they stay, and
the same numbers for no intervention and for simply asking (AxBench found prompting beats most steering methods, so
every sweep carries that baseline).

- Concept score: a lexicon of the concept's word stems (interp/zoo/editing/concepts.json). A generation expresses the
  concept when it holds one of them; the score is the share that do, and the rate is concept words per 100 words.
  A lexicon is crude but offline, transparent and checkable: tests/test_steering_vectors.py scores it against the
  concept file's labelled texts. A probe or an SAE latent read on the text would share the model's own blind spots.
- Fluency: the perplexity of each generation under the unsteered model, given the plain prompt (so a prompted or a
  steered text is judged by what the model alone finds likely), and the share of word 3-grams that repeat.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from interp.core.locking import exclusive
from interp.core.tokens import readable
from interp.generation.generate import generate
from interp.generation.scoring import perplexity
from interp.loading.spec import defaults_for
from interp.results import Generation, SteeringEvaluation, SteeringRow, SteeringVector
from interp.steering.vectors import steer_hooks
from interp.vocab.types import Model, Progress

__all__ = [
    "CONCEPTS_FILE",
    "PROMPTS",
    "STRENGTHS",
    "Concept",
    "concept",
    "concept_hits",
    "concept_names",
    "evaluate_steering",
]

CONCEPTS_FILE = Path(__file__).resolve().parents[1] / "zoo" / "editing" / "concepts.json"
STRENGTHS = (0.25, 0.5, 1.0, 2.0)
"""Default sweep, in units of the typical activation norm at the vector's hook."""
PROMPTS = (
    "Tell me about your weekend.",
    "Write two sentences about your day.",
    "What should I do this evening?",
    "Describe a place you like.",
    "Tell me a short story.",
    "What did you think of the news today?",
)
"""Default open prompts to steer from: they ask for free text and name no topic."""


@dataclass(frozen=True)
class Concept:
    name: str
    topic: str
    """The prompting baseline asks: "Talk about {topic}."."""
    stems: tuple[str, ...]
    words: tuple[str, ...]
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    labelled: tuple[tuple[str, int], ...]


@cache
def _concepts() -> dict[str, Concept]:
    data = json.loads(CONCEPTS_FILE.read_text())["concepts"]
    return {
        name: Concept(
            name,
            c["topic"],
            tuple(c["stems"]),
            tuple(c["words"]),
            tuple(c["positive"]),
            tuple(c["negative"]),
            tuple((t, int(y)) for t, y in c["labelled"]),
        )
        for name, c in data.items()
    }


def concept_names() -> tuple[str, ...]:
    return tuple(_concepts())


def concept(name: str) -> Concept:
    """A concept of the concept file, by name."""
    found = _concepts().get(name)
    if found is None:
        raise ValueError(f"unknown concept {name!r}; known: {', '.join(map(repr, concept_names()))}")
    return found


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def concept_hits(text: str, c: Concept) -> int:
    """How many of the text's words belong to the concept."""
    return sum(1 for w in _words(text) if w in c.words or any(w.startswith(s) for s in c.stems))


def _repetition(text: str) -> float:
    words = _words(text)
    grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def _row(model: Model, label: str, strength: float, gen: Generation, plain: Generation, c: Concept) -> SteeringRow:
    hits = [concept_hits(t, c) for t in gen.texts]
    n_words = sum(len(_words(t)) for t in gen.texts)
    return SteeringRow(
        label=label,
        strength=strength,
        concept_score=sum(h > 0 for h in hits) / len(hits),
        concept_rate=100 * sum(hits) / max(n_words, 1),
        # the end token a generation stopped at is the model's, not text: left out of the score
        perplexity=perplexity(
            model,
            plain.prompt_tokens,
            [ids[:-1] if why == "eos" else ids for ids, why in zip(gen.new_tokens, gen.stopped_by)],
        ),
        repetition=sum(_repetition(t) for t in gen.texts) / len(gen.texts),
        samples=gen.texts,
    )


@exclusive
def evaluate_steering(
    model: Model,
    vector: SteeringVector,
    *,
    concept_name: str,
    prompts: Sequence[str] | None = None,
    strengths: Sequence[float] = STRENGTHS,
    max_new_tokens: int = 32,
    chat: bool | None = None,
    progress: Progress | None = None,
) -> SteeringEvaluation:
    """Generate greedily from `prompts` with no intervention, with the prompting baseline ("{prompt}\\n\\nTalk about
    {topic}."), and with the vector at each strength; score each set (see the module's docstring). `chat` (default:
    whether the model has a chat template) wraps every prompt as a user turn. `prompts` None: PROMPTS, or the model's
    default prompt where its vocabulary cannot read them."""
    c = concept(concept_name)
    if prompts is None:  # a zoo model's word vocabulary reads none of PROMPTS: its own default prompt then
        prompts = readable(model, PROMPTS) or [defaults_for(model).prompt]
    if not prompts:
        raise ValueError("no prompts to steer: give at least one")
    for s in strengths:
        if not math.isfinite(s):
            raise ValueError(f"strength {s} is not a finite number")
    chat = bool(getattr(model.tokenizer, "chat_template", None)) if chat is None else chat
    start, total = time.perf_counter(), 2 + len(strengths)
    plain = generate(model, prompts, max_new_tokens=max_new_tokens, chat=chat)
    rows = [_row(model, "none", 0.0, plain, plain, c)]
    instruction = f"Talk about {c.topic}."
    asked = [f"{p}\n\n{instruction}" if chat else f"{instruction} {p}" for p in prompts]
    try:
        prompted = generate(model, asked, max_new_tokens=max_new_tokens, chat=chat)
        rows.append(_row(model, "prompting", 0.0, prompted, plain, c))
        baseline = instruction
    except ValueError as err:  # a zoo model's word vocabulary cannot write the instruction
        baseline = f"none: the model cannot read {instruction!r} ({err})"
    if progress:
        progress(2, total)
    for k, s in enumerate(strengths):
        steered = generate(
            model, prompts, max_new_tokens=max_new_tokens, chat=chat, interventions=steer_hooks(model, vector, s)
        )
        rows.append(_row(model, f"steer {s:g}", float(s), steered, plain, c))
        if progress:
            progress(3 + k, total)
    return SteeringEvaluation(
        model=model.cfg.model_name,
        concept=c.name,
        hook=vector.hook,
        method=vector.method,
        prompts=tuple(prompts),
        rows=tuple(rows),
        baseline=baseline,
        max_new_tokens=max_new_tokens,
        seconds=time.perf_counter() - start,
    )
