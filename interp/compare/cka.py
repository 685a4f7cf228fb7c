"""Linear CKA between the layers of two models read on the same tokens (Kornblith et al. 2019, "Similarity of
Neural Network Representations Revisited").

Each layer's representation is the residual stream at every position of the token rows but the first: the first
position (BOS on most models) carries the "attention sink", whose few huge activations would otherwise weigh in both
models' statistics out of proportion to one token in dozens. CKA is computed from the feature-space
form, ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F), in float64: the token count never enters a square matrix, so
thousands of tokens cost d x d products, not n x n Gram matrices.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.core.hooks import run_with_cache
from interp.core.locking import lock_free
from interp.core.progress import step_counter
from interp.core.sites import hook_name
from interp.results import LayerSimilarity
from interp.vocab.types import Model, Progress

__all__ = ["chance_cka", "layer_similarity", "linear_cka", "random_twin"]

ROWS_PER_PASS = 8
"""Token rows per forward pass: bounds the logits a pass computes (8 x 64 positions x SmolLM2's 49,152 tokens is
100 MB of float32)."""


def linear_cka(x: Float[Tensor, "row d_a"], y: Float[Tensor, "row d_b"]) -> float:
    """Linear CKA of two representations of the same n examples (rows): invariant to rotations, uniform scaling
    and shifts of either, not to other linear maps."""
    _check_pair(x, y)
    (x, x_norm), (y, y_norm) = _centred(x), _centred(y)
    return _cka(x, x_norm, y, y_norm)


def _check_pair(x: Tensor, y: Tensor) -> None:
    if x.dim() != 2 or y.dim() != 2 or len(x) != len(y) or len(x) < 2:
        raise ValueError(f"CKA needs two [example, feature] matrices of the same 2 or more examples; got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")  # fmt: skip


def _centred(x: Tensor) -> tuple[Tensor, Tensor]:
    """x centred in float64, and ||Xc^T Xc||_F: computed once per layer, not once per pair of layers."""
    x = x.double()
    x = x - x.mean(0)
    norm = torch.linalg.matrix_norm(x.T @ x)
    if norm == 0:
        raise ValueError("CKA is undefined for a representation that is the same on every example (zero variance)")
    return x, norm


def _cka(x: Tensor, x_norm: Tensor, y: Tensor, y_norm: Tensor) -> float:
    return float(torch.linalg.matrix_norm(y.T @ x) ** 2 / (x_norm * y_norm))


def chance_cka(x: Float[Tensor, "row d_a"], y: Float[Tensor, "row d_b"]) -> float:
    """The expected linear CKA of `x` and `y` when y's examples are shuffled (paired at random): what these two
    representations score with no correspondence between them at all. Exact, with no sampling: over uniform
    permutations P of centred data, E ||Y^T P X||_F^2 = ||X||_F^2 ||Y||_F^2 / (n - 1), and CKA's denominator
    does not depend on the pairing. It depends on the spectra: about sqrt(d1 d2) / n for isotropic data, down to
    1 / n for representations that each lie along one direction."""
    _check_pair(x, y)
    (x, x_norm), (y, y_norm) = _centred(x), _centred(y)
    return _chance(x, x_norm, y, y_norm)


def _chance(x: Tensor, x_norm: Tensor, y: Tensor, y_norm: Tensor) -> float:
    return float(x.square().sum() * y.square().sum() / ((len(x) - 1) * x_norm * y_norm))


def _vocabulary(model: Model) -> tuple[dict | None, int]:
    """The model's token -> id map (None for a model without a tokenizer: it reads ids only) and its size."""
    if model.tokenizer is None:
        return None, model.cfg.d_vocab
    vocab = model.tokenizer.get_vocab()
    return vocab, len(vocab)


def _check_same_tokens(a: Model, b: Model) -> None:
    (va, na), (vb, nb) = _vocabulary(a), _vocabulary(b)
    if va != vb or na != nb:
        raise ValueError(
            f"CKA compares two models token by token, so both must read the same token rows: {a.cfg.model_name}'s "
            f"tokenizer ({na:,} tokens) differs from {b.cfg.model_name}'s ({nb:,}); compare models that share a "
            "tokenizer (seeds or variants of one model), or compare their head roles (interp.compare.compare_roles)"
        )


def _layers(model: Model, tokens: Tensor, step: Callable[..., None]) -> tuple[tuple[str, ...], list[Tensor]]:
    """Layer labels and each layer's residual stream at every position but the first: [token, d_model] each.
    `step()` after each forward pass."""
    n = model.cfg.n_layers
    names = [hook_name("resid_pre", 0)] + [hook_name("resid_post", i) for i in range(n)]
    parts: list[list[Tensor]] = [[] for _ in names]
    with torch.no_grad():
        for start in range(0, len(tokens), ROWS_PER_PASS):
            _, cache = run_with_cache(model, tokens[start : start + ROWS_PER_PASS], names)
            for part, name in zip(parts, names):
                part.append(cache[name][:, 1:].flatten(0, 1).double().cpu())
            step()
    return ("embed", *(f"L{i}" for i in range(n))), [torch.cat(p) for p in parts]


@lock_free("run_with_cache holds each model's lock for its passes")
def layer_similarity(
    model_a: Model, model_b: Model, tokens: Int[Tensor, "batch pos"], *, progress: Progress | None = None
) -> LayerSimilarity:
    """Linear CKA between every layer of `model_a` and every layer of `model_b` (the embedding, then the residual
    stream after each block), both reading the token rows `tokens`. The models' widths and depths may differ;
    their tokenizers may not. `progress(done, total)` counts forward passes and rows of the CKA matrix."""
    _check_same_tokens(model_a, model_b)
    if tokens.dim() != 2 or tokens.shape[1] < 2:
        raise ValueError(f"need token rows [row, pos] of at least 2 positions; got {tuple(tokens.shape)}")
    same = model_b is model_a
    passes = -(-len(tokens) // ROWS_PER_PASS)
    step = step_counter(progress, passes * (1 if same else 2) + model_a.cfg.n_layers + 1)

    labels_a, acts_a = _layers(model_a, tokens, step)
    labels_b, acts_b = (labels_a, acts_a) if same else _layers(model_b, tokens, step)
    centred_a = [_centred(x) for x in acts_a]
    centred_b = centred_a if same else [_centred(y) for y in acts_b]
    values, chance = [], []
    for x in centred_a:  # a row of the matrix at a time: on SmolLM2 each takes about half a second
        values.append(tuple(_cka(*x, *y) for y in centred_b))
        chance.append(tuple(_chance(*x, *y) for y in centred_b))
        step()
    return LayerSimilarity(
        model_a=model_a.cfg.model_name,
        model_b=model_b.cfg.model_name,
        layers_a=labels_a,
        layers_b=labels_b,
        values=tuple(values),
        n_tokens=len(acts_a[0]),
        chance=tuple(chance),
    )


@lock_free("reads the weights into a copy")
def random_twin(model: Model, *, seed: int = 0) -> Model:
    """A copy of `model` whose every weight matrix is Gaussian noise of that matrix's own mean and standard
    deviation (vectors, i.e. biases and normalisation gains, are kept): the same architecture, tokenizer and
    scales with nothing learned, as a floor for comparisons. Its name is the model's with " (random weights)";
    the model itself is unchanged."""
    twin = copy.deepcopy(model)
    twin.cfg.model_name = f"{model.cfg.model_name} (random weights)"  # a label: no spec loads it again
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in twin.parameters():
            if param.dim() >= 2:
                noise = torch.randn(param.shape, generator=gen, dtype=torch.float32)
                param.copy_((noise * param.float().std() + param.float().mean()).to(param.dtype))
    return twin
