"""Attribution patching predicts real patching."""

import pytest
import torch

from interp.patching.activation import patch
from interp.patching.attribution import attribution_patch, with_agreement
from interp.tasks.generators import induction_task, ioi_task
from tests.roundtrip import assert_round_trip
from tests.tolerances import PER_LAYER, f32_tol, logit_scale


@pytest.mark.parametrize("site", ["resid_pre", "attn_out", "mlp_out", "z", "z_pos", "v"])
def test_attribution_agrees_with_exact_patching(lang_model, site):
    task = ioi_task(lang_model, n_prompts=16)
    result = with_agreement(attribution_patch(lang_model, task, site=site), patch(lang_model, task, site=site))
    # measured Pearson 0.976-0.9997 on these sites; a first-order estimate that fell below 0.95 would be broken
    assert result.agreement.pearson >= 0.95, result.agreement
    assert result.analysis == "attribution_patching" and result.method == "attribution"
    exact = patch(lang_model, task, site=site)
    assert (result.clean, result.corrupted) == (exact.clean, exact.corrupted)
    assert result.axes == exact.axes and result.labels == exact.labels


def test_attribution_of_the_one_changed_token(induction_model):
    # Clean and corrupted differ in one token: its first-residual patch is the only non-zero
    # attribution at layer 0, and noising gives the opposite sign. (Its size is far from the
    # exact effect, ~4.0 vs ~14: a token swap is no small change, the known weak spot of the method.)
    task = induction_task(induction_model, n_prompts=8, seq_len=8)
    denoise = torch.tensor(attribution_patch(induction_model, task, site="resid_pre").raw)[0] - torch.tensor(
        patch(induction_model, task).corrupted
    )
    # zero elsewhere up to the rounding of the two runs' corrupted metric: of the logits' size, in each layer
    tol = f32_tol(logit_scale(induction_model, task.clean_tokens), PER_LAYER * induction_model.cfg.n_layers)
    assert denoise[8] > 0.1 and denoise[torch.arange(16) != 8].abs().max() < tol
    noise = attribution_patch(induction_model, task, site="resid_pre", direction="noise")
    assert torch.tensor(noise.raw)[0, 8] - noise.clean < -0.1


def test_round_trip_and_mismatch(tmp_path, induction_model):
    task = induction_task(induction_model, n_prompts=4)
    attr = with_agreement(attribution_patch(induction_model, task, site="z"), patch(induction_model, task, site="z"))
    loaded = assert_round_trip(attr, tmp_path / "a.json")
    # a typed field comes back typed, to the 7 significant digits saving keeps
    assert loaded.agreement.pearson == pytest.approx(attr.agreement.pearson, rel=1e-6)
    with pytest.raises(ValueError, match="same task, site"):
        with_agreement(attr, patch(induction_model, task, site="resid_pre"))


def _moved_toward(target, index, step):
    """A hook moving the activation's `index` slice `step` of the way to `target`'s."""

    def move(act, hook=None):
        act = act.clone()
        act[index] += step * (target[index] - act[index])
        return act

    return move


def test_llama_attribution_is_the_first_order_term_of_patching(llama_model):
    # Attribution estimates each patch by grad . (clean - corrupted) on the corrupted run: the derivative at
    # eps = 0 of the metric with the activation moved eps of the way to the clean run. A central difference
    # of real patched runs measures that derivative at every patch of every site: gradients reach key/value
    # heads through every query head that reads them, and RMSNorm and rotary positions through autograd.
    from interp.core.hooks import hooks, run_with_cache
    from interp.core.metrics import at_metric_pos, logit_diff
    from interp.core.patch_sites import SITES, site_heads
    from interp.core.sites import hook_name

    task = induction_task(llama_model, n_prompts=3, seq_len=6)
    eps = 1e-2
    worst = 0.0
    for site, spec in SITES.items():
        attr = attribution_patch(llama_model, task, site=site)
        slope = (torch.tensor(attr.raw) - attr.corrupted).flatten(1)  # layer patch
        names = [hook_name(spec.hook, layer) for layer in range(2)]
        _, clean = run_with_cache(llama_model, task.clean_tokens, names)
        selectors = spec.selectors(task.n_pos, site_heads(clean, spec, llama_model))
        assert slope.shape == (2, len(selectors)), site
        for layer, name in enumerate(names):
            for i, sel in enumerate(selectors):
                values = []
                for step in (eps, -eps):
                    moved = _moved_toward(clean[name], (slice(None), *sel), step)
                    with hooks(llama_model, [(name, moved)]), torch.no_grad():
                        values.append(
                            float(logit_diff(at_metric_pos(llama_model(task.corrupted_tokens), task), task).mean())
                        )
                derivative = (values[0] - values[1]) / (2 * eps)
                worst = max(worst, abs(derivative - float(slope[layer, i])))
    assert worst < 1e-3, worst  # measured 8e-5 (eps^2 terms and float32 rounding)
