"""Built-in probing tasks: prompts, the positions to read, labels with a known answer, and the
task metric that the causal check watches."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from interp.core.limits import check_count
from interp.core.locking import lock_free
from interp.core.metrics import at_metric_pos, logit_diff
from interp.core.tokens import random_token_pool, single_token_words
from interp.tasks.generators import ioi_task
from interp.vocab.choices import ProbeTaskName, check_choice
from interp.vocab.types import Model
from interp.zoo.words import IOI_NAMES, name_pairs

__all__ = ["ProbingTask", "ioi_io_task", "make_probe_task", "repeat_task"]


@dataclass(frozen=True)
class ProbingTask:
    name: str
    description: str
    tokens: Int[Tensor, "batch pos"] = field(repr=False)
    mask: Bool[Tensor, "batch pos"] = field(repr=False)
    """Positions whose activations are probed (row order: prompt, then position)."""
    labels: Int[Tensor, " row"] = field(repr=False)
    """One class id per kept position."""
    label_names: tuple[str, ...]
    metric_name: str
    metric: Callable[[Float[Tensor, "batch pos d_vocab"], Int[Tensor, " batch"]], Tensor] = field(repr=False)
    """metric(logits of some prompts, their prompt indices) -> per-prompt value."""


@lock_free("probing-task generators: tokenizer only")
def repeat_task(model: Model, *, n_prompts: int = 256, n_pos: int = 40, seed: int = 0) -> ProbingTask:
    """Is this token inside the second copy of a repeated segment? (any model)

    Prompts: BOS, 0-8 noise tokens, a segment A of 4-12 tokens, A again, then noise. The gaps and
    lengths vary so position alone cannot give the label. Metric: induction accuracy, the share
    of the second copy's tokens (after its first) that the model predicts top-1.
    """
    check_count(n_prompts, "n_prompts")
    n_pos = min(n_pos, model.cfg.n_ctx)
    check_count(n_pos, "n_pos (capped at the context)", minimum=17)  # BOS, up to 8 noise tokens, a segment of 4 twice
    pool = random_token_pool(model)
    rng = random.Random(seed)
    bos = model.tokenizer.bos_token_id
    rows, labels = [], []
    for _ in range(n_prompts):
        seq = rng.choices(pool, k=n_pos)
        lab = [0] * n_pos
        start = 1 + rng.randint(0, 8)
        length = rng.randint(4, min(12, (n_pos - start) // 2))
        seg = rng.sample(pool, length)
        seq[start : start + length] = seg
        seq[start + length : start + 2 * length] = seg
        lab[start + length : start + 2 * length] = [1] * length
        if bos is not None:
            seq[0] = bos
        rows.append(seq)
        labels.append(lab)
    tokens = torch.tensor(rows)
    label_grid = torch.tensor(labels)
    mask = torch.ones_like(tokens, dtype=torch.bool)
    mask[:, 0] = False
    # predictable targets: second-copy tokens after its first (that one follows A's last token only once)
    target = label_grid.clone()
    target[:, 1:] &= label_grid[:, :-1]

    def induction_accuracy(logits: Tensor, prompts: Tensor) -> Tensor:
        pred = logits[:, :-1].argmax(-1).cpu()  # prediction for position p + 1
        want = target[prompts][:, 1:].bool()
        hits = (pred == tokens[prompts][:, 1:]) & want
        return hits.sum(-1).float() / want.sum(-1).clamp_min(1)

    return ProbingTask(
        "repeat",
        "token lies in the second copy of a repeated segment",
        tokens,
        mask,
        label_grid[mask],
        ("first occurrence", "repeat"),
        "induction accuracy",
        induction_accuracy,
    )


@lock_free("probing-task generators: tokenizer only")
def ioi_io_task(model: Model, *, n_prompts: int = 512, n_names: int = 8, seed: int = 0) -> ProbingTask:
    """Which of `n_names` names is the indirect object, read at the final token of IOI prompts.

    Metric: the IOI logit difference (IO minus S) at the final token.
    """
    names = single_token_words(model, IOI_NAMES)[:n_names]
    if len(names) < 3:
        raise ValueError(f"{model.cfg.model_name} has fewer than 3 single-token IOI names; the ioi-io task needs them")
    pairs = [(a, b) for a, b in name_pairs() if a in names and b in names]
    task = ioi_task(model, n_prompts=n_prompts, pairs=pairs, seed=seed)
    ids = {model.tokenizer(" " + n, add_special_tokens=False)["input_ids"][0]: i for i, n in enumerate(names)}
    labels = torch.tensor([ids[int(t)] for t in task.answer_tokens.cpu()])
    mask = torch.zeros(task.clean_tokens.shape, dtype=torch.bool)
    mask[torch.arange(len(task)), task.metric_pos.cpu()] = True

    def ioi_logit_diff(logits: Tensor, prompts: Tensor) -> Tensor:
        sub = task.select(prompts.tolist())
        return logit_diff(at_metric_pos(logits, sub), sub).cpu()

    return ProbingTask(
        "ioi-io",
        f"which of {len(names)} names is the indirect object, at the final token",
        task.clean_tokens.cpu(),
        mask,
        labels,
        tuple(names),
        "IOI logit difference",
        ioi_logit_diff,
    )


@lock_free("probing-task generators: tokenizer only")
def make_probe_task(name: ProbeTaskName, model: Model, *, n_prompts: int | None = None, seed: int = 0) -> ProbingTask:
    """A built-in probing task by name, with its default number of prompts unless `n_prompts` is given."""
    check_choice(name, ProbeTaskName, "probing task")
    if n_prompts is not None:
        check_count(n_prompts, "n_prompts", minimum=8)  # a train, a validation and a test split, each of prompts
    kwargs = {"seed": seed} | ({"n_prompts": n_prompts} if n_prompts is not None else {})
    if name == "repeat":
        return repeat_task(model, **kwargs)
    return ioi_io_task(model, **kwargs)
