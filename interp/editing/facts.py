"""Facts to trace and edit: (subject, prompt, target), with paraphrases and a source; read from a JSON Lines file
(the bundled set: interp/zoo/editing/facts.jsonl) with every row checked; and where in a prompt the subject sits.

A fact's neighbours are the other facts of its relation (CounterFact's neighbourhood prompts: other subjects, the same
relation): an edit of "The capital of Australia" must leave "The capital of Canada" as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from interp.core.locking import lock_free
from interp.core.tokens import token_ids
from interp.results import parse_json
from interp.vocab.types import Model

__all__ = ["FACTS_FILE", "Fact", "answer_ids", "load_facts", "neighbours", "subject_positions"]

FACTS_FILE = Path(__file__).resolve().parents[1] / "zoo" / "editing" / "facts.jsonl"
REQUIRED = ("subject", "prompt", "target")


@dataclass(frozen=True)
class Fact:
    subject: str
    prompt: str
    """Ends where the target begins; holds the subject."""
    target: str
    """The answer, without its leading space (" " + target is what follows the prompt)."""
    relation: str = ""
    paraphrases: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        for name in REQUIRED:
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"a fact's {name} is empty: give subject, prompt and target as text")
        for prompt in (self.prompt, *self.paraphrases):
            if self.subject not in prompt:
                raise ValueError(f"the subject {self.subject!r} is not in the prompt {prompt!r}")

    def with_target(self, target: str) -> Fact:
        return Fact(self.subject, self.prompt, target, self.relation, self.paraphrases, self.source)


def load_facts(path: str | Path = FACTS_FILE) -> tuple[Fact, ...]:
    """Every row of a JSON Lines fact file: {"subject", "prompt", "target", optional "relation", "paraphrases",
    "source"}. A malformed row is a ValueError naming its line and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no fact file at {path}: give a JSON Lines file, one fact per line")
    facts = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = parse_json(line, f"{path} line {number}", "a fact")
            if not isinstance(row, dict):
                raise ValueError("the line is not a JSON object")
            missing = [k for k in REQUIRED if k not in row]
            if missing:
                raise ValueError(f"it lacks {', '.join(missing)}")
            paraphrases = row.get("paraphrases", [])
            if not isinstance(paraphrases, list) or not all(isinstance(p, str) for p in paraphrases):
                raise ValueError("paraphrases must be a list of prompts")
            facts.append(
                Fact(
                    row["subject"],
                    row["prompt"],
                    row["target"],
                    str(row.get("relation", "")),
                    tuple(paraphrases),
                    str(row.get("source", "")),
                )
            )
        except (ValueError, TypeError, AttributeError) as err:
            raise ValueError(f"{path}, line {number}: {err}") from None
    if not facts:
        raise ValueError(f"{path} holds no facts")
    return tuple(facts)


def neighbours(fact: Fact, facts: Sequence[Fact], *, most: int = 4) -> tuple[Fact, ...]:
    """Up to `most` other facts of the same relation, with another subject and another answer."""
    same = [f for f in facts if f.relation == fact.relation and f.subject != fact.subject and f.target != fact.target]
    return tuple(same[:most])


@lock_free("tokenizer only")
def subject_positions(model: Model, prompt: str, subject: str) -> tuple[int, ...]:
    """The positions (BOS counted, as the model reads the prompt) of the tokens that overlap the subject's first
    occurrence in `prompt`."""
    start = prompt.find(subject)
    if start < 0:
        raise ValueError(f"the subject {subject!r} is not in the prompt {prompt!r}; give a subject the prompt contains")
    end = start + len(subject)
    enc = model.tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
    shift = len(token_ids(model, prompt, prepend_bos=model.cfg.default_prepend_bos)) - len(enc["input_ids"])
    found = tuple(i + shift for i, (a, b) in enumerate(enc["offset_mapping"]) if a < end and b > start)
    if not found:
        raise ValueError(f"no token of {prompt!r} covers the subject {subject!r}")
    return found


@lock_free("tokenizer only")
def answer_ids(model: Model, prompt: str, target: str) -> list[int]:
    """The target's token ids as they follow the prompt (" " + target, unless the prompt ends in a space). A target
    the tokenizer does not give back as written is refused: an edit could not say what it taught."""
    if not target.strip():
        raise ValueError("the target is empty: give the answer as text")
    text = target if prompt.endswith((" ", "\n")) else " " + target
    full = token_ids(model, prompt + text, prepend_bos=False)
    head = token_ids(model, prompt, prepend_bos=False)
    if full[: len(head)] != head or len(full) == len(head):
        ids = token_ids(model, text, prepend_bos=False)
    else:
        ids = full[len(head) :]
    if model.tokenizer.decode(ids).strip() != target.strip():
        raise ValueError(
            f"the target {target!r} does not survive tokenization (it reads back as {model.tokenizer.decode(ids)!r}); "
            "give text the model's tokenizer can write"
        )
    return ids
