"""Task generators: clean/corrupted prompt pairs with the answer the model should give and a wrong one.

A `Task` (interp.core.task) is what every circuit analysis consumes. These generators work on any model
whose tokenizer fits (names as single tokens for IOI; any vocabulary for induction), or build a task from
a user's own prompts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
from jaxtyping import Int
from torch import Tensor

from interp.core.limits import check_count
from interp.core.locking import lock_free
from interp.core.task import Task
from interp.core.tokens import (
    check_context,
    random_token_pool,
    single_token,
    single_token_words,
    str_token_rows,
    str_tokens,
    token_id_rows,
)
from interp.vocab.choices import Corruption, NameOrder, TaskName, check_choice
from interp.vocab.types import Model
from interp.zoo.corpus import LOOKUP_FILLERS, LOOKUP_TABLE
from interp.zoo.words import IOI_NAMES, IOI_OBJECTS, IOI_PLACES, IOI_TEMPLATES, name_pairs

# Task is listed here too: whoever builds tasks needs the type, and it has one home, interp.core.task.
__all__ = [
    "Task",
    "induction_resample_task",
    "induction_task",
    "ioi_task",
    "lookup_task",
    "make_task",
    "repeated_tokens",
    "task_from_strings",
]


def _build(
    model: Model, name: str, clean: list[list[int]], corrupted: list[list[int]], answers: list[int], wrongs: list[int]
) -> Task:
    device = model.cfg.device
    t = lambda x: torch.tensor(x, dtype=torch.long, device=device)  # noqa: E731
    n_pos = len(clean[0])
    return Task(
        name=name,
        clean_tokens=t(clean),
        corrupted_tokens=t(corrupted),
        answer_tokens=t(answers),
        wrong_tokens=t(wrongs),
        metric_pos=t([n_pos - 1] * len(clean)),
        str_tokens=str_token_rows(model, clean),
        corrupted_str_tokens=str_token_rows(model, corrupted),
    )


# ---- induction ------------------------------------------------------------------------------------


@lock_free("task generators: tokenizer only")
def repeated_tokens(model: Model, *, n_prompts: int, seq_len: int, seed: int = 0) -> Int[Tensor, "batch pos"]:
    """BOS, then `seq_len` distinct random tokens, then the same tokens again (1 + 2*seq_len positions)."""
    check_count(n_prompts, "n_prompts")
    check_count(seq_len, "seq_len")
    check_context(model, 1 + 2 * seq_len, what=f"a repeated sequence of {seq_len} tokens")
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


@lock_free("task generators: tokenizer only")
def induction_task(model: Model, *, n_prompts: int = 32, seq_len: int = 16, seed: int = 0) -> Task:
    """Repeated random tokens; the model must continue the repeat by induction.

    Clean: BOS, A_0..A_{L-1}, A_0..A_{L-2} -> answer A_{L-1}. Corrupted: the same with A_{L-1} in
    the first copy replaced by a token W -> induction now points to W, the wrong token. The pair
    differs in exactly one position, so patching localises the copy.
    """
    check_count(n_prompts, "n_prompts")
    check_count(seq_len, "seq_len", minimum=2)
    check_context(model, 2 * seq_len, what=f"an induction prompt of {seq_len} + {seq_len - 1} tokens after BOS")
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


@lock_free("task generators: tokenizer only")
def induction_resample_task(model: Model, *, n_prompts: int = 32, seq_len: int = 8, seed: int = 0) -> Task:
    """Repeated random tokens, corrupted by a whole other sequence.

    Clean: BOS, A_0..A_{L-1}, A_0..A_{L-2} -> answer A_{L-1}. Corrupted: the same shape built from an
    independent sequence B that shares no token with A -> wrong token B_{L-1}. Unlike `induction_task`, every
    token differs, so the whole induction mechanism (what the previous-token head copies, what the induction
    head's query looks for and what its value copies) carries the difference, and only positions are shared.
    """
    check_count(n_prompts, "n_prompts")
    check_count(seq_len, "seq_len", minimum=2)
    check_context(model, 2 * seq_len, what=f"an induction prompt of {seq_len} + {seq_len - 1} tokens after BOS")
    pool = random_token_pool(model)
    if len(pool) < 2 * seq_len:
        raise ValueError(
            f"the vocabulary has only {len(pool)} ordinary tokens; two disjoint sequences of seq_len {seq_len} "
            f"need {2 * seq_len}"
        )
    rng = random.Random(seed)
    bos = model.tokenizer.bos_token_id
    prefix = [bos] if bos is not None else []
    clean, corrupted, answers, wrongs = [], [], [], []
    for _ in range(n_prompts):
        tokens = rng.sample(pool, 2 * seq_len)
        a, b = tokens[:seq_len], tokens[seq_len:]
        clean.append(prefix + a + a[:-1])
        corrupted.append(prefix + b + b[:-1])
        answers.append(a[-1])
        wrongs.append(b[-1])
    return _build(model, "induction-resample", clean, corrupted, answers, wrongs)


# ---- lookup -----------------------------------------------------------------------------------------


@lock_free("task generators: tokenizer only")
def lookup_task(model: Model, *, n_prompts: int = 32, n_filler: int = 4, seed: int = 0) -> Task:
    """Recall a fixed table (`interp.zoo.corpus.LOOKUP_TABLE`, what zoo:kc-lookup computes) across fillers.

    Clean: BOS, x, then `n_filler` random filler words -> answer g(x), x's value in the table. Corrupted: the
    same fillers after another key x' -> wrong g(x'). The pair differs only at position 1.
    """
    check_count(n_prompts, "n_prompts")
    check_count(n_filler, "n_filler", minimum=0)
    check_context(model, 2 + n_filler, what=f"a lookup prompt of a key and {n_filler} fillers after BOS")
    words = [*LOOKUP_TABLE, *LOOKUP_TABLE.values(), *LOOKUP_FILLERS]
    known = set(single_token_words(model, words))
    missing = [w for w in words if w not in known]
    if missing:
        raise ValueError(
            f"{model.cfg.model_name}'s tokenizer does not have {', '.join(map(repr, missing[:5]))} as single tokens; "
            "the lookup task needs the words of its table (zoo:kc-lookup's vocabulary)"
        )
    ids = {w: single_token(model, " " + w) for w in words}
    keys = list(LOOKUP_TABLE)
    rng = random.Random(seed)
    bos = model.tokenizer.bos_token_id
    prefix = [bos] if bos is not None else []
    clean, corrupted, answers, wrongs = [], [], [], []
    for _ in range(n_prompts):
        x, other = rng.sample(keys, 2)
        fillers = [ids[w] for w in rng.choices(LOOKUP_FILLERS, k=n_filler)]
        clean.append([*prefix, ids[x], *fillers])
        corrupted.append([*prefix, ids[other], *fillers])
        answers.append(ids[LOOKUP_TABLE[x]])
        wrongs.append(ids[LOOKUP_TABLE[other]])
    return _build(model, "lookup", clean, corrupted, answers, wrongs)


# ---- IOI --------------------------------------------------------------------------------------------


@lock_free("task generators: tokenizer only")
def ioi_task(
    model: Model,
    *,
    n_prompts: int = 32,
    template: int = 0,
    corruption: Corruption = "abc",
    order: NameOrder = "mixed",
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
    check_count(n_prompts, "n_prompts")
    check_choice(corruption, Corruption, "corruption")
    check_choice(order, NameOrder, "order")
    names = set(single_token_words(model, IOI_NAMES))
    places, objects = single_token_words(model, IOI_PLACES), single_token_words(model, IOI_OBJECTS)
    usable = [(a, b) for a, b in (pairs if pairs is not None else name_pairs()) if a in names and b in names]
    if len(names) < 5 or not usable or not places or not objects:
        raise ValueError(
            f"{model.cfg.model_name}'s tokenizer splits too many IOI names, places or objects into several tokens "
            f"({len(names)} single-token names); the IOI task needs them as single tokens"
        )
    rng = random.Random(seed)
    text = IOI_TEMPLATES[template]
    clean_texts, corrupted_texts, ios, subjects = [], [], [], []
    others = {pair: sorted(names - set(pair)) for pair in usable}
    for _ in range(n_prompts):
        io, s = rng.choice(usable)
        abba = order == "ABBA" or (order == "mixed" and rng.random() < 0.5)
        fill = {"PLACE": rng.choice(places), "OBJECT": rng.choice(objects)}
        n1, n2 = (io, s) if abba else (s, io)
        if corruption == "abc":
            a, b, c = rng.sample(others[io, s], 3)
            corrupted_texts.append(text.format(N1=a, N2=b, S=c, **fill))
        else:
            corrupted_texts.append(text.format(N1=n1, N2=n2, S=io, **fill))
        clean_texts.append(text.format(N1=n1, N2=n2, S=s, **fill))
        ios.append(io)
        subjects.append(s)
    # every text in one batched call of the tokenizer, and each name's token looked up once: 100,000 prompts
    # take seconds, not the minutes of a call per text
    name_id = {name: single_token(model, " " + name) for name in {*ios, *subjects}}
    clean, corrupted = token_id_rows(model, clean_texts), token_id_rows(model, corrupted_texts)
    return _build(model, "ioi", clean, corrupted, [name_id[n] for n in ios], [name_id[n] for n in subjects])


# ---- user strings ------------------------------------------------------------------------------------


@lock_free("task generators: tokenizer only")
def task_from_strings(
    model: Model,
    *,
    clean: str | Sequence[str],
    corrupted: str | Sequence[str],
    answer: str | Sequence[str],
    wrong: str | Sequence[str],
    name: str = "custom",
) -> Task:
    """A task from your own prompts; answers are next tokens, usually with a leading space (" Paris")."""
    as_list = lambda x: [x] if isinstance(x, str) else list(x)  # noqa: E731
    clean_texts, corrupted_texts, answers, wrongs = map(as_list, (clean, corrupted, answer, wrong))
    if not len(clean_texts) == len(corrupted_texts) == len(answers) == len(wrongs) or not clean_texts:
        raise ValueError(
            f"give one corrupted prompt, answer and wrong answer per clean prompt (got {len(clean_texts)}, "
            f"{len(corrupted_texts)}, {len(answers)}, {len(wrongs)})"
        )
    clean_ids, corrupted_ids = token_id_rows(model, clean_texts), token_id_rows(model, corrupted_texts)
    for i, (c, b) in enumerate(zip(clean_ids, corrupted_ids)):
        if len(c) != len(b):
            raise ValueError(f"prompt pair {i} tokenizes to different lengths: {_describe_mismatch(model, c, b)}")
    if len({len(c) for c in clean_ids}) > 1:
        raise ValueError(f"all prompts must have the same token length; got lengths {[len(c) for c in clean_ids]}")
    return _build(
        model,
        name,
        clean_ids,
        corrupted_ids,
        [single_token(model, a) for a in answers],
        [single_token(model, w) for w in wrongs],
    )


def _describe_mismatch(model: Model, a: list[int], b: list[int]) -> str:
    sa, sb = str_tokens(model, a), str_tokens(model, b)
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (
        f"clean has {len(a)} tokens, corrupted {len(b)}; they first differ at position {first} "
        f"(clean {sa[first : first + 3]!r} vs corrupted {sb[first : first + 3]!r}). Full tokens: clean {sa}, "
        f"corrupted {sb}"
    )


@lock_free("task generators: tokenizer only")
def make_task(name: TaskName, model: Model, *, n_prompts: int = 32, seed: int = 0) -> Task:
    """A built-in task by name (the `interp task` command)."""
    check_choice(name, TaskName, "task")
    if name == "induction":
        return induction_task(model, n_prompts=n_prompts, seed=seed)
    if name == "induction-resample":
        return induction_resample_task(model, n_prompts=n_prompts, seed=seed)
    if name == "lookup":
        return lookup_task(model, n_prompts=n_prompts, seed=seed)
    return ioi_task(model, n_prompts=n_prompts, seed=seed)
