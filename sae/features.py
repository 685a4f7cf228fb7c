"""Feature analysis of an SAE on a model: dashboards, the features of a prompt, feature-level direct
logit attribution, and ablating or steering a feature.

Activations come from the model's own hook (spliced nowhere) and are encoded by the SAE; effects
come from splicing an edited reconstruction back in (with the SAE's error term kept, so that only
the edit changes the output). Neuronpedia-style dashboards are computed here because SAELens ships
no offline dashboard code; the logit effects are W_dec @ W_U, as in SAELens's and Neuronpedia's
"logit weight distribution".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.core.hooks import activations, full_cache, hooks, run_with_cache
from interp.core.interventions import SpliceSAE
from interp.core.limits import check_fits, prompt_bytes
from interp.core.locking import exclusive, lock_free
from interp.core.metrics import answer_direction, at_metric_pos, logit_diff, single_metric_position, unembed_bias_diff
from interp.core.sites import check_hook_names, hook_name
from interp.core.task import Task
from interp.core.tokens import str_tokens
from interp.results import FeatureContext, FeatureDashboard, FeatureDLAResult, FeatureIntervention, PromptFeatures
from interp.vocab.choices import EditMode, check_choice
from interp.vocab.types import SAE, Model
from sae.positions import sae_positions

__all__ = [
    "N_HIST_BINS",
    "check_width",
    "decoder_rows",
    "feature_acts",
    "feature_dashboard",
    "feature_dla",
    "intervene",
    "logit_effects",
    "prompt_features",
    "sae_hook",
]

N_HIST_BINS = 30


@lock_free("hook table")
def sae_hook(sae: SAE, hook: str | None, model: Model) -> str:
    """The hook an SAE reads: `hook` when given, else the one in its metadata (checked against the model)."""
    name = hook or sae.cfg.metadata.hook_name
    if not name:
        raise ValueError("the SAE's metadata names no hook: pass hook= (e.g. blocks.2.hook_resid_post)")
    check_hook_names(model, [name])
    return name


@lock_free("a given activation's width")
def check_width(model: Model, sae: SAE, name: str, act: Tensor) -> None:
    """Refuse activations of another width than the SAE's input, before the SAE reads them (an SAE of another
    model or hook would otherwise fail deep inside a matrix product). Called on activations the analysis has
    already computed, so the check costs no forward pass of its own."""
    if act.shape[-1] != sae.cfg.d_in:
        raise ValueError(
            f"{name} activations of {model.cfg.model_name} have width {act.shape[-1]}, but the SAE's d_in is "
            f"{sae.cfg.d_in}: is it an SAE of this model and hook?"
        )


def _check_feature(sae: SAE, feature: int) -> None:
    if not 0 <= feature < sae.cfg.d_sae:
        raise ValueError(f"feature {feature} does not exist: this SAE has latents 0..{sae.cfg.d_sae - 1}")


@exclusive
@torch.no_grad()
def feature_acts(
    model: Model,
    sae: SAE,
    tokens: Int[Tensor, "batch pos"],
    *,
    hook: str | None = None,
    batch_size: int = 32,
) -> Float[Tensor, "batch pos d_sae"]:
    """Every latent's activation at every token (on the CPU); zero at the positions an SAE does not read
    (special tokens, massive activations: `sae.positions`), which would otherwise top every dashboard."""
    name = sae_hook(sae, hook, model)
    latents = prompt_bytes(model, tokens.shape[1], residuals=0, logits=0, extra_per_pos=sae.cfg.d_sae)
    check_fits(model, tokens.shape[0], latents, what=f"the activations of {sae.cfg.d_sae} latents")
    out = []
    for batch in tokens.split(batch_size):
        act = activations(model, batch, [name])[name]
        check_width(model, sae, name, act)
        read = sae_positions(model, batch, act).to(sae.device)
        out.append((sae.encode(act.to(sae.device)) * read[..., None]).cpu())
    return torch.cat(out)


@torch.no_grad()
def decoder_rows(
    sae: SAE, features: Sequence[int] | Tensor | None = None
) -> tuple[Float[Tensor, "feature d_in"], Float[Tensor, " d_in"]]:
    """What each latent (all, or those in `features`) writes per unit of activation, and what the decoder
    writes with every latent off: decode(e_f) - decode(0) and decode(0). Read off decode() itself rather
    than W_dec, because some architectures rescale by the decoder norm inside decode (a TopK training SAE's
    W_dec rows have norm ~0.35 while it writes unit vectors); decode is affine in the latents, so this is
    exact. One-hot rows are made 1024 at a time, never a d_sae x d_sae identity."""
    ids = torch.arange(sae.cfg.d_sae) if features is None else torch.as_tensor(features).reshape(-1)
    bias = sae.decode(torch.zeros(1, sae.cfg.d_sae, device=sae.device))[0]
    rows = []
    for chunk in ids.split(1024):
        one_hot = torch.zeros(len(chunk), sae.cfg.d_sae, device=sae.device)
        one_hot[torch.arange(len(chunk)), chunk.to(sae.device)] = 1.0
        rows.append(sae.decode(one_hot) - bias)
    return torch.cat(rows), bias


@torch.no_grad()
@lock_free("weights only")
def logit_effects(
    model: Model, sae: SAE, feature: int, *, k: int = 10
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The tokens a feature's decoder direction promotes and suppresses most, through the unembedding
    (its write, as `decoder_rows` reads it, @ W_U; the final LayerNorm's scale is left out: it rescales all alike)."""
    _check_feature(sae, feature)
    row = decoder_rows(sae, [feature])[0][0]
    effect = (row.to(model.W_U) @ model.W_U).float().cpu()
    top, bottom = effect.topk(k), (-effect).topk(k)
    return (
        list(zip(str_tokens(model, top.indices), top.values.tolist())),
        list(zip(str_tokens(model, bottom.indices), (-bottom.values).tolist())),
    )


@exclusive
def feature_dashboard(
    model: Model,
    sae: SAE,
    tokens: Int[Tensor, "batch pos"],
    feature: int,
    *,
    acts: Tensor | None = None,
    hook: str | None = None,
    k: int = 10,
    window: int = 8,
) -> FeatureDashboard:
    """Top activating contexts (with every context token's activation, for highlighting), the activation
    histogram over the tokens where the feature fires, its firing density, and its logit effects. Pass
    `acts` from `feature_acts` to build many dashboards from one pass over the tokens."""
    _check_feature(sae, feature)
    name = sae_hook(sae, hook, model)
    acts = feature_acts(model, sae, tokens, hook=name) if acts is None else acts
    f = acts[..., feature]
    flat = f.flatten()
    top = flat.topk(min(k, int((flat > 0).sum())))  # k=0 when the feature never fires: no contexts
    contexts = []
    for value, index in zip(top.values, top.indices):
        b, p = divmod(int(index), tokens.shape[1])
        lo, hi = max(0, p - window), min(tokens.shape[1], p + 3)
        contexts.append(
            FeatureContext(
                prompt=b,
                position=p,
                activation=float(value),
                tokens=tuple(str_tokens(model, tokens[b, lo:hi])),
                token_acts=tuple(f[b, lo:hi].tolist()),
                focus=p - lo,
            )
        )
    fired = flat[flat > 0]
    counts, edges = torch.histogram(fired.float(), bins=N_HIST_BINS) if len(fired) else (torch.zeros(0), torch.zeros(0))
    promoted, suppressed = logit_effects(model, sae, feature)
    return FeatureDashboard(
        feature=feature,
        hook=name,
        n_tokens=flat.numel(),
        density=len(fired) / flat.numel(),
        max_activation=float(flat.max()),
        contexts=tuple(contexts),
        hist_edges=tuple(edges.tolist()),
        hist_counts=tuple(int(c) for c in counts),
        promoted=tuple(promoted),
        suppressed=tuple(suppressed),
    )


@exclusive
@torch.no_grad()
def prompt_features(
    model: Model, sae: SAE, tokens: Int[Tensor, " pos"], *, hook: str | None = None, top: int = 5
) -> PromptFeatures:
    """For each token of one prompt, the features firing there, strongest first (at most `top`)."""
    name = sae_hook(sae, hook, model)
    acts = feature_acts(model, sae, tokens[None], hook=name)[0]
    per_token = []
    for row in acts:
        n = min(top, int((row > 0).sum()))
        best = row.topk(n) if n else None
        per_token.append(tuple((int(i), float(v)) for v, i in zip(*best)) if best is not None else ())
    return PromptFeatures(hook=name, tokens=tuple(str_tokens(model, tokens)), features=tuple(per_token))


@exclusive
@torch.no_grad()
def intervene(
    model: Model,
    sae: SAE,
    tokens: Int[Tensor, " pos"],
    feature: int,
    *,
    mode: EditMode = "ablate",
    value: float = 10.0,
    hook: str | None = None,
    k: int = 10,
) -> FeatureIntervention:
    """Ablate a feature (set it to 0) or steer it (set it to `value` at every position) and compare the
    next-token distribution at the last position with the unedited run."""
    _check_feature(sae, feature)
    check_choice(mode, EditMode, "mode")
    name = sae_hook(sae, hook, model)
    splice = SpliceSAE(sae, edits=((feature, 0.0 if mode == "ablate" else value),))
    logits, cache = run_with_cache(model, tokens[None], [name])
    check_width(model, sae, name, cache[name])
    before = logits[0, -1].float().log_softmax(-1)
    with hooks(model, [(name, splice)]):
        after = model(tokens[None])[0, -1].float().log_softmax(-1)
    change = after - before
    top_before, top_after = before.topk(k), after.topk(k)
    up, down = change.topk(k), (-change).topk(k)
    return FeatureIntervention(
        feature=feature,
        hook=name,
        mode=mode,
        value=value if mode == "steer" else 0.0,
        intervention=repr(splice),
        prompt=tuple(str_tokens(model, tokens)),
        top_before=tuple(zip(str_tokens(model, top_before.indices), top_before.values.exp().tolist())),
        top_after=tuple(zip(str_tokens(model, top_after.indices), top_after.values.exp().tolist())),
        most_increased=tuple(zip(str_tokens(model, up.indices), up.values.tolist())),
        most_decreased=tuple(zip(str_tokens(model, down.indices), (-down.values).tolist())),
        kl=float((before.exp() * (before - after)).sum()),
    )


@exclusive
@torch.no_grad()
def feature_dla(model: Model, sae: SAE, task: Task, *, hook: str | None = None, top_k: int = 20) -> FeatureDLAResult:
    """Each feature's direct contribution to logit(answer) - logit(wrong) at the metric position (mean
    over the clean prompts), through the final LayerNorm's scale from the clean run, as `interp.observe.dla` does.
    The residual at the hook is split into features (act x decoder row), the decoder bias and the SAE's
    error; what later layers add is a term of its own. Everything sums to the logit difference."""
    name = sae_hook(sae, hook, model)
    if "resid" not in name:
        raise ValueError(f"feature DLA needs an SAE on the residual stream (a hook_resid_* hook), not {name}")
    task = task.to(model.cfg.device)
    pos = single_metric_position(task)
    logits, cache = full_cache(model, task.clean_tokens)
    check_width(model, sae, name, cache[name])
    x = cache[name][:, pos]  # batch d_model
    feats = sae.encode(x.to(sae.device)).to(x)
    W_dec, b_dec = (t.to(x) for t in decoder_rows(sae))
    recon = feats @ W_dec + b_dec  # = decode(feats)
    direction = answer_direction(model, task)  # batch d_model
    final = cache[hook_name("resid_post", model.cfg.n_layers - 1)][:, pos]

    def project(stack: Tensor) -> Tensor:  # parts batch d_model -> parts
        return (cache.apply_ln_to_stack(stack, layer=-1, pos_slice=pos) * direction[None]).sum(-1).mean(-1)

    # feature f writes act_f x W_dec[f]; projected in blocks of features to bound memory
    feature_values = torch.cat(
        [
            project(torch.einsum("bf,fd->fbd", feats[:, start : start + 1024], W_dec[start : start + 1024]))
            for start in range(0, W_dec.shape[0], 1024)
        ]
    )
    other = {
        "sae decoder bias": float(project(b_dec.expand_as(x)[None])[0]),
        "sae error": float(project((x - recon)[None])[0]),
        "later layers": float(project((final - x)[None])[0]),
    }
    order = feature_values.abs().argsort(descending=True)[:top_k]
    return FeatureDLAResult(
        hook=name,
        task=task.name,
        features=tuple(order.tolist()),
        contributions=tuple(feature_values[order].tolist()),
        all_features_total=float(feature_values.sum()),
        other=other,
        unembed_bias=unembed_bias_diff(model, task),
        logit_diff=float(logit_diff(at_metric_pos(logits, task), task).mean()),
        n_prompts=len(task),
    )
