"""The local replacement model of one prompt (Ameisen et al. 2025, "Circuit tracing").

One real forward pass fixes what is not linear: every attention pattern and every normalisation scale. With
those frozen, and each MLP's output split into its transcoder's latents (their decoder rows times fixed
activations), the transcoder's bias, its skip path (linear in the MLP input) and an error term (the real MLP
output minus the transcoder's), the model from the token embeddings to the logits is linear in every source,
and reproduces the real logits of the prompt (tests/test_graphs.py: to 1e-4).

The frozen model runs on the real model's own modules with hooks, as circuit-tracer does: `hook_scale` returns
the frozen scale, `hook_z` the frozen pattern applied to the live values (TransformerLens's bridge computes
attention without reading back what `hook_pattern` returns, so replacing the pattern there changes nothing;
measured), and each `hook_mlp_out` returns a "write" tensor holding what the MLP's
sources wrote (plus the live skip path), so a backward pass from any read (a latent's pre-activation, a logit)
stops at the writes and gives the direct effect of every source on it. Models with other normalisations or
attention variants work unchanged as long as they expose these hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from interp.core.hooks import HookFn, hooks, run_with_cache
from interp.core.locking import exclusive
from interp.core.sites import hook_points, mlp_hooks
from interp.core.tokens import special_token_ids
from interp.graphs.transcoder_set import TranscoderSet
from interp.vocab.types import Model

__all__ = [
    "EMBED_HOOK",
    "PromptState",
    "frozen_hooks",
    "keep_into",
    "prompt_state",
    "run_hooked",
    "spliced_hooks",
]

EMBED_HOOK = "blocks.0.hook_resid_pre"
"""Where the token (and position) embeddings enter: the token nodes write here."""


@dataclass(frozen=True)
class PromptState:
    """What one real forward pass of a prompt fixes, position by position (no batch axis)."""

    tokens: Int[Tensor, " pos"]
    logits: Float[Tensor, "pos d_vocab"]
    embeddings: Float[Tensor, "pos d_model"]
    """The residual stream entering block 0: what the token nodes write."""
    frozen: dict[str, Tensor]
    """Every normalisation scale (`*.hook_scale`, [pos, 1]) and attention pattern (`*.hook_pattern`,
    [head, pos, pos]) by hook name."""
    mlp_in: dict[int, Float[Tensor, "pos d_model"]]
    mlp_out: dict[int, Float[Tensor, "pos d_model"]]
    """The real MLP outputs, for every block (blocks without a transcoder keep theirs whole, as an error)."""
    acts: dict[int, Float[Tensor, "pos d_sae"]]
    """Each transcoder's latent activations on the real MLP input."""
    errors: dict[int, Float[Tensor, "pos d_model"]]
    """Real MLP output minus the transcoder's (the whole output where a block has no transcoder)."""
    special: Bool[Tensor, " pos"]
    """Positions of special tokens (BOS), where latents are held at zero."""

    @property
    def n_pos(self) -> int:
        return len(self.tokens)

    def writes(self, transcoders: TranscoderSet, layer: int) -> Float[Tensor, "pos d_model"]:
        """What block `layer`'s MLP writes, less its skip path (which the frozen model computes live)."""
        if not transcoders.has_skip(layer):
            return self.mlp_out[layer]
        return self.mlp_out[layer] - transcoders.skip(layer, self.mlp_in[layer])


@exclusive
@torch.no_grad()
def prompt_state(model: Model, transcoders: TranscoderSet, tokens: Int[Tensor, " pos"]) -> PromptState:
    """Run the prompt once and keep what the replacement model freezes. Latents at special-token positions (BOS)
    are set to zero, their share of the MLP output going to the error: transcoders are trained without those
    positions (sae.positions), as circuit-tracer's are, so their latents there mean nothing."""
    n_layers = model.cfg.n_layers
    special = torch.tensor([int(t) in special_token_ids(model) for t in tokens])
    names = [EMBED_HOOK] + [h for layer in range(n_layers) for h in mlp_hooks(layer)]
    frozen_names = [n for n in hook_points(model) if n.endswith((".hook_scale", ".attn.hook_pattern"))]
    logits, cache = run_with_cache(model, tokens[None], names + frozen_names)
    mlp_in = {layer: cache[mlp_hooks(layer)[0]][0].float() for layer in range(n_layers)}
    mlp_out = {layer: cache[mlp_hooks(layer)[1]][0].float() for layer in range(n_layers)}
    acts, errors = {}, {}
    for layer in range(n_layers):
        if layer in transcoders.by_layer:
            acts[layer] = transcoders.encode(layer, mlp_in[layer]).float() * ~special[:, None].to(mlp_in[layer].device)
            errors[layer] = mlp_out[layer] - transcoders.decode(layer, acts[layer], mlp_in[layer]).float()
        else:
            errors[layer] = mlp_out[layer]
    return PromptState(
        tokens=tokens.cpu(),
        logits=logits[0].float(),
        embeddings=cache[EMBED_HOOK][0].float(),
        frozen={n: cache[n][0].detach() for n in frozen_names},
        mlp_in=mlp_in,
        mlp_out=mlp_out,
        acts=acts,
        errors=errors,
        special=special,
    )


def _constant(value: Tensor) -> HookFn:
    return lambda act, hook=None: value.to(act.dtype).expand(act.shape)


def _frozen_nonlinearities(state: PromptState) -> list[tuple[str, HookFn]]:
    """Normalisation scales as the prompt had them, and attention as the prompt's patterns times the live values."""
    fwd: list[tuple[str, HookFn]] = []
    for name, value in state.frozen.items():
        if name.endswith(".hook_scale"):
            fwd.append((name, _constant(value)))
        else:
            values: dict[str, Tensor] = {}
            attn = name.removesuffix(".hook_pattern")
            fwd.append((f"{attn}.hook_v", keep_into(values, "v")))
            fwd.append((f"{attn}.hook_z", _attend(value, values)))
    return fwd


def _attend(pattern: Float[Tensor, "head query key"], values: dict[str, Tensor]) -> HookFn:
    def attend(act: Tensor, hook=None) -> Tensor:
        v = values["v"]  # batch pos kv_head d_head
        if v.shape[2] != pattern.shape[0]:  # grouped-query attention: each KV head serves a group of query heads
            v = v.repeat_interleave(pattern.shape[0] // v.shape[2], dim=2)
        return torch.einsum("hqk,bkhd->bqhd", pattern.to(v.dtype), v).to(act.dtype)

    return attend


def frozen_hooks(state: PromptState, transcoders: TranscoderSet, writes: dict[str, Tensor]) -> list[tuple[str, HookFn]]:
    """Hooks that run the model as the prompt's frozen linear model, on a batch of copies of the prompt.

    `writes` maps EMBED_HOOK and each `blocks.L.hook_mlp_out` to a [batch, pos, d_model] tensor of what the token
    nodes and block L's sources write (differentiable leaves for attribution, edited copies for interventions);
    the skip path of a skip transcoder is added live from the frozen-normalised MLP input."""
    fwd = _frozen_nonlinearities(state)
    inputs: dict[int, Tensor] = {}
    for layer in range(len(state.mlp_out)):
        read, write = mlp_hooks(layer)
        written = writes[write]
        if transcoders.has_skip(layer):
            fwd.append((read, keep_into(inputs, layer)))
            fwd.append((write, _plus_skip(written, transcoders, inputs, layer)))
        else:
            fwd.append((write, _constant(written)))
    fwd.append((EMBED_HOOK, _constant(writes[EMBED_HOOK])))
    return fwd


def keep_into(store: dict, key: int | str) -> HookFn:
    """A hook that stores its activation in `store[key]` and changes nothing."""

    def keep(act: Tensor, hook=None) -> None:
        store[key] = act

    return keep


def _plus_skip(written: Tensor, transcoders: TranscoderSet, inputs: dict[int, Tensor], layer: int) -> HookFn:
    return lambda act, hook=None: (written + transcoders.skip(layer, inputs[layer])).to(act.dtype)


def spliced_hooks(
    state: PromptState,
    transcoders: TranscoderSet,
    *,
    edit: Sequence[tuple[int, int, int, float]] = (),
    frozen: bool = False,
) -> list[tuple[str, HookFn]]:
    """Hooks that replace each MLP by its transcoder plus the prompt's error term (held fixed), recomputing the
    latents from the live MLP input: the replacement model. An MLP without a transcoder is all error: its output on
    the prompt, held fixed, as in the graph. `edit` sets latents: (layer, position, latent, value)
    rows, applied after the encoder. With `frozen`, attention patterns and normalisation scales are the prompt's
    too (the local replacement model, which reproduces the real logits)."""
    fwd = _frozen_nonlinearities(state) if frozen else []
    inputs: dict[int, Tensor] = {}
    for layer in range(len(state.mlp_out)):
        read, write = mlp_hooks(layer)
        if layer not in transcoders.by_layer:  # no transcoder: the prompt's MLP output, whole, is its error term
            fwd.append((write, _constant(state.errors[layer][None])))
            continue
        edits = [(pos, latent, value) for at, pos, latent, value in edit if at == layer]
        fwd.append((read, keep_into(inputs, layer)))
        fwd.append((write, _transcoded(transcoders, state, inputs, layer, edits)))
    return fwd


def _transcoded(
    transcoders: TranscoderSet, state: PromptState, inputs: dict[int, Tensor], layer: int, edits: list
) -> HookFn:
    def transcode(act: Tensor, hook=None) -> Tensor:
        x = inputs[layer]
        acts = transcoders.encode(layer, x) * ~state.special[:, None].to(x.device)
        for pos, latent, value in edits:
            acts[:, pos, latent] = value
        return (transcoders.decode(layer, acts, x) + state.errors[layer].to(x.device)).to(act.dtype)

    return transcode


@exclusive
def run_hooked(
    model: Model, tokens: Int[Tensor, " pos"], fwd: list[tuple[str, HookFn]], batch: int = 1
) -> Float[Tensor, "batch pos d_vocab"]:
    """The model's logits on `batch` copies of the prompt under hooks `fwd`."""
    with hooks(model, fwd):
        return model(tokens[None].expand(batch, -1).to(model.cfg.device)).float()
