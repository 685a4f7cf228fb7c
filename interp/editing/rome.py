"""Knowledge edits of MLP output weights: ROME's rank-one closed form for one fact at one layer (Meng et al. 2022)
and MEMIT's spread of a batch of facts over several layers (Meng et al. 2023).

Both read an MLP as a key-value memory: the output projection W maps the key k at the subject's last token to a
value W k. An edit (1) finds the value that makes the model say the new target: a vector delta added to the MLP's
output at the subject's last token, optimised on the prompt behind a few neutral prefixes (so it holds in context)
with a KL term that keeps "{subject} is a" as it was and a penalty on its size; then (2) changes W so that the
subject's key gives that value while the keys of ordinary text (their second moment C, interp.editing.keys) move as
little as possible:

- ROME, one fact:  W' = W + delta u^T,  u = C^-1 k / (k^T C^-1 k), the least change in the C-norm with W' k = W k +
  delta (tests/test_knowledge_editing.py checks it against a direct least-squares solve);
- MEMIT, n facts, layers l_1..l_m: the target is the residual z_i = h_i + delta_i after the last layer; at each layer
  in turn the remaining gap R = (z - h) / (layers left) is written by dW = R^T K (lambda C + K^T K)^-1 (the
  least-squares trade between fitting the new keys K and preserving lambda x the old ones), and the gap re-measured.

The edit comes back as a value (KnowledgeEdit: the base's spec and low-rank factors); the model is left as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor

from interp.core.hooks import hooks, run_with_cache
from interp.core.locking import exclusive
from interp.core.sites import hook_name
from interp.core.tokens import readable, right_padded, token_ids
from interp.core.weight_edits import low_rank_added, mlp_key_hook, mlp_out_weight
from interp.editing.facts import Fact, answer_ids, subject_positions
from interp.editing.keys import KEY_TOKENS, key_second_moment
from interp.results import KnowledgeEdit
from interp.vocab.types import Model, Progress

__all__ = ["PREFIXES", "EditConfig", "default_layer", "edit_facts", "memit_update", "rome_update"]

log = logging.getLogger(__name__)

PREFIXES = ("", "Here is a fact. ", "I read this in a book. ", "As everyone knows, ", "In other words, ")
"""Contexts the new value is optimised behind (ROME samples short texts from the model; fixed ones are reproducible)."""


@dataclass(frozen=True)
class EditConfig:
    layers: tuple[int, ...] = ()
    """The MLPs edited: one for ROME, several (consecutive, early-middle) for MEMIT. Empty: the one layer at 20% of
    the depth (`default_layer`)."""
    steps: int = 30
    """Adam steps of the value optimisation (it stops early once the target's loss is below 0.05)."""
    lr: float = 0.5
    kl_factor: float = 0.0625
    """Weight of KL("{subject} is a" before || after): keeps what the subject is."""
    weight_decay: float = 0.5
    """Weight of (|delta| / |value|)^2."""
    clamp: float = 4.0
    """|delta| is kept at or below this multiple of |value|."""
    preserve: float = 15_000.0
    """MEMIT's lambda: the weight of the old keys' second moment against the new keys (MEMIT's value for GPT-J; it
    held 4 SmolLM2 facts over layers 4-8, but kept a zoo model's MLP from moving: tests/test_knowledge_editing.py)."""
    n_key_tokens: int = KEY_TOKENS
    prefixes: tuple[str, ...] = PREFIXES

    def __post_init__(self) -> None:
        if list(self.layers) != sorted(set(self.layers)) or any(layer < 0 for layer in self.layers):
            raise ValueError(f"layers must be distinct layers (0 or more) in increasing order; got {self.layers}")
        if self.steps < 1 or not self.lr > 0 or not self.preserve > 0:
            raise ValueError("steps must be 1 or more, and lr and preserve positive")
        if not self.prefixes:
            raise ValueError("give at least one prefix (the empty prefix reads the prompt alone)")


def default_layer(n_layers: int) -> int:
    """An early-middle MLP: 20% of the depth, rounded down. ROME edited GPT-2 XL at layer 17 of 48 (35%). On SmolLM2
    (30 layers) Turkey -> Ankara edited at layer 4, 6 or 8 became top-1 on its prompt and on 2 of 3 paraphrases; at 8
    it also moved "The capital of Spain is" from Barcelona to Madrid, at 6 (this rule's choice) no neighbour. On
    zoo:lang-4l only MLP 0 reaches the answer from a name's position: an edit at layer 1 or 2 left it unmoved."""
    return int(0.2 * n_layers)


def rome_update(c: Tensor, key: Tensor, delta: Tensor) -> tuple[Tensor, Tensor]:
    """ROME's closed form as factors (left [d_model, 1], right [1, d_mlp]): dW = delta u^T with
    u = C^-1 k / (k^T C^-1 k)."""
    solved = torch.linalg.solve(c.double(), key.double())
    u = solved / (key.double() @ solved)
    return delta.double()[:, None], u[None, :]


def memit_update(c: Tensor, keys: Tensor, gaps: Tensor, preserve: float) -> tuple[Tensor, Tensor]:
    """MEMIT's batch closed form as factors: dW = R^T [K (lambda C + K^T K)^-1] (keys K [n, d_mlp], gaps R [n,
    d_model]); left [d_model, n], right [n, d_mlp]."""
    k = keys.double()
    system = preserve * c.double() + k.T @ k
    right = torch.linalg.solve(system, k.T).T  # K (lambda C + K^T K)^-1, the system being symmetric
    return gaps.double().T, right


@exclusive
def edit_facts(
    model: Model, facts: Sequence[Fact], *, config: EditConfig = EditConfig(), progress: Progress | None = None
) -> KnowledgeEdit:
    """Teach `model` each fact's target (ROME for one fact at one layer, MEMIT otherwise); the model is unchanged."""
    if not facts:
        raise ValueError("no facts to edit: give at least one")
    layers = list(config.layers) or [default_layer(model.cfg.n_layers)]
    for layer in layers:
        mlp_out_weight(model, layer)  # refuses a layer or a model with no MLP to edit
    start = time.perf_counter()
    total, done = len(facts) + len(layers), 0
    contexts = [_Contexts.of(model, f, config.prefixes) for f in facts]
    last = layers[-1]
    targets, deltas = [], []
    for ctx in contexts:
        delta = _optimise_value(model, ctx, last, config)
        deltas.append(delta)
        (residual,) = _at_subject(model, ctx, [hook_name("resid_post", last)])
        targets.append(residual + delta)
        done += 1
        if progress:
            progress(done, total)
    lefts, rights = [], []
    rome = len(facts) == 1 and len(layers) == 1
    for i, layer in enumerate(layers):
        with low_rank_added(model, layers[:i], *_stacked(lefts, rights)) if i else nullcontext():
            names = [mlp_key_hook(model, layer), hook_name("resid_post", last)]  # the key, and the gap still to write
            read = [_at_subject(model, ctx, names) for ctx in contexts]
            keys = torch.stack([key for key, _ in read])
            gaps = torch.stack([t - residual for t, (_, residual) in zip(targets, read)])
        c = key_second_moment(model, layer, n_tokens=config.n_key_tokens)
        if rome:
            left, right = rome_update(c, keys[0], deltas[0])
        else:
            left, right = memit_update(c, keys, gaps / (len(layers) - i), config.preserve)
        lefts.append(left.float())
        rights.append(right.float())
        done += 1
        if progress:
            progress(done, total)
    left, right = _stacked(lefts, rights)
    log.info("edited %d facts of %s in %.1f s", len(facts), model.cfg.model_name, time.perf_counter() - start)
    return KnowledgeEdit(
        model=model.cfg.model_name,
        method="rome" if rome else "memit",
        facts=tuple(f"{f.prompt} -> {f.target}" for f in facts),
        layers=tuple(layers),
        left=left,
        right=right,
        settings=(
            f"value at MLP {last}'s output, {config.steps} Adam steps at lr {config.lr}, KL {config.kl_factor}, "
            f"decay {config.weight_decay}, clamp {config.clamp}; C from {config.n_key_tokens} tokens"
            + ("" if rome else f"; lambda {config.preserve:g}")
        ),
    )


def _stacked(lefts: list[Tensor], rights: list[Tensor]) -> tuple[Tensor, Tensor]:
    """Per-layer factors as [layer, d_model, rank] and [layer, rank, d_mlp]."""
    return torch.stack([a.reshape(a.shape[0], -1) for a in lefts]), torch.stack(
        [b.reshape(-1, b.shape[-1]) for b in rights]
    )


@dataclass(frozen=True)
class _Contexts:
    """A fact's prompt behind each prefix, with the target's tokens appended (all but the last), right-padded."""

    fact: Fact
    tokens: Tensor
    """[batch, pos]: one row per prefix."""
    subject_last: Tensor
    """[batch]: the position of the subject's last token in each row."""
    answer_at: Tensor
    """[batch, n_answer]: the positions whose next-token prediction is each answer token."""
    answer: Tensor
    """[n_answer] the target's token ids."""

    @classmethod
    def of(cls, model: Model, fact: Fact, prefixes: Sequence[str]) -> _Contexts:
        answer = answer_ids(model, fact.prompt, fact.target)
        rows, subject_last, answer_at = [], [], []
        for prefix in readable(model, prefixes) or [""]:  # a zoo model reads none but the empty one
            text = prefix + fact.prompt
            ids = token_ids(model, text, prepend_bos=model.cfg.default_prepend_bos)
            subject_last.append(subject_positions(model, text, fact.subject)[-1])
            answer_at.append([len(ids) - 1 + j for j in range(len(answer))])
            rows.append(ids + answer[:-1])
        return cls(
            fact, right_padded(model, rows), torch.tensor(subject_last), torch.tensor(answer_at), torch.tensor(answer)
        )


def _at_subject(model: Model, ctx: _Contexts, names: Sequence[str]) -> list[Tensor]:
    """The activations at `names` (one forward pass for all) at the subject's last token, averaged over prefixes."""
    _, cache = run_with_cache(model, ctx.tokens, list(names))
    rows = torch.arange(len(ctx.tokens))
    return [cache[n][rows, ctx.subject_last.to(cache[n].device)].double().mean(0).cpu() for n in names]


def _optimise_value(model: Model, ctx: _Contexts, layer: int, config: EditConfig) -> Tensor:
    """delta: the vector that, added to MLP `layer`'s output at the subject's last token, makes the target likely."""
    device = model.cfg.device
    site = hook_name("mlp_out", layer)
    # the KL term's prompt: "{subject} is a", or the subject alone for a vocabulary that cannot write "is a"
    essence_text = (readable(model, [f"{ctx.fact.subject} is a"]) or [ctx.fact.subject])[0]
    essence = torch.tensor([token_ids(model, essence_text, prepend_bos=model.cfg.default_prepend_bos)], device=device)
    essence_at = subject_positions(model, essence_text, ctx.fact.subject)[-1]
    _, cache = run_with_cache(model, ctx.tokens, [site])
    rows = torch.arange(len(ctx.tokens))
    value_norm = float(cache[site][rows, ctx.subject_last.to(device)].norm(dim=-1).mean())
    with torch.no_grad():
        before = model(essence)[0, -1].float().log_softmax(-1)
    delta = torch.zeros(model.cfg.d_model, device=device, requires_grad=True)
    opt = torch.optim.Adam([delta], lr=config.lr)
    tokens, answer = ctx.tokens.to(device), ctx.answer.to(device)

    def adder(at: Tensor):
        def add(act: Tensor, hook=None) -> Tensor:
            bump = torch.zeros_like(act)
            bump[torch.arange(act.shape[0]), at] = delta.to(act)
            return act + bump

        return add

    steps = 0
    for steps in range(1, config.steps + 1):  # noqa: B007 (read after the loop)
        with torch.enable_grad():
            with hooks(model, [(site, adder(ctx.subject_last.to(device)))]):
                logprobs = model(tokens).float().log_softmax(-1)
            picked = logprobs[rows[:, None], ctx.answer_at.to(device)]  # [batch, n_answer, d_vocab]
            nll = -picked.gather(-1, answer.expand(len(rows), -1)[..., None]).mean()
            with hooks(model, [(site, adder(torch.tensor([essence_at], device=device)))]):
                after = model(essence)[0, -1].float().log_softmax(-1)
            kl = torch.nn.functional.kl_div(after, before, log_target=True, reduction="sum")
            loss = nll + config.kl_factor * kl + config.weight_decay * (delta.norm() / value_norm) ** 2
            if float(nll.detach()) < 0.05:
                break
            (grad,) = torch.autograd.grad(loss, [delta])
        delta.grad = grad
        opt.step()
        with torch.no_grad():
            most = config.clamp * value_norm
            if float(delta.norm()) > most:
                delta.mul_(most / float(delta.norm()))
    size = float(delta.detach().norm())
    log.debug("value for %r: nll %.3f, %d steps, |delta| %.3g", ctx.fact.prompt, float(nll.detach()), steps, size)
    return delta.detach().double().cpu()
