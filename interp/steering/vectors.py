"""Steering vectors as values: made from a contrast pair (activation addition), two sets of prompts (DiffMean / CAA),
a probe's direction or an SAE latent's decoder row; saved, loaded, and turned into interventions only where they fit.

What a vector averages: the activation at `hook` over every token of each prompt but the first when it is BOS, and
but any "massive activation" (norm above 10 x the median: SmolLM2's BOS-like tokens reach ~25,000 against ~150,
and one such token would be the whole mean). AxBench's DiffMean averages over all tokens of the concept's texts
too; reading only the last token (CAA's answer position) is `reduce="last"`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from jaxtyping import Float
from torch import Tensor

from interp.core.hooks import activations
from interp.core.interventions import SpliceSAE, Steer
from interp.core.locking import exclusive, lock_free
from interp.core.sites import check_hook_names, hook_name
from interp.core.tokens import readable, right_padded, token_id_rows
from interp.loading.spec import defaults_for
from interp.results import SteeringVector, load_folder, save_folder
from interp.vocab.choices import ResidSite, check_choice
from interp.vocab.types import SAE, Model

__all__ = [
    "NEUTRAL_PROMPTS",
    "check_vector_fits",
    "contrast_vector",
    "diffmean_vector",
    "latent_intervention",
    "latent_vector",
    "load_vector",
    "probe_vector",
    "save_vector",
    "steer_hooks",
]

Reduce = Literal["mean", "last"]
MASSIVE = 10.0
"""A token whose activation norm exceeds this multiple of the median is left out of means and scales."""

NEUTRAL_PROMPTS = (
    "The weather today is mild, with a light breeze in the afternoon.",
    "She opened the door, put down her bag and looked around the room.",
    "Here is a short summary of the meeting held on Tuesday.",
    "I think the answer depends on what you want to do next.",
    "The report lists the main results and the questions still open.",
    "They walked to the station and waited for the next train.",
)
"""Prompts with no particular subject: the activation scale of a vector made from one direction (probe, latent)."""


@exclusive
def diffmean_vector(
    model: Model,
    positive: Sequence[str],
    negative: Sequence[str],
    *,
    layer: int,
    site: ResidSite = "resid_pre",
    reduce: Reduce = "mean",
) -> SteeringVector:
    """The mean activation over `positive` prompts minus that over `negative` ones (DiffMean; CAA when the prompts are
    answers to one question), at `site` of `layer`."""
    for name, texts in (("positive", positive), ("negative", negative)):
        if not texts or not all(t.strip() for t in texts):
            raise ValueError(f"the {name} prompts are empty: give at least one non-empty prompt on each side")
    check_choice(site, ResidSite, "site")
    hook = _checked_hook(model, site, layer)
    pos, neg = _rows(model, list(positive), hook, reduce), _rows(model, list(negative), hook, reduce)
    one = len(positive) == len(negative) == 1
    return SteeringVector(
        model=model.cfg.model_name,
        hook=hook,
        method="contrast" if one else "diffmean",
        vector=(pos.mean(0) - neg.mean(0)).cpu(),
        scale=float(torch.cat([pos, neg]).norm(dim=-1).mean()),
        source=f"{reduce} over tokens; positive: {_quoted(positive)}; negative: {_quoted(negative)}",
        n_positive=len(positive),
        n_negative=len(negative),
    )


@lock_free("diffmean_vector holds the lock")
def contrast_vector(
    model: Model, positive: str, negative: str, *, layer: int, reduce: Reduce = "mean"
) -> SteeringVector:
    """Activation addition (Turner et al. 2023): the activation difference of one prompt pair ("Love" - "Hate")."""
    return diffmean_vector(model, [positive], [negative], layer=layer, reduce=reduce)


@exclusive
def probe_vector(
    model: Model,
    weights: Float[Tensor, " d_model"],
    *,
    hook: str,
    name: str = "probe",
    reference: Sequence[str] | None = None,
) -> SteeringVector:
    """A probe's direction (TrainedProbe.directions[0] of a two-class probe) as a vector at the hook it read."""
    return _one_direction(model, weights, hook, "probe", name, reference)


@exclusive
def latent_vector(model: Model, sae: SAE, latent: int, *, reference: Sequence[str] | None = None) -> SteeringVector:
    """An SAE latent's decoder row as a vector at the hook the SAE reads (adding it is `latent_intervention(how="add")`
    with the SAE's error kept, for a linear decoder)."""
    if not 0 <= latent < sae.cfg.d_sae:
        raise ValueError(
            f"latent {latent} is out of range: the SAE has {sae.cfg.d_sae} latents (0 to {sae.cfg.d_sae - 1})"
        )
    hook = sae.cfg.metadata.hook_name
    return _one_direction(model, sae.W_dec[latent].detach(), hook, "sae-latent", f"latent {latent}", reference)


def _one_direction(
    model: Model, direction: Tensor, hook: str, method: str, name: str, reference: Sequence[str] | None
) -> SteeringVector:
    """A unit direction as a vector, its scale measured on `reference` (None: NEUTRAL_PROMPTS, or the model's default
    prompt where its vocabulary cannot read them)."""
    check_hook_names(model, [hook])
    if direction.ndim != 1 or direction.shape[0] != model.cfg.d_model:
        raise ValueError(
            f"a direction of shape {tuple(direction.shape)} does not fit {hook} (width {model.cfg.d_model})"
        )
    if reference is None:  # a zoo model's word vocabulary reads none of NEUTRAL_PROMPTS
        reference = readable(model, NEUTRAL_PROMPTS) or [defaults_for(model).prompt]
    rows = _rows(model, list(reference), hook, "mean")
    return SteeringVector(
        model=model.cfg.model_name,
        hook=hook,
        method=method,
        vector=(direction / direction.norm().clamp_min(1e-12)).float().cpu(),
        scale=float(rows.norm(dim=-1).mean()),
        source=name,
    )


def _checked_hook(model: Model, site: str, layer: int) -> str:
    if not 0 <= layer < model.cfg.n_layers:
        raise ValueError(
            f"layer {layer} does not exist: {model.cfg.model_name} has layers 0 to {model.cfg.n_layers - 1}"
        )
    hook = hook_name(site, layer)
    check_hook_names(model, [hook])
    return hook


def _rows(model: Model, texts: list[str], hook: str, reduce: Reduce) -> Float[Tensor, "batch d_model"]:
    """One activation per text at `hook`: the mean over its kept tokens, or its last token's."""
    bos = model.cfg.default_prepend_bos and model.tokenizer.bos_token_id is not None
    ids = token_id_rows(model, texts, prepend_bos=model.cfg.default_prepend_bos)
    tokens = right_padded(model, ids)
    width = tokens.shape[1]
    with torch.no_grad():
        act = activations(model, tokens, [hook])[hook].float().cpu()
    lengths = torch.tensor([len(r) for r in ids])
    real = torch.arange(width)[None, :] < lengths[:, None]
    if bos:
        real[:, 0] = lengths == 1  # BOS only where it is all a text has (an empty text is refused earlier)
    norms = act.norm(dim=-1)
    kept = real & (norms <= MASSIVE * norms[real].median())
    real = torch.where(kept.any(1, keepdim=True), kept, real)  # a text of massive tokens alone keeps them
    if reduce == "last":
        last = torch.tensor([len(r) - 1 for r in ids])
        return act[torch.arange(len(ids)), last]
    return (act * real[..., None]).sum(1) / real.sum(1, keepdim=True).clamp_min(1)


def _quoted(texts: Sequence[str], most: int = 3) -> str:
    shown = "; ".join(repr(t[:60]) for t in list(texts)[:most])
    return shown + (f" and {len(texts) - most} more" if len(texts) > most else "")


@lock_free("reads the config only")
def check_vector_fits(model: Model, vector: SteeringVector) -> None:
    """A vector made on another model, or for a width or hook this model lacks, is refused with what it was made on."""
    if vector.vector.shape[0] != model.cfg.d_model:
        raise ValueError(
            f"the vector has width {vector.vector.shape[0]} (made on {vector.model}) but {model.cfg.model_name}'s "
            f"residual stream has width {model.cfg.d_model}"
        )
    if vector.model != model.cfg.model_name:
        raise ValueError(
            f"the vector was made on {vector.model}, not on {model.cfg.model_name}; make one on this model"
        )
    check_hook_names(model, [vector.hook])


@lock_free("reads the config only")
def steer_hooks(
    model: Model, vector: SteeringVector, strength: float, *, from_position: int = 0
) -> list[tuple[str, Steer]]:
    """The (hook, intervention) pair that adds `strength` x the vector's scale x its unit direction from
    `from_position` on: strength 1 adds a vector as long as a typical activation at that hook."""
    check_vector_fits(model, vector)
    unit = vector.vector / vector.vector.norm().clamp_min(1e-12)
    return [(vector.hook, Steer(unit * vector.scale, float(strength), from_position))]


@lock_free("reads the SAE's config only")
def latent_intervention(
    model: Model, sae: SAE, latent: int, value: float, *, how: Literal["set", "add"] = "set"
) -> list[tuple[str, SpliceSAE]]:
    """SAE-latent steering the Neuronpedia way: the latent clamped to (or raised by) `value` through the SAE at its
    hook, the SAE's reconstruction error kept, so that only the latent's change reaches the model."""
    hook = sae.cfg.metadata.hook_name
    check_hook_names(model, [hook])
    if sae.cfg.d_in != model.cfg.d_model:
        raise ValueError(
            f"the SAE reads width {sae.cfg.d_in}, but {model.cfg.model_name} has width {model.cfg.d_model}"
        )
    return [(hook, SpliceSAE(sae, ((latent, float(value)),), keep_error=True, how=how))]


@lock_free("writes files only")
def save_vector(vector: SteeringVector, folder: str | Path) -> Path:
    """vector.safetensors (the direction) and vector.json (everything else) in `folder`."""
    return save_folder(vector, folder, "vector")


def load_vector(folder: str | Path) -> SteeringVector:
    """A vector `save_vector` wrote (safetensors and JSON only; a damaged folder is a ValueError naming it)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder holding a steering vector (vector.json + vector.safetensors)")
    vector = load_folder(SteeringVector, folder, "vector", what="steering vector")
    if not isinstance(vector.vector, Tensor) or vector.vector.ndim != 1 or not torch.isfinite(vector.vector).all():
        raise ValueError(f"{folder} holds a damaged steering vector: its direction is not one finite vector")
    return vector
