"""Each head's QK and OV circuits as factored matrices, on every family the workbench loads.

What the weights mean here, and why it is exact:
- **Norms are folded.** Models load with TransformerLens's weight processing (`enable_compatibility_mode`:
  fold_ln, centred writing weights and unembedding), so a norm's scale (LayerNorm or RMSNorm) is already inside
  W_Q, W_K, W_V, W_in and W_U, and the norm's module only divides by the RMS (and centres, for LayerNorm). The
  circuits below therefore act on the *normalised* residual stream; the division is a positive number per
  position, so it changes no sign, no ranking within a row and no eigenvalue's sign.
- **Grouped-query attention.** Query head h of a layer with G key/value heads reads key/value head
  h // (n_heads / G): its W_K and W_V are that head's (TransformerBridge keeps one per key/value head).
- **Rotary embeddings** make the QK circuit depend on the offset between query and key: q R(i)^T R(j) k =
  q R(j - i) k. `qk_circuit` gives the content part (the rotation at offset 0 is the identity);
  `positional_qk` gives the score against the offset.

TransformerLens's FactoredMatrix holds the products (A @ B never expanded; its eigenvalues and norms come from
the small d_head x d_head side); this module supplies the weights it lacks for grouped-query and rotary models.
"""

from __future__ import annotations

import math
import weakref

import torch
from jaxtyping import Float
from torch import Tensor
from transformer_lens import FactoredMatrix

from interp.core.biases import stacked_bias
from interp.core.locking import lock_free
from interp.core.patch_sites import kv_group
from interp.results import PositionalQK
from interp.vocab.types import Model

__all__ = [
    "attention_scale",
    "check_head",
    "embedding_moments",
    "head_label",
    "head_weights",
    "normalised",
    "ov_circuit",
    "positional_qk",
    "qk_circuit",
    "rotary_base",
    "rotary_pairs",
    "rotate",
]


def head_label(layer: int, head: int) -> str:
    return f"L{layer}H{head}"


@lock_free("config only")
def check_head(model: Model, layer: int, head: int | None = None) -> None:
    """Refuse a layer or head the model does not have, naming the range."""
    cfg = model.cfg
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < cfg.n_layers:
        raise ValueError(f"{cfg.model_name} has layers 0-{cfg.n_layers - 1}; got layer {layer!r}")
    if head is not None and (isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < cfg.n_heads):
        raise ValueError(f"{cfg.model_name} has heads 0-{cfg.n_heads - 1} in each layer; got head {head!r}")


def _kv_index(model: Model) -> Tensor:
    """For each query head, the key/value head it reads."""
    return torch.arange(model.cfg.n_heads) // kv_group(model)


@lock_free("weights only")
def head_weights(model: Model, layer: int) -> dict[str, Float[Tensor, "head ..."]]:
    """One layer's W_Q, W_K, W_V [head, d_model, d_head] and W_O [head, d_head, d_model], one per query head
    (a shared key/value head repeated for each query head that reads it), float32 on the CPU."""
    check_head(model, layer)
    attn, kv = model.blocks[layer].attn, _kv_index(model)
    w = {"W_Q": attn.W_Q, "W_K": attn.W_K, "W_V": attn.W_V, "W_O": attn.W_O}
    w = {k: v.detach().float().cpu() for k, v in w.items()}
    for k in ("W_K", "W_V"):
        if w[k].shape[0] != model.cfg.n_heads:
            w[k] = w[k][kv]
    return w


@lock_free("weights only")
def qk_circuit(model: Model, layer: int, head: int) -> FactoredMatrix:
    """W_Q W_K^T [d_model, d_model] of one head: score(query x, key y) = x W_QK y^T / sqrt(d_head) on the
    normalised residual stream (biases aside); under rotary embeddings, its content part (offset 0)."""
    check_head(model, layer, head)
    w = head_weights(model, layer)
    return FactoredMatrix(w["W_Q"][head], w["W_K"][head].T)


@lock_free("weights only")
def ov_circuit(model: Model, layer: int, head: int) -> FactoredMatrix:
    """W_V W_O [d_model, d_model] of one head: what it writes (x W_OV) for each unit of attention on a source x."""
    check_head(model, layer, head)
    w = head_weights(model, layer)
    return FactoredMatrix(w["W_V"][head], w["W_O"][head])


@lock_free("config only (and rotary_pairs' one short run)")
def rotate(model: Model, x: Float[Tensor, "pos ... d_head"], positions: Tensor, *, pairs: str | None = None) -> Tensor:
    """Rotary embedding of vectors `x` (first axis: one per entry of `positions`), as the model applies it to its
    queries and keys: each pair of dimensions rotated by position x base^(-2i/rotary_dim), the pairs being
    (i, i + rotary_dim/2) in Hugging Face's Llama and GPT-NeoX code, and adjacent dimensions (2i, 2i+1) in
    TransformerLens's native models (the zoo's) and GPT-J; which one a model uses is read off its own attention
    pattern once (`rotary_pairs`), unless `pairs` says. Dimensions past rotary_dim pass unrotated."""
    cfg = model.cfg
    dim = cfg.rotary_dim or cfg.d_head
    freq = rotary_base(model) ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    angle = positions.double()[:, None] * freq[None]  # [pos, dim/2]
    shape = (len(positions),) + (1,) * (x.dim() - 2) + (dim // 2,)
    cos, sin = angle.cos().float().reshape(shape), angle.sin().float().reshape(shape)
    rot, rest = x[..., :dim], x[..., dim:]
    if (pairs or rotary_pairs(model)) == "adjacent":
        a, b = rot[..., 0::2], rot[..., 1::2]
        out = torch.stack([a * cos - b * sin, a * sin + b * cos], -1).flatten(-2)
    else:
        a, b = rot[..., : dim // 2], rot[..., dim // 2 :]
        out = torch.cat([a * cos - b * sin, a * sin + b * cos], -1)
    return torch.cat([out, rest], -1)


@lock_free("config only")
def rotary_base(model: Model) -> float:
    """The rotary base (theta). A TransformerBridge over a Hugging Face model keeps the checkpoint's own in
    `rope_parameters` and may leave `rotary_base` at its default 10,000 (SmolLM2's is 100,000)."""
    params = getattr(model.cfg, "rope_parameters", None) or {}
    return float(params.get("rope_theta") or model.cfg.rotary_base)


_PAIRS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@lock_free("run_with_cache holds the lock itself")
def rotary_pairs(model: Model) -> str:
    """ "half" or "adjacent": how the model pairs the dimensions it rotates. Read once per model by running it on
    12 tokens and keeping the convention under which rotated hook_q . hook_k reproduces its attention pattern
    (hook_pattern: TransformerLens's native attention stores probabilities in hook_attn_scores too). A model
    whose rotation is neither, e.g. a scaled RoPE, is refused."""
    if model in _PAIRS:
        return _PAIRS[model]
    from interp.core.hooks import run_with_cache

    names = ["blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_pattern"]
    tokens = torch.arange(12)[None] % model.cfg.d_vocab
    _, cache = run_with_cache(model, tokens, names)
    q, k, pattern = (cache[n][0].float().cpu() for n in names)  # q, k: [pos, head, d_head]; pattern [head, q, k]
    kv = _kv_index(model)
    k = k[:, kv] if k.shape[1] != q.shape[1] else k
    positions = torch.arange(12)
    causal = torch.ones(12, 12, dtype=torch.bool).tril()
    errors = {}
    for pairs in ("half", "adjacent"):
        rq, rk = rotate(model, q, positions, pairs=pairs), rotate(model, k, positions, pairs=pairs)
        scores = torch.einsum("qhd,khd->hqk", rq, rk) * attention_scale(model)
        mine = scores.masked_fill(~causal, -torch.inf).softmax(-1)
        errors[pairs] = float((mine - pattern).abs().max())
    best = min(errors, key=errors.get)
    if errors[best] > 1e-3:
        raise ValueError(
            f"{model.cfg.model_name}'s rotary embedding is neither of the two known pairings (pattern errors "
            f"{errors}); positional QK scores are not available for it"
        )
    _PAIRS[model] = best
    return best


@lock_free("weights only")
def embedding_moments(model: Model, tokens: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Mean [d_model] and second moment E[x x^T] [d_model, d_model] of the normalised embeddings of `tokens`
    (default: the whole vocabulary)."""
    x = model.W_E.detach().float().cpu()
    x = normalised(x if tokens is None else x[tokens], model)
    return x.mean(0), x.T @ x / len(x)


@lock_free("config only")
def normalised(x: Tensor, model: Model) -> Tensor:
    """What a folded norm makes of residual vectors x [..., d_model]: centred for LayerNorm, divided by the RMS
    (the folded scale lives in the next weights); unchanged for a model without norms."""
    kind = model.cfg.normalization_type
    if kind is None:
        return x
    if kind.startswith("LN"):
        x = x - x.mean(-1, keepdim=True)
    return x / (x.pow(2).mean(-1, keepdim=True) + model.cfg.eps).sqrt()


@lock_free("config only")
def attention_scale(model: Model) -> float:
    """What a head's scores are multiplied by (1/sqrt(d_head), or the model's own attn_scale)."""
    cfg = model.cfg
    if not getattr(cfg, "use_attn_scale", True):
        return 1.0
    scale = getattr(cfg, "attn_scale", -1.0)
    return 1.0 / (scale if scale and scale > 0 else math.sqrt(cfg.d_head))


@lock_free("weights only (and rotary_pairs' one short run)")
def positional_qk(
    model: Model,
    layer: int,
    head: int,
    *,
    max_offset: int = 16,
    tokens: Tensor | None = None,
    moments: tuple[Tensor, Tensor] | None = None,
) -> PositionalQK:
    """The head's attention score against how far back the key is, from the weights. At offset 0 the key is the
    query's own token: the score q_t . k_t averaged over the tokens t of `tokens` (default: the vocabulary); at
    offset d > 0 it is averaged over pairs of tokens, which by linearity is the mean query against the mean key,
    rotated by -d under rotary embeddings (q R(i) . k R(i - d) = q . k R(-d)); with learned positions (W_pos),
    the mean query at position p against the mean key at p - d, averaged over p. Read at the first layer's input
    (the embedding), as previous-token heads there see it; softmax(scores)[1] is the weight such a head puts on
    the previous token among the last max_offset + 1. `moments` reuses `embedding_moments(model, tokens)`."""
    check_head(model, layer, head)
    cfg = model.cfg
    max_offset = min(max_offset, cfg.n_ctx - 1)
    w = head_weights(model, layer)
    b_q = stacked_bias(model, "b_Q")[layer].detach().float().cpu()[head]
    b_k = stacked_bias(model, "b_K")[layer].detach().float().cpu()[_kv_index(model)][head]
    scale = attention_scale(model)
    kind = cfg.positional_embedding_type
    with torch.no_grad():
        if kind == "rotary":
            # E[q_t . k_t] and the mean q, k are linear in the first two moments of the normalised embeddings
            mean, second = moments or embedding_moments(model, tokens)
            w_q, w_k = w["W_Q"][head], w["W_K"][head]
            q_mean, k_mean = mean @ w_q + b_q, mean @ w_k + b_k
            own = (w_q * (second @ w_k)).sum() + (mean @ w_q) @ b_k + b_q @ (mean @ w_k) + b_q @ b_k
            back = rotate(model, k_mean.expand(max_offset, -1), -torch.arange(1, max_offset + 1))
            scores = torch.cat([own[None], back @ q_mean])
            how = f"rotary ({rotary_pairs(model)} pairs, base {rotary_base(model):g}): mean query . mean key, rotated"
        elif kind in ("standard", "shortformer"):
            n_pos = min(cfg.n_ctx, max_offset + 64)  # query positions averaged over
            pos = model.pos_embed.W_pos.detach().float().cpu()[:n_pos]
            embed = model.W_E.detach().float().cpu()
            embed = embed if tokens is None else embed[tokens]
            if tokens is None and len(embed) > 512:  # [pos, token, d_model] below: a spread sample of the vocabulary
                embed = embed[torch.linspace(0, len(embed) - 1, 512).long()]
            x = normalised(embed[None] + pos[:, None], model)  # the norm is not linear: each token at each position
            q, k = x @ w["W_Q"][head] + b_q, x @ w["W_K"][head] + b_k  # [pos, token, d_head]
            qm, km = q.mean(1), k.mean(1)
            scores = torch.stack(
                [(q * k).sum(-1).mean()] + [(qm[d:] * km[: n_pos - d]).sum(-1).mean() for d in range(1, max_offset + 1)]
            )
            how = "learned positions (W_pos): the mean query at each position . the mean key `offset` earlier"
        else:
            raise ValueError(f"{cfg.model_name} has {kind} positions; positional_qk reads rotary and learned ones")
    return PositionalQK(
        model=cfg.model_name,
        head=head_label(layer, head),
        offsets=tuple(range(max_offset + 1)),
        scores=tuple((scores * scale).tolist()),
        how=how,
    )
