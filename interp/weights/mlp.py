"""MLP neurons as key-value memories (Geva et al. 2021): a neuron's input weights are a key over the (normalised)
residual stream, its output weights a value added to the residual stream, read here through the unembedding
(what it promotes and suppresses), optionally through a later head's OV circuit (virtual weights: what the value
becomes once that head moves it); the key is read through the embedding (the tokens that drive it on the direct
path) and on real text (the contexts where the neuron fires most)."""

from __future__ import annotations

import torch
from jaxtyping import Int
from torch import Tensor
from transformer_lens.utilities.activation_functions import SUPPORTED_ACTIVATIONS

from interp.core.hooks import run_with_cache
from interp.core.locking import lock_free
from interp.core.tokens import str_tokens
from interp.loading.spec import parse_spec
from interp.patching.path import parse_head
from interp.results import LayerMemories, NeuronMemory
from interp.vocab.types import Model
from interp.weights.factored import check_head
from interp.weights.vocabulary import CHUNK, embedding, ov_rows, unembedding

__all__ = ["context_rows", "layer_memories", "neuron_memory"]


def _check_neuron(model: Model, layer: int, neuron: int | None = None) -> None:
    check_head(model, layer)
    cfg = model.cfg
    if cfg.attn_only:
        raise ValueError(f"{cfg.model_name} is attention-only: it has no MLP neurons")
    if neuron is not None and (isinstance(neuron, bool) or not isinstance(neuron, int) or not 0 <= neuron < cfg.d_mlp):
        raise ValueError(f"{cfg.model_name}'s MLPs have neurons 0-{cfg.d_mlp - 1}; got neuron {neuron!r}")


def _mlp(model: Model, layer: int) -> dict[str, Tensor | None]:
    mlp = model.blocks[layer].mlp
    get = lambda name: None if getattr(mlp, name, None) is None else getattr(mlp, name).detach().float().cpu()  # noqa: E731
    return {"W_in": get("W_in"), "W_gate": get("W_gate"), "b_in": get("b_in"), "W_out": get("W_out")}


def _key_scores(model: Model, layer: int, neuron: int) -> Tensor:
    """The neuron's activation on each token's normalised embedding (the direct path): act(x W_in + b_in), or
    act(x W_gate) * (x W_in) for a gated MLP; the pre-activation where the activation function is unknown."""
    w, x = _mlp(model, layer), embedding(model)
    pre = x @ w["W_in"][:, neuron] + (w["b_in"][neuron] if w["b_in"] is not None else 0.0)
    act = SUPPORTED_ACTIVATIONS.get(str(model.cfg.act_fn), lambda v: v)  # TransformerLens's own table
    return act(x @ w["W_gate"][:, neuron]) * pre if w["W_gate"] is not None else act(pre)


@lock_free("tokenizer and corpus only")
def context_rows(model: Model, *, n_rows: int = 64, context: int = 32, seed: int = 0) -> Int[Tensor, "row pos"]:
    """Rows of real text for the model: its zoo corpus, or the named text its defaults read (interp.zoo.texts),
    BOS first. A model with neither (or no tokenizer) needs rows given by the caller."""
    from interp.zoo import corpus
    from interp.zoo.texts import text_documents

    spec, tok = parse_spec(model.cfg.model_name), model.tokenizer
    source = spec.defaults.text
    if tok is None or (source == "zoo" and spec.zoo != "lang-4l"):
        raise ValueError(f"{model.cfg.model_name} has no text corpus here: give token rows (tokens=...)")
    docs = corpus.lang_documents(n_rows, n_words=context + 8, seed=seed + 2000) if source == "zoo" else None
    docs = docs if docs is not None else text_documents(source)[: 4 * n_rows]
    bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
    rows = [bos + ids[: context - len(bos)] for ids in tok(list(docs), add_special_tokens=False)["input_ids"]]
    rows = [r for r in rows if len(r) == context][:n_rows]
    if not rows:
        raise ValueError(f"{source} holds no document of {context} tokens for {model.cfg.model_name}")
    return torch.tensor(rows)


def _contexts(model: Model, layer: int, neuron: int, tokens: Tensor, k: int) -> tuple[tuple[str, ...], tuple]:
    name = f"blocks.{layer}.mlp.hook_post"
    _, cache = run_with_cache(model, tokens, [name])
    acts = cache[name][..., neuron].float().cpu()  # [row, pos]
    top = acts.flatten().topk(min(k, acts.numel()))
    texts = []
    for flat in top.indices.tolist():
        row, pos = divmod(flat, acts.shape[1])
        before = model.tokenizer.decode(tokens[row, max(0, pos - 12) : pos].tolist())
        texts.append(f"{before} [[{str_tokens(model, tokens[row, pos : pos + 1])[0]}]]")
    return tuple(texts), tuple(top.values.tolist())


@lock_free("weights, and run_with_cache holds the lock for the contexts")
def neuron_memory(
    model: Model, layer: int, neuron: int, *, k: int = 10, through: str | None = None, tokens: Tensor | None = None
) -> NeuronMemory:
    """Neuron `neuron` of block `layer`'s MLP as a memory: the `k` tokens its value promotes and suppresses
    through the unembedding (or through head `through`'s OV circuit first, e.g. "L1H0"), the `k` tokens whose
    embedding drives its key most, and its `k` top contexts on `tokens` (rows of token ids; default
    `context_rows`; none when the model has no corpus and no rows are given)."""
    _check_neuron(model, layer, neuron)
    value = _mlp(model, layer)["W_out"][neuron]
    with torch.no_grad():
        if through is None:
            logits = value @ unembedding(model)
        else:
            h_layer, head = parse_head(through)
            if h_layer <= layer:
                raise ValueError(f"{through} is not after block {layer}: it cannot read this neuron's output")
            logits = ov_rows(model, h_layer, head, inputs=value[None])[0]
        up, down = logits.topk(k), (-logits).topk(k)
        keys = _key_scores(model, layer, neuron).topk(k)
        if tokens is None:
            try:
                tokens = context_rows(model)
            except ValueError:
                tokens = None
        contexts, acts = _contexts(model, layer, neuron, tokens, k) if tokens is not None else ((), ())
    return NeuronMemory(
        model=model.cfg.model_name,
        layer=layer,
        neuron=neuron,
        promoted=tuple(str_tokens(model, up.indices)),
        promoted_scores=tuple(up.values.tolist()),
        suppressed=tuple(str_tokens(model, down.indices)),
        suppressed_scores=tuple((-down.values).tolist()),
        key_tokens=tuple(str_tokens(model, keys.indices)),
        key_scores=tuple(keys.values.tolist()),
        contexts=contexts,
        activations=acts,
    )


@lock_free("weights only")
def layer_memories(model: Model, layer: int, *, n_neurons: int = 20, k: int = 5) -> LayerMemories:
    """What block `layer`'s MLP stores: the `n_neurons` neurons whose values move the logits most per unit of
    activation (||W_out[n] W_U||, computed CHUNK neurons at a time), each with the `k` tokens it promotes."""
    _check_neuron(model, layer)
    w_out, w_u = _mlp(model, layer)["W_out"], unembedding(model)
    with torch.no_grad():
        norms = torch.cat([(w_out[i : i + CHUNK] @ w_u).norm(dim=1) for i in range(0, len(w_out), CHUNK)])
        top = norms.topk(min(n_neurons, len(norms)))
        promoted = [(w_out[n] @ w_u).topk(k).indices for n in top.indices.tolist()]
    return LayerMemories(
        model=model.cfg.model_name,
        layer=layer,
        neurons=tuple(top.indices.tolist()),
        value_norms=tuple(top.values.tolist()),
        promoted=tuple(tuple(str_tokens(model, p)) for p in promoted),
    )
