"""Activation patching: equal to transformer_lens.patching, fast equal to exact, known answers, bad input."""

import pytest
import torch
import transformer_lens.patching as tlp

from interp.core import metrics
from interp.core.sites import hook_points
from interp.patching.activation import patch
from interp.tasks.generators import induction_task, ioi_task
from tests import tiny_checkpoints
from tests.roundtrip import assert_round_trip
from tests.tolerances import PER_LAYER, assert_f32_close, f32_tol, logit_scale

# TL's patching functions for every site they cover; "z_pos" comes back as layer x pos x head.
REFERENCE = {
    "resid_pre": tlp.get_act_patch_resid_pre,
    "resid_mid": tlp.get_act_patch_resid_mid,
    "attn_out": tlp.get_act_patch_attn_out,
    "mlp_out": tlp.get_act_patch_mlp_out,
    "z": tlp.get_act_patch_attn_head_out_all_pos,
    "z_pos": tlp.get_act_patch_attn_head_out_by_pos,
    "q": tlp.get_act_patch_attn_head_q_all_pos,
    "k": tlp.get_act_patch_attn_head_k_all_pos,
    "v": tlp.get_act_patch_attn_head_v_all_pos,
    "pattern": tlp.get_act_patch_attn_head_pattern_all_pos,
}


def _reference(model, task, site):
    _, clean_cache = model.run_with_cache(task.clean_tokens)
    ref = REFERENCE[site](
        model,
        task.corrupted_tokens,
        clean_cache,
        lambda logits: metrics.logit_diff(metrics.at_metric_pos(logits, task), task).mean(),
    )
    return ref.permute(0, 2, 1) if site == "z_pos" else ref


@pytest.mark.parametrize("which", ["induction", "lang"])
def test_exact_and_fast_equal_transformer_lens(which, induction_model, lang_model):
    model = induction_model if which == "induction" else lang_model
    task = induction_task(model, n_prompts=3, seq_len=6) if which == "induction" else ioi_task(model, n_prompts=3)
    scale = logit_scale(model, task.clean_tokens)
    for site in REFERENCE:
        if (site in ("resid_mid", "mlp_out") and model.cfg.attn_only) or site in ("pattern", "resid_mid"):
            continue  # pattern: see test_pattern_patching_where_the_hook_only_observes; resid_mid: the next test
        ref = _reference(model, task, site)
        for method in ("exact", "fast"):
            got = torch.tensor(patch(model, task, site=site, method=method).raw)
            # float32: batched and sliced runs order their sums otherwise than TL's loop, in every layer
            assert_f32_close(
                got, ref, depth=PER_LAYER * model.cfg.n_layers, scale=scale, msg=f"{which} {site} {method}"
            )


@pytest.mark.parametrize("which", ["lang", "llama"])
def test_resid_mid_patches_reach_the_residual_stream(which, lang_model, llama_model):
    # On a bridge, blocks.L.hook_resid_mid is the input of the MLP's norm: a tensor returned there reaches the
    # MLP but not the residual the block adds the MLP's output to. interp.core.hooks adds the change to the
    # MLP's output as well. The last layer's resid_mid at the answer position then decides the logits (as
    # resid_post does), and the patch restores the clean metric exactly; TransformerLens's patching does not.
    model = lang_model if which == "lang" else llama_model
    task = ioi_task(model, n_prompts=3) if which == "lang" else induction_task(model, n_prompts=3, seq_len=6)
    last = model.cfg.n_layers - 1
    for method in ("exact", "fast"):
        res = patch(model, task, site="resid_mid", method=method)
        # the patched run's logits round as the clean run's do; normalising divides by the clean-corrupted gap
        gap_scale = logit_scale(model, task.clean_tokens) / abs(res.clean - res.corrupted)
        tol = f32_tol(gap_scale, PER_LAYER * model.cfg.n_layers)
        assert res.normalized[last][-1] == pytest.approx(1, abs=tol), method
    ref = metrics.normalise(_reference(model, task, "resid_mid"), res.clean, res.corrupted)
    assert abs(ref[last, -1] - 1) > 0.1  # measured 0.46 (lang), 0.50 (llama): the MLP's input alone


def _hf_task(n_pos: int = 9, changed=(2, 5), metric_pos=(8, 8, 4)):
    """Three random prompts that differ at `changed`; the last prompt's metric reads before the second change."""
    from interp.tasks.generators import Task

    gen = torch.Generator().manual_seed(0)
    clean = torch.randint(3, 64, (3, n_pos), generator=gen)
    bad = clean.clone()
    bad[:, list(changed)] = torch.randint(3, 64, (3, len(changed)), generator=gen)
    labels = (("x",) * n_pos,) * 3
    return Task(
        "t", clean, bad, torch.tensor([5, 6, 7]), torch.tensor([8, 9, 10]), torch.tensor(metric_pos), labels, labels
    )


@pytest.mark.parametrize("kind", ["gpt2", "llama", "neox"])
def test_fast_equals_exact_on_other_architectures(tmp_path, kind):
    # Hugging Face models keep a KV cache, so here fast patching starts passes after the shared prefix.
    from interp.core.patch_sites import SITES
    from interp.core.sites import model_sites
    from interp.loading.model import load_model

    tiny_checkpoints.build(kind, tmp_path)
    model = load_model(tmp_path, device="cpu")
    task = _hf_task()
    scale, depth = logit_scale(model, task.clean_tokens), PER_LAYER * model.cfg.n_layers
    have = model_sites(model)  # NeoX's parallel attention has no resid_mid
    for site in (
        s for s, spec in SITES.items() if spec.hook in have
    ):  # pattern is live on HF models; llama's k, v have 2 heads
        for direction in ("denoise", "noise"):
            fast = torch.tensor(patch(model, task, site=site, direction=direction, method="fast").raw)
            exact = torch.tensor(patch(model, task, site=site, direction=direction, method="exact").raw)
            # float32: the KV cache's passes sum in other orders; logits ~0.5 here, logit differences ~0.01
            assert_f32_close(fast, exact, depth=depth, scale=scale, msg=f"{kind} {site} {direction}")


def test_fast_patching_runs_only_what_a_patch_can_change(tmp_path):
    # Count the token positions each forward pass embeds. The prompts share positions 0-1, and from
    # position 2 on every residual after layer 0 differs, so a prompt gets one pass per start 2..metric
    # position, over the tokens from there on; nothing starts earlier, nothing after the metric position.
    from interp.core.hooks import hooks
    from interp.loading.model import load_model

    tiny_checkpoints.build("gpt2", tmp_path)
    model = load_model(tmp_path, device="cpu")
    task = _hf_task()
    lengths = []
    with hooks(model, [("hook_embed", lambda act, hook: lengths.append(act.shape[1]))]):
        patch(model, task, site="resid_pre")
    baselines = [9, 9, 9]  # the clean and corrupted runs, and the base run with its KV cache
    expected = baselines + 2 * [9 - s for s in range(2, 9)] + [9 - s for s in range(2, 5)]
    assert sorted(lengths) == sorted(expected)
    # the counting hook outlived the patching run's own hooks, and leaves with its block
    model(task.clean_tokens)
    assert len(lengths) == len(expected) and not hook_points(model)["hook_embed"].fwd_hooks


@pytest.mark.parametrize("metric", ["answer_prob", "kl"])
def test_fast_equals_exact_for_other_metrics(induction_model, metric):
    task = induction_task(induction_model, n_prompts=3, seq_len=6)
    fast = patch(induction_model, task, site="resid_pre", metric=metric)
    exact = patch(induction_model, task, site="resid_pre", metric=metric, method="exact")
    # float32: probabilities and KL read off logits that round in another order (measured up to 2.3 eps of a KL ~7)
    scale = logit_scale(induction_model, task.clean_tokens)
    depth = PER_LAYER * induction_model.cfg.n_layers
    assert_f32_close(torch.tensor(fast.raw), torch.tensor(exact.raw), depth=depth, scale=scale)


def test_known_answers_on_the_induction_task(induction_model):
    task = induction_task(induction_model, n_prompts=4, seq_len=8)  # clean and corrupted differ only at position 8
    res = patch(induction_model, task, site="resid_pre")
    first = torch.tensor(res.normalized[0])
    # "exactly": up to the logits' rounding, which normalising divides by the clean-corrupted gap
    gap_scale = logit_scale(induction_model, task.clean_tokens) / abs(res.clean - res.corrupted)
    tol = f32_tol(gap_scale, PER_LAYER * induction_model.cfg.n_layers)
    # patching the one differing position of the first residual stream restores the clean run exactly
    torch.testing.assert_close(first, (torch.arange(16) == 8).float(), atol=tol, rtol=0)
    post = torch.tensor(patch(induction_model, task, site="resid_post").normalized)
    # the last residual at the metric position decides the logits
    assert float(post[-1, -1]) == pytest.approx(1, abs=tol)
    noised = torch.tensor(patch(induction_model, task, site="resid_pre", direction="noise").normalized)
    assert float(noised[0, 8]) == pytest.approx(0, abs=tol)  # the corrupted token alone makes the run corrupted
    assert res.axes == ("layer", "pos") and res.labels["pos"][8].startswith("8 ") and res.labels["pos"][8].endswith("*")


def test_result_round_trip(tmp_path, induction_model):
    res = patch(induction_model, induction_task(induction_model, n_prompts=2, seq_len=4), site="z_pos")
    assert (
        res.axes == ("layer", "head", "pos") and len(res.raw) == 2 and len(res.raw[0]) == 4 and len(res.raw[0][0]) == 8
    )
    assert_round_trip(res, tmp_path / "r.json")


def test_bad_inputs(induction_model, lang_model):
    task = induction_task(induction_model, n_prompts=2, seq_len=4)
    with pytest.raises(ValueError, match="no mlp_out site; it has resid_pre"):
        patch(induction_model, task, site="mlp_out")
    with pytest.raises(ValueError, match=r"site must be one of 'resid_pre', .*'z_pos'; got 'neurons'"):
        patch(induction_model, task, site="neurons")
    with pytest.raises(ValueError, match="direction must be one of 'denoise', 'noise'; got 'sideways'"):
        patch(induction_model, task, direction="sideways")
    with pytest.raises(ValueError, match="metric must be one of 'logit_diff', 'answer_prob', 'kl'; got 'bleu'"):
        patch(induction_model, task, metric="bleu")
    with pytest.raises(ValueError, match="method must be one of 'fast', 'exact'"):
        patch(induction_model, task, method="approximate")
    same = task.select([0, 1])
    same = type(same)(
        same.name,
        same.clean_tokens,
        same.clean_tokens,
        same.answer_tokens,
        same.wrong_tokens,
        same.metric_pos,
        same.str_tokens,
        same.str_tokens,
    )
    with pytest.raises(ValueError, match="corruption changes nothing"):
        patch(induction_model, same)


def test_induction_effect_sits_on_the_named_induction_heads(induction_model):
    import json

    from interp.zoo import ZOO

    card = json.loads((ZOO["induction-2l"].folder / "card.json").read_text())
    named = {h for h, _ in card["heads"]["induction"]}
    res = patch(induction_model, induction_task(induction_model, n_prompts=8, seq_len=10), site="z_pos")
    last = {f"L{layer}H{h}": res.normalized[layer][h][-1] for layer in range(2) for h in range(4)}
    top = sorted(last, key=lambda k: -last[k])[: len(named)]
    assert set(top) == named, last
    assert sum(last[h] for h in named) > 0.8  # together they carry most of the effect at the answer position


def test_pattern_patching_where_the_hook_only_observes(induction_model, tmp_path):
    # On TransformerLens-native models hook_pattern is observational: TL's own pattern patching
    # returns the corrupted metric everywhere. We refuse instead of reporting that silent zero.
    task = induction_task(induction_model, n_prompts=2, seq_len=4)
    assert torch.allclose(
        _reference(induction_model, task, "pattern"), torch.tensor(patch(induction_model, task, site="z").corrupted)
    )
    with pytest.raises(ValueError, match="only observes"):
        patch(induction_model, task, site="pattern")
    # On a Hugging Face checkpoint the hook is live, and ours equals TL's.
    from interp.loading.model import load_model
    from interp.tasks.generators import Task

    tiny_checkpoints.build("gpt2", tmp_path)
    model = load_model(tmp_path, device="cpu")
    clean = torch.randint(3, 64, (3, 9), generator=torch.Generator().manual_seed(0))
    bad = clean.clone()
    bad[:, 4] = 5
    labels = (("x",) * 9,) * 3
    hf_task = Task(
        "t", clean, bad, torch.tensor([5, 6, 7]), torch.tensor([8, 9, 10]), torch.full((3,), 8), labels, labels
    )
    ref = _reference(model, hf_task, "pattern")
    assert ref.std() > 0  # the patches do something here
    got = torch.tensor(patch(model, hf_task, site="pattern", method="exact").raw)
    # float32 logits of ~0.5 round in another order than TL's loop does them (the differences read are ~0.01)
    depth = PER_LAYER * model.cfg.n_layers
    assert_f32_close(got, ref, depth=depth, scale=logit_scale(model, hf_task.clean_tokens))


def _llama_task(model):
    # one changed token (position 6 of 12): fast patching starts its passes there, from the KV cache
    return induction_task(model, n_prompts=3, seq_len=6)


def test_llama_every_site_equals_transformer_lens(llama_model, tmp_path):
    # RMSNorm, rotary, no biases, 4 query heads on 2 key/value heads. TL's k and v patching returns
    # [layer, n_kv_heads] here, as ours does; the pattern hook is live on Hugging Face models.
    task = _llama_task(llama_model)
    scale, depth = logit_scale(llama_model, task.clean_tokens), PER_LAYER * llama_model.cfg.n_layers
    for site in (s for s in REFERENCE if s != "resid_mid"):  # resid_mid: test_resid_mid_patches_reach_...
        ref = _reference(llama_model, task, site)
        for method in ("exact", "fast"):
            got = torch.tensor(patch(llama_model, task, site=site, method=method).raw)
            # float32: logits of ~4 round in another order than TL's loop; logit differences read are ~0.5
            assert_f32_close(got, ref, depth=depth, scale=scale, msg=f"llama {site} {method}")
    k = patch(llama_model, task, site="k")
    assert k.axes == ("layer", "kv_head") and k.labels["kv_head"] == ("KV0 (H0-H1)", "KV1 (H2-H3)")
    assert "index=(:, kv_head)" in k.intervention and "feeds 2 query heads" in k.intervention
    assert_round_trip(k, tmp_path / "k.json")
    from interp.plots import plot_patch

    assert list(plot_patch(k).data[0].x) == list(k.labels["kv_head"])
    q = patch(llama_model, task, site="q")
    assert q.axes == ("layer", "head") and q.labels["head"] == ("H0", "H1", "H2", "H3")
    # the one changed token's first residual restores the clean run; so does the last residual at the answer
    res = patch(llama_model, task, site="resid_pre")
    # up to the logits' rounding, which normalising divides by the clean-corrupted gap
    tol = f32_tol(scale / abs(res.clean - res.corrupted), depth)
    torch.testing.assert_close(torch.tensor(res.normalized)[0], (torch.arange(12) == 6).float(), atol=tol, rtol=0)
    assert patch(llama_model, task, site="resid_post").normalized[-1][-1] == pytest.approx(1, abs=tol)


def test_llama_kv_patch_is_every_query_head_of_its_group(llama_model, llama_twin):
    # On the twin (the same function with a key/value head per query head), patching the copies that query
    # heads 2g and 2g+1 read gives the GQA model's patch of key/value head g; one copy alone gives another.
    from interp.core.hooks import hooks, run_with_cache
    from interp.core.interventions import SetHeads
    from interp.core.sites import hook_name

    task = _llama_task(llama_model)

    def metric(model, fwd):
        with hooks(model, fwd), torch.no_grad():
            logits = model(task.corrupted_tokens)
        return float(metrics.logit_diff(metrics.at_metric_pos(logits, task), task).mean())

    names = [hook_name(site, layer) for site in ("q", "k", "v", "z") for layer in range(2)]
    _, clean = run_with_cache(llama_twin, task.clean_tokens, names)
    _, clean_gqa = run_with_cache(llama_model, task.clean_tokens, names)
    # the same function computed through other shapes (copied heads, recomputed attention): float32 rounding only
    tol = f32_tol(logit_scale(llama_model, task.clean_tokens), PER_LAYER * llama_model.cfg.n_layers)
    apart = 0.0
    for site in ("k", "v"):
        raw = patch(llama_model, task, site=site, method="exact").raw
        for layer in range(2):
            name = hook_name(site, layer)
            for g in range(2):
                group = metric(llama_twin, [(name, SetHeads(clean[name], (2 * g, 2 * g + 1)))])
                assert raw[layer][g] == pytest.approx(group, abs=tol), (site, layer, g)
                apart = max(apart, abs(group - metric(llama_twin, [(name, SetHeads(clean[name], (2 * g,)))])))
    assert apart > 1e-2  # measured 0.28: a key/value head's patch is not one query head's
    # q of every query head with k and v of every key/value head is the whole of attention: the same as z
    for layer in range(2):
        qkv = [
            (hook_name(s, layer), SetHeads(clean_gqa[hook_name(s, layer)], tuple(range(n))))
            for s, n in [("q", 4), ("k", 2), ("v", 2)]
        ]
        z = hook_name("z", layer)
        assert metric(llama_model, qkv) == pytest.approx(
            metric(llama_model, [(z, SetHeads(clean_gqa[z], (0, 1, 2, 3)))]), abs=tol
        )
