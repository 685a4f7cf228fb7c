"""Tasks: clean/corrupted prompt pairs with the answer the model should give and a wrong one.

A `Task` is what every analysis consumes: patching moves activations between its clean and
corrupted runs, metrics compare the answer and wrong logits at `metric_pos`. Generators work on
any model whose tokenizer fits (names as single tokens for IOI; any vocabulary for induction).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import torch
from jaxtyping import Int
from torch import Tensor

from interp import model as M
from interp.ioi_words import IOI_NAMES, IOI_OBJECTS, IOI_PLACES, IOI_TEMPLATES, name_pairs

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

TASKS = ("induction", "ioi")


@dataclass(frozen=True)
class Task:
    """A batch of clean/corrupted prompt pairs of equal token length, with answers."""

    name: str
    """Short name, e.g. "ioi" or "induction"."""
    clean_tokens: Int[Tensor, "batch pos"]
    """Prompts on which the model should give `answer_tokens`."""
    corrupted_tokens: Int[Tensor, "batch pos"]
    """Same length; differ from the clean prompts where the information lives."""
    answer_tokens: Int[Tensor, "batch"]
    """Correct next token of each clean prompt."""
    wrong_tokens: Int[Tensor, "batch"]
    """The competing token (what the corrupted prompt points to)."""
    metric_pos: Int[Tensor, "batch"]
    """Position whose logits the metric reads (the last prompt token)."""
    str_tokens: tuple[tuple[str, ...], ...] = field(repr=False)
    """Clean prompts as token strings, for axis labels."""
    corrupted_str_tokens: tuple[tuple[str, ...], ...] = field(repr=False)
    """Corrupted prompts as token strings."""

    def __post_init__(self) -> None:
        batch, pos = self.clean_tokens.shape
        if self.corrupted_tokens.shape != (batch, pos):
            raise ValueError(f"clean tokens {tuple(self.clean_tokens.shape)} and corrupted {tuple(self.corrupted_tokens.shape)} differ in shape")
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

    def select(self, rows: Sequence[int]) -> "Task":
        """The sub-task of the prompts at `rows`, in that order."""
        idx = torch.as_tensor(list(rows), dtype=torch.long)
        pick = lambda t: t[idx.to(t.device)]  # noqa: E731
        return Task(
            self.name, pick(self.clean_tokens), pick(self.corrupted_tokens), pick(self.answer_tokens),
            pick(self.wrong_tokens), pick(self.metric_pos),
            tuple(self.str_tokens[i] for i in idx.tolist()), tuple(self.corrupted_str_tokens[i] for i in idx.tolist()),
        )

    def to(self, device: torch.device | str) -> "Task":
        return Task(
            self.name, self.clean_tokens.to(device), self.corrupted_tokens.to(device), self.answer_tokens.to(device),
            self.wrong_tokens.to(device), self.metric_pos.to(device), self.str_tokens, self.corrupted_str_tokens,
        )


def _build(
    model: "TransformerBridge", name: str, clean: list[list[int]], corrupted: list[list[int]], answers: list[int], wrongs: list[int]
) -> Task:
    device = model.cfg.device
    t = lambda x: torch.tensor(x, dtype=torch.long, device=device)  # noqa: E731
    n_pos = len(clean[0])
    return Task(
        name=name, clean_tokens=t(clean), corrupted_tokens=t(corrupted), answer_tokens=t(answers),
        wrong_tokens=t(wrongs), metric_pos=t([n_pos - 1] * len(clean)),
        str_tokens=tuple(tuple(M.str_tokens(model, row)) for row in clean),
        corrupted_str_tokens=tuple(tuple(M.str_tokens(model, row)) for row in corrupted),
    )


# ---- induction ------------------------------------------------------------------------------------


def random_token_pool(model: "TransformerBridge") -> list[int]:
    """Token ids safe to sample at random: every id but the special tokens."""
    special = M.special_token_ids(model)
    return [i for i in range(model.cfg.d_vocab) if i not in special]


def repeated_tokens(model: "TransformerBridge", *, n_prompts: int, seq_len: int, seed: int = 0) -> Int[Tensor, "batch pos"]:
    """BOS, then `seq_len` distinct random tokens, then the same tokens again (1 + 2*seq_len positions)."""
    M.check_context(model, 1 + 2 * seq_len, what=f"a repeated sequence of {seq_len} tokens")
    pool = random_token_pool(model)
    if len(pool) < seq_len:
        raise ValueError(f"the vocabulary has only {len(pool)} ordinary tokens; seq_len must not exceed it")
    rng = random.Random(seed)
    bos = model.tokenizer.bos_token_id
    rows = []
    for _ in range(n_prompts):
        seq = rng.sample(pool, seq_len)
        rows.append(([bos] if bos is not None else []) + seq + seq)
    return torch.tensor(rows, dtype=torch.long, device=model.cfg.device)


def induction_task(model: "TransformerBridge", *, n_prompts: int = 32, seq_len: int = 16, seed: int = 0) -> Task:
    """Repeated random tokens; the model must continue the repeat by induction.

    Clean: BOS, A_0..A_{L-1}, A_0..A_{L-2} -> answer A_{L-1}. Corrupted: the same with A_{L-1} in
    the first copy replaced by a token W -> induction now points to W, the wrong token. The pair
    differs in exactly one position, so patching localises the copy.
    """
    if seq_len < 2:
        raise ValueError("seq_len must be at least 2")
    M.check_context(model, 2 * seq_len, what=f"an induction prompt of {seq_len} + {seq_len - 1} tokens after BOS")
    pool = random_token_pool(model)
    rng = random.Random(seed)
    bos = model.tokenizer.bos_token_id
    prefix = [bos] if bos is not None else []
    clean, corrupted, answers, wrongs = [], [], [], []
    for _ in range(n_prompts):
        seq = rng.sample(pool, seq_len + 1)
        first, wrong = seq[:seq_len], seq[seq_len]
        clean.append(prefix + first + first[:-1])
        corrupted.append(prefix + first[:-1] + [wrong] + first[:-1])
        answers.append(first[-1])
        wrongs.append(wrong)
    return _build(model, "induction", clean, corrupted, answers, wrongs)


# ---- IOI --------------------------------------------------------------------------------------------


def _single_token_words(model: "TransformerBridge", words: Sequence[str]) -> list[str]:
    """Words that are one known token after a space (as they appear mid-sentence)."""
    unk = model.tokenizer.unk_token_id
    ids = {w: model.tokenizer(" " + w, add_special_tokens=False)["input_ids"] for w in words}
    return [w for w, i in ids.items() if len(i) == 1 and i[0] != unk]


def ioi_task(
    model: "TransformerBridge",
    *,
    n_prompts: int = 32,
    template: int = 0,
    corruption: str = "abc",
    order: str = "mixed",
    pairs: Sequence[tuple[str, str]] | None = None,
    seed: int = 0,
) -> Task:
    """Indirect-object identification prompts (Wang et al., 2022) from one template.

    Answer: the indirect object (IO); wrong: the subject (S). Corruptions:
    - "abc": all three name positions get three other names (Wang et al.'s ABC distribution),
      which removes the information about which name is repeated;
    - "s2": only the second subject mention becomes the IO name, flipping the right answer.
    `order` is "ABBA" (IO first), "BABA" (S first) or "mixed". `pairs` restricts the (IO, S) name
    pairs drawn (e.g. pairs held out of a model's training data). One template per task keeps all
    prompts the same token length, so positions line up across the batch.
    """
    if not 0 <= template < len(IOI_TEMPLATES):
        raise ValueError(f"template must be in [0, {len(IOI_TEMPLATES)}); templates are {list(IOI_TEMPLATES)}")
    if corruption not in ("abc", "s2"):
        raise ValueError(f"corruption must be 'abc' or 's2', got {corruption!r}")
    if order not in ("ABBA", "BABA", "mixed"):
        raise ValueError(f"order must be 'ABBA', 'BABA' or 'mixed', got {order!r}")
    names = set(_single_token_words(model, IOI_NAMES))
    places, objects = _single_token_words(model, IOI_PLACES), _single_token_words(model, IOI_OBJECTS)
    usable = [(a, b) for a, b in (pairs if pairs is not None else name_pairs()) if a in names and b in names]
    if len(names) < 5 or not usable or not places or not objects:
        raise ValueError(
            f"{model.cfg.model_name}'s tokenizer splits too many IOI names, places or objects into several tokens "
            f"({len(names)} single-token names); the IOI task needs them as single tokens"
        )
    rng = random.Random(seed)
    text = IOI_TEMPLATES[template]
    clean, corrupted, answers, wrongs = [], [], [], []
    for _ in range(n_prompts):
        io, s = rng.choice(usable)
        abba = order == "ABBA" or (order == "mixed" and rng.random() < 0.5)
        fill = dict(PLACE=rng.choice(places), OBJECT=rng.choice(objects))
        n1, n2 = (io, s) if abba else (s, io)
        if corruption == "abc":
            a, b, c = rng.sample(sorted(names - {io, s}), 3)
            bad = text.format(N1=a, N2=b, S=c, **fill)
        else:
            bad = text.format(N1=n1, N2=n2, S=io, **fill)
        clean.append(M.token_ids(model, text.format(N1=n1, N2=n2, S=s, **fill)))
        corrupted.append(M.token_ids(model, bad))
        answers.append(M.single_token(model, " " + io))
        wrongs.append(M.single_token(model, " " + s))
    return _build(model, "ioi", clean, corrupted, answers, wrongs)


# ---- user strings ------------------------------------------------------------------------------------


def task_from_strings(
    model: "TransformerBridge",
    *,
    clean: str | Sequence[str],
    corrupted: str | Sequence[str],
    answer: str | Sequence[str],
    wrong: str | Sequence[str],
    name: str = "custom",
) -> Task:
    """A task from your own prompts; answers are next tokens, usually with a leading space (" Paris")."""
    as_list = lambda x: [x] if isinstance(x, str) else list(x)  # noqa: E731
    cleans, bads, answers, wrongs = map(as_list, (clean, corrupted, answer, wrong))
    if not len(cleans) == len(bads) == len(answers) == len(wrongs) or not cleans:
        raise ValueError(f"give one corrupted prompt, answer and wrong answer per clean prompt (got {len(cleans)}, {len(bads)}, {len(answers)}, {len(wrongs)})")
    clean_ids = [M.token_ids(model, t) for t in cleans]
    bad_ids = [M.token_ids(model, t) for t in bads]
    for i, (c, b) in enumerate(zip(clean_ids, bad_ids)):
        if len(c) != len(b):
            raise ValueError(f"prompt pair {i} tokenizes to different lengths: {_describe_mismatch(model, c, b)}")
    if len({len(c) for c in clean_ids}) > 1:
        raise ValueError(f"all prompts must have the same token length; got lengths {[len(c) for c in clean_ids]}")
    return _build(
        model, name, clean_ids, bad_ids,
        [M.single_token(model, a) for a in answers], [M.single_token(model, w) for w in wrongs],
    )


def _describe_mismatch(model: "TransformerBridge", a: list[int], b: list[int]) -> str:
    sa, sb = M.str_tokens(model, a), M.str_tokens(model, b)
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (
        f"clean has {len(a)} tokens, corrupted {len(b)}; they first differ at position {first} "
        f"(clean {sa[first:first + 3]!r} vs corrupted {sb[first:first + 3]!r}). Full tokens: clean {sa}, corrupted {sb}"
    )


def make_task(name: str, model: "TransformerBridge", *, n_prompts: int = 32, seed: int = 0) -> Task:
    """A built-in task by name (the `interp task` command)."""
    if name == "induction":
        return induction_task(model, n_prompts=n_prompts, seed=seed)
    if name == "ioi":
        return ioi_task(model, n_prompts=n_prompts, seed=seed)
    raise ValueError(f"unknown task {name!r}; built-in tasks: {', '.join(TASKS)}")
