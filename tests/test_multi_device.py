"""Models placed across devices (`load_model(..., device_map=...)`).

On the CPU: the device_map path loads (TransformerLens's bridge dispatching the real model with accelerate)
and gives the same model; a TransformerLens-native zoo model refuses it with a message. With two CUDA
devices: every analysis on SmolLM2 split across them equals the same analysis on one GPU. Those are marked
`gpu` and skip without two devices; docs/distributed.md says where they have and have not run.
"""

from __future__ import annotations

import pytest
import torch

SPEC = "zoo:smollm2-135m"
two_gpus = pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")


@pytest.mark.real
def test_a_device_map_on_the_cpu_loads_the_same_model():
    from interp.model import load_model

    one = load_model(SPEC, device="cpu")
    mapped = load_model(SPEC, device_map={"": "cpu"})
    tokens = one.to_tokens("The Eiffel Tower is in the city of")
    torch.testing.assert_close(mapped(tokens), one(tokens), atol=1e-5, rtol=0)


def test_a_native_zoo_model_refuses_a_device_map():
    from interp.checkpoints import ModelLoadError
    from interp.model import load_model

    with pytest.raises(ModelLoadError, match="loads onto one device: device_map applies to transformers"):
        load_model("zoo:lang-4l", device_map="auto")


@pytest.fixture(scope="module")
def pair():
    from interp.model import load_model
    from interp.tasks import ioi_task

    one = load_model(SPEC, device="cuda:0")
    split = load_model(SPEC, device_map="balanced")
    assert split.cfg.n_devices >= 2, "the model was not split across the GPUs"
    task = ioi_task(one, n_prompts=4, corruption="abc", seed=0)
    return one, split, task


def _same(a, b, atol=1e-3):
    torch.testing.assert_close(
        torch.as_tensor(b, dtype=torch.float32), torch.as_tensor(a, dtype=torch.float32), atol=atol, rtol=1e-3
    )


@pytest.mark.gpu
@pytest.mark.real
@two_gpus
@pytest.mark.parametrize("analysis", ["dla", "patch", "attribution", "edges", "logit_lens", "activations"])
def test_every_analysis_on_a_split_model_equals_one_gpu(pair, analysis):
    from interp.attribution import attribution_patch
    from interp.core.hooks import activations
    from interp.dla import dla
    from interp.edges import edge_scores
    from interp.logit_lens import logit_lens
    from interp.patching import patch

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
