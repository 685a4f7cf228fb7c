"""The second moment of an MLP's keys on real text, C = E[k k^T]: how ROME and MEMIT weigh what an edit must leave
alone (a change along directions the keys of ordinary text rarely take costs little).

The text is the model's own default text (interp.loading.spec.defaults_for(model).text): Debian's fortunes for
SmolLM2, a zoo model's generated corpus for a zoo model, Python's documentation where fortunes are not installed.
Rows of `context` tokens start with BOS, and BOS's own key is left out: its activations are outliers (SmolLM2's
BOS residual has norm ~25,000 against ~150) that would dominate the mean. Statistics are cached on disk per model,
layer, text and token count, keyed also by a hash of the layer's weights, so an edited model never reads its
base's statistics by mistake.
"""

from __future__ import annotations

import hashlib
import logging

import torch
from jaxtyping import Float
from torch import Tensor

from interp.core.files import cache_root
from interp.core.hooks import activations
from interp.core.locking import exclusive, lock_free
from interp.core.weight_edits import mlp_key_hook, mlp_out_weight
from interp.loading.spec import defaults_for
from interp.vocab.types import Model, Progress

__all__ = ["KEY_TOKENS", "key_second_moment", "key_texts"]

log = logging.getLogger(__name__)
KEY_TOKENS = 20_000
CONTEXT = 64


@lock_free("reads the spec and text files only")
def key_texts(model: Model) -> tuple[str, tuple[str, ...]]:
    """(name, documents) of the text the key statistics read for this model."""
    name = defaults_for(model).text
    if name == "zoo":
        from interp.zoo.corpus import lang_documents

        return "zoo", tuple(lang_documents(2_000, n_words=40, seed=1))
    from interp.zoo.texts import text_documents

    try:
        return name, text_documents(name)
    except (ValueError, OSError):
        return "text:python-docs", text_documents("text:python-docs")


@exclusive
def key_second_moment(
    model: Model, layer: int, *, n_tokens: int = KEY_TOKENS, progress: Progress | None = None
) -> Float[Tensor, "d_mlp d_mlp"]:
    """E[k k^T] over `n_tokens` tokens of the model's text at layer `layer`'s MLP key, float64 on the CPU (cached)."""
    if n_tokens < 100:
        raise ValueError(f"n_tokens is {n_tokens}: too few to estimate a {model.cfg.d_mlp}-wide second moment")
    name, documents = key_texts(model)
    weight = mlp_out_weight(model, layer)
    digest = hashlib.sha256(weight.detach().float().cpu().numpy().tobytes()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{model.cfg.model_name}-{name}")
    path = cache_root() / "editing" / f"{safe}-L{layer}-{n_tokens}-{digest}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    hook = mlp_key_hook(model, layer)
    rows = _rows(model, documents, n_tokens)
    moment = torch.zeros(model.cfg.d_mlp, model.cfg.d_mlp, dtype=torch.float64)
    count = 0
    for start in range(0, len(rows), 16):
        batch = rows[start : start + 16]
        with torch.no_grad():
            keys = activations(model, batch, [hook])[hook][:, 1:].reshape(-1, model.cfg.d_mlp).double().cpu()
        moment += keys.T @ keys
        count += keys.shape[0]
        if progress:
            progress(min(start + 16, len(rows)), len(rows))
    moment /= count
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{id(moment)}.tmp")  # written whole, then renamed: a reader never sees half a file
    torch.save(moment, tmp)
    tmp.replace(path)
    log.info("key statistics of %s, layer %d: %d tokens of %s, in %s", model.cfg.model_name, layer, count, name, path)
    return moment


def _rows(model: Model, documents: tuple[str, ...], n_tokens: int) -> Tensor:
    """Rows of CONTEXT tokens (fewer if the model's context is shorter; BOS first) cut from the documents in order,
    enough for `n_tokens` keys."""
    bos = model.tokenizer.bos_token_id
    per_row = min(CONTEXT, model.cfg.n_ctx) - 1
    need = -(-n_tokens // per_row)
    stream: list[int] = []
    for i in range(0, len(documents), 64):
        for ids in model.tokenizer(list(documents[i : i + 64]), add_special_tokens=False)["input_ids"]:
            stream.extend(ids)  # the documents run on as one stream: none needs to fit the context alone
        if len(stream) >= need * per_row:
            break
    if len(stream) < per_row:
        raise ValueError(f"the key text holds only {len(stream)} tokens")
    n = min(need, len(stream) // per_row)
    body = torch.tensor(stream[: n * per_row]).reshape(n, per_row)
    first = torch.full((n, 1), bos if bos is not None else body[0, 0].item())
    return torch.cat([first, body], dim=1)
