"""Text to token ids and back, with the checks every analysis needs (context length, unknown words,
single-token answers)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from interp.core.locking import lock_free
from interp.vocab.types import Model

__all__ = [
    "ContextTooLongError",
    "check_context",
    "known_ids",
    "length_groups",
    "random_token_pool",
    "readable",
    "right_padded",
    "single_token",
    "single_token_words",
    "special_token_ids",
    "str_token_rows",
    "str_tokens",
    "token_id_rows",
    "token_ids",
]


class ContextTooLongError(ValueError):
    """A prompt has more tokens than the model's context window."""


@lock_free("tokenizer only")
def check_context(model: Model, n_tokens: int, *, what: str = "prompt") -> None:
    if n_tokens > model.cfg.n_ctx:
        raise ContextTooLongError(
            f"{what} is {n_tokens} tokens long but {model.cfg.model_name} has a context of {model.cfg.n_ctx} tokens; "
            "shorten it"
        )


@lock_free("tokenizer only")
def token_ids(model: Model, text: str, *, prepend_bos: bool = True) -> list[int]:
    """Token ids of one text, with the model's BOS token first when it has one and `prepend_bos`."""
    ids = known_ids(model, text)
    bos = model.tokenizer.bos_token_id
    if prepend_bos and bos is not None:
        ids = [bos, *ids]
    check_context(model, len(ids))
    return ids


@lock_free("tokenizer only")
def token_id_rows(model: Model, texts: Sequence[str], *, prepend_bos: bool = True) -> list[list[int]]:
    """`token_ids` of many texts, in one batched call of the tokenizer (the same ids and the same checks)."""
    tok = model.tokenizer
    rows = tok(list(texts), add_special_tokens=False)["input_ids"] if texts else []
    unk, bos = tok.unk_token_id, tok.bos_token_id
    out = []
    for text, ids in zip(texts, rows):
        if unk is not None and unk in ids:
            ids = known_ids(model, text)  # raises naming the unknown words, unless the text spells <unk> out
        ids = [bos, *ids] if prepend_bos and bos is not None else list(ids)
        check_context(model, len(ids))
        out.append(ids)
    return out


@lock_free("tokenizer only")
def str_tokens(model: Model, ids: Sequence[int] | Tensor) -> list[str]:
    """One display string per token id (for axis labels)."""
    ids = ids.tolist() if isinstance(ids, Tensor) else list(ids)
    return [model.tokenizer.decode([i]) for i in ids]


@lock_free("tokenizer only")
def str_token_rows(model: Model, rows: Sequence[Sequence[int]]) -> tuple[tuple[str, ...], ...]:
    """`str_tokens` of many rows, decoding each distinct id once (a task's rows repeat a small vocabulary)."""
    shown = {i: model.tokenizer.decode([i]) for i in {i for row in rows for i in row}}
    return tuple(tuple(shown[i] for i in row) for row in rows)


@lock_free("tokenizer only")
def known_ids(model: Model, text: str) -> list[int]:
    """Token ids of `text`; an error if a word-level tokenizer maps some of it to its unknown token,
    which would otherwise turn every unknown word into the same token without a word said."""
    tok = model.tokenizer
    ids = tok(text, add_special_tokens=False)["input_ids"]
    unk = tok.unk_token_id
    # the unknown token typed out literally is no unknown word; any other unknown token is (counting them, not
    # asking whether the literal appears anywhere, which would let "<unk>" in a prompt hide every unknown word)
    literal = text.count(tok.unk_token) if tok.unk_token else 0
    if unk is not None and ids.count(unk) > literal:
        words = dict.fromkeys(
            w
            for w in text.split()
            if unk in tok(w.replace(tok.unk_token or "\0", ""), add_special_tokens=False)["input_ids"]
        )
        unknown = ", ".join(map(repr, list(words)[:10])) or "part of the text"
        raise ValueError(f"{model.cfg.model_name}'s tokenizer does not know {unknown} (they become {tok.unk_token})")
    return ids


@lock_free("tokenizer only")
def single_token(model: Model, text: str) -> int:
    """The id of `text` as the next token (e.g. " Mary"); an error if it is not exactly one token."""
    ids = known_ids(model, text)
    if len(ids) != 1:
        pieces = [model.tokenizer.decode([i]) for i in ids]
        raise ValueError(
            f"{text!r} is {len(ids)} tokens for {model.cfg.model_name} ({pieces}); answers must be one token"
        )
    return ids[0]


@lock_free("tokenizer only")
def single_token_words(model: Model, words: Sequence[str]) -> list[str]:
    """The words that are one known token after a space (as they appear mid-sentence)."""
    unk = model.tokenizer.unk_token_id
    ids = {w: model.tokenizer(" " + w, add_special_tokens=False)["input_ids"] for w in words}
    return [w for w, i in ids.items() if len(i) == 1 and i[0] != unk]


@lock_free("tokenizer only")
def special_token_ids(model: Model) -> set[int]:
    return set(model.tokenizer.all_special_ids)


@lock_free("tokenizer only")
def random_token_pool(model: Model) -> list[int]:
    """Token ids safe to sample at random: every id but the special tokens."""
    special = special_token_ids(model)
    return [i for i in range(model.cfg.d_vocab) if i not in special]


@lock_free("tokenizer only")
def readable(model: Model, texts: Sequence[str]) -> list[str]:
    """The texts the model's tokenizer writes without unknown words (a zoo model's word vocabulary reads few English
    sentences); an empty text counts as readable."""
    kept = []
    for text in texts:
        try:
            if text:
                known_ids(model, text)
            kept.append(text)
        except ValueError:
            pass
    return kept


@lock_free("tokenizer only")
def right_padded(model: Model, rows: Sequence[Sequence[int]]) -> Tensor:
    """Token rows of different lengths as one [batch, pos] tensor, padded on the right with the pad token (0 without
    one): in a causal model a row's own tokens never read the pads after them, so their activations are the row's
    alone."""
    width = max(len(r) for r in rows)
    pad = model.tokenizer.pad_token_id or 0
    return torch.tensor([list(r) + [pad] * (width - len(r)) for r in rows])


def length_groups(rows: list[list[int]]) -> list[list[int]]:
    """The indices of `rows`, grouped by row length: prompts of one length run as one batch, with no
    padding to reason about."""
    groups: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(len(r), []).append(i)
    return list(groups.values())
