"""Typed results with their axis labels, saved and loaded as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def save_json(result: object, path: str | Path) -> Path:
    """Write a result dataclass as indented JSON (tuples become lists)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": type(result).__name__, **asdict(result)}, indent=2) + "\n")
    return path


def load_json(cls: type[T], path: str | Path) -> T:
    """Read a result written by `save_json` back into `cls`."""
    data = json.loads(Path(path).read_text())
    if data.pop("type", cls.__name__) != cls.__name__:
        raise ValueError(f"{path} holds a {data.get('type')}, not a {cls.__name__}")
    names = {f.name for f in fields(cls)}
    return cls(**{k: _tuplify(v) for k, v in data.items() if k in names})


def _tuplify(value):
    return tuple(_tuplify(v) for v in value) if isinstance(value, list) else value


@dataclass(frozen=True)
class TaskMetrics:
    """A model's behaviour on a task's clean and corrupted prompts (the `interp task` result)."""

    model: str
    task: str
    n_prompts: int
    prompts: tuple[str, ...]
    """Clean prompts as text, one per row of the per-prompt fields."""
    clean_logit_diff: tuple[float, ...]
    """Answer minus wrong logit at the metric position, per clean prompt."""
    corrupted_logit_diff: tuple[float, ...]
    clean_accuracy: float
    """Fraction of clean prompts whose top-1 next token is the answer."""
    corrupted_accuracy: float
    clean_answer_prob: float
    """Mean probability of the answer on clean prompts."""
    corrupted_answer_prob: float
    kl_corrupted_to_clean: float
    """Mean KL(clean || corrupted) of next-token distributions, nats."""

    @property
    def mean_clean_logit_diff(self) -> float:
        return sum(self.clean_logit_diff) / self.n_prompts

    @property
    def mean_corrupted_logit_diff(self) -> float:
        return sum(self.corrupted_logit_diff) / self.n_prompts


@dataclass(frozen=True)
class HeadScores:
    """Per-head attention scores on repeated random tokens; `scores[s][layer][head]`."""

    model: str
    score_names: tuple[str, ...]
    """"previous_token", "duplicate_token", "induction"."""
    layers: tuple[int, ...]
    heads: tuple[str, ...]
    """Head labels "L{layer}H{head}" in layer-major order (for flat views)."""
    scores: tuple[tuple[tuple[float, ...], ...], ...]
    """score x layer x head, each the mean attention weight on the score's target position."""
    n_prompts: int
    seq_len: int

    def score(self, name: str) -> tuple[tuple[float, ...], ...]:
        return self.scores[self.score_names.index(name)]

    def top_heads(self, name: str, k: int = 3) -> list[tuple[str, float]]:
        """The `k` heads with the highest `name` score, as (label, score)."""
        flat = [(f"L{l}H{h}", v) for l, row in enumerate(self.score(name)) for h, v in enumerate(row)]
        return sorted(flat, key=lambda x: -x[1])[:k]
