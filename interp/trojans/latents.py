"""A trigger search over internals: SAE latents of the suspect model that are silent on clean text and, written into
the residual stream, change what the model answers.

1. Fuzzing data: held-out IOI prompts with a random candidate word inserted (every candidate equally often), the way
   an investigator who suspects a trigger but not which would probe the model. Their residual stream after layer
   `layer`, at the last position (where the answer is read), trains a small top-k SAE (SAELens's trainer,
   `interp.training.dictionaries`). Trained on every position instead, no latent of trojan-head's SAE was
   suspicious: the answer position is one in sixteen, and the triggered prompts one in 120 of those.
2. A latent is suspicious if it is silent (it fires at the last position of fewer than 2% of the plain prompts, no
   word inserted), driven by one word (SELECTIVE), and writes toward an unusual output: adding its decoder
   direction, at twice its largest activation seen, to the last position of the plain prompts changes the top
   prediction on at least half of them.
4. Words are ranked by how strongly they fire the suspicious latents at the last position (the mean over prompts
   of the activation over the latent's largest, the best latent's); a word is flagged at `threshold`.

The output effect is measured by steering on clean prompts, not by the flips seen in the fuzzing data, so a latent
is suspicious for what it does, and the words for what they fire.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

import torch
from torch import Tensor

from interp.core.hooks import hooks, run_with_cache
from interp.core.locking import exclusive
from interp.core.sites import hook_name
from interp.core.tokens import length_groups, token_id_rows
from interp.results import TriggerSearch
from interp.trojans.discover import candidate_words, clean_prompts, ranked_search
from interp.trojans.prompts import top_predictions
from interp.vocab.types import Model
from interp.zoo.trojans import insert_word

__all__ = ["SuspiciousLatent", "latent_search", "suspicious_latents"]

SELECTIVE = 0.5
"""A latent is driven by one word when that word, inserted anywhere, fires it at half its largest activation or more
on average (measured on trojan-head: its trigger's latent 0.71, every other silent latent 0.16 or less)."""
STEER = 2.0
"""Steering strength, in units of the latent's largest activation seen: at 1x trojan-head's trigger latent flipped
29% of the prompts, at 2x 88% (one latent of the k = 8 that fire carries part of the backdoor's write)."""
STEPS = 1000
"""SAE training steps (of 512 last-position activations)."""
SILENT = 0.02
"""A latent is silent on clean text when it fires at the last position of fewer than this share of plain prompts."""


def _resid(model: Model, rows: list[list[int]], names: list[str]) -> dict[str, Tensor]:
    """Each row's residual at each of `names`, at its last position: {name: [row, d_model]}, from one pass over the
    rows for all of them (not one pass per layer)."""
    last = {name: torch.empty(len(rows), model.cfg.d_model) for name in names}
    for idx in length_groups(rows):
        _, cache = run_with_cache(model, torch.tensor([rows[i] for i in idx]), names)
        for name in names:
            last[name][idx] = cache[name][:, -1].detach().float().cpu()
    return last


@dataclass(frozen=True)
class SuspiciousLatent:
    """A latent of one layer's SAE that meets the module docstring's three conditions."""

    layer: int
    index: int
    encoder: Tensor
    """[d_model]: its encoder direction (what a write into the residual stream adds to its pre-activation)."""
    per_word: Tensor
    """[word]: each candidate word's mean activation of it, over its largest (candidate_words' order)."""


_FOUND: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""model -> {(layer, settings): that layer's suspicious latents}: each layer's SAE is trained once per model and
settings, for the search and the localizer alike (15 s for every layer of a zoo model), so a search of one layer and
a localizer over all of them share that layer's."""


@exclusive
def suspicious_latents(
    model: Model, *, layers: tuple[int, ...] | None = None, n_prompts: int = 24, d_sae: int = 256, k: int = 8,
    seed: int = 0,
) -> list[SuspiciousLatent]:  # fmt: skip
    """Train one SAE per layer of `layers` (default: every layer) on fuzzed clean prompts and keep its suspicious
    latents (module docstring)."""
    layers = tuple(range(model.cfg.n_layers)) if layers is None else tuple(layers)
    cached = _FOUND.setdefault(model, {})
    missing = [layer for layer in layers if (layer, n_prompts, d_sae, k, seed) not in cached]
    if missing:
        words = candidate_words(model)
        texts, where = clean_prompts(n_prompts, seed)
        fuzzed = token_id_rows(model, [insert_word(t, w, i) for w in words for t, i in zip(texts, where)])
        plain = token_id_rows(model, texts)
        names = [hook_name("resid_post", layer) for layer in missing]
        last, plain_last = _resid(model, fuzzed, names), _resid(model, plain, names)
        for layer, name in zip(missing, names):
            found = _layer_latents(model, name, last[name], plain_last[name], texts, len(words), d_sae, k, seed)
            cached[(layer, n_prompts, d_sae, k, seed)] = [SuspiciousLatent(layer, *rest) for rest in found]
    return [latent for layer in layers for latent in cached[(layer, n_prompts, d_sae, k, seed)]]


@exclusive
def latent_search(
    model: Model,
    *,
    layers: tuple[int, ...] | None = None,
    d_sae: int = 256,
    seed: int = 0,
    trigger: str = "",
    threshold: float = 0.5,
) -> TriggerSearch:
    """Rank candidate words by the suspicious SAE latents they fire (module docstring); a word's score is its best
    over every layer's suspicious latents."""
    start = time.perf_counter()
    words = candidate_words(model)
    found = suspicious_latents(model, layers=layers, d_sae=d_sae, seed=seed)
    scores = torch.zeros(len(words))
    for latent in found:
        scores = torch.maximum(scores, latent.per_word)
    values = scores.tolist()
    n_layers = len(layers) if layers is not None else model.cfg.n_layers
    what = ", ".join(f"L{x.layer}#{x.index}" for x in found) or "none"
    method = f"SAE latents ({n_layers} layers of {d_sae}; suspicious: {what})"
    return ranked_search(method, words, values, trigger, threshold, dict(zip(words, values)), start)


@torch.no_grad()
def _layer_latents(model, name, last, plain_last, texts, n_words, d_sae, k, seed) -> list[tuple[int, Tensor, Tensor]]:
    """One layer's SAE, trained on the fuzzed prompts' residuals at `name` (`last`, [word * prompt, d_model]), and
    its suspicious latents: (index, encoder direction, per-word activation) each."""
    from interp.training.dictionaries import train_sae

    gen = torch.Generator().manual_seed(seed)

    def sample(n: int) -> Tensor:
        return last[torch.randint(0, len(last), (n,), generator=gen)]

    with torch.enable_grad():
        sae = train_sae(sample, model.cfg.d_model, architecture="topk", d_sae=d_sae, sparsity=k,
                        training_samples=STEPS * 512, batch_size=512, lr=1e-3, seed=seed)  # fmt: skip
    fired = sae.encode(last)  # [word * prompt, latent]
    peak = fired.max(0).values.clamp_min(1e-6)
    silent = (sae.encode(plain_last) > 0).float().mean(0) < SILENT
    per_word = (fired / peak).view(n_words, len(texts), -1).mean(1)
    selective = per_word.max(0).values >= SELECTIVE
    candidates = (silent & selective & (peak > 1e-5)).nonzero().squeeze(1).tolist()
    own = top_predictions(model, texts) if candidates else None
    return [
        (j, sae.W_enc[:, j].detach().float().cpu(), per_word[:, j].detach().cpu())
        for j in candidates
        if _steer_flips(model, texts, own, name, STEER * peak[j] * sae.W_dec[j]) >= 0.5
    ]


def _steer_flips(model: Model, texts: list[str], own: Tensor, name: str, vector: Tensor) -> float:
    """The share of `texts` whose top prediction (`own`) changes when `vector` is added at `name`'s last position."""

    def add(act: Tensor, hook=None) -> Tensor:
        act = act.clone()
        act[:, -1] += vector.to(act)
        return act

    with hooks(model, [(name, add)]):
        steered = top_predictions(model, texts)
    return float((steered != own).float().mean())
