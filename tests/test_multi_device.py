"""Models placed across devices (`load_model(..., device_map=...)`).

On the CPU: the device_map path loads (TransformerLens's bridge dispatching the real model with accelerate)
and gives the same model; a TransformerLens-native zoo model refuses it with a message. With two CUDA
devices: every analysis on SmolLM2 split across them equals the same analysis on one GPU. Those are marked
`gpu` and skip without two devices; docs/distributed.md says where they have and have not run.
"""

from __future__ import annotations

import pytest
import torch

from tests.tolerances import PER_LAYER, assert_f32_close, logit_scale

SPEC = "zoo:smollm2-135m"
two_gpus = pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")


@pytest.mark.real
def test_a_device_map_on_the_cpu_loads_the_same_model():
    from interp.loading.model import load_model

    one = load_model(SPEC, device="cpu")
    mapped = load_model(SPEC, device_map={"": "cpu"})
    tokens = one.to_tokens("The Eiffel Tower is in the city of")
    # the same weights through accelerate's dispatch hooks: float32 rounding at most, relative to the logits
    assert_f32_close(mapped(tokens), one(tokens), depth=PER_LAYER * one.cfg.n_layers)


def test_a_native_zoo_model_refuses_a_device_map():
    from interp.loading.checks import ModelLoadError
    from interp.loading.model import load_model

    with pytest.raises(ModelLoadError, match="loads onto one device: device_map applies to transformers"):
        load_model("zoo:lang-4l", device_map="auto")


def test_the_split_model_code_paths_give_the_same_numbers_on_one_device():
    # What runs only for a model placed across devices (hooks handing activations to the first device,
    # full_cache's move, DLA's own head stack), run on the CPU by declaring the model split: every number
    # must equal the ordinary path's. (The moves between devices themselves need GPUs: the checks below.)
    from interp.edges import edge_scores
    from interp.loading.model import load_model
    from interp.observe.dla import dla
    from interp.observe.lens import logit_lens
    from interp.patching.activation import patch
    from interp.patching.attribution import attribution_patch
    from interp.tasks.generators import ioi_task

    model = load_model("zoo:lang-4l", device="cpu")
    task = ioi_task(model, n_prompts=4, seed=0)
    runs = {
        "dla": lambda: dla(model, task, granularity="head").contributions,
        "patch": lambda: patch(model, task, site="resid_pre", method="exact").raw,
        "attribution": lambda: attribution_patch(model, task, site="resid_pre").raw,
        "edges": lambda: edge_scores(model, task, method="eap").scores,
        "logit_lens": lambda: logit_lens(model, task).answer_logit,
    }
    one = {name: run() for name, run in runs.items()}
    # float32: the split path stacks and moves what the ordinary one computes in place, summing in other orders
    scale, depth = logit_scale(model, task.clean_tokens), PER_LAYER * model.cfg.n_layers
    model.cfg.n_devices = 2
    try:
        for name, run in runs.items():
            assert_f32_close(torch.tensor(run()), torch.tensor(one[name]), depth=depth, scale=scale, msg=name)
        with pytest.raises(ValueError, match="DLA by neuron does not run on a model placed across 2 devices"):
            dla(model, task, granularity="neuron")
    finally:
        model.cfg.n_devices = 1


def test_the_unembedding_of_the_last_residual_is_the_logits(lang_model):
    from interp.core.devices import unembed_residual
    from interp.core.hooks import run_with_cache

    tokens = lang_model.to_tokens("When Mary and John went to the store")
    last = f"blocks.{lang_model.cfg.n_layers - 1}.hook_resid_post"
    logits, cache = run_with_cache(lang_model, tokens, [last])
    # the final norm and the unembedding again, as another call: one layer's rounding of the logits
    assert_f32_close(unembed_residual(lang_model, cache[last]), logits, depth=PER_LAYER)


@pytest.fixture(scope="module")
def pair():
    from interp.loading.model import load_model
    from interp.tasks.generators import ioi_task

    one = load_model(SPEC, device="cuda:0")
    split = load_model(SPEC, device_map="balanced")
    assert split.cfg.n_devices >= 2, "the model was not split across the GPUs"
    task = ioi_task(one, n_prompts=4, corruption="abc", seed=0)
    return one, split, task


def _same(a, b, atol: float = 1e-3) -> None:
    torch.testing.assert_close(
        torch.as_tensor(b, dtype=torch.float32), torch.as_tensor(a, dtype=torch.float32), atol=atol, rtol=1e-3
    )


@pytest.mark.gpu
@pytest.mark.real
@two_gpus
@pytest.mark.parametrize("analysis", ["dla", "patch", "attribution", "edges", "logit_lens", "activations"])
def test_every_analysis_on_a_split_model_equals_one_gpu(pair, analysis):
    from interp.core.hooks import activations
    from interp.edges import edge_scores
    from interp.observe.dla import dla
    from interp.observe.lens import logit_lens
    from interp.patching.activation import patch
    from interp.patching.attribution import attribution_patch

    one, split, task = pair
    run = {
        "dla": lambda m: dla(m, task, granularity="head").contributions,
        "patch": lambda m: patch(m, task, site="resid_pre", method="exact").raw,
        "attribution": lambda m: attribution_patch(m, task, site="resid_pre").raw,
        "edges": lambda m: edge_scores(m, task, method="eap").scores,
        "logit_lens": lambda m: logit_lens(m, task).answer_logit,
        "activations": lambda m: activations(m, task.clean_tokens, ["blocks.5.hook_resid_post"])[
            "blocks.5.hook_resid_post"
        ].cpu(),
    }[analysis]
    _same(run(one), run(split))
