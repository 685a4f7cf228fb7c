"""The `Task`: clean/corrupted prompt pairs with the answer the model should give and a wrong one.

Every circuit analysis consumes one: patching moves activations between its clean and corrupted runs,
metrics compare the answer and wrong logits at `metric_pos`. Generators live in `interp.tasks.generators`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from jaxtyping import Int
from torch import Tensor

__all__ = ["Task"]


@dataclass(frozen=True)
class Task:
    """A batch of clean/corrupted prompt pairs of equal token length, with answers."""

    name: str
    """Short name, e.g. "ioi" or "induction"."""
    clean_tokens: Int[Tensor, "batch pos"]
    """Prompts on which the model should give `answer_tokens`."""
    corrupted_tokens: Int[Tensor, "batch pos"]
    """Same length; differ from the clean prompts where the information lives."""
    answer_tokens: Int[Tensor, " batch"]
    """Correct next token of each clean prompt."""
    wrong_tokens: Int[Tensor, " batch"]
    """The competing token (what the corrupted prompt points to)."""
    metric_pos: Int[Tensor, " batch"]
    """Position whose logits the metric reads (the last prompt token)."""
    str_tokens: tuple[tuple[str, ...], ...] = field(repr=False)
    """Clean prompts as token strings, for axis labels."""
    corrupted_str_tokens: tuple[tuple[str, ...], ...] = field(repr=False)
    """Corrupted prompts as token strings."""

    def __post_init__(self) -> None:
        batch, pos = self.clean_tokens.shape
        if self.corrupted_tokens.shape != (batch, pos):
            raise ValueError(
                f"clean tokens {tuple(self.clean_tokens.shape)} and corrupted "
                f"{tuple(self.corrupted_tokens.shape)} differ in shape"
            )
        for label, t in (("answer", self.answer_tokens), ("wrong", self.wrong_tokens), ("metric_pos", self.metric_pos)):
            if t.shape != (batch,):
                raise ValueError(f"{label} must have shape ({batch},), got {tuple(t.shape)}")
        if len(self.str_tokens) != batch or any(len(s) != pos for s in self.str_tokens):
            raise ValueError("str_tokens must hold one string per clean token")
        if bool(((self.metric_pos < 0) | (self.metric_pos >= pos)).any()):
            raise ValueError(f"metric_pos must lie in [0, {pos})")

    def __len__(self) -> int:
        return self.clean_tokens.shape[0]

    @property
    def n_pos(self) -> int:
        return self.clean_tokens.shape[1]

    def select(self, rows: Sequence[int]) -> Task:
        """The sub-task of the prompts at `rows`, in that order."""
        idx = torch.as_tensor(list(rows), dtype=torch.long)
        idx_list = idx.tolist()

        def pick(t: Tensor) -> Tensor:
            return t[idx.to(t.device)]

        return Task(
            self.name,
            pick(self.clean_tokens),
            pick(self.corrupted_tokens),
            pick(self.answer_tokens),
            pick(self.wrong_tokens),
            pick(self.metric_pos),
            tuple(self.str_tokens[i] for i in idx_list),
            tuple(self.corrupted_str_tokens[i] for i in idx_list),
        )

    def to(self, device: torch.device | str) -> Task:
        return Task(
            self.name,
            self.clean_tokens.to(device),
            self.corrupted_tokens.to(device),
            self.answer_tokens.to(device),
            self.wrong_tokens.to(device),
            self.metric_pos.to(device),
            self.str_tokens,
            self.corrupted_str_tokens,
        )
