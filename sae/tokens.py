"""Token batches for SAE evaluation, offline: a local text file, or a zoo model's own generated corpus.

(Token datasets for training jobs, with local `datasets` folders and hub datasets, belong to the SAE
training issue; this covers what evaluation needs now.)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from jaxtyping import Int
from torch import Tensor

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge


def rows_of(ids: list[int], *, context: int, n_rows: int, bos: int | None) -> Int[Tensor, "batch pos"]:
    """Cut a stream of token ids into rows of `context` tokens (each starting with BOS when the model has one)."""
    body = context - (bos is not None)
    rows = [ids[i : i + body] for i in range(0, len(ids) - body + 1, body)][:n_rows]
    if not rows:
        raise ValueError(f"the text holds {len(ids)} tokens, fewer than one row of {context}")
    return torch.tensor([([bos] if bos is not None else []) + row for row in rows])


def eval_tokens(
    model: "TransformerBridge", spec: str, *, n_tokens: int, context: int = 48, text_file: str | Path | None = None, seed: int = 0
) -> Int[Tensor, "batch pos"]:
    """About `n_tokens` tokens in rows of `context`: from `text_file` (txt, tokenized with the model's own
    tokenizer), else from the zoo model's training distribution. Other models need a text file."""
    from interp.zoo import corpus

    context = min(context, model.cfg.n_ctx)
    n_rows = max(1, n_tokens // context)
    bos = model.tokenizer.bos_token_id if model.tokenizer is not None else None
    if text_file is not None:
        path = Path(text_file).expanduser()
        if not path.is_file():
            raise ValueError(f"no text file at {path}")
        ids = model.tokenizer(path.read_text(), add_special_tokens=False)["input_ids"]
        return rows_of(ids, context=context, n_rows=n_rows, bos=bos)
    if spec == "zoo:lang-4l":
        docs = corpus.lang_documents(n_rows, n_words=context + 8, seed=seed + 1000)  # not the training seed
        ids = model.tokenizer(docs, add_special_tokens=False)["input_ids"]
        return torch.tensor([[corpus.BOS_ID, *row[: context - 1]] for row in ids])
    if spec == "zoo:induction-2l":
        gen = torch.Generator().manual_seed(seed + 1000)
        return corpus.repeated_sequences(n_rows, n_ctx=context, d_vocab=model.cfg.d_vocab, min_len=3, max_len=24, generator=gen)
    raise ValueError(f"give --text FILE: {spec} has no built-in corpus (only the zoo models do)")
