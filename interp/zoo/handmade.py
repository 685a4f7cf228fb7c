"""Zoo models whose weights are set by hand, so that their circuit is known by construction.

kc-induction and kc-lookup have no LayerNorm, so every weight acts exactly as set. Their residual stream is
split into named subspaces (one coordinate per token, one per position, ...): each head or MLP of the
mechanism reads one subspace and writes another, and the unembedding reads only the "output" subspace.
The other heads (and kc-lookup's MLP1) are distractors: seeded random weights that read every subspace
and write mostly into a "junk" subspace that nothing in the mechanism reads, and a little (`leak`) into the
output subspace, so that the edges outside the circuit have small but non-zero effects on the logits (a
benchmark whose false edges all scored exactly 0 would be too easy). `interp zoo train NAME` rebuilds a
folder with `build_handmade_model`: deterministic from the seed, no training. interp.zoo.known says which
edges carry each model's task and why.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor

from interp.zoo import ZOO, corpus

__all__ = [
    "DESIGN",
    "HANDMADE",
    "MECHANISM",
    "BuildReport",
    "HandmadeConfig",
    "build_handmade_model",
    "distractors",
    "handmade_state_dict",
    "subspaces",
]


@dataclass(frozen=True)
class HandmadeConfig:
    """Sizes and scales of a hand-made zoo model (2 layers of 4 heads; d_model = 4 * d_head)."""

    n_ctx: int
    """Context length in tokens (BOS included): the size of the position subspace."""
    d_head: int
    """Width of each head; at least the vocabulary, so that a head's value can copy a one-hot token."""
    d_mlp: int | None
    """MLP hidden width; None makes an attention-only model."""
    gap: float = 30.0
    """Attention score (after the 1/sqrt(d_head) scale) of a mechanism head's target key over every other key:
    each other key gets at most exp(-gap) of the target's weight."""
    unembed_scale: float = 10.0
    """The logit of token t is this times output coordinate t."""
    leak: float = 0.05
    """Scale of a distractor's writes into the output subspace, relative to its writes into junk."""
    seed: int = 0
    """Seeds the distractors' weights."""

    def __post_init__(self) -> None:
        if min(self.n_ctx, self.d_head) < 2 or (self.d_mlp is not None and self.d_mlp < 1):
            raise ValueError("n_ctx, d_head and d_mlp must be positive")
        if self.gap <= 0 or self.unembed_scale <= 0 or self.leak < 0:
            raise ValueError("gap and unembed_scale must be positive and leak at least 0")


N_LAYERS, N_HEADS = 2, 4
HANDMADE: dict[str, HandmadeConfig] = {
    # a margin of 8, not 30: at 30 the induction head's softmax is saturated (other keys get e^-30 of the weight) and
    # every gradient through its query and key vanishes, so gradient methods cannot see those edges (measured on
    # induction-resample, noise: AUROC of EAP 0.68, EAP-IG 0.69, EAP-IG-activations 0.84, exact 1.0). At 8 the
    # circuit is as sharp in effect (logit difference 9.97 against 9.96) and every method's AUROC is 1.0.
    "kc-induction": HandmadeConfig(n_ctx=32, d_head=40, d_mlp=None, gap=8.0),
    "kc-lookup": HandmadeConfig(n_ctx=16, d_head=40, d_mlp=32),
}
# Distractor weights, read from every subspace: query/key entries N(0, QK_STD^2), value entries N(0, V_STD^2), MLP1
# input entries N(0, MLP_IN_STD^2); writes N(0, 1/width) into junk and `leak` times that into output. With these,
# zero-ablating one distractor moves the logit difference by 0.1-0.6 (of ~10); twice as large reads, and kc-lookup's
# MLP1 (which reads the junk the four layer-0 distractors write) swung logits by several units and cost accuracy.
QK_STD, V_STD, MLP_IN_STD = 0.3, 0.2, 0.15

MECHANISM: dict[str, tuple[str, ...]] = {"kc-induction": ("L0H0", "L1H0"), "kc-lookup": ("MLP0", "L1H0")}
"""The components of each model's mechanism; every other head (and MLP) is a distractor."""
DESIGN: dict[str, tuple[str, ...]] = {
    "kc-induction": (
        "L0H0, previous-token head: its query and key read only the position subspace (the query at position i is "
        "the key of position i-1); its value copies the token subspace into the "
        "previous-token subspace.",
        "L1H0, induction head: its query reads the token subspace, its key only the previous-token subspace (it "
        "attends where the key's previous token is the query's token); its value copies the token subspace into the "
        "output subspace.",
    ),
    "kc-lookup": (
        "MLP0 computes the table g (interp.zoo.corpus.LOOKUP_TABLE): one ReLU neuron per key reads that key's "
        "token coordinate (it outputs 1 on the key, 0 on any other token) and writes g(key)'s coordinate of the "
        "mapped subspace; its other neurons are zero.",
        "L1H0: its query reads the constant coordinate every position's embedding holds, its key only position "
        "1's coordinate, so every position attends to position 1; its value copies the mapped "
        "subspace into the output subspace.",
    ),
}
"""The card's description of each mechanism."""


def distractors(name: str) -> tuple[str, ...]:
    """The components of hand-made model `name` outside its mechanism ("L0H1", ..., "MLP1")."""
    cfg = HANDMADE[name]
    parts = [f"L{layer}H{h}" for layer in range(N_LAYERS) for h in range(N_HEADS)]
    parts += [f"MLP{layer}" for layer in range(N_LAYERS)] if cfg.d_mlp is not None else []
    return tuple(p for p in parts if p not in MECHANISM[name])


def _vocab(name: str) -> list[str]:
    # kc-induction's syllables are a subset of induction-2l's (the same shuffle, cut shorter)
    return corpus.syllable_vocab(29) if name == "kc-induction" else corpus.lookup_vocab()


def _d_vocab(name: str) -> int:
    return len(corpus.SPECIAL_TOKENS) + len(_vocab(name))


def subspaces(name: str) -> dict[str, tuple[int, int]]:
    """The residual stream's named subspaces of hand-made model `name`: (start, stop) coordinates.

    Token, previous-token, mapped and output subspaces hold one coordinate per vocabulary id; the position
    subspace one per position; "constant" is 1 at every position; junk takes the rest of d_model.
    """
    cfg, d_vocab = HANDMADE[name], _d_vocab(name)
    if name == "kc-induction":
        sizes = {"token": d_vocab, "position": cfg.n_ctx, "previous": d_vocab, "output": d_vocab}
    else:
        sizes = {"token": d_vocab, "position": cfg.n_ctx, "constant": 1, "mapped": d_vocab, "output": d_vocab}
    d_model = N_HEADS * cfg.d_head
    sizes["junk"] = d_model - sum(sizes.values())
    if sizes["junk"] < 8 or cfg.d_head < d_vocab:
        raise ValueError(f"{name}: d_head {cfg.d_head} leaves no room for the subspaces {sizes}")
    out, start = {}, 0
    for key, size in sizes.items():
        out[key] = (start, start + size)
        start += size
    return out


def _native_config(name: str) -> dict:
    cfg = HANDMADE[name]
    d_model = N_HEADS * cfg.d_head
    return {
        "n_layers": N_LAYERS,
        "d_model": d_model,
        "n_heads": N_HEADS,
        "d_head": cfg.d_head,
        "d_mlp": cfg.d_mlp or 4 * d_model,
        "attn_only": cfg.d_mlp is None,
        "n_ctx": cfg.n_ctx,
        "d_vocab": _d_vocab(name),
        "act_fn": "relu",  # kc-lookup's neurons output exactly 1 on their key and 0 elsewhere
        "normalization_type": None,  # no LayerNorm: a hand-set weight acts exactly as set
        "positional_embedding_type": "standard",
        "seed": cfg.seed,
        "default_prepend_bos": True,
    }


def _copy(n_out: int, n_in: int, *, to: int, frm: int, n: int, scale: float = 1.0) -> Tensor:
    """A linear layer's weight (out x in) sending input coordinate frm + i to output coordinate to + i, i < n."""
    w = torch.zeros(n_out, n_in)
    i = torch.arange(n)
    w[to + i, frm + i] = scale
    return w


def _distractor_head(gen: torch.Generator, cfg: HandmadeConfig, space: dict) -> tuple[Tensor, ...]:
    """Random q, k, v (reading every subspace) and o (writing junk, and `leak` as much into output)."""
    d_model, d_head = N_HEADS * cfg.d_head, cfg.d_head
    q, k = (torch.randn(d_head, d_model, generator=gen) * QK_STD for _ in range(2))
    v = torch.randn(d_head, d_model, generator=gen) * V_STD
    return q, k, v, _distractor_writes(gen, cfg, space, d_head)


def _distractor_writes(gen: torch.Generator, cfg: HandmadeConfig, space: dict, width: int) -> Tensor:
    w = torch.zeros(N_HEADS * cfg.d_head, width)
    (j0, j1), (o0, o1) = space["junk"], space["output"]
    w[j0:j1] = torch.randn(j1 - j0, width, generator=gen) / math.sqrt(width)
    w[o0:o1] = torch.randn(o1 - o0, width, generator=gen) * cfg.leak / math.sqrt(width)
    return w


def handmade_state_dict(name: str) -> dict[str, Tensor]:
    """The NativeModel state dict of hand-made model `name`, built from its seed."""
    if name not in HANDMADE:
        raise ValueError(f"no hand-made zoo model {name!r}; hand-made: {', '.join(HANDMADE)}")
    cfg, space, d_vocab = HANDMADE[name], subspaces(name), _d_vocab(name)
    d_model, d_head, a = N_HEADS * cfg.d_head, cfg.d_head, cfg.gap * math.sqrt(cfg.d_head)
    tok, pos, out = space["token"][0], space["position"][0], space["output"][0]
    w: dict[str, Tensor] = {  # embeddings are vocabulary (or position) x d_model: the transposes of copies
        "tok_embed.weight": _copy(d_model, d_vocab, to=tok, frm=0, n=d_vocab).T,
        "pos.weight": _copy(d_model, cfg.n_ctx, to=pos, frm=0, n=cfg.n_ctx).T,
        "head.weight": _copy(d_vocab, d_model, to=0, frm=out, n=d_vocab, scale=cfg.unembed_scale),
    }
    mechanism: dict[tuple[int, int], tuple[Tensor, ...]] = {}
    if name == "kc-induction":
        prev = space["previous"][0]
        # L0H0, previous-token head: the query at position i is head coordinate i-1, the key at j is j
        mechanism[0, 0] = (
            _copy(d_head, d_model, to=0, frm=pos + 1, n=cfg.n_ctx - 1, scale=a),
            _copy(d_head, d_model, to=0, frm=pos, n=cfg.n_ctx - 1),
            _copy(d_head, d_model, to=0, frm=tok, n=d_vocab),
            _copy(d_model, d_head, to=prev, frm=0, n=d_vocab),
        )
        # L1H0, induction head: the query is the current token, the key the previous token at the key's position
        mechanism[1, 0] = (
            _copy(d_head, d_model, to=0, frm=tok, n=d_vocab, scale=a),
            _copy(d_head, d_model, to=0, frm=prev, n=d_vocab),
            _copy(d_head, d_model, to=0, frm=tok, n=d_vocab),
            _copy(d_model, d_head, to=out, frm=0, n=d_vocab),
        )
    else:
        const, mapped = space["constant"][0], space["mapped"][0]
        w["pos.weight"][:, const] = 1.0  # the constant direction, in every position's embedding
        # L1H0: the constant query meets position 1's key; the value moves the mapped subspace to the output
        mechanism[1, 0] = (
            _copy(d_head, d_model, to=0, frm=const, n=1, scale=a),
            _copy(d_head, d_model, to=0, frm=pos + 1, n=1),
            _copy(d_head, d_model, to=0, frm=mapped, n=d_vocab),
            _copy(d_model, d_head, to=out, frm=0, n=d_vocab),
        )
    gen = torch.Generator().manual_seed(cfg.seed)
    for layer in range(N_LAYERS):
        heads = [mechanism.get((layer, h)) or _distractor_head(gen, cfg, space) for h in range(N_HEADS)]
        for part, key in enumerate("qkv"):
            w[f"layers.{layer}.attn.{key}.weight"] = torch.cat([h[part] for h in heads])
            w[f"layers.{layer}.attn.{key}.bias"] = torch.zeros(N_HEADS * d_head)
        w[f"layers.{layer}.attn.o.weight"] = torch.cat([h[3] for h in heads], dim=1)
        w[f"layers.{layer}.attn.o.bias"] = torch.zeros(d_model)
    if cfg.d_mlp is not None:
        w.update(_lookup_mlps(gen, cfg, space))
    return {k: v.contiguous() for k, v in sorted(w.items())}


def _lookup_mlps(gen: torch.Generator, cfg: HandmadeConfig, space: dict) -> dict[str, Tensor]:
    """MLP0 computes the table g: one ReLU neuron per key fires (output 1) only on its key's token and writes
    g(key)'s coordinate of the mapped subspace. MLP1 is a distractor."""
    d_model, d_mlp = N_HEADS * cfg.d_head, cfg.d_mlp
    ids = {word: len(corpus.SPECIAL_TOKENS) + i for i, word in enumerate(corpus.lookup_vocab())}
    fc_in, fc_out = torch.zeros(d_mlp, d_model), torch.zeros(d_model, d_mlp)
    for neuron, (key, value) in enumerate(corpus.LOOKUP_TABLE.items()):
        fc_in[neuron, space["token"][0] + ids[key]] = 1.0
        fc_out[space["mapped"][0] + ids[value], neuron] = 1.0
    return {
        "layers.0.mlp.fc_in.weight": fc_in,
        "layers.0.mlp.fc_in.bias": torch.zeros(d_mlp),
        "layers.0.mlp.fc_out.weight": fc_out,
        "layers.0.mlp.fc_out.bias": torch.zeros(d_model),
        "layers.1.mlp.fc_in.weight": torch.randn(d_mlp, d_model, generator=gen) * MLP_IN_STD,
        "layers.1.mlp.fc_in.bias": torch.zeros(d_mlp),
        "layers.1.mlp.fc_out.weight": _distractor_writes(gen, cfg, space, d_mlp),
        "layers.1.mlp.fc_out.bias": torch.zeros(d_model),
    }


@dataclass(frozen=True)
class BuildReport:
    name: str
    seconds: float
    """Time to set the weights (imports and file writes excluded)."""
    n_params: int
    size_bytes: int


def build_handmade_model(name: str, *, out_dir: Path | None = None) -> BuildReport:
    """Write hand-made zoo model `name` (config.json, model.safetensors, tokenizer/) to `out_dir`, by default its
    package folder; its card is written by interp.training.card.write_card."""
    from safetensors.torch import save_file

    start = time.perf_counter()
    state = handmade_state_dict(name)
    seconds = time.perf_counter() - start
    out = Path(out_dir) if out_dir is not None else ZOO[name].folder
    out.mkdir(parents=True, exist_ok=True)
    corpus.save_word_tokenizer(_vocab(name), out / "tokenizer")
    save_file(state, out / "model.safetensors")
    construction = {**asdict(HANDMADE[name]), "subspaces": {k: list(v) for k, v in subspaces(name).items()}}
    meta = {"model": _native_config(name), "construction": construction}
    (out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    return BuildReport(
        name=name,
        seconds=seconds,
        n_params=sum(v.numel() for v in state.values()),
        size_bytes=(out / "model.safetensors").stat().st_size,
    )
