"""Causal tracing (Meng et al. 2022, "Locating and Editing Factual Associations in GPT"): where a fact is recalled.

The subject's token embeddings are noised (Gaussian, 3 x the embedding matrix's standard deviation, as the paper),
which destroys the recall; then one activation (the residual stream, an MLP's or attention's output, at one layer
and one position) is restored from the clean run, and the target's probability says how much of the recall that
activation carries. It is activation patching with the corrupted run made by noise rather than by another prompt,
so it runs here on the same pieces as interp.patching (hooks, run_with_cache, a batch of one patch per row) but not
through `patch`, whose corrupted run is a second token sequence.

`window` restores a site at `window` consecutive layers centred on each layer (the paper uses 10 for MLP and
attention, whose single-layer effects are small); the residual stream is restored at one layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from interp.core.hooks import hooks, run_with_cache
from interp.core.locking import exclusive, lock_free
from interp.core.sites import check_hook_names, hook_name
from interp.core.tokens import str_tokens, token_ids
from interp.editing.facts import answer_ids, subject_positions
from interp.generation.generate import generate
from interp.results import CausalTrace, nested_tuple
from interp.vocab.types import Model, Progress

__all__ = ["TRACE_SITES", "causal_trace", "model_answer"]

TRACE_SITES = ("resid_post", "mlp_out", "attn_out")
NOISE_FACTOR = 3.0


@exclusive
def causal_trace(
    model: Model,
    prompt: str,
    subject: str,
    target: str,
    *,
    sites: Sequence[str] = TRACE_SITES,
    n_samples: int = 4,
    window: int = 1,
    seed: int = 0,
    progress: Progress | None = None,
) -> CausalTrace:
    """The target's probability with the subject noised and each (site, layer, position) restored; see the module."""
    if n_samples < 1 or window < 1:
        raise ValueError(f"n_samples ({n_samples}) and window ({window}) must each be 1 or more")
    sites = tuple(sites)
    unknown = [s for s in sites if s not in TRACE_SITES]
    if unknown:
        raise ValueError(f"cannot trace {', '.join(unknown)}; sites: {', '.join(TRACE_SITES)}")
    sites = tuple(s for s in sites if not (model.cfg.attn_only and s == "mlp_out"))
    ids = token_ids(model, prompt, prepend_bos=model.cfg.default_prepend_bos)
    subject_at = subject_positions(model, prompt, subject)
    answer = answer_ids(model, prompt, target)[0]
    layers = list(range(model.cfg.n_layers))
    names = [hook_name(s, layer) for s in sites for layer in layers]
    check_hook_names(model, names)
    tokens = torch.tensor([ids], device=model.cfg.device)
    logits, clean = run_with_cache(model, tokens, names)
    clean_prob = float(logits[0, -1].float().softmax(-1)[answer])

    n_pos, d_model = len(ids), model.cfg.d_model
    sigma = NOISE_FACTOR * float(model.W_E.detach().float().std())
    gen = torch.Generator().manual_seed(seed)
    noise = (sigma * torch.randn(n_samples, len(subject_at), d_model, generator=gen)).to(model.cfg.device)
    rows = n_pos * n_samples  # row = position * n_samples + sample

    def noised(act: Tensor, hook=None) -> Tensor:
        act = act.clone()
        reps = act.shape[0] // n_samples
        act[:, list(subject_at)] += noise.repeat(reps, 1, 1).to(act)
        return act

    with torch.no_grad(), hooks(model, [("hook_embed", noised)]):
        corrupted_prob = _prob(model(tokens.expand(n_samples, -1)), answer)
    where = torch.arange(n_pos, device=model.cfg.device).repeat_interleave(n_samples)
    values = torch.zeros(len(sites), len(layers), n_pos)
    total, done = len(sites) * len(layers), 0
    for s, site in enumerate(sites):
        for layer in layers:
            span = [layer] if site == "resid_post" else _window(layer, window, len(layers))
            restore = [(hook_name(site, k), _restorer(clean[hook_name(site, k)], where)) for k in span]
            with torch.no_grad(), hooks(model, [("hook_embed", noised), *restore]):
                probs = model(tokens.expand(rows, -1))[:, -1].float().softmax(-1)[:, answer]
            values[s, layer] = probs.reshape(n_pos, n_samples).mean(1).cpu()
            done += 1
            if progress:
                progress(done, total)
    return CausalTrace(
        model=model.cfg.model_name,
        prompt=prompt,
        subject=subject,
        target=target,
        tokens=tuple(str_tokens(model, ids)),
        subject_positions=subject_at,
        sites=sites,
        layers=tuple(layers),
        values=nested_tuple(values),
        clean_prob=clean_prob,
        corrupted_prob=corrupted_prob,
        noise=sigma,
        n_samples=n_samples,
        window=window,
    )


@lock_free("generate holds the lock")
def model_answer(model: Model, prompt: str) -> str:
    """The model's own greedy next token after `prompt`, as text: what tracing follows when no target is named."""
    answer = generate(model, prompt, max_new_tokens=1).texts[0].strip()
    if not answer:
        raise ValueError("the model's next token after the prompt is blank: give the target to trace")
    return answer


def _prob(logits: Tensor, answer: int) -> float:
    return float(logits[:, -1].float().softmax(-1)[:, answer].mean())


def _window(layer: int, window: int, n_layers: int) -> list[int]:
    lo = max(0, min(layer - window // 2, n_layers - window))
    return list(range(lo, min(n_layers, lo + window)))


def _restorer(clean: Tensor, where: Tensor):
    """Row r gets the clean activation back at position where[r] (the batch's one patch per row)."""

    def restore(act: Tensor, hook=None) -> Tensor:
        act = act.clone()
        rows = torch.arange(act.shape[0], device=act.device)
        act[rows, where] = clean[0, where].to(act)
        return act

    return restore
