"""Text generation with interventions active for the whole of it: greedy or seeded sampling, batched, stop strings,
the chat template, and the model's own KV cache where it has one.

Why not TransformerBridge.generate: it returns tokens or text in shapes that change with its flags, reseeds
nothing per prompt (a prompt's sample depends on its neighbours in the batch), and knows nothing of an
intervention shaped for the prompt. Here each prompt samples from its own generator (seed, row), so a batch gives
each prompt the text it gets alone, and an intervention's reach is stated:

- a `positionwise` intervention (Steer, SpliceSAE, Zero) is applied at every forward: the prompt and every new
  token; one that tracks positions (`Steer(from_position=...)`) is told each chunk's positions along its prompt;
- an intervention shaped for the prompt (a patch source, a mean, a positions mask) is applied to the prompt's
  positions only. With a KV cache that is the first forward; without one, the prompt's slice of every rerun. The two
  agree: in a causal model the prompt's activations do not depend on the tokens after it.

Batches: with a KV cache, prompts are left-padded with an attention mask (the bridge derives the positions from
it); a native model, which keeps no cache and takes no mask, runs each group of prompts of one length as its own
batch, so no prompt ever sees a pad.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from interp.core.hooks import hooks
from interp.core.interventions import Intervention
from interp.core.locking import exclusive, lock_free
from interp.core.tokens import check_context, token_ids
from interp.results import Generation
from interp.vocab.types import Model, Progress

__all__ = ["chat_prompt", "generate"]


@exclusive
def generate(
    model: Model,
    prompts: str | Sequence[str],
    *,
    max_new_tokens: int = 32,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int = 0,
    stop: Sequence[str] = (),
    chat: bool = False,
    interventions: Sequence[tuple[str, Intervention]] = (),
    batch_size: int = 8,
    kv_cache: bool | None = None,
    progress: Progress | None = None,
) -> Generation:
    """Continue each prompt by up to `max_new_tokens` tokens, with `interventions` ((hook name, intervention) pairs)
    active throughout. temperature 0 is greedy; above it, each prompt samples with its own generator seeded from
    (seed, its index), keeping the smallest set of tokens whose probability reaches `top_p`. Generation stops at the
    model's end token, or at any of the `stop` strings (cut from the text). `chat` wraps each prompt as a user turn
    of the model's chat template. `kv_cache` None uses the model's own KV cache where it has one; False reruns the
    whole sequence at every step (the same tokens, slower: tests/test_generation.py checks both agree)."""
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    _check_options(prompts, max_new_tokens, temperature, top_p, batch_size)
    rows = [_prompt_ids(model, p, chat) for p in prompts]
    longest = max(len(r) for r in rows)
    check_context(model, longest + max_new_tokens, what=f"a prompt ({longest} tokens) with {max_new_tokens} new tokens")
    start = time.perf_counter()
    offered = _has_kv_cache(model)
    cached = offered if kv_cache is None else kv_cache
    if cached and not offered:
        raise ValueError(f"{model.cfg.model_name} keeps no KV cache (a native model): use kv_cache=None or False")
    shaped = [iv for _, iv in interventions if not iv.positionwise]
    lengths = sorted({len(r) for r in rows})
    if shaped and (len(lengths) > 1 or len(rows) > batch_size):
        raise ValueError(
            f"{shaped[0]!r} is shaped for one batch of prompts of one length, but there are {len(rows)} prompts of "
            f"{lengths} tokens; give prompts of one token length (at most batch_size), or generate them one at a time"
        )
    ends = _end_ids(model)
    new: list[list[int]] = [[] for _ in rows]
    batches = _batches(rows, batch_size, by_length=not cached)
    steps = len(batches) * max_new_tokens

    def step(done: int) -> None:
        if progress:
            progress(done, steps)

    for b, batch in enumerate(batches):
        out = _generate_batch(
            model, [rows[i] for i in batch], batch, interventions, max_new_tokens, temperature, top_p, seed, cached,
            ends, lambda k, b=b: step(b * max_new_tokens + k),
        )  # fmt: skip
        for i, ids in zip(batch, out):
            new[i] = ids
        step((b + 1) * max_new_tokens)
    texts, why = [], []
    for i, ids in enumerate(new):
        text, new[i], reason = _cut(model, ids, stop, ends)
        texts.append(text)
        why.append(reason)
    return Generation(
        model=model.cfg.model_name,
        prompts=tuple(prompts),
        texts=tuple(texts),
        prompt_tokens=tuple(tuple(r) for r in rows),
        new_tokens=tuple(tuple(ids) for ids in new),
        stopped_by=tuple(why),
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        chat=chat,
        interventions=tuple(f"{name}: {iv!r}" for name, iv in interventions),
        kv_cache=cached,
        seconds=time.perf_counter() - start,
    )


def _check_options(prompts: list[str], max_new_tokens: int, temperature: float, top_p: float, batch_size: int) -> None:
    if not prompts:
        raise ValueError("no prompts to continue: give at least one")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens is {max_new_tokens}; give 1 or more")
    if not (temperature >= 0 and temperature < float("inf")):
        raise ValueError(f"temperature is {temperature}; give 0 (greedy) or a finite positive number")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p is {top_p}; give a number in (0, 1]")
    if batch_size < 1:
        raise ValueError(f"batch_size is {batch_size}; give 1 or more")


@lock_free("tokenizer only")
def chat_prompt(model: Model, prompt: str) -> str:
    """`prompt` as a user turn of the model's chat template, ending where the assistant's answer begins."""
    template = getattr(model.tokenizer, "chat_template", None)
    if not template:
        raise ValueError(f"{model.cfg.model_name} has no chat template; generate without chat")
    messages = [{"role": "user", "content": prompt}]
    return model.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def _prompt_ids(model: Model, prompt: str, chat: bool) -> list[int]:
    if not prompt:
        raise ValueError("a prompt is empty; give some text to continue")
    if chat:  # the template writes its own start tokens
        return token_ids(model, chat_prompt(model, prompt), prepend_bos=False)
    return token_ids(model, prompt, prepend_bos=model.cfg.default_prepend_bos)


def _has_kv_cache(model: Model) -> bool:
    """Whether the model's forward returns a KV cache: a Hugging Face-backed bridge does, a native one returns None."""
    probe = torch.zeros(1, 1, dtype=torch.long, device=model.cfg.device)
    with torch.no_grad():
        out = model(probe, use_cache=True, return_type="logits_and_cache")
    return isinstance(out, tuple) and out[1] is not None


def _batches(rows: list[list[int]], size: int, *, by_length: bool) -> list[list[int]]:
    """Indices of the prompts in batches of at most `size`: in order, or (without padding) grouped by length."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i])) if by_length else list(range(len(rows)))
    out: list[list[int]] = []
    for i in order:
        if out and len(out[-1]) < size and (not by_length or len(rows[out[-1][0]]) == len(rows[i])):
            out[-1].append(i)
        else:
            out.append([i])
    return out


@dataclass
class _Reach:
    """Where the current forward sits: its first column in the padded sequence, and each row's pad count. The hooks
    read it to place their interventions (see the module's docstring)."""

    start: int
    pads: Tensor
    prompt_len: int

    def hook(self, intervention: Intervention):
        def apply(act: Tensor, hook=None) -> Tensor:
            n = act.shape[1]
            if intervention.positionwise:
                cols = torch.arange(self.start, self.start + n, device=act.device)
                return intervention.at_positions(cols[None, :] - self.pads.to(act.device)[:, None])(act, hook)
            if self.start >= self.prompt_len:
                return act
            head = self.prompt_len - self.start
            if head >= n:
                return intervention(act, hook)
            return torch.cat([intervention(act[:, :head], hook), act[:, head:]], dim=1)

        return apply


@torch.no_grad()
def _generate_batch(
    model: Model,
    rows: list[list[int]],
    index: list[int],
    interventions: Sequence[tuple[str, Intervention]],
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    cached: bool,
    ends: set[int],
    step: Callable[[int], None],
) -> list[list[int]]:
    device = model.cfg.device
    width = max(len(r) for r in rows)
    pad = model.tokenizer.pad_token_id if model.tokenizer.pad_token_id is not None else 0
    tokens = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=device)
    pads = torch.tensor([width - len(r) for r in rows])
    mask = (torch.arange(width)[None, :] >= pads[:, None]).long().to(device)
    gens = [torch.Generator().manual_seed(seed * 1_000_003 + i) for i in index]
    reach = _Reach(start=0, pads=pads, prompt_len=width)
    fwd = [(name, reach.hook(iv)) for name, iv in interventions]
    out = [[] for _ in rows]
    live = torch.ones(len(rows), dtype=torch.bool)
    cache = None
    with hooks(model, fwd):
        step_input = tokens
        for k in range(max_new_tokens):
            step(k)
            if cached:
                logits, cache = model(
                    step_input, attention_mask=mask, past_key_values=cache, use_cache=True,
                    return_type="logits_and_cache",
                )  # fmt: skip
            else:
                logits = model(step_input)
            nxt = _pick(logits[:, -1].float().cpu(), temperature, top_p, gens)
            for r in range(len(rows)):
                if live[r]:
                    out[r].append(int(nxt[r]))
                    live[r] = int(nxt[r]) not in ends
            if not live.any():
                break
            column = nxt[:, None].to(device)
            mask = torch.cat([mask, torch.ones_like(column)], dim=1)
            if cached:  # the next forward reads the new column alone
                reach.start, step_input = mask.shape[1] - 1, column
            else:
                step_input = torch.cat([step_input, column], dim=1)
    return out


def _pick(logits: Tensor, temperature: float, top_p: float, gens: list[torch.Generator]) -> Tensor:
    """The next token of each row: the argmax, or a sample from the nucleus of the tempered distribution."""
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        outside = sorted_probs.cumsum(-1) - sorted_probs >= top_p  # keep the tokens needed to reach top_p
        sorted_probs[outside] = 0
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.stack([torch.multinomial(p, 1, generator=g)[0] for p, g in zip(probs, gens)])


def _end_ids(model: Model) -> set[int]:
    """Tokens that end a generation: the tokenizer's end-of-text, and a chat model's end-of-turn."""
    tok = model.tokenizer
    ends = {tok.eos_token_id} if tok.eos_token_id is not None else set()
    vocab = tok.get_vocab()
    ends.update(vocab[text] for text in ("<|im_end|>", "<|eot_id|>", "<|end|>") if text in vocab)
    return ends


def _cut(model: Model, ids: list[int], stop: Sequence[str], ends: set[int]) -> tuple[str, list[int], str]:
    """The continuation's text cut before its first stop string or end token, the ids kept, and why it stopped."""
    if ids and ids[-1] in ends:
        return model.tokenizer.decode(ids[:-1]), ids, "eos"
    text = model.tokenizer.decode(ids)
    hits = [text.index(s) for s in stop if s and s in text]
    if hits:
        cut = text[: min(hits)]
        kept = len(model.tokenizer(cut, add_special_tokens=False)["input_ids"]) if cut else 0
        return cut, ids[: kept + 1], "stop"
    return text, ids, "length"
